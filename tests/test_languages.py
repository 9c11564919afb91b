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


def test_a_message_without_words_gets_the_fallback(detector: LanguageDetector) -> None:
    assert detector.detect("12345 678") == "en"
    assert LanguageDetector(fallback="pt").detect("12345") == "pt"


def test_an_unsupported_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback"):
        LanguageDetector(fallback="xx")
