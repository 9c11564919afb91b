"""Airline booking references (PNR, record locator)."""

from __future__ import annotations

import re
from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer

from chatguard.redact.folding import fold
from chatguard.redact.names import name_lexicon
from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["booking", "pnr", "record", "locator", "confirmation", "reservation", "reference"],
    "de": [
        "buchung",
        "buchungscode",
        "buchungsnummer",
        "reservierung",
        "vorgangsnummer",
        "bestätigung",
    ],
    "fr": ["réservation", "reservation", "référence", "reference", "dossier", "confirmation"],
    "it": ["prenotazione", "prenotazioni", "codice", "pnr", "conferma"],
    "pt": ["reserva", "localizador", "código", "codigo", "confirmação", "confirmacao"],
    "es": ["reserva", "localizador", "código", "codigo", "confirmación"],
}

_NOT_A_PNR: Final = re.compile(
    r"""
    [A-Z]{2}\d{4}                        # flight number, airline code of two letters
    | [A-Z]\d{5} | \d[A-Z]\d{4}          # flight number, code of a letter and a digit (U2, 4U)
    | \d{1,4}(?:KG|KGS|LBS?|CM|MM|KM|MIN|H|HRS?|AM|PM|EUR|USD|GBP|CHF|BRL|MB|GB|ST|ND|RD|TH)
    | (?:EUR|USD|GBP|CHF|BRL)\d{1,3}     # prices with the currency code glued on
    | \d{1,2}(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d{0,2}
    | \d{1,2}X\d{1,3}(?:KG)?             # baggage: 2X23, 2X23KG
    """,
    re.VERBOSE,
)

#: Six-letter words that people type in capitals, in the six languages.
_CAPITAL_WORDS: Final[frozenset[str]] = frozenset(
    {
        "THANKS", "PLEASE", "URGENT", "CANCEL", "CHANGE", "FLIGHT", "TICKET", "REFUND",
        "ANSWER", "STATUS", "AGENTS", "HUMANS", "PERSON", "BOOKED", "DELAYS", "CHARGE",
        "UPDATE", "RETURN", "ONLINE", "NUMBER", "SEARCH", "ISSUES", "STORNO", "BUCHEN",
        "ABFLUG", "FRAGEN", "BILLET", "RETOUR", "BAGAGE", "GRAZIE", "VUELOS", "CAMBIO",
        "ANULAR", "MALETA", "AJUDEM", "VIAGEM",
    }
)  # fmt: skip


_VOWELS: Final = frozenset("aeiouy")
#: Spellings of one consonant sound, so that "sch" in "schlaf" counts as one.
_DIGRAPHS: Final = re.compile(r"sch|ch|ck|th|ph|gh|sh|qu|gn|ll|rr|ss|nh|lh")
_CONSONANT_RUN: Final = re.compile(r"[^aeiouy]{4,}")


def _unpronounceable(code: str) -> bool:
    """Whether a lower-case run of letters cannot be a word in the six languages.

    Words have a vowel (``y`` counts), and those with a single vowel do not pile
    four consonants together ("strand", "nichts" do not; "xqsqla" does); random
    codes often fail one of the two. Stop words and names are always words.
    """
    vowels = sum(ch in _VOWELS for ch in code)
    if vowels == 0:
        return True
    lexicon = name_lexicon()
    return (
        vowels == 1
        and _CONSONANT_RUN.search(_DIGRAPHS.sub("c", code)) is not None
        and not lexicon.is_stop_word(fold(code))
        and not lexicon.is_name(fold(code))
    )


class BookingReferenceRecognizer(PatternRecognizer):
    """Finds six-character airline booking references (PNR / record locator).

    A code of capital letters and digits mixed (``X7KQ2P``, ``ABC123``) is reported
    on its own. Near a context word such as "booking", "Buchungscode", "conferma"
    or "localizador" (and only there) also: one of capital letters only
    (``QWERTZ``), one typed in lower case (``x7kq2p``), and one of lower-case
    letters only that no word could be (``vjdpts``); a lower-case word ("danke",
    "grazie", "thanks") never is. Flight numbers (``LH1173``, ``U21234``), amounts
    with units (``120MIN``, ``2X23KG``) and airline-style dates (``5MAY25``) are
    never reported, whatever the context.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern(
            "PNR (capital letters and digits)",
            r"(?<![\w@./\-])(?-i:(?=[A-Z]{0,5}\d)(?=\d{0,5}[A-Z])[A-Z0-9]{6})(?![\w@/\-]|\.\w)",
            0.5,
        ),
        Pattern(
            "PNR (letters and digits in lower case, needs context)",
            r"(?<![\w@./\-])(?-i:(?=[A-Za-z]{0,5}\d)(?=[A-Z0-9]{0,5}[a-z])[A-Za-z0-9]{6})"
            r"(?![\w@/\-]|\.\w)",
            0.3,
        ),
        Pattern(
            "PNR (capital letters, needs context)",
            r"(?<![\w@./\-])(?-i:[A-Z]{6})(?![\w@/\-]|\.\w)",
            0.2,
        ),
        Pattern(
            "PNR (lower-case letters, needs context)",
            r"(?<![\w@./\-])(?-i:[a-z]{6})(?![\w@/\-]|\.\w)",
            0.2,
        ),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="BOOKING_REFERENCE",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject flight numbers, units, dates, capitalised words and lower-case words."""
        if pattern_text.isalpha() and pattern_text.islower():
            return not _unpronounceable(pattern_text)
        code = pattern_text.upper()
        return code in _CAPITAL_WORDS or _NOT_A_PNR.fullmatch(code) is not None
