"""National identification and tax numbers of Germany, Portugal, Italy, Spain and France."""

from __future__ import annotations

import re
from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.pt import cc, nif

from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["tax", "national", "identity", "fiscal", "social", "security"],
    "de": ["steuer", "steuerid", "identifikationsnummer", "idnr", "steuernummer", "ausweis"],
    "fr": ["sécurité", "securite", "sociale", "nir", "insee", "vitale", "fiscal"],
    "it": ["codice", "fiscale", "sanitaria", "identità"],
    "pt": ["nif", "contribuinte", "cidadão", "cidadao", "fiscal", "identificação"],
    "es": ["dni", "nie", "nif", "identidad", "extranjero", "documento"],
}

_BEFORE: Final = r"(?<![\w+\-/.,])"
_AFTER: Final = r"(?![\w\-]|[.,/]\d)"
_OMOCODE_DIGIT: Final = r"[\dLMNP-V]"  # codice fiscale digits may be swapped for these letters

_SEPARATORS: Final = re.compile(r"[\s\-.]")
_CODICE_FISCALE: Final = re.compile(r"[A-Z]{6}\w{10}")
_NIE: Final = re.compile(r"[XYZ]\d{7}[A-Z]")
_DNI: Final = re.compile(r"\d{8}[A-Z]")
_CARTAO_CIDADAO: Final = re.compile(r"\d{9}[A-Z]{2}\d")
_NIR: Final = re.compile(r"\d{5}(?:\d\d|2A|2B)\d{8}")
_IDNR: Final = re.compile(r"\d{11}")
_NIF: Final = re.compile(r"\d{9}")


class NationalIdRecognizer(PatternRecognizer):
    """Finds national identification and tax numbers, each checked by its checksum.

    Every match must pass python-stdnum's validator, or it is dropped. Formats with a
    shape nothing else has (Italian codice fiscale, Spanish DNI and NIE, Portuguese
    Cartão de Cidadão) are reported on their own once their checksum passes. Bare runs
    of digits (German Steuer-IdNr, Portuguese NIF, French NIR) are reported only next
    to a context word such as "Steuer-ID", "contribuinte" or "sécurité sociale": a
    checksum passes for one random phone number in ten.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern(
            "Codice fiscale (IT)",
            _BEFORE
            + r"[A-Z]{6}"
            + _OMOCODE_DIGIT * 2
            + r"[ABCDEHLMPRST]"
            + _OMOCODE_DIGIT * 2
            + r"[A-Z]"
            + _OMOCODE_DIGIT * 3
            + r"[A-Z]"
            + _AFTER,
            0.5,
        ),
        Pattern("NIE (ES)", _BEFORE + r"[XYZ]-?\d{7}-?[A-Z]" + _AFTER, 0.5),
        Pattern("DNI (ES)", _BEFORE + r"\d{8}-?[A-Z]" + _AFTER, 0.5),
        Pattern("Cartão de Cidadão (PT)", _BEFORE + r"\d{8} ?\d ?[A-Z]{2} ?\d" + _AFTER, 0.5),
        Pattern(
            "NIR (FR)",
            _BEFORE + r"[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}" + _AFTER,
            0.4,
        ),
        Pattern("Steuer-IdNr (DE)", _BEFORE + r"[1-9]\d ?\d{3} ?\d{3} ?\d{3}" + _AFTER, 0.4),
        Pattern("NIF (PT)", _BEFORE + r"\d{3} ?\d{3} ?\d{3}" + _AFTER, 0.3),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="NATIONAL_ID",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Run the checksum of the format the match has.

        ``True`` (certain) for the distinctive formats, ``False`` when the checksum
        fails, and ``None`` for a bare number that passes, so that the pattern's own
        score stands and context decides.
        """
        number = _SEPARATORS.sub("", pattern_text).upper()
        if _CODICE_FISCALE.fullmatch(number):
            return bool(codicefiscale.is_valid(number))
        if _NIE.fullmatch(number):
            return bool(nie.is_valid(number))
        if _DNI.fullmatch(number):
            return bool(dni.is_valid(number))
        if _CARTAO_CIDADAO.fullmatch(number):
            return bool(cc.is_valid(number))
        if _NIR.fullmatch(number):
            valid = nir.is_valid(number)
        elif _IDNR.fullmatch(number):
            valid = idnr.is_valid(number)
        elif _NIF.fullmatch(number):
            valid = nif.is_valid(number)
        else:
            return False
        return None if valid else False
