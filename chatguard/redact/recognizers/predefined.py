"""Presidio's predefined recognisers that matter in chats, set up for chatguard.

Adjustments, each for a reason a subclass states: e-mail validation uses the
public-suffix list bundled with tldextract instead of fetching it; phone numbers
are matched in the twelve regions the operators' customers call from, a number
written the way people write phone numbers counts without a context word, and
dates and order numbers do not count; a card number never starts after "+";
IBANs are found in lower case too; context words come in all six languages.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
)
from stdnum import iban as stdnum_iban

from chatguard.redact.recognizers.context import context_words
from chatguard.redact.recognizers.result import recognizer_result

PHONE_REGIONS: Final[tuple[str, ...]] = (
    "DE", "PT", "IT", "FR", "ES", "AT", "CH", "LU", "BE", "NL", "GB", "US",
)  # fmt: skip

PHONE_CONTEXT = {
    # No bare "number"/"Nummer"/"número": they are substrings of "Ticketnummer" and
    # "número de passageiro frequente" and would pull those codes into PHONE_NUMBER.
    # Verb stems are matched inside words: "chiamat" in "richiamatemi", "llamad" in
    # "llamadme", "ligue" in "liguem-me"; not "chiamo"/"llamo"/"appelle", which say a name.
    "en": ["phone", "telephone", "mobile", "cell", "call", "whatsapp", "tel", "reach", "sms"],
    "de": ["telefon", "handy", "mobil", "anrufen", "rufen", "rückruf", "erreich"],
    "fr": ["téléphone", "portable", "mobile", "appeler", "appelez", "joindre", "tél"],
    "it": ["telefono", "cellulare", "chiamare", "chiamat", "chiamarmi", "tel"],
    "pt": ["telefone", "telemóvel", "telemovel", "celular", "ligar", "ligue", "contactar"],
    "es": ["teléfono", "telefono", "móvil", "movil", "llamar", "llamad", "llámame", "llámeme"],
}
EMAIL_CONTEXT = {
    "en": ["email", "e-mail", "mail", "address"],
    "de": ["e-mail", "mail", "adresse", "emailadresse"],
    "fr": ["courriel", "e-mail", "mail", "adresse"],
    "it": ["e-mail", "mail", "posta", "indirizzo"],
    "pt": ["e-mail", "email", "correio", "endereço"],
    "es": ["correo", "e-mail", "email", "dirección"],
}
CARD_CONTEXT = {
    "en": ["card", "credit", "visa", "mastercard", "amex", "debit"],
    "de": ["karte", "kreditkarte", "kartennummer", "visa", "mastercard"],
    "fr": ["carte", "crédit", "cb", "visa", "mastercard"],
    "it": ["carta", "credito", "visa", "mastercard"],
    "pt": ["cartão", "cartao", "crédito", "visa", "multibanco"],
    "es": ["tarjeta", "crédito", "visa", "mastercard"],
}
IBAN_CONTEXT = {
    "en": ["iban", "bank", "account", "refund", "transfer"],
    "de": ["iban", "bank", "konto", "kontonummer", "bankverbindung", "erstattung"],
    "fr": ["iban", "banque", "compte", "rib", "remboursement"],
    "it": ["iban", "banca", "conto", "rimborso", "bonifico"],
    "pt": ["iban", "banco", "conta", "nib", "reembolso", "transferência"],
    "es": ["iban", "banco", "cuenta", "reembolso", "transferencia"],
}
IP_CONTEXT = {
    "en": ["ip", "address", "server"],
    "de": ["ip", "adresse"],
    "fr": ["ip", "adresse"],
    "it": ["ip", "indirizzo"],
    "pt": ["ip", "endereço"],
    "es": ["ip", "dirección"],
}
URL_CONTEXT = {
    "en": ["url", "link", "website", "profile"],
    "de": ["url", "link", "webseite", "profil"],
    "fr": ["url", "lien", "site", "profil"],
    "it": ["url", "link", "sito", "profilo"],
    "pt": ["url", "link", "site", "perfil"],
    "es": ["url", "enlace", "sitio", "perfil"],
}


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # suffix_list_urls=() makes tldextract use the snapshot shipped in the package:
    # the default would fetch publicsuffix.org at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, validating domains against the bundled suffix list."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_language=supported_language, context=context_words(EMAIL_CONTEXT)
        )

    def validate_result(self, pattern_text: str) -> bool:
        """A match is an address when its domain ends in a known public suffix."""
        return bool(_public_suffixes()(pattern_text).fqdn)


# Numbers shorter than this are valid in some regions (Luxembourg has four-digit
# lines) but in a chat they are years, prices and flight numbers far more often.
_MIN_PHONE_DIGITS = 7
_ENOUGH_DIGITS = re.compile(rf"\d(?:[\s./()-]*\d){{{_MIN_PHONE_DIGITS - 1}}}")


class ChatPhoneRecognizer(PhoneRecognizer):
    """Phone numbers valid in one of ``PHONE_REGIONS``, national or international form.

    Promises: a valid number written as people write phone numbers (with ``+``,
    ``00`` or the trunk ``0``, or in the US style ``(212) 555-0123``) scores 0.6
    without a context word, since users paste numbers bare in chats; a valid number
    without such a prefix ("912 345 678", "41821000") scores 0.4 and needs a context
    word such as "telemóvel" or "móvil". A date ("27-6-2025", "20.8.2025",
    "2025-06-27") and a number right after an order prefix or an order word
    ("WEB-2051096", "#41821000", "Bestellung 47358797", "pedido 43388107") are never
    phone numbers.
    """

    SCORE = 0.6
    #: A valid number with no international or trunk prefix: more often an order,
    #: customer or invoice number than a phone number unless a context word says so.
    UNPREFIXED_SCORE = 0.4

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_language=supported_language,
            context=context_words(PHONE_CONTEXT),
            supported_regions=list(PHONE_REGIONS),
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Find phone numbers of at least seven digits; other texts are skipped at once.

        Presidio's recogniser runs python-phonenumbers' matcher over the whole text
        once per region, which made it half of chatguard's analysis time. Here each
        run of digits is cut at its groups, and only a group that starts like a phone
        number (``+``, ``0``, ``(``, a US shape), or any group when a phone word is in
        the text, is parsed: with no region for ``+``, else per region.
        """
        if not _ENOUGH_DIGITS.search(text):
            return []
        phone_word = _PHONE_WORD.search(text) is not None
        results: list[RecognizerResult] = []
        for run in _DIGIT_RUN.finditer(text):
            position = run.start()
            while position < run.end():
                end = self._number_at(text, position, run.end(), phone_word)
                if end:
                    score = (
                        self.SCORE
                        if _PHONE_SHAPE.match(text, position, end)
                        else self.UNPREFIXED_SCORE
                    )
                    results.append(self._result(position, end, score))
                    position = end
                next_group = _GROUP_START.search(text, position + 1, run.end())
                if next_group is None:
                    break
                position = next_group.start()
        return results

    @staticmethod
    def _number_at(text: str, start: int, stop: int, phone_word: bool) -> int:
        """End of the phone number starting at ``start`` within ``text[:stop]``, or 0."""
        candidate = text[start:stop]
        if not (phone_word or _PHONE_SHAPE.match(candidate) or _US_SHAPE.match(candidate)):
            return 0  # it could only score UNPREFIXED_SCORE, below the threshold
        length = _longest_valid_prefix(candidate)
        if not length or _ORDER_BEFORE.search(text, 0, start):
            return 0
        number = candidate[:length]
        if sum(ch.isdigit() for ch in number) < _MIN_PHONE_DIGITS or _DATE_SHAPE.fullmatch(number):
            return 0
        return start + length

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return recognizer_result(
            self, start, end, score, "number valid in one of the phone regions"
        )


#: Day, month and year in any order people write them: 27-6-2025, 20.8.2025, 2025-06-27.
_DATE_SHAPE: Final = re.compile(
    r"(?:0?[1-9]|[12]\d|3[01])([-./])(?:0?[1-9]|1[0-2])\1(?:19|20)?\d\d"
    r"|(?:0?[1-9]|1[0-2])([-./])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)?\d\d"
    r"|(?:19|20)\d\d([-./])(?:0?[1-9]|1[0-2])\3(?:0?[1-9]|[12]\d|3[01])"
)
#: How phone numbers start and order numbers do not: "+49", "0049", "0151", "(0)151",
#: or a US area code in parentheses or before two dash-separated groups.
_PHONE_SHAPE: Final = re.compile(r"\(?[+0]|\(\d{3}\)\s?\d{3}[-.\s]\d{4}$|\d{3}[-.]\d{3}[-.]\d{4}$")
_ORDER_WORDS: Final = (
    r"order|orders|invoice|customer|tracking|parcel|shipment"
    r"|bestellung|bestellnr|bestellnummer|auftrag|auftragsnummer|rechnung|rechnungsnummer"
    r"|kundennummer|sendung|sendungsnummer|commande|facture|colis"
    r"|ordine|ordinazione|fattura|spedizione|encomenda|fatura|pedido|factura|envío|envio"
)
#: An order prefix glued to the number ("WEB-", "AB#", "#") or an order word before it,
#: with at most "number", "no.", "nr", "nº" or ":" between.
_ORDER_BEFORE: Final = re.compile(
    rf"(?:(?<![\w+])[^\W\d_]{{1,10}}[-#]\s?|#\s?|(?i:\b(?:{_ORDER_WORDS})\b)"
    r"(?:\s*(?i:number|nummer|numéro|numero|número|no\.?|nr\.?|n[º°o]\.?|#|:))*\s*)$"
)


#: A run of digit groups that may hold phone numbers: "+49 (0)151 2345-6789 23".
_DIGIT_RUN: Final = re.compile(r"(?<![\w+.,])(?:\+|\(\+?)?\d(?:[ ./()-]{0,3}\d)+")
#: Where a new number may start inside a run: a digit, "+" or "(" after a separator.
_GROUP_START: Final = re.compile(r"(?<=[ ./-])[+(]?\d")
_US_SHAPE: Final = re.compile(r"\d{3}[-.]\d{3}[-.]\d{4}(?!\d)")
_PHONE_WORD: Final = re.compile(
    "|".join(re.escape(word) for word in context_words(PHONE_CONTEXT)), re.IGNORECASE
)
_GROUP_END: Final = re.compile(r"\d(?=[ ./()-]|$)")
#: Regions whose national numbers are written with a leading 0 (trunk prefix or, in
#: Italy, part of the number); Portugal, Spain, Luxembourg and the US write none.
_ZERO_REGIONS: Final = ("DE", "FR", "IT", "AT", "CH", "BE", "NL", "GB")


def _longest_valid_prefix(candidate: str) -> int:
    """Length of the longest prefix of ``candidate``, ending after a digit group, that is
    a valid number in some region (0 if none). A number followed by more digits
    ("+351 912 345 678 23 kg") is found by its valid prefix."""
    if candidate.startswith(("+", "(+", "00")):
        regions: tuple[str | None, ...] = (None,) if candidate[0] != "0" else ("DE",)
    elif candidate.lstrip("(").startswith("0"):
        regions = _ZERO_REGIONS
    else:
        regions = PHONE_REGIONS
    for group_end in reversed([m.end() for m in _GROUP_END.finditer(candidate)]):
        prefix = candidate[:group_end]
        if sum(ch.isdigit() for ch in prefix) < _MIN_PHONE_DIGITS:
            break
        for region in regions:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(prefix, region)):
                    return group_end
            except phonenumbers.NumberParseException:
                continue
    return 0


_CARD_PATTERNS = [
    *CreditCardRecognizer.PATTERNS,
    Pattern(
        "All Credit Cards (weak, not followed by digits)",
        CreditCardRecognizer.PATTERNS[0].regex + r"(?![- ]?\d)",
        CreditCardRecognizer.PATTERNS[0].score,
    ),
]


class ChatCardRecognizer(CreditCardRecognizer):
    """Presidio's card recogniser, also finding a card right after another number.

    Presidio's pattern, on "LH 1173 4000 0000 0000 0002", first matches from
    "1173", fails the Luhn check, and never looks at the card itself. A second
    pattern that refuses to end where another digit group follows finds it, and a
    search for the printed group layout at every group start finds a card with
    digit groups on both sides. An international phone number ("+4915149903499")
    that passes the Luhn check by chance is not a card.
    """

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_language=supported_language,
            context=context_words(CARD_CONTEXT),
            patterns=_CARD_PATTERNS,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Find card numbers; digits right after a "+" are a phone number, never a card."""
        results: list[RecognizerResult] = super().analyze(
            text, entities, nlp_artifacts, regex_flags
        )
        for window in _GROUPED_CARD.finditer(text):
            start, end = window.span(1)
            digits = re.sub(r"\D", "", window.group(1))
            if any(r.start < end and start < r.end for r in results) or not _luhn_valid(digits):
                continue
            results.append(
                recognizer_result(
                    self,
                    start,
                    end,
                    EntityRecognizer.MAX_SCORE,
                    "grouped card number passing the Luhn check",
                )
            )
        return [r for r in results if not text[: r.start].endswith("+")]


#: A card written in its printed groups (4-4-4-4, or Amex 4-6-5), found at every group
#: start, so that digit groups on both sides ("LH 1173 4000 ... 0002 23 kg") do not hide it.
_GROUPED_CARD: Final = re.compile(
    r"(?<![\d+])(?=("
    r"(?:4|5[1-5]|2[2-7]|6)\d{3}([ -])\d{4}\2\d{4}\2\d{4}"  # Visa, Mastercard, Discover
    r"|3[47]\d{2}([ -])\d{6}\3\d{5}"  # American Express
    r")(?!\d))"
)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


#: Two letters, two check digits, then groups of letters and digits, in any case. It
#: may run on into the next word ("at82...34 zahlen"); the longest valid prefix is kept.
_IBAN_CANDIDATE: Final = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{1,4}){3,9}")
_IBAN_GROUP_END: Final = re.compile(r"[A-Za-z0-9](?=[ -]|$)")


class ChatIbanRecognizer(IbanRecognizer):
    """IBANs in capitals or typed in lower case ("de89370400440532013000").

    Promises: a match is reported, with score 1.0, only when python-stdnum validates
    it (the country's format and the mod-97 check digits), so text that merely
    looks like an IBAN is not; the span ends where the IBAN does, never inside the
    following word.
    """

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_language=supported_language, context=context_words(IBAN_CONTEXT))

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Find IBANs in any case; offsets are those of ``text``."""
        results: list[RecognizerResult] = []
        position = 0
        while match := _IBAN_CANDIDATE.search(text, position):
            end = self._longest_valid_prefix(text, match)
            if end:
                results.append(self._result(match.start(), end))
            # A candidate that ran on past its IBAN may hold the start of the next one.
            position = end or match.start() + 1
        return results

    def validate_result(self, pattern_text: str) -> bool:
        """An IBAN is valid when its country format and check digits are."""
        return bool(stdnum_iban.is_valid(pattern_text))

    def _longest_valid_prefix(self, text: str, match: re.Match[str]) -> int:
        """End offset of the longest valid IBAN that ``match`` starts with (0 if none)."""
        candidate = match.group()
        for group_end in reversed([m.end() for m in _IBAN_GROUP_END.finditer(candidate)]):
            end = match.start() + group_end
            if end < len(text) and text[end].isalnum():
                continue  # the prefix would end inside a word
            if self.validate_result(candidate[:group_end]):
                return end
        return 0

    def _result(self, start: int, end: int) -> RecognizerResult:
        return recognizer_result(
            self,
            start,
            end,
            EntityRecognizer.MAX_SCORE,
            "IBAN with valid country format and check digits",
        )


def build_predefined_recognizers(language: str) -> list[EntityRecognizer]:
    """Presidio's recognisers for e-mail, phone, card, IBAN, IP and URL, for ``language``."""
    return [
        OfflineEmailRecognizer(supported_language=language),
        ChatPhoneRecognizer(supported_language=language),
        ChatCardRecognizer(supported_language=language),
        ChatIbanRecognizer(supported_language=language),
        IpRecognizer(supported_language=language, context=context_words(IP_CONTEXT)),
        UrlRecognizer(supported_language=language, context=context_words(URL_CONTEXT)),
    ]
