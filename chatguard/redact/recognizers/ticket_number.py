"""Airline e-ticket numbers."""

from __future__ import annotations

from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer

from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["ticket", "e-ticket", "eticket", "etkt"],
    "de": ["ticket", "ticketnummer", "flugschein", "flugticket"],
    "fr": ["billet", "e-billet"],
    "it": ["biglietto", "biglietti"],
    "pt": ["bilhete", "bilhetes"],
    "es": ["billete", "billetes", "boleto"],
}

# Not after "+", a digit or a separator (phone numbers, longer numbers, decimals) and
# not followed by more of the same number.
_BEFORE: Final = r"(?<![\w+\-/.,])"
_AFTER: Final = r"(?![\w\-]|[.,/]\d)"


class TicketNumberRecognizer(PatternRecognizer):
    """Finds 13-digit e-ticket numbers: a 3-digit airline code and a 10-digit serial.

    ``220-1234567890`` (the printed form, with its dash) is reported on its own;
    ``2201234567890`` and ``220 1234567890`` only next to a context word such as
    "ticket", "bilhete" or "biglietto", because a bare run of 13 digits may be a
    phone number. Numbers written after ``+`` are never reported.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern("E-ticket (dashed)", _BEFORE + r"\d{3}-\d{10}" + _AFTER, 0.6),
        Pattern("E-ticket (plain)", _BEFORE + r"\d{3} ?\d{10}" + _AFTER, 0.3),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="TICKET_NUMBER",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject a serial of one repeated digit (``000-0000000000``), a placeholder."""
        return len(set(pattern_text[4:])) == 1
