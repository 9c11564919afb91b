"""Street addresses in the formats of the countries chatguard's users live in.

Every pattern is anchored on a street-type word (Straße, Rua, Calle, Via, rue,
Street, ...) next to a house number, or on a postal code in a country's format
next to a city. A city alone, an airport, "Terminal 2" or "Gate B22" is not an
address. When a street is followed by a postal code and city (or a known city),
the whole address is one span.
"""

from __future__ import annotations

import re
from typing import Any, Final

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from chatguard.redact.places import place_gazetteer
from chatguard.redact.recognizers.context import context_words

_NAME: Final = "StreetAddressRecognizer"
ENTITY: Final = "STREET_ADDRESS"

#: Street with a house number, alone.
STREET_SCORE: Final = 0.6
#: ... followed by a postal code and city.
FULL_ADDRESS_SCORE: Final = 0.85
#: ... followed by a known city, without postal code.
STREET_AND_CITY_SCORE: Final = 0.75

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["address", "live", "living", "street", "deliver", "postcode", "zip"],
    "de": ["adresse", "anschrift", "wohne", "wohnhaft", "straße", "strasse", "lieferadresse"],
    "fr": ["adresse", "habite", "domicile", "domicilié", "livraison"],
    "it": ["indirizzo", "abito", "residente", "domicilio", "consegna"],
    "pt": ["morada", "endereço", "endereco", "moro", "resido", "entrega"],
    "es": ["dirección", "direccion", "domicilio", "vivo", "resido", "envío"],
}

_UP: Final = "A-ZÀ-ÖØ-Þ"
_LOW: Final = "a-zß-öø-ÿ"
#: One capitalised word of a street name: "Augusta", "Saint-Michel", "d'Italia".
_NAME_WORD: Final = rf"(?:[{_UP}][{_LOW}'’]*(?:-[{_UP}{_LOW}][{_LOW}'’]*)*\.?)"
#: "12", "12a", "12 B", "12-14", "221B", "5/7", "n.º 27", "nº 5".
_NUMBER: Final = (
    r"(?:(?i:n\.?\s?[º°o]\.?|nr\.?|no\.)\s?)?\d{1,4}(?:\s?[a-zA-Z](?!\w))?"
    r"(?:\s?[-/]\s?\d{1,4}[a-zA-Z]?)?"
)
#: A house number is not a time, a weight, a count of things, a flight or a date.
_NOT_A_MEASURE: Final = (
    r"(?![\d:.,]\d)(?!\s?(?i:h\b|hrs?\b|hours?\b|min|uhr\b|kg\b|€|eur\b|euros?\b|%|x\b|times\b))"
)
_PARTICLES: Final = (
    r"(?:(?:d[aeo]s?|de\s+la|de\s+l['’]|de\s+los|de\s+las|del|della|dello|delle|degli|dei|di"
    r"|du|des|la|le|les|l['’]|d['’]|y|e|and|of|the|am|an\s+der|auf\s+der|zum|zur)\s*)"
)
#: A street name after a leading street-type word: "da Liberdade", "Mayor", "de la Paix".
_STREET_NAME: Final = rf"{_PARTICLES}?{_NAME_WORD}(?:\s+{_PARTICLES}?{_NAME_WORD}){{0,3}}"

_GERMAN_SUFFIXES: Final = (
    r"(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|steig|pfad|"
    r"straat|laan|plein|gracht|kade|singel|dreef|steeg)"
)
_SEATS: Final = r"(?!(?i:sitz|fenster|gang|park|stell|steh|flug|arbeits|camping|spiel|sport)platz)"
_GERMAN_WORDS: Final = r"(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer|Chaussee)"
_NOT_GERMAN_ADJECTIVES: Final = (
    r"(?!(?:Unser|Euer|Ihrer|Meiner|Deiner|Seiner|Dieser|Jeder|Welcher|Einer|Keiner|Der"
    r"|Aber|Oder|Über|Hinter|Unter|Nach|Ihr|Mein|Dein|Sein|Kein|Ein)\s)"
)
_GERMAN_PREPOSITIONS: Final = (
    r"(?:Am|An\s+der|An\s+den|Auf\s+der|Auf\s+dem|Im|In\s+der|In\s+den|Unter\s+den|Zum|Zur"
    r"|Hinter\s+der|Hinter\s+dem|Vor\s+dem|Bei\s+der|Beim)"
)
_NOT_PLACES_IN_A_BUILDING: Final = (
    r"(?!(?i:terminal|gate|flug|flughafen|bereich|sitz|reihe|zug|bus|halle|gleis|schalter"
    r"|januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember"
    r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|jahr|moment|ende|anfang"
    r"|internet|voraus|durchschnitt|bahnhof|hotel)\b)"
)
_ROMANCE_TYPES: Final = (
    r"(?i:rua|r\.|avenida|av\.|avda\.?|avª|travessa|tv\.|largo|praça|praca|estrada|alameda"
    r"|calçada|calle|c/|paseo|plaza|pza\.|camino|carrera|ronda|travesía|glorieta|carretera"
    r"|via|viale|piazza|p\.zza|piazzale|corso|vicolo|strada|lungomare|lungarno|contrada"
    r"|rue|avenue|boulevard|bd\.?|bld\.?|place|chemin|allée|allee|impasse|quai|route|cours"
    r"|square|passage)"
)
_FRENCH_TYPES: Final = (
    r"(?i:rue|avenue|av\.|boulevard|bd\.?|bld\.?|place|chemin|allée|allee|impasse|quai"
    r"|route|cours|square|passage|voie)"
)
_ENGLISH_TYPES: Final = (
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?"
    r"|Place|Pl\.?|Court|Ct\.?|Way|Terrace|Crescent|Close|Square|Gardens|Parkway|Highway|Hwy)"
)
_COMPASS: Final = r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
_UK_POSTCODE: Final = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}(?!\w)"
#: British street names written as one word: "Kingsway", "Southgate", "Highfield Rise".
_UK_ONE_WORD_STREET: Final = (
    r"[A-Z][a-z]+(?:way|gate|row|side|hill|lane|walk|mews|grove|green|park|rise|fields?"
    r"|parade|wharf|bank|croft|dale|wood|view|market|cross)"
)
_CITY: Final = (
    rf"[{_UP}][{_LOW}]+(?:[\s-]+(?:(?:upon|on|under|le|in)[\s-]+)?[{_UP}][{_LOW}]+){{0,2}}"
)

_PATTERNS: Final[list[Pattern]] = [
    # DE/AT/CH/NL compounds: "Hauptstraße 12", "Goethestr. 5", "Keizersgracht 123".
    Pattern(
        "compound street and number",
        rf"\b{_SEATS}[{_UP}][{_UP}{_LOW}-]*?{_GERMAN_SUFFIXES}\s*{_NUMBER}\b{_NOT_A_MEASURE}",
        STREET_SCORE,
    ),
    # "Berliner Straße 5", "Alte Gasse 3".
    Pattern(
        "adjective street and number",
        rf"\b{_NOT_GERMAN_ADJECTIVES}[{_UP}][{_LOW}]+\s+{_GERMAN_WORDS}\s*{_NUMBER}\b{_NOT_A_MEASURE}",
        STREET_SCORE,
    ),
    # "Am Markt 3a", "Unter den Linden 77".
    Pattern(
        "prepositional street and number",
        rf"\b{_GERMAN_PREPOSITIONS}\s+{_NOT_PLACES_IN_A_BUILDING}[{_UP}][{_LOW}]+"
        rf"(?:\s+[{_UP}][{_LOW}]+)?\s+\d{{1,3}}\s?[a-z]?\b{_NOT_A_MEASURE}",
        0.55,
    ),
    # PT/ES/IT/FR/BE type first: "Rua Augusta 27", "Calle Mayor, 5", "Via Roma 10",
    # "Rue de la Loi 16".
    Pattern(
        "street type, name and number",
        rf"(?<![\w/]){_ROMANCE_TYPES}\s+{_STREET_NAME},?\s+{_NUMBER}\b{_NOT_A_MEASURE}",
        STREET_SCORE,
    ),
    # FR/LU number first: "12 rue de la Paix", "12, rue de la Gare", "3 bd Saint-Michel".
    Pattern(
        "number, street type and name",
        rf"(?<![\w.,/-])\d{{1,4}}\s?(?:bis|ter|[a-zA-Z])?,?\s+{_FRENCH_TYPES}\s+{_STREET_NAME}",
        STREET_SCORE,
    ),
    # GB/US: "221B Baker Street", "10 Downing St", "1600 Pennsylvania Avenue NW".
    Pattern(
        "number, name and street type",
        rf"(?<![\w.,/-])\d{{1,5}}[A-Za-z]?\s+(?:{_NAME_WORD}\s+){{1,3}}{_ENGLISH_TYPES}(?!\w){_COMPASS}",
        STREET_SCORE,
    ),
    # GB: a street without a street-type word, then a city and a postcode:
    # "12 Kingsway, Bristol BS20 3XY", "Kingsway, Bristol BS20 3XY".
    Pattern(
        "street, city and british postcode",
        rf"(?<![\w.,/-])(?:\d{{1,5}}[A-Za-z]?\s+(?:{_NAME_WORD}\s+){{0,2}}{_NAME_WORD}"
        rf"|(?:{_NAME_WORD}\s+){{0,2}}{_UK_ONE_WORD_STREET}),\s*{_CITY},?\s+{_UK_POSTCODE}",
        FULL_ADDRESS_SCORE,
    ),
    Pattern(
        "city and british postcode",
        rf"(?<![\w-]){_CITY},?\s+{_UK_POSTCODE}",
        0.5,
    ),
    # A street named but not numbered ("moro na Rua Augusta"): needs a context word.
    Pattern(
        "street type and name",
        rf"(?<![\w/])(?-i:Rua|Avenida|Calle|Paseo|Plaza|Via|Viale|Piazza|Corso|Rue|Avenue"
        rf"|Boulevard)\s+{_STREET_NAME}",
        0.3,
    ),
    # Postal codes in a country's own format, with the city: "1100-048 Lisboa",
    # "L-1234 Luxembourg", "D-10115 Berlin", "1012 LP Amsterdam", "10115 Berlin".
    Pattern(
        "portuguese postal code and city",
        rf"(?<![\w-])\d{{4}}-\d{{3}}\s+[{_UP}][{_LOW}]+(?:\s+[{_UP}][{_LOW}]+)?",
        0.6,
    ),
    Pattern(
        "country-prefixed postal code and city",
        rf"(?<![\w-])(?:L|D|A|CH|B|F|I|P|E|NL)-\d{{4,5}}\s+[{_UP}][{_LOW}]+",
        0.6,
    ),
    Pattern(
        "dutch postal code and city",
        rf"(?<![\w-])\d{{4}}\s?[A-Z]{{2}}\s+[{_UP}][{_LOW}]+",
        0.5,
    ),
    Pattern(
        "postal code and city",
        rf"(?<![\w.,/-])(?<![A-Z0-9]\s)\d{{5}}\s+[{_UP}][{_LOW}]{{2,}}",
        0.4,
    ),
]

#: What may follow a street: a postal code and city, or a city and a US/UK code.
_POSTAL_TAIL: Final[re.Pattern[str]] = re.compile(
    rf",?\s*(?:(?:L|D|A|CH|B|F|I|P|E|NL)-)?(?:\d{{4}}-\d{{3}}|\d{{5}}|\d{{4}}(?:\s?[A-Z]{{2}}(?!\w))?)"
    rf"\s+[{_UP}][{_LOW}]+(?:[\s-]+(?:am|an\s+der|sur|del|di|de)?\s*[{_UP}][{_LOW}]+)?"
    r"(?:\s+\(?[A-Z]{2}\)?(?!\w))?"
    rf"|,\s*[{_UP}][{_LOW}]+(?:\s+[{_UP}][{_LOW}]+)?,?\s+(?:[A-Z]{{2}}\s+)?"
    r"(?:\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})(?!\w)"
)
#: Floor and door after the house number: "4º Esq.", "5º B", "2.º Dto", "1.ª planta",
#: "164 2D" (PT: second floor, right), "3. OG", "2nd floor", "piano 3", "3e étage".
#: Unicode normalisation (NFKC) writes "4º" as "4o", so that spelling counts too.
_FLOOR: Final[re.Pattern[str]] = re.compile(
    r",?\s*(?:\d{1,2}\.?(?:\s?[º°ª]|[oa](?![^\W\d_]))\.?(?:\s?(?i:andar|piso|planta))?"
    r"(?:\s*(?i:esq(?:uerdo|\.)?|dto\.?|dt\.?|dir(?:eito|\.)?|fte\.?|frente|izq(?:uierda|da|\.)?"
    r"|dcha\.?|der(?:echa|\.)?|centro|ctro\.?)(?!\w)\.?|\s?[A-Z](?!\w))?"
    r"|\d{1,2}\.\s?(?:OG|Stock|Etage|Obergeschoss)(?!\w)"
    r"|\d{1,2}(?:st|nd|rd|th|e|ème)\s+(?i:floor|étage)(?!\w)"
    r"|(?i:piano|andar|piso|planta)\s+\d{1,2}(?!\w)"
    r"|\d{1,2}\s?[A-Z](?!\w))"
)
_CITY_TAIL: Final[re.Pattern[str]] = re.compile(
    rf",?\s+(?P<city>[{_UP}][{_LOW}]+(?:\s+[{_UP}][{_LOW}]+)?)"
)


class StreetAddressRecognizer(PatternRecognizer):
    """Finds street addresses (entity ``STREET_ADDRESS``) in the six languages' formats.

    Promises: a street-type word with a house number scores 0.6, and 0.85 with the
    postal code and city after it, which then belong to the one span, as does a
    floor and door between them ("4º Esq.", "5º B", "2. OG"); a British street
    with a city and postcode ("12 Kingsway, Bristol BS20 3XY") scores 0.85, a city
    with a British postcode alone 0.5; a country's
    postal code with a city scores 0.4 to 0.6 by how distinctive the format is; a
    street named without a number scores 0.3 (a context word such as "morada" or
    "Anschrift" lifts it). A city, an airport, a gate or a terminal alone is never
    an address.
    """

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=ENTITY,
            patterns=_PATTERNS,
            context=context_words(CONTEXT_BY_LANGUAGE),
            supported_language=supported_language,
            name=_NAME,
            global_regex_flags=re.MULTILINE,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: Any = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Return one result per address: overlapping matches merged, tails attached."""
        results: list[RecognizerResult] = super().analyze(
            text, entities, nlp_artifacts, regex_flags
        )
        for result in results:
            self._attach_tail(text, result)
        merged: list[RecognizerResult] = []
        for result in sorted(results, key=lambda r: (r.start, -r.end)):
            if merged and result.start < merged[-1].end:
                last = merged[-1]
                last.end = max(last.end, result.end)
                last.score = max(last.score, result.score)
                continue
            merged.append(result)
        return merged

    def _attach_tail(self, text: str, result: RecognizerResult) -> None:
        """Extend a street over its floor and door, then its postal code and city."""
        if result.score < STREET_SCORE:
            return
        floor = _FLOOR.match(text, result.end)
        if floor and text[result.start : result.end][-1:].isdigit():
            result.end = floor.end()
        postal = _POSTAL_TAIL.match(text, result.end)
        if postal:
            result.end = postal.end()
            result.score = max(result.score, FULL_ADDRESS_SCORE)
            return
        city = _CITY_TAIL.match(text, result.end)
        if city and place_gazetteer().is_place(city.group("city")):
            result.end = city.end()
            result.score = max(result.score, STREET_AND_CITY_SCORE)
