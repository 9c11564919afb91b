"""Synthetic slot values for the redaction evaluation set.

Every value here is invented: names are combinations of common first and last
names, numbers are random digits completed with the check digits their format
requires (Luhn for cards, mod-97 for IBANs, python-stdnum's algorithms for
national ids) and then validated with python-stdnum or phonenumbers, so a
recogniser that checks checksums sees well-formed values. Nothing belongs to a
real person.

A *personal* generator returns the exact string that is inserted into the
message and that the gold span covers; a *negative* generator returns text that
is inserted without a span (destinations, flight numbers, prices, ...).
"""

from __future__ import annotations

import ipaddress
import random
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.pt import cc as pt_cc
from stdnum.pt import nif

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "James",
        "Emily",
        "Oliver",
        "Sophie",
        "Daniel",
        "Hannah",
        "Michael",
        "Grace",
        "Thomas",
        "Chloe",
        "Ryan",
        "Megan",
        "Amelia",
        "Harry",
    ),
    "de": (
        "Lukas",
        "Anna",
        "Jonas",
        "Lea",
        "Felix",
        "Marie",
        "Tobias",
        "Katharina",
        "Matthias",
        "Sabine",
        "Jürgen",
        "Ute",
        "Henrik",
        "Jana",
    ),
    "fr": (
        "Camille",
        "Julien",
        "Léa",
        "Mathieu",
        "Chloé",
        "Antoine",
        "Manon",
        "Nicolas",
        "Élodie",
        "Guillaume",
        "Océane",
        "Hugo",
        "Margaux",
        "Thibault",
    ),
    "it": (
        "Giulia",
        "Marco",
        "Francesca",
        "Alessandro",
        "Chiara",
        "Luca",
        "Martina",
        "Davide",
        "Elena",
        "Matteo",
        "Sara",
        "Giorgio",
        "Federica",
        "Simone",
    ),
    "pt": (
        "João",
        "Maria",
        "Inês",
        "Tiago",
        "Beatriz",
        "Rui",
        "Ana",
        "Gonçalo",
        "Mariana",
        "Duarte",
        "Catarina",
        "Nuno",
        "Leonor",
        "Filipe",
    ),
    "es": (
        "Javier",
        "Lucía",
        "Alejandro",
        "Carmen",
        "Pablo",
        "Marta",
        "Sergio",
        "Elena",
        "Álvaro",
        "Paula",
        "Diego",
        "Nuria",
        "Iñigo",
        "Rocío",
    ),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "Carter",
        "Whitfield",
        "Harding",
        "Brooks",
        "Ellison",
        "Palmer",
        "Fletcher",
        "Hughes",
        "Bennett",
        "Morgan",
        "Sutton",
        "Reeves",
        "O'Connor",
        "Ashworth",
    ),
    "de": (
        "Müller",
        "Schneider",
        "Becker",
        "Hoffmann",
        "Wagner",
        "Krüger",
        "Schäfer",
        "Zimmermann",
        "Braun",
        "Vogel",
        "Hartmann",
        "Weiß",
        "Lindemann",
        "Kühn",
    ),
    "fr": (
        "Martin",
        "Dubois",
        "Lefèvre",
        "Moreau",
        "Girard",
        "Fontaine",
        "Rousseau",
        "Lambert",
        "Mercier",
        "Chevalier",
        "Garnier",
        "Faure",
        "Delacroix",
        "Perrin",
    ),
    "it": (
        "Rossi",
        "Bianchi",
        "Esposito",
        "Romano",
        "Colombo",
        "Ricci",
        "Marino",
        "Greco",
        "Bruno",
        "Gallo",
        "Conti",
        "De Luca",
        "Ferraro",
        "Lombardi",
    ),
    "pt": (
        "Silva",
        "Santos",
        "Ferreira",
        "Pereira",
        "Oliveira",
        "Costa",
        "Rodrigues",
        "Martins",
        "Sousa",
        "Fernandes",
        "Gonçalves",
        "Carvalho",
        "Vasconcelos",
        "Teixeira",
    ),
    "es": (
        "García",
        "Fernández",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Ruiz",
        "Jiménez",
        "Moreno",
        "Navarro",
        "Romero",
        "Iglesias",
        "Castillo",
    ),
}
EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "en": ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "example.com"),
    "de": ("gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"),
    "fr": ("orange.fr", "free.fr", "laposte.net", "gmail.com", "hotmail.fr"),
    "it": ("libero.it", "virgilio.it", "gmail.com", "tiscali.it", "alice.it"),
    "pt": ("sapo.pt", "gmail.com", "hotmail.com", "outlook.pt", "netcabo.pt"),
    "es": ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es"),
}


@dataclass
class Person:
    """One synthetic person: the first and last name(s) as they are usually written."""

    first: str
    last: str

    @property
    def full(self) -> str:
        """First and last name joined by a space."""
        return f"{self.first} {self.last}"


def make_person(rng: random.Random, lang: str) -> Person:
    """Return a synthetic person whose name fits ``lang`` (sometimes another language's)."""
    name_lang = lang if rng.random() < 0.8 else rng.choice(sorted(FIRST_NAMES))
    first = rng.choice(FIRST_NAMES[name_lang])
    last = rng.choice(LAST_NAMES[name_lang])
    if name_lang == "es" and rng.random() < 0.5:
        second = rng.choice(LAST_NAMES["es"])
        if second != last:
            last = f"{last} {second}"
    if name_lang == "pt" and rng.random() < 0.4:
        middle = rng.choice(LAST_NAMES["pt"])
        if middle != last:
            last = f"{middle} {last}"
    return Person(first, last)


@dataclass
class SlotContext:
    """What the slots of one message share: its language and its main person."""

    rng: random.Random
    lang: str
    _person: Person | None = field(default=None, repr=False)

    @property
    def person(self) -> Person:
        """The message's main person, chosen on first use and then kept."""
        if self._person is None:
            self._person = make_person(self.rng, self.lang)
        return self._person


def ascii_fold(text: str) -> str:
    """Drop accents and apostrophes, lower-case: what people type in e-mail addresses."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.replace("'", "").replace(" ", "").replace("ß", "ss").lower()


# --------------------------------------------------------------------------- personal


def person_value(ctx: SlotContext, variant: str) -> str:
    """A person's name: full (default), ``first``, ``last``, ``lower`` (typed in
    lower case) or ``other`` (a second person in the same message)."""
    person = ctx.person
    if variant == "other":
        person = make_person(ctx.rng, ctx.lang)
        return person.full
    if variant == "first":
        return person.first
    if variant == "last":
        return person.last
    if variant == "lower":
        return person.full.lower()
    return person.full


def email_value(ctx: SlotContext, variant: str) -> str:
    """An e-mail address built from the message's person; ``obf`` spells out
    at/dot, ``zw`` hides a zero-width space inside it."""
    rng = ctx.rng
    first = ascii_fold(ctx.person.first)
    last = ascii_fold(ctx.person.last.split()[-1])
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{last}{rng.randint(70, 99)}",
            f"{first}_{last}",
            f"{last}.{first[0]}",
        )
    )
    domain = rng.choice(EMAIL_DOMAINS[ctx.lang])
    if variant == "obf":
        name, tld = domain.rsplit(".", 1)
        style = rng.randrange(3)
        if style == 0:
            local_spoken = local.replace(".", " dot ")
            return f"{local_spoken} at {name} dot {tld}"
        if style == 1:
            return f"{local} (at) {name}.{tld}"
        return f"{local}[at]{name}[dot]{tld}"
    if variant == "zw":
        cut = rng.randint(1, len(local) - 1)
        return f"{local[:cut]}\u200b{local[cut:]}@{domain}"
    return f"{local}@{domain}"


PHONE_REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("GB", "GB", "US", "US", "NL", "DE", "PT", "CH"),
    "de": ("DE", "DE", "DE", "AT", "CH", "LU", "NL"),
    "fr": ("FR", "FR", "FR", "BE", "LU", "CH"),
    "it": ("IT", "IT", "IT", "CH", "FR"),
    "pt": ("PT", "PT", "PT", "LU", "FR", "CH"),
    "es": ("ES", "ES", "ES", "PT", "FR", "BE"),
}


def phone_value(ctx: SlotContext, variant: str) -> str:
    """A valid (per phonenumbers) mobile number of a region likely for the language,
    in international, national or E.164 format; ``dots`` separates digit groups
    with dots, an evasion seen in chats. A region code as variant forces it."""
    rng = ctx.rng
    region = variant.upper() if len(variant) == 2 else rng.choice(PHONE_REGIONS[ctx.lang])
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers has no example mobile number for region {region}")
    digits = str(example.national_number)
    keep = 3 if region != "US" else 0
    for _ in range(1000):
        if region == "US":
            national = (
                rng.choice(("212", "305", "415", "617", "312"))
                + "555"
                + (f"01{rng.randint(0, 99):02d}")
            )
        else:
            national = digits[:keep] + "".join(
                rng.choice(string.digits) for _ in range(len(digits) - keep)
            )
        number = phonenumbers.parse(national, region)
        if phonenumbers.is_valid_number(number):
            break
    else:  # pragma: no cover - the example prefixes always give valid numbers
        raise RuntimeError(f"no valid phone number for {region}")
    style = rng.choice(
        (
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
        )
    )
    text = phonenumbers.format_number(number, style)
    if variant == "dots":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        text = text.replace(" ", ".").replace("-", ".")
    return text


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(number)
    return number


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def card_value(ctx: SlotContext, variant: str) -> str:
    """A Luhn-valid Visa, Mastercard or Amex number, grouped by spaces or dashes or
    not at all; evasions: ``zw`` (zero-width space inside), ``fw`` (full-width
    digits), ``dots`` (groups separated by dots)."""
    rng = ctx.rng
    kind = rng.choice(("visa", "visa", "mc", "amex"))
    if kind == "amex":
        number = _luhn_complete(rng.choice(("34", "37")), 15, rng)
        groups = [number[:4], number[4:10], number[10:]]
    else:
        prefix = "4" if kind == "visa" else str(rng.randint(51, 55))
        number = _luhn_complete(prefix, 16, rng)
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    if variant == "zw":
        return " ".join(groups[:2]) + "\u200b" + " ".join(groups[2:])
    if variant == "fw":
        return " ".join(groups).translate(_FULLWIDTH)
    if variant == "dots":
        return ".".join(groups)
    return rng.choice((" ".join(groups), " ".join(groups), "-".join(groups), number))


# Country: BBAN pattern, n = digit, a = upper-case letter, c = either (digits mostly).
_IBAN_BBAN: dict[str, str] = {
    "DE": "nnnnnnnnnnnnnnnnnn",
    "PT": "nnnnnnnnnnnnnnnnnnnnn",
    "IT": "annnnnnnnnncccccccccccc",
    "FR": "nnnnnnnnnnnnnnnnnnnnnnn",
    "ES": "nnnnnnnnnnnnnnnnnnnn",
    "AT": "nnnnnnnnnnnnnnnn",
    "BE": "nnnnnnnnnnnn",
    "LU": "nnnccccccccccccc",
    "NL": "aaaannnnnnnnnn",
    "CH": "nnnnnnnnnnnnnnnnn",
    "GB": "aaaannnnnnnnnnnnnn",
}
_IBAN_COUNTRIES: dict[str, tuple[str, ...]] = {
    "en": ("GB", "GB", "NL", "DE", "PT"),
    "de": ("DE", "DE", "DE", "AT", "CH", "LU"),
    "fr": ("FR", "FR", "FR", "BE", "LU"),
    "it": ("IT", "IT", "IT", "CH"),
    "pt": ("PT", "PT", "PT", "LU", "FR"),
    "es": ("ES", "ES", "ES", "PT"),
}


def _bban_char(kind: str, rng: random.Random) -> str:
    if kind == "a" or (kind == "c" and rng.random() < 0.2):
        return rng.choice(string.ascii_uppercase)
    return rng.choice(string.digits)


def _iban(country: str, rng: random.Random) -> str:
    for _ in range(20000):
        bban = "".join(_bban_char(kind, rng) for kind in _IBAN_BBAN[country])
        number = country + "00" + bban
        number = country + std_iban.calc_check_digits(number) + bban
        if std_iban.is_valid(number):
            return number
    raise RuntimeError(f"could not build a valid {country} IBAN")  # pragma: no cover


def iban_value(ctx: SlotContext, variant: str) -> str:
    """A mod-97-valid IBAN (python-stdnum checks it, country rules included),
    compact or in groups of four; ``lower`` types it in lower case."""
    rng = ctx.rng
    country = variant.upper() if len(variant) == 2 else rng.choice(_IBAN_COUNTRIES[ctx.lang])
    number = _iban(country, rng)
    text = rng.choice((std_iban.format(number), number))
    if variant == "lower":
        text = text.lower()
    return text


def ip_value(ctx: SlotContext, variant: str) -> str:
    """An IPv4 address (documentation or plausible ISP ranges) or, rarely, IPv6."""
    rng = ctx.rng
    if rng.random() < 0.15:
        # the documentation prefix 2001:db8::/32, host part random, canonical form
        return str(ipaddress.IPv6Address((0x20010DB8 << 96) | rng.getrandbits(96)))
    first = rng.choice(("81", "85", "88", "93", "95", "178", "188", "213", "217", "203", "198"))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _token(rng: random.Random, length: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def url_value(ctx: SlotContext, variant: str) -> str:
    """A personal link: a social profile of the message's person (``profile``) or a
    shared document or photo (``doc``); either by default."""
    rng = ctx.rng
    first = ascii_fold(ctx.person.first)
    last = ascii_fold(ctx.person.last.split()[-1])
    alnum = string.ascii_letters + string.digits
    profiles = (
        f"https://www.instagram.com/{first}.{last}{rng.randint(80, 99)}",
        f"https://www.linkedin.com/in/{first}-{last}-{_token(rng, 6, '0123456789abcdef')}",
        f"https://facebook.com/{first}.{last}.{rng.randint(1, 9)}",
    )
    documents = (
        f"https://drive.google.com/file/d/1{_token(rng, 25, alnum)}/view",
        f"https://we.tl/t-{_token(rng, 10, alnum)}",
        f"https://photos.app.goo.gl/{_token(rng, 17, alnum)}",
        f"https://www.dropbox.com/s/{_token(rng, 15, string.ascii_lowercase + string.digits)}"
        f"/{last}_{rng.randint(1, 99)}.jpg",
    )
    if variant == "profile":
        return rng.choice(profiles)
    if variant == "doc":
        return rng.choice(documents)
    return rng.choice(profiles + documents)


_PNR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def booking_value(ctx: SlotContext, variant: str) -> str:
    """A six-character booking reference (PNR) of letters and digits, at least one
    digit in most; ``lower`` as typed in lower case."""
    rng = ctx.rng
    while True:
        if rng.random() < 0.25:
            code = _token(rng, 6, _PNR_ALPHABET)
        else:
            code = _token(rng, 6, _PNR_ALPHABET + "23456789")
        letters = sum(ch.isalpha() for ch in code)
        if letters >= 1 and code[0].isalpha():
            break
    return code.lower() if variant == "lower" else code


_AIRLINE_TICKET_CODES = ("220", "047", "057", "074", "149", "075", "055", "125", "724")


def ticket_value(ctx: SlotContext, variant: str) -> str:
    """A 13-digit e-ticket number: 3-digit airline code + 10 digits, with or without dash."""
    rng = ctx.rng
    code = rng.choice(_AIRLINE_TICKET_CODES)
    serial = _token(rng, 10, string.digits)
    return rng.choice((f"{code}-{serial}", f"{code}{serial}", f"{code} {serial}"))


def frequent_flyer_value(ctx: SlotContext, variant: str) -> str:
    """A frequent-flyer number: Miles & More (15 digits, ``mm``), Flying Blue
    (10 digits, ``fb``), TAP Miles&Go (``tap``), Iberia Plus (``ib``)."""
    rng = ctx.rng
    kind = variant or rng.choice(("mm", "mm", "fb", "tap", "ib"))
    if kind == "mm":
        number = "992" + _token(rng, 12, string.digits)
        return rng.choice((number, f"{number[:3]} {number[3:7]} {number[7:11]} {number[11:]}"))
    if kind == "fb":
        return rng.choice(("1", "2")) + _token(rng, 9, string.digits)
    if kind == "tap":
        number = _token(rng, 9, string.digits)
        return rng.choice((number, f"TP{number}"))
    return rng.choice(("IB", "")) + _token(rng, 8, string.digits)


def passport_value(ctx: SlotContext, variant: str) -> str:
    """A passport number in the format of the language's country (DE, PT, IT, FR,
    ES, GB/US for English); a country code as variant forces it."""
    rng = ctx.rng
    default = {
        "en": rng.choice(("GB", "US")),
        "de": "DE",
        "fr": "FR",
        "it": "IT",
        "pt": "PT",
        "es": "ES",
    }
    country = variant.upper() if len(variant) == 2 else default[ctx.lang]
    if country == "DE":
        return rng.choice("CFGHJK") + _token(rng, 8, "CFGHJKLMNPRTVWXYZ0123456789")
    if country == "PT":
        return rng.choice("CPN") + _token(rng, 6, string.digits)
    if country == "IT":
        return _token(rng, 2, "ABCDEFGHJKLMNPRSTUVWXYZ") + _token(rng, 7, string.digits)
    if country == "FR":
        return (
            _token(rng, 2, string.digits)
            + _token(rng, 2, string.ascii_uppercase)
            + _token(rng, 5, string.digits)
        )
    if country == "ES":
        return _token(rng, 3, string.ascii_uppercase) + _token(rng, 6, string.digits)
    if country == "GB":
        return str(rng.randint(1, 9)) + _token(rng, 8, string.digits)
    return rng.choice("ACE") + _token(rng, 8, string.digits)


def _de_idnr(rng: random.Random) -> str:
    while True:
        body = str(rng.randint(1, 9)) + _token(rng, 9, string.digits)
        for check in string.digits:
            if idnr.is_valid(body + check):
                return body + check


def _pt_nif(rng: random.Random) -> str:
    body = rng.choice("123") + _token(rng, 7, string.digits)
    number = body + nif.calc_check_digit(body)
    assert nif.is_valid(number)
    return number


def _pt_cc(rng: random.Random) -> str:
    body = _token(rng, 9, string.digits) + rng.choice(("ZZ", "ZX", "ZY", "ZW"))
    number = body + pt_cc.calc_check_digit(body)
    assert pt_cc.is_valid(number)
    return str(pt_cc.format(number))


_CF_MONTHS = "ABCDEHLMPRST"


def _it_codice_fiscale(rng: random.Random) -> str:
    consonants = "BCDFGLMNPRSTVZ"
    while True:
        body = (
            _token(rng, 3, consonants)
            + _token(rng, 3, consonants)
            + f"{rng.randint(50, 99):02d}"
            + rng.choice(_CF_MONTHS)
            + f"{rng.randint(1, 28) + rng.choice((0, 40)):02d}"
            + rng.choice("ABCDEFGHL")
            + f"{rng.randint(100, 999)}"
        )
        number = body + codicefiscale.calc_check_digit(body)
        if codicefiscale.is_valid(number):
            return number


def _es_dni(rng: random.Random) -> str:
    body = _token(rng, 8, string.digits)
    number = body + dni.calc_check_digit(body)
    assert dni.is_valid(number)
    return rng.choice((number, f"{body}-{number[-1]}"))


def _es_nie(rng: random.Random) -> str:
    body = rng.choice("XYZ") + _token(rng, 7, string.digits)
    number = body + nie.calc_check_digit(body)
    assert nie.is_valid(number)
    return number


def _fr_nir(rng: random.Random) -> str:
    while True:
        body = (
            rng.choice("12")
            + f"{rng.randint(50, 99):02d}"
            + f"{rng.randint(1, 12):02d}"
            + f"{rng.choice((75, 69, 13, 33, 59, 31, 67, 92, 93)):02d}"
            + _token(rng, 3, string.digits)
            + _token(rng, 3, string.digits)
        )
        number = body + nir.calc_check_digits(body)
        if nir.is_valid(number):
            return rng.choice((number, str(nir.format(number))))


NATIONAL_ID_KINDS: dict[str, Callable[[random.Random], str]] = {
    "de_idnr": _de_idnr,
    "pt_nif": _pt_nif,
    "pt_cc": _pt_cc,
    "it_cf": _it_codice_fiscale,
    "es_dni": _es_dni,
    "es_nie": _es_nie,
    "fr_nir": _fr_nir,
}
_NATIONAL_ID_BY_LANG: dict[str, tuple[str, ...]] = {
    "en": ("pt_nif", "es_nie", "it_cf", "de_idnr"),
    "de": ("de_idnr",),
    "fr": ("fr_nir",),
    "it": ("it_cf",),
    "pt": ("pt_nif", "pt_nif", "pt_cc"),
    "es": ("es_dni", "es_dni", "es_nie"),
}


def national_id_value(ctx: SlotContext, variant: str) -> str:
    """A checksum-valid national id (python-stdnum validates it): German Steuer-IdNr,
    Portuguese NIF or Cartão de Cidadão, Italian codice fiscale, Spanish DNI or
    NIE, French NIR. The variant names the kind; default: one of the language's."""
    kind = variant or ctx.rng.choice(_NATIONAL_ID_BY_LANG[ctx.lang])
    return NATIONAL_ID_KINDS[kind](ctx.rng)


_STREETS: dict[str, tuple[str, ...]] = {
    "de": (
        "Lindenstraße",
        "Gartenweg",
        "Bahnhofstr.",
        "Schillerstraße",
        "Am Mühlbach",
        "Kastanienallee",
        "Goethestr.",
    ),
    "pt": (
        "Rua das Flores",
        "Avenida da Liberdade",
        "Rua do Carmo",
        "Travessa do Sol",
        "Rua Dr. António Nunes",
        "Rua de Cedofeita",
    ),
    "it": (
        "Via Garibaldi",
        "Via dei Mille",
        "Corso Vittorio Emanuele",
        "Via Verdi",
        "Viale dei Tigli",
        "Via San Martino",
    ),
    "fr": (
        "rue des Lilas",
        "avenue Jean Jaurès",
        "rue du Moulin",
        "boulevard Voltaire",
        "allée des Tilleuls",
        "rue Victor Hugo",
    ),
    "es": (
        "Calle Mayor",
        "Avenida de la Constitución",
        "Calle del Olmo",
        "Paseo de las Acacias",
        "Calle San Vicente",
        "Plaza del Sol",
    ),
    "en": (
        "Maple Road",
        "Church Lane",
        "Station Road",
        "Victoria Street",
        "Oak Avenue",
        "Kingsway",
    ),
}
_POSTAL_CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (
        ("10", "Berlin"),
        ("60", "Frankfurt am Main"),
        ("80", "München"),
        ("50", "Köln"),
        ("20", "Hamburg"),
    ),
    "pt": (("1", "Lisboa"), ("4", "Porto"), ("3", "Coimbra"), ("8", "Faro"), ("4", "Braga")),
    "it": (("00", "Roma"), ("20", "Milano"), ("40", "Bologna"), ("80", "Napoli"), ("10", "Torino")),
    "fr": (
        ("75", "Paris"),
        ("69", "Lyon"),
        ("13", "Marseille"),
        ("31", "Toulouse"),
        ("33", "Bordeaux"),
    ),
    "es": (
        ("28", "Madrid"),
        ("08", "Barcelona"),
        ("41", "Sevilla"),
        ("46", "Valencia"),
        ("48", "Bilbao"),
    ),
    "en": (
        ("SW", "London"),
        ("M", "Manchester"),
        ("B", "Birmingham"),
        ("LS", "Leeds"),
        ("BS", "Bristol"),
    ),
}


def address_value(ctx: SlotContext, variant: str) -> str:
    """A street address (street, number, postal code, city) in the language's
    country style; ``nocity`` leaves out postal code and city."""
    rng = ctx.rng
    country = variant if variant in _STREETS else ctx.lang
    street = rng.choice(_STREETS[country])
    number = str(rng.randint(1, 180))
    prefix, city = rng.choice(_POSTAL_CITIES[country])
    if country == "de":
        code = prefix + _token(rng, 3, string.digits)
        line, tail = f"{street} {number}", f"{code} {city}"
    elif country == "pt":
        code = prefix + _token(rng, 3, string.digits) + "-" + _token(rng, 3, string.digits)
        line = f"{street}, {number}" + rng.choice(("", f", {rng.randint(1, 6)}º Esq.", " 2D"))
        tail = f"{code} {city}"
    elif country == "it":
        code = prefix + _token(rng, 5 - len(prefix), string.digits)
        line, tail = f"{street} {number}", f"{code} {city}"
    elif country == "fr":
        code = prefix + _token(rng, 3, string.digits)
        line, tail = f"{number} {street}", f"{code} {city}"
    elif country == "es":
        code = prefix + _token(rng, 3, string.digits)
        line = f"{street} {number}" + rng.choice(("", f", {rng.randint(1, 8)}º B"))
        tail = f"{code} {city}"
    else:
        inward = f"{rng.randint(1, 9)}{_token(rng, 2, 'ABDEFGHJLNPQRSTUWXYZ')}"
        code = f"{prefix}{rng.randint(1, 20)} {inward}"
        line, tail = f"{number} {street}", f"{city} {code}"
    if variant == "nocity":
        return line
    return f"{line}, {tail}"


MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "it": (
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ),
    "pt": (
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}


def birth_date_value(ctx: SlotContext, variant: str) -> str:
    """A date of birth between 1940 and 2006, numeric or spelled out per language."""
    rng = ctx.rng
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2006)
    name = MONTHS[ctx.lang][month - 1]
    numeric = {
        "de": f"{day:02d}.{month:02d}.{year}",
        "en": f"{day:02d}/{month:02d}/{year}",
    }.get(ctx.lang, rng.choice((f"{day:02d}/{month:02d}/{year}", f"{day:02d}-{month:02d}-{year}")))
    spelled = {
        "en": rng.choice((f"{day} {name} {year}", f"{name} {day}, {year}")),
        "de": f"{day}. {name} {year}",
        "fr": f"{day} {name} {year}",
        "it": f"{day} {name} {year}",
        "pt": f"{day} de {name} de {year}",
        "es": f"{day} de {name} de {year}",
    }[ctx.lang]
    return rng.choice((numeric, numeric, spelled))


_PASSWORD_WORDS = (
    "Sonnenblume",
    "benfica",
    "Gatto",
    "Soleil",
    "Primavera",
    "dragon",
    "Lisboa",
    "Mariposa",
    "Schatz",
    "tartaruga",
    "chocolat",
    "Verano",
)


def credential_value(ctx: SlotContext, variant: str) -> str:
    """A secret: a typed password (``pw``, default), an AWS access key id
    (``aws``, AKIA...) or a GitHub token (``gh``, ghp_...)."""
    rng = ctx.rng
    if variant == "aws":
        return "AKIA" + _token(rng, 16, string.ascii_uppercase + "234567")
    if variant == "gh":
        return "ghp_" + _token(rng, 36, string.ascii_letters + string.digits)
    word = rng.choice(_PASSWORD_WORDS)
    return rng.choice(
        (
            f"{word}{rng.randint(1, 99)}!",
            f"{word}_{rng.randint(1960, 2024)}",
            f"{_token(rng, 4, string.ascii_letters)}{rng.randint(10, 99)}{word.lower()}#",
            _token(rng, 10, string.ascii_letters + string.digits + "!?$%"),
        )
    )


PERSONAL: dict[str, Callable[[SlotContext, str], str]] = {
    "PERSON": person_value,
    "EMAIL_ADDRESS": email_value,
    "PHONE_NUMBER": phone_value,
    "CREDIT_CARD": card_value,
    "IBAN_CODE": iban_value,
    "IP_ADDRESS": ip_value,
    "URL": url_value,
    "BOOKING_REFERENCE": booking_value,
    "TICKET_NUMBER": ticket_value,
    "FREQUENT_FLYER_NUMBER": frequent_flyer_value,
    "PASSPORT_NUMBER": passport_value,
    "NATIONAL_ID": national_id_value,
    "STREET_ADDRESS": address_value,
    "DATE_OF_BIRTH": birth_date_value,
    "CREDENTIAL": credential_value,
}

# --------------------------------------------------------------------------- negatives

CITIES: dict[str, tuple[str, ...]] = {
    "en": (
        "London",
        "Manchester",
        "New York",
        "Lisbon",
        "Frankfurt",
        "Munich",
        "Porto",
        "Madrid",
        "Luxembourg",
        "Santos",
    ),
    "de": (
        "Frankfurt",
        "München",
        "Lissabon",
        "Hamburg",
        "Berlin",
        "Wien",
        "Zürich",
        "Palma",
        "Porto",
        "Düsseldorf",
    ),
    "fr": (
        "Paris",
        "Lyon",
        "Nice",
        "Lisbonne",
        "Francfort",
        "Genève",
        "Marseille",
        "Luxembourg",
        "Porto",
        "Munich",
    ),
    "it": (
        "Roma",
        "Milano",
        "Venezia",
        "Napoli",
        "Francoforte",
        "Lisbona",
        "Bologna",
        "Monaco di Baviera",
        "Catania",
        "Porto",
    ),
    "pt": (
        "Lisboa",
        "Porto",
        "Faro",
        "Funchal",
        "Ponta Delgada",
        "São Paulo",
        "Santos",
        "Frankfurt",
        "Luxemburgo",
        "Paris",
    ),
    "es": (
        "Madrid",
        "Barcelona",
        "Sevilla",
        "Valencia",
        "Bilbao",
        "Málaga",
        "Lisboa",
        "Fráncfort",
        "Santiago",
        "Porto",
    ),
}
AIRPORTS = (
    "FRA",
    "MUC",
    "LIS",
    "OPO",
    "FAO",
    "LUX",
    "MAD",
    "BCN",
    "FCO",
    "MXP",
    "CDG",
    "ORY",
    "LHR",
    "JFK",
    "GRU",
    "ZRH",
    "VIE",
    "FNC",
    "BER",
    "NCE",
)
_CARRIERS = ("LH", "TP", "LG", "AF", "IB", "AZ", "LX", "OS", "KL", "VY", "FR", "U2")
PRODUCTS: dict[str, tuple[str, ...]] = {
    "en": (
        "linen shirt",
        "slim fit jeans",
        "trench coat",
        "leather sneakers",
        "wrap dress",
        "wool jumper",
        "Oslo parka",
        "cargo trousers",
    ),
    "de": (
        "Leinenhemd",
        "Strickjacke",
        "Slim-Fit-Jeans",
        "Trenchcoat",
        "Ledersneaker",
        "Wickelkleid",
        "Daunenjacke",
        "Oslo Parka",
    ),
    "fr": (
        "chemise en lin",
        "jean slim",
        "trench",
        "baskets en cuir",
        "robe portefeuille",
        "pull en laine",
        "doudoune",
        "parka Oslo",
    ),
    "it": (
        "camicia di lino",
        "jeans slim",
        "trench",
        "sneakers in pelle",
        "vestito a portafoglio",
        "maglione di lana",
        "piumino",
        "parka Oslo",
    ),
    "pt": (
        "camisa de linho",
        "calças de ganga",
        "gabardine",
        "ténis de pele",
        "vestido floral",
        "camisola de lã",
        "blusão",
        "parka Oslo",
    ),
    "es": (
        "camisa de lino",
        "vaqueros slim",
        "gabardina",
        "zapatillas de piel",
        "vestido cruzado",
        "jersey de lana",
        "plumífero",
        "parka Oslo",
    ),
}
_SIZES = ("S", "M", "L", "XL", "XS", "38", "40", "42", "44", "EU 39", "W32/L34")


def city_value(ctx: SlotContext, variant: str) -> str:
    """A destination city, in the language's spelling."""
    return ctx.rng.choice(CITIES[ctx.lang])


def airport_value(ctx: SlotContext, variant: str) -> str:
    """A three-letter IATA airport code."""
    return ctx.rng.choice(AIRPORTS)


def flight_value(ctx: SlotContext, variant: str) -> str:
    """A flight number such as LH 1173 or TP1350."""
    rng = ctx.rng
    carrier = rng.choice(_CARRIERS)
    return f"{carrier}{rng.choice(('', ' '))}{rng.randint(10, 4999)}"


def travel_date_value(ctx: SlotContext, variant: str) -> str:
    """A travel date (no year, or the next year), as people type it per language."""
    rng = ctx.rng
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    name = MONTHS[ctx.lang][month - 1]
    return rng.choice(
        {
            "en": (f"{day} {name}", f"{name} {day}th", f"{day:02d}/{month:02d}"),
            "de": (f"{day}. {name}", f"{day:02d}.{month:02d}.", f"{day}.{month}.2025"),
            "fr": (f"{day} {name}", f"{day:02d}/{month:02d}", f"{day} {name} 2025"),
            "it": (f"{day} {name}", f"{day:02d}/{month:02d}", f"{day}/{month}/2025"),
            "pt": (f"{day} de {name}", f"{day:02d}/{month:02d}", f"{day}/{month}"),
            "es": (f"{day} de {name}", f"{day:02d}/{month:02d}", f"{day}-{month}-2025"),
        }[ctx.lang]
    )


def time_value(ctx: SlotContext, variant: str) -> str:
    """A clock time such as 14:35, 7.50 or 9h40."""
    rng = ctx.rng
    hour, minute = rng.randint(5, 23), rng.choice((0, 5, 10, 15, 20, 30, 35, 40, 45, 50, 55))
    if ctx.lang == "fr" and rng.random() < 0.5:
        return f"{hour}h{minute:02d}"
    return rng.choice((f"{hour:02d}:{minute:02d}", f"{hour}:{minute:02d}", f"{hour}.{minute:02d}"))


def price_value(ctx: SlotContext, variant: str) -> str:
    """A price with currency, in the language's notation."""
    rng = ctx.rng
    euros, cents = rng.randint(9, 480), rng.choice((0, 90, 95, 99, 50))
    if ctx.lang == "en":
        return rng.choice((f"€{euros}.{cents:02d}", f"£{euros}", f"{euros} EUR"))
    return rng.choice((f"{euros},{cents:02d} €", f"{euros}€", f"€ {euros},{cents:02d}"))


def seat_value(ctx: SlotContext, variant: str) -> str:
    """A seat such as 23C."""
    return f"{ctx.rng.randint(1, 38)}{ctx.rng.choice('ABCDEF')}"


def weight_value(ctx: SlotContext, variant: str) -> str:
    """A baggage weight such as 23 kg."""
    rng = ctx.rng
    return f"{rng.choice((8, 10, 20, 23, 25, 32))}{rng.choice((' kg', 'kg', ' kilos'))}"


def order_value(ctx: SlotContext, variant: str) -> str:
    """A shop order number: not personal data in this benchmark (it names a purchase,
    and the shop must be able to read it to help), so it must stay visible."""
    rng = ctx.rng
    return rng.choice(
        (
            f"#{rng.randint(10000000, 99999999)}",
            f"WEB-{rng.randint(1000000, 9999999)}",
            f"{rng.randint(40000000, 49999999)}",
        )
    )


def product_value(ctx: SlotContext, variant: str) -> str:
    """A product of the fashion shop."""
    return ctx.rng.choice(PRODUCTS[ctx.lang])


def size_value(ctx: SlotContext, variant: str) -> str:
    """A clothing or shoe size."""
    return ctx.rng.choice(_SIZES)


def count_value(ctx: SlotContext, variant: str) -> str:
    """A small count (bags, passengers, items)."""
    return str(ctx.rng.randint(2, 4))


NEGATIVE: dict[str, Callable[[SlotContext, str], str]] = {
    "city": city_value,
    "iata": airport_value,
    "flight": flight_value,
    "date": travel_date_value,
    "time": time_value,
    "price": price_value,
    "seat": seat_value,
    "kg": weight_value,
    "order": order_value,
    "product": product_value,
    "size": size_value,
    "n": count_value,
}
