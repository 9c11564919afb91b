"""Places an airline chat talks about: cities, airports, regions and countries.

Destinations are what an airline bot works with, so they are never personal data
here. The person-name recogniser uses :func:`place_gazetteer` to veto a candidate
name that is really a place ("Porto", "Santos", "Florence"), and the address
recogniser uses it to recognise a city after a street.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

import airportsdata

from chatguard.redact.folding import fold

#: Faker locales whose address data lists countries (in the locale's language) or cities.
_FAKER_ADDRESS_LOCALES: Final[tuple[str, ...]] = (
    "en_US",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "it_IT",
    "pt_PT",
    "pt_BR",
    "es_ES",
)

#: Faker's Italian city list is every one of Italy's ~8,000 communes: too many
#: everyday words, so only its countries are taken.
_FAKER_CITY_LOCALES: Final[frozenset[str]] = frozenset({"de_DE", "de_AT", "de_CH", "pt_PT"})

#: Destinations under the names chat users write in the six languages; airportsdata
#: names cities in English ("Lisbon", "Munich") only.
_EXONYMS: Final[tuple[str, ...]] = (
    "Lisboa",
    "Lissabon",
    "Lisbonne",
    "Lisbona",
    "Porto",
    "Oporto",
    "Faro",
    "Funchal",
    "Coimbra",
    "Braga",
    "Santos",
    "São Paulo",
    "Rio de Janeiro",
    "Salvador",
    "Recife",
    "München",
    "Munique",
    "Múnich",
    "Monaco di Baviera",
    "Frankfurt",
    "Francoforte",
    "Fráncfort",
    "Francfort",
    "Köln",
    "Colónia",
    "Colonia",
    "Cologne",
    "Düsseldorf",
    "Hamburgo",
    "Amburgo",
    "Hambourg",
    "Berlim",
    "Berlín",
    "Berlino",
    "Wien",
    "Viena",
    "Vienne",
    "Vienna",
    "Genève",
    "Genf",
    "Ginevra",
    "Genebra",
    "Ginebra",
    "Zürich",
    "Zurigo",
    "Zurique",
    "Bruxelles",
    "Brüssel",
    "Bruxelas",
    "Bruselas",
    "Bruxelles",
    "Londres",
    "Londra",
    "Parigi",
    "Paris",
    "Roma",
    "Rom",
    "Rome",
    "Milano",
    "Mailand",
    "Milão",
    "Milán",
    "Firenze",
    "Florenz",
    "Florença",
    "Florencia",
    "Florence",
    "Venezia",
    "Venedig",
    "Veneza",
    "Venecia",
    "Venise",
    "Napoli",
    "Neapel",
    "Nápoles",
    "Naples",
    "Torino",
    "Turin",
    "Turim",
    "Genova",
    "Genua",
    "Gênes",
    "Génova",
    "Bologna",
    "Bolonha",
    "Bolonia",
    "Palermo",
    "Catania",
    "Bari",
    "Sevilla",
    "Siviglia",
    "Séville",
    "Sevilha",
    "Madrid",
    "Barcelona",
    "Barcellona",
    "Barcelone",
    "Valencia",
    "Valence",
    "Málaga",
    "Bilbao",
    "Lyon",
    "Lione",
    "Marseille",
    "Marsiglia",
    "Marselha",
    "Marsella",
    "Nice",
    "Nizza",
    "Luxemburg",
    "Luxembourg",
    "Lussemburgo",
    "Luxemburgo",
    "Praha",
    "Prag",
    "Praga",
    "Prague",
    "Warszawa",
    "Warschau",
    "Varsóvia",
    "Varsovia",
    "Athen",
    "Atenas",
    "Atene",
    "Athènes",
    "Kopenhagen",
    "Copenhague",
    "Copenaghen",
    "Copenhaga",
    "Den Haag",
    "Nova Iorque",
    "Nueva York",
    "New York",
    "Mallorca",
    "Maiorca",
    "Majorque",
    "Teneriffa",
    "Tenerife",
    "Madeira",
    "Açores",
    "Azoren",
    "Azores",
)

_AIRPORT_WORDS: Final[re.Pattern[str]] = re.compile(
    r"\b(?:international|intl|regional|municipal|airport|airfield|airstrip|air base|"
    r"aerodrome|heliport|field|aeroporto|aeropuerto|aéroport|flughafen)\b\.?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PlaceGazetteer:
    """Folded names of places; a look-up answers whether a whole phrase is a place.

    ``major`` holds the destinations and countries that everybody knows; the rest
    (every town with an airstrip) includes names such as "David" or "Laura" that
    are more often people.
    """

    names: frozenset[str]
    major: frozenset[str]

    def is_place(self, phrase: str) -> bool:
        """Whether ``phrase`` (any case, accents or not) is the whole name of a known place."""
        return fold(" ".join(phrase.split())) in self.names

    def is_major_place(self, phrase: str) -> bool:
        """Whether ``phrase`` is a well-known destination or a country."""
        return fold(" ".join(phrase.split())) in self.major


def _airport_names(record: Mapping[str, object]) -> Iterable[str]:
    city = str(record.get("city") or "")
    yield city
    yield str(record.get("subd") or "")
    # "Frankfurt am Main" is "Frankfurt" to everybody.
    for joiner in (" am ", " an der ", " im ", " ob der "):
        if joiner in city:
            yield city.split(joiner, 1)[0]
    name = " ".join(_AIRPORT_WORDS.sub(" ", str(record.get("name") or "")).split())
    yield name
    if city and name.startswith(city + " "):
        yield name[len(city) + 1 :]


def _faker_places(attribute: str) -> Iterable[str]:
    for locale in _FAKER_ADDRESS_LOCALES:
        if attribute == "cities" and locale not in _FAKER_CITY_LOCALES:
            continue
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        yield from getattr(provider, attribute, ())


def _folded(names: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(" ".join(name.split())) for name in names if name.strip())


@cache
def place_gazetteer() -> PlaceGazetteer:
    """The gazetteer of airports, their cities and regions, and countries; built once."""
    major = _folded([*_EXONYMS, *_faker_places("countries")])
    others = _folded(
        name
        for names in (
            (n for record in airportsdata.load("IATA").values() for n in _airport_names(record)),
            _faker_places("cities"),
        )
        for name in names
    )
    return PlaceGazetteer(names=major | others, major=major)
