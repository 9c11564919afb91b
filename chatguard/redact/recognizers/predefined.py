"""Presidio's predefined recognisers that matter in chats, set up for chatguard.

Three adjustments, each for a reason a subclass states: e-mail validation uses the
public-suffix list bundled with tldextract instead of fetching it; phone numbers
are matched in the twelve regions the operators' customers call from, and a valid
number counts without a context word; context words come in all six languages.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
)

from chatguard.redact.recognizers.context import context_words

PHONE_REGIONS: Final[tuple[str, ...]] = (
    "DE", "PT", "IT", "FR", "ES", "AT", "CH", "LU", "BE", "NL", "GB", "US",
)  # fmt: skip

PHONE_CONTEXT = {
    "en": ["phone", "telephone", "mobile", "cell", "number", "call", "whatsapp", "tel"],
    "de": ["telefon", "telefonnummer", "handy", "handynummer", "mobil", "nummer", "anrufen"],
    "fr": ["téléphone", "portable", "numéro", "mobile", "appeler", "tél"],
    "it": ["telefono", "cellulare", "numero", "chiamare", "tel"],
    "pt": ["telefone", "telemóvel", "telemovel", "celular", "número", "numero", "ligar"],
    "es": ["teléfono", "telefono", "móvil", "movil", "número", "numero", "llamar"],
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


class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
    """Presidio's e-mail recogniser, validating domains against the bundled suffix list."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_language=supported_language, context=context_words(EMAIL_CONTEXT))

    def validate_result(self, pattern_text: str) -> bool:
        """A match is an address when its domain ends in a known public suffix."""
        return bool(_public_suffixes()(pattern_text).fqdn)


# Six digits, possibly separated, is the least any phone number in the regions has.
_ENOUGH_DIGITS = re.compile(r"\d(?:[\s./()-]*\d){5}")


class ChatPhoneRecognizer(PhoneRecognizer):  # type: ignore[misc]
    """Phone numbers valid in one of ``PHONE_REGIONS``, national or international form.

    A number that python-phonenumbers validates counts without a context word
    (users paste numbers bare in chats); a context word raises the score further.
    """

    SCORE = 0.6

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_language=supported_language,
            context=context_words(PHONE_CONTEXT),
            supported_regions=list(PHONE_REGIONS),
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Find phone numbers; texts without six digits in a row are skipped at once."""
        if not _ENOUGH_DIGITS.search(text):
            return []
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
        return results


def build_predefined_recognizers(language: str) -> list[EntityRecognizer]:
    """Presidio's recognisers for e-mail, phone, card, IBAN, IP and URL, for ``language``."""
    return [
        OfflineEmailRecognizer(supported_language=language),
        ChatPhoneRecognizer(supported_language=language),
        CreditCardRecognizer(supported_language=language, context=context_words(CARD_CONTEXT)),
        IbanRecognizer(supported_language=language, context=context_words(IBAN_CONTEXT)),
        IpRecognizer(supported_language=language, context=context_words(IP_CONTEXT)),
        UrlRecognizer(supported_language=language, context=context_words(URL_CONTEXT)),
    ]
