"""The detection engine: six languages, evasions mapped back, batch equals one by one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from chatguard.errors import ModelNotInstalledError
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import RedactionSettings

DATASET = Path(__file__).parent.parent / "benchmarks" / "redaction" / "dataset.jsonl"

MESSAGES = [
    ("Hi, I'm Emma Clarke, my booking is X7KQ2P, flight LH 1173 to Frankfurt.", "en"),
    ("Hallo, ich heiße Jonas Becker, meine IBAN ist DE89 3704 0044 0532 0130 00.", "de"),
    ("Bonjour, je m'appelle Camille Dubois, mon mail est camille.dubois@example.fr", "fr"),
    ("Buongiorno, mi chiamo Giulia Bianchi, il mio numero è +39 312 345 6789", "it"),
    ("Olá, chamo-me joão ferreira, o meu bilhete é 220-1234567890", "pt"),
    ("Hola, me llamo Lucía Romero, mi tarjeta es 4111 1111 1111 1111", "es"),
]


def _found(engine: RedactionEngine, text: str) -> set[tuple[str, str]]:
    return {(e.type, text[e.start : e.end]) for e in engine.analyze(text)}


def test_personal_data_is_found_in_all_six_languages(engine: RedactionEngine) -> None:
    expected = [
        {("PERSON", "Emma Clarke"), ("BOOKING_REFERENCE", "X7KQ2P")},
        {("PERSON", "Jonas Becker"), ("IBAN_CODE", "DE89 3704 0044 0532 0130 00")},
        {("PERSON", "Camille Dubois"), ("EMAIL_ADDRESS", "camille.dubois@example.fr")},
        {("PERSON", "Giulia Bianchi"), ("PHONE_NUMBER", "+39 312 345 6789")},
        {("PERSON", "joão ferreira"), ("TICKET_NUMBER", "220-1234567890")},
        {("PERSON", "Lucía Romero"), ("CREDIT_CARD", "4111 1111 1111 1111")},
    ]
    for (text, language), wanted in zip(MESSAGES, expected, strict=True):
        assert engine.detect_language(text) == language
        assert _found(engine, text) == wanted


def test_destinations_flights_dates_prices_and_seats_are_left_alone(
    engine: RedactionEngine,
) -> None:
    for text in [
        "Flight LH 1173 from FRA to LIS on 12.05.2025 at 14:35, seat 23A, 23 kg, EUR 129,99",
        "Voo TP 1234 de Lisboa para o Porto no dia 3 de junho, lugar 12C",
        "Ich fliege am 3. Juni nach München, Gepäck 2 x 23 kg, Preis 249,00 €",
    ]:
        assert engine.analyze(text) == []


def test_zero_width_characters_do_not_hide_an_email(engine: RedactionEngine) -> None:
    text = "mail: anna\u200b.keller@exa\u200dmple.org thanks"
    [entity] = engine.analyze(text)
    assert entity.type == "EMAIL_ADDRESS"
    assert text[entity.start : entity.end] == "anna\u200b.keller@exa\u200dmple.org"


def test_full_width_and_split_digits_do_not_hide_a_card(engine: RedactionEngine) -> None:
    text = "card ４１１１ 1111.1111-1111 ok"
    [entity] = engine.analyze(text)
    assert entity.type == "CREDIT_CARD"
    assert text[entity.start : entity.end] == "４１１１ 1111.1111-1111"


def test_spelled_out_email_is_found_over_its_whole_span(engine: RedactionEngine) -> None:
    text = "write to anna dot keller at example dot com please"
    [entity] = engine.analyze(text)
    assert (entity.type, text[entity.start : entity.end]) == (
        "EMAIL_ADDRESS",
        "anna dot keller at example dot com",
    )


def test_batch_finds_exactly_what_one_by_one_finds(engine: RedactionEngine) -> None:
    texts = [text for text, _ in MESSAGES] * 3
    assert engine.analyze_batch(texts) == [engine.analyze(text) for text in texts]


def test_batch_takes_given_languages(engine: RedactionEngine) -> None:
    texts = [text for text, _ in MESSAGES]
    languages = [language for _, language in MESSAGES]
    assert engine.analyze_batch(texts, languages) == [
        engine.analyze(text, language) for text, language in MESSAGES
    ]
    with pytest.raises(ValueError, match="as long"):
        engine.analyze_batch(texts, languages[:2])


def test_a_model_that_is_not_installed_stops_start_up() -> None:
    with pytest.raises(ModelNotInstalledError, match="de_core_news_nonexistent"):
        RedactionEngine(RedactionSettings(models={"de": "de_core_news_nonexistent"}))


def test_a_message_without_digits_still_finds_names_emails_and_passwords(
    engine: RedactionEngine,
) -> None:
    text = "Hi, I'm Emma Clarke, anna@example.org, my password is Tr0ub4dor!"
    assert _found(engine, text) == {
        ("PERSON", "Emma Clarke"),
        ("EMAIL_ADDRESS", "anna@example.org"),
        ("CREDENTIAL", "Tr0ub4dor!"),
    }
    assert _found(engine, "X7KQ2P") == {("BOOKING_REFERENCE", "X7KQ2P")}


def test_skipping_recognisers_that_cannot_match_changes_no_result(
    engine: RedactionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [json.loads(line) for line in DATASET.read_text().splitlines()]
    texts = [record["text"] for record in records]
    for threshold in (0.5, 0.25):
        skipping = [engine.analyze(text, threshold=threshold) for text in texts]
        with monkeypatch.context() as patch:
            patch.setattr(engine, "_possible_types", lambda text, threshold: engine._all_types)
            running_all = [engine.analyze(text, threshold=threshold) for text in texts]
        assert skipping == running_all


def test_presidio_logs_nothing_of_the_text_even_when_the_app_logs_everything(
    engine: RedactionEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        engine.analyze("my booking code is QWERTZ and I am Anna Keller")
    assert "QWERTZ" not in caplog.text and "Keller" not in caplog.text
    # Presidio's own lemma enhancer logs the words around each match at debug level.
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
