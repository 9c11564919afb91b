"""Passport numbers."""

from __future__ import annotations

from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer

from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["passport", "pass"],
    "de": ["reisepass", "passnummer", "pass", "ausweis"],
    "fr": ["passeport"],
    "it": ["passaporto"],
    "pt": ["passaporte"],
    "es": ["pasaporte"],
}

_BEFORE: Final = r"(?<![\w+\-/.,@])"
_AFTER: Final = r"(?![\w\-@]|[.,/]\w)"
_HAS_DIGIT: Final = r"(?=\w{0,8}\d)"
_HAS_LETTER: Final = r"(?=\w{0,8}[A-Z])"


class PassportRecognizer(PatternRecognizer):
    """Finds passport numbers of DE, PT, IT, FR, ES, GB and US, and 8-9 character ones.

    A number is reported only next to a context word such as "passport",
    "Reisepass", "passaporte" or "pasaporte": without one, nothing tells a
    passport number from any other code. Every pattern needs at least one digit,
    so no plain word is taken for a passport number.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern(
            "Passport (DE)",
            _BEFORE + _HAS_DIGIT + r"[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ\d]{8}" + _AFTER,
            0.3,
        ),
        Pattern("Passport (IT)", _BEFORE + r"[A-Z]{2}\d{7}" + _AFTER, 0.3),
        Pattern("Passport (FR)", _BEFORE + r"\d{2}[A-Z]{2}\d{5}" + _AFTER, 0.3),
        Pattern("Passport (ES)", _BEFORE + r"[A-Z]{3}\d{6}" + _AFTER, 0.3),
        Pattern("Passport (PT)", _BEFORE + r"[A-Z]\d{6}" + _AFTER, 0.3),
        Pattern("Passport (US)", _BEFORE + r"[A-Z]\d{8}" + _AFTER, 0.3),
        Pattern("Passport (GB, US)", _BEFORE + r"\d{9}" + _AFTER, 0.2),
        Pattern(
            "Passport (8-9 characters)",
            _BEFORE + _HAS_DIGIT + _HAS_LETTER + r"[A-Z0-9]{8,9}" + _AFTER,
            0.2,
        ),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="PASSPORT_NUMBER",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject a run of one repeated character (``000000000``), a placeholder."""
        return len(set(pattern_text.upper())) == 1
