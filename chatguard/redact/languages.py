"""The languages chatguard redacts in, and the per-message language detector."""

from __future__ import annotations

from typing import Final

from lingua import Language, LanguageDetectorBuilder

#: ISO 639-1 codes of the languages every recogniser carries context words for.
SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("en", "de", "fr", "it", "pt", "es")

_LINGUA: Final[dict[str, Language]] = {
    "en": Language.ENGLISH,
    "de": Language.GERMAN,
    "fr": Language.FRENCH,
    "it": Language.ITALIAN,
    "pt": Language.PORTUGUESE,
    "es": Language.SPANISH,
}


class LanguageDetector:
    """Guesses which supported language a chat message is written in.

    Uses lingua's models, which ship inside the package (nothing is downloaded).
    When a message is too short or too mixed for lingua to decide ("ok", "LH 1173"),
    the detector answers ``fallback`` rather than a guess.
    """

    def __init__(self, fallback: str = "en") -> None:
        if fallback not in SUPPORTED_LANGUAGES:
            raise ValueError(f"fallback language must be one of {SUPPORTED_LANGUAGES}")
        self._fallback = fallback
        self._detector = (
            LanguageDetectorBuilder.from_languages(*_LINGUA.values())
            .with_preloaded_language_models()
            .build()
        )
        self._codes = {language: code for code, language in _LINGUA.items()}

    def detect(self, text: str) -> str:
        """Return the ISO 639-1 code of ``text``'s language, or the fallback."""
        language = self._detector.detect_language_of(text)
        return self._fallback if language is None else self._codes[language]

    def detect_many(self, texts: list[str]) -> list[str]:
        """``detect`` for many texts, spread over the CPU cores by lingua."""
        return [
            self._fallback if language is None else self._codes[language]
            for language in self._detector.detect_languages_in_parallel_of(texts)
        ]
