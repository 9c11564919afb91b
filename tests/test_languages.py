"""Language detection per message, with a fallback for messages too short to tell."""

from __future__ import annotations

import pytest

from chatguard.redact.languages import LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(fallback="en")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I would like to change my flight to Frankfurt, please.", "en"),
        ("Ich möchte meinen Flug nach Lissabon umbuchen, bitte.", "de"),
        ("Je voudrais changer mon vol pour Lisbonne, s'il vous plaît.", "fr"),
        ("Vorrei cambiare il mio volo per Lisbona, per favore.", "it"),
        ("Gostaria de alterar o meu voo para Frankfurt, por favor.", "pt"),
        ("Quisiera cambiar mi vuelo a Fráncfort, por favor.", "es"),
    ],
)
def test_each_supported_language_is_recognised(
    detector: LanguageDetector, text: str, language: str
) -> None:
    assert detector.detect(text) == language


@pytest.mark.parametrize("text", ["human", "refund", "operator", "no", "Ja"])
def test_a_message_too_short_to_tell_gets_the_fallback_not_a_guess(
    detector: LanguageDetector, text: str
) -> None:
    # lingua alone reads these as Spanish, German, Italian, Italian and Spanish.
    assert detector.detect(text) == "en"
    assert LanguageDetector(fallback="pt").detect(text) == "pt"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("danke", "de"),
        ("gracias", "es"),
        ("obrigado", "pt"),
        ("Mitarbeiter bitte", "de"),
        ("agente per favore", "it"),  # three words: taken as lingua reads them
    ],
)
def test_a_short_message_in_words_of_one_language_is_still_recognised(
    detector: LanguageDetector, text: str, language: str
) -> None:
    assert detector.detect(text) == language


def test_many_messages_at_once_are_read_as_each_alone(detector: LanguageDetector) -> None:
    texts = ["human", "danke", "Vorrei cambiare il mio volo per Lisbona, per favore.", "12"]
    assert detector.detect_many(texts) == [detector.detect(text) for text in texts]
    assert detector.detect_many(texts) == ["en", "de", "it", "en"]


def test_a_message_without_words_gets_the_fallback(detector: LanguageDetector) -> None:
    assert detector.detect("12345 678") == "en"
    assert LanguageDetector(fallback="pt").detect("12345") == "pt"


def test_an_unsupported_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback"):
        LanguageDetector(fallback="xx")
