"""Given names and surnames of the six supported languages, for finding people without NER.

Built once from Faker's person data for the locales chatguard's users come from.
Every entry is folded (lower-cased, accents removed) so that "joao silva" typed on a
phone finds "João Silva".
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import spacy.lang

from chatguard.redact.folding import fold
from chatguard.redact.languages import SUPPORTED_LANGUAGES

_FAKER_PERSON_LOCALES: Final[tuple[str, ...]] = (
    "en_US",
    "en_GB",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "it_IT",
    "pt_PT",
    "pt_BR",
    "es_ES",
)

#: Lower-case words that join the parts of a name: "Maria da Silva", "Ludwig van Beethoven".
NAME_PARTICLES: Final[frozenset[str]] = frozenset(
    {"da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "la", "le", "van", "von"}
)

#: Names that are everyday words when written in lower case (or at a sentence start).
_WORDS_WHEN_LOWERCASE: Final[tuple[str, ...]] = (
    # en
    "will",
    "may",
    "mark",
    "grant",
    "rose",
    "summer",
    "bill",
    "frank",
    "hope",
    "faith",
    "joy",
    "grace",
    "amber",
    "dawn",
    "eve",
    "art",
    "ray",
    "pat",
    "sue",
    "rich",
    "sandy",
    "penny",
    "ruby",
    "jade",
    "crystal",
    "cherry",
    "holly",
    "ivy",
    "lily",
    "daisy",
    "violet",
    "iris",
    "heather",
    "olive",
    "pearl",
    "robin",
    "sky",
    "river",
    "page",
    "chase",
    "hunter",
    "king",
    "carter",
    "miles",
    "lane",
    "drew",
    "wade",
    "dean",
    "guy",
    "jack",
    "gene",
    "price",
    "ward",
    "young",
    "long",
    "little",
    "hill",
    "wood",
    "green",
    "brown",
    "white",
    "black",
    "gray",
    "grey",
    "rice",
    "lord",
    "bishop",
    "church",
    "bell",
    "cook",
    "baker",
    "fisher",
    "miller",
    "walker",
    "stone",
    "rivers",
    "love",
    "golden",
    "best",
    "case",
    "fox",
    "bird",
    "star",
    "hall",
    "house",
    "day",
    "early",
    "north",
    "west",
    "banks",
    "major",
    "park",
    "key",
    "joy",
    "norman",
    "sterling",
    "august",
    "june",
    "april",
    "victor",
    "justice",
    "noble",
    # de
    "ernst",
    "kurt",
    "heinz",
    "otto",
    "hans",
    "klaus",
    "koch",
    "lange",
    "klein",
    "jung",
    "braun",
    "schwarz",
    "weiss",
    "weiß",
    "kaiser",
    "graf",
    "wolf",
    "fuchs",
    "vogel",
    "engel",
    "sommer",
    "winter",
    "berg",
    "stein",
    "busch",
    "hahn",
    "bauer",
    "richter",
    "schneider",
    "meister",
    "konig",
    "könig",
    "frei",
    "frisch",
    "fromm",
    "kraft",
    "licht",
    "mann",
    "roth",
    # fr
    "pierre",
    "blanche",
    "claire",
    "marine",
    "aime",
    "aimé",
    "constant",
    "desire",
    "désiré",
    "france",
    "prosper",
    "patience",
    "celeste",
    "céleste",
    "ange",
    "noel",
    "noël",
    "petit",
    "blanc",
    "roux",
    "leroy",
    "lebrun",
    "martin",
    "simon",
    # it
    "gioia",
    "serena",
    "bianca",
    "stella",
    "viola",
    "aurora",
    "alba",
    "luce",
    "speranza",
    "fiore",
    "vittoria",
    "angelo",
    "natale",
    "franco",
    "primo",
    "santo",
    "fortunato",
    "felice",
    "amato",
    "benvenuto",
    "gentile",
    "bello",
    "ferrari",
    "bianco",
    "rossi",
    # pt, es
    "rosa",
    "luz",
    "paz",
    "cruz",
    "graca",
    "graça",
    "gloria",
    "glória",
    "vitoria",
    "vitória",
    "esperanca",
    "esperança",
    "branca",
    "clara",
    "bela",
    "linda",
    "dolores",
    "pilar",
    "consuelo",
    "rosario",
    "mercedes",
    "amparo",
    "soledad",
    "esperanza",
    "alegria",
    "alegría",
    "victoria",
    "blanca",
    "angel",
    "ángel",
    "rocio",
    "rocío",
    "nieves",
    "reyes",
    "socorro",
    "remedios",
    "milagros",
    "angeles",
    "ángeles",
    "moreno",
    "rubio",
    "blanco",
    "delgado",
    "castillo",
    "campo",
    "mesa",
    "vega",
    "nieto",
    "prieto",
    "santos",
    "costa",
    "pinto",
    "rocha",
    "mata",
    "mota",
    "cunha",
    "bravo",
    "leal",
    "calvo",
    "alto",
    "cano",
    "franco",
    "pastor",
    "guerra",
    "leon",
    "león",
    "lobo",
    "cordeiro",
    "coelho",
    "carneiro",
    "ferreira",
    "machado",
    "barbosa",
    "rey",
    "serrano",
    "marin",
    "marín",
)

#: Words that a name lexicon contains but that, standing alone, are far more often
#: something else: months, airline words, brands, places that are also surnames.
_NEVER_NAMES_ALONE: Final[tuple[str, ...]] = (
    "rosa",
    "costa",
    "santos",
    "paz",
    "luz",
    "cruz",
    "porto",
    "lisboa",
    "roma",
    "paris",
    "florence",
    "sydney",
    "victoria",
    "santiago",
    "madrid",
    "london",
    "milano",
    "napoli",
    "mai",
    "juni",
    "juli",
    "august",
    "april",
    "may",
    "june",
    "march",
    "marzo",
    "maggio",
    "abril",
    "mayo",
    "maio",
    "agosto",
    "janvier",
    "avril",
    "juin",
    "juillet",
    "septembre",
    "domingo",
    "sabado",
    "lunes",
    "martes",
    "monday",
    "sunday",
    "sonntag",
    "montag",
)

#: Given names that a language also has as a stop word ("sara" is Italian for "sarà",
#: "mia" for "my"): names when capitalised inside a sentence, words otherwise.
_GIVEN_NAMES_ALSO_STOP_WORDS: Final[frozenset[str]] = frozenset(
    {"sara", "mia", "ella", "mila", "otto", "sean", "allen", "dan", "ira", "aura", "ali"}
    | {"ela", "darin", "maximo"}
)

#: Words of the airline and retail domain that Faker also lists as names.
_DOMAIN_WORDS: Final[tuple[str, ...]] = (
    "miles",
    "more",
    # payment words: "Iban" is a Basque given name, "IBAN" in a chat never is
    "iban",
    "bic",
    "swift",
    "sepa",
    "paypal",
    "visa",
    "senator",
    "gold",
    "silver",
    "platinum",
    "premium",
    "business",
    "economy",
    "first",
    "class",
    "gate",
    "terminal",
    "lounge",
    "delta",
    "condor",
    "iberia",
    "alitalia",
    "lufthansa",
    "luxair",
    "swiss",
    "austrian",
    "brussels",
    "ryanair",
    "easyjet",
    "vueling",
    "eurowings",
    "tap",
    "airbus",
    "boeing",
    "embraer",
    "booking",
    "ticket",
    "flight",
    "flug",
    "voo",
    "vuelo",
    "volo",
    "vol",
    "check",
    "online",
    "hotel",
    "visa",
    "master",
    "card",
    "euro",
    "dollar",
    "london",
    "airport",
    "service",
    "support",
    "help",
)


@dataclass(frozen=True, slots=True)
class NameLexicon:
    """Folded given names and surnames, and the words that must not count as names.

    Every look-up takes a folded word (see :func:`chatguard.redact.folding.fold`).
    """

    first_names: frozenset[str]
    last_names: frozenset[str]
    stop_words: frozenset[str]
    words_when_lowercase: frozenset[str]
    never_alone: frozenset[str]

    def is_first_name(self, word: str) -> bool:
        """Whether ``word`` is a given name that is not also a stop or domain word."""
        return word in self.first_names

    def is_last_name(self, word: str) -> bool:
        """Whether ``word`` is a surname that is not also a stop or domain word."""
        return word in self.last_names

    def is_name(self, word: str) -> bool:
        """Whether ``word`` is a given name or a surname."""
        return word in self.first_names or word in self.last_names

    def is_stop_word(self, word: str) -> bool:
        """Whether ``word`` is a stop word in any of the six languages."""
        return word in self.stop_words

    def is_ordinary_in_lowercase(self, word: str) -> bool:
        """Whether ``word``, written in lower case, is more likely a word than a name."""
        return word in self.words_when_lowercase or word in self.stop_words

    def is_ambiguous_alone(self, word: str) -> bool:
        """Whether ``word`` on its own is more likely a month, place or thing than a person."""
        return word in self.never_alone


def _stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words for ``language``, read without importing the language package.

    Importing ``spacy.lang.fr`` costs seconds (its tokenizer exceptions); the stop
    word file alone is a plain set literal.
    """
    path = Path(spacy.lang.__file__).parent / language / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_chatguard_stop_words_{language}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"spaCy ships no stop words for {language!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


def _names(values: object) -> Iterable[str]:
    """Yield the single words of a Faker name list (a tuple or a weighted dict)."""
    if not isinstance(values, dict | tuple | list):
        return
    for value in values:
        for part in str(value).replace("-", " ").split():
            yield fold(part)


@cache
def name_lexicon() -> NameLexicon:
    """The lexicon of given names and surnames of the supported locales; built once."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _FAKER_PERSON_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            first.update(_names(getattr(provider, attribute, ())))
        last.update(_names(getattr(provider, "last_names", ())))
    stop_words = frozenset(
        fold(word) for language in SUPPORTED_LANGUAGES for word in _stop_words(language)
    )
    excluded = (
        (stop_words - _GIVEN_NAMES_ALSO_STOP_WORDS)
        | {fold(word) for word in _DOMAIN_WORDS}
        | NAME_PARTICLES
    )
    return NameLexicon(
        first_names=frozenset(word for word in first if len(word) > 1) - excluded,
        last_names=frozenset(word for word in last if len(word) > 1) - excluded,
        stop_words=stop_words,
        words_when_lowercase=frozenset(fold(word) for word in _WORDS_WHEN_LOWERCASE),
        never_alone=frozenset(fold(word) for word in _NEVER_NAMES_ALONE),
    )
