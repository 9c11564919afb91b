"""Frequent-flyer (loyalty programme) membership numbers."""

from __future__ import annotations

import re
from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer

from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["frequent", "flyer", "flier", "miles", "loyalty", "membership", "avios"],
    "de": ["vielflieger", "meilen", "kundennummer", "servicekarte", "statuskarte"],
    "fr": ["fidélité", "fidelite", "fréquent", "milles", "blue"],
    "it": ["millemiglia", "miglia", "tessera", "fedeltà", "fedelta"],
    "pt": ["milhas", "fidelidade", "frequente", "sócio", "passageiro"],
    "es": ["millas", "socio", "frecuente", "iberia", "fidelización"],
}

_BEFORE: Final = r"(?<![\w+\-/.,])"
_AFTER: Final = r"(?![\w\-]|[.,/]\d)"

_DATE: Final = re.compile(r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d\d|(?:19|20)\d{6}")


class FrequentFlyerRecognizer(PatternRecognizer):
    """Finds frequent-flyer numbers: Miles & More, Flying Blue, TAP Miles&Go, Avios, Iberia Plus.

    A number is reported only next to a context word such as "Miles & More",
    "Vielfliegernummer", "milhas" or "Flying Blue": the programmes' numbers are
    bare digits that phone numbers and dates also produce. Formats with a
    programme's own prefix (Miles & More's ``992``, TAP's ``TP``, Iberia's ``IB``)
    score higher than bare digits, but still below the threshold alone.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern("Miles & More", _BEFORE + r"992(?: ?\d){12}" + _AFTER, 0.4),
        Pattern("TAP Miles&Go", _BEFORE + r"TP ?\d{9}" + _AFTER, 0.4),
        Pattern("Iberia Plus", _BEFORE + r"IB ?\d{8,9}" + _AFTER, 0.4),
        Pattern("15 digits (Miles & More)", _BEFORE + r"\d{15}" + _AFTER, 0.2),
        Pattern("10 digits (Flying Blue)", _BEFORE + r"\d{10}" + _AFTER, 0.2),
        Pattern("8 digits (Avios, Executive Club)", _BEFORE + r"\d{8}" + _AFTER, 0.2),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="FREQUENT_FLYER_NUMBER",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject a run of one repeated digit and eight digits that read as a date."""
        digits = "".join(c for c in pattern_text if c.isdigit())
        return len(set(digits)) == 1 or _DATE.fullmatch(digits) is not None
