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


#: Messages of at most this many words (tokens with a letter) are short: lingua
#: reads them from a word or two and is often wrong with some confidence.
SHORT_MESSAGE_WORDS: Final = 2

#: How far lingua's most likely language must lead the next one (confidence values,
#: 0 to 1) in a short message to be taken: "human" reads as Spanish by 0.02,
#: "refund" as German by 0.03, "no" as Italian by 0.05, "operator" as Italian by
#: 0.24, while words of one language lead by more ("danke" 0.73, "gracias" 0.46,
#: "agent please" 0.41). Longer messages are taken as lingua reads them: on the
#: redaction benchmark's messages (4 words and more), asking them for a lead too
#: cost more right answers than it saved wrong ones (23 against 6 at 0.25).
SHORT_MESSAGE_LEAD: Final = 0.25


class LanguageDetector:
    """Guesses which supported language a chat message is written in.

    Uses lingua's models, which ship inside the package (nothing is downloaded).
    When a message is too short or too mixed for lingua to decide ("ok", "LH 1173",
    "human": see ``SHORT_MESSAGE_LEAD``), the detector answers ``fallback`` rather
    than a guess.
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
        return self._code(text, self._detector.detect_language_of(text))

    def detect_many(self, texts: list[str]) -> list[str]:
        """``detect`` for many texts, spread over the CPU cores by lingua."""
        detected = self._detector.detect_languages_in_parallel_of(texts)
        return [self._code(text, language) for text, language in zip(texts, detected, strict=True)]

    def _code(self, text: str, language: Language | None) -> str:
        """``language``'s code, or the fallback when lingua found none or ``text`` is
        short and lingua's choice does not lead by ``SHORT_MESSAGE_LEAD``."""
        if language is None:
            return self._fallback
        if sum(any(ch.isalpha() for ch in word) for word in text.split()) <= SHORT_MESSAGE_WORDS:
            first, second = self._detector.compute_language_confidence_values(text)[:2]
            if first.value - second.value < SHORT_MESSAGE_LEAD:
                return self._fallback
        return self._codes[language]
