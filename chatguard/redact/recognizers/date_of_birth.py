"""Dates of birth: a date, but only where the message says it is a birth date.

Travel dates are what an airline bot works with and are never redacted, so the
birth cue ("born", "Geburtsdatum", "née le", "nato il", "data de nascimento",
"fecha de nacimiento", ...) is checked here, inside the recogniser, rather than
left to Presidio's context enhancer (whose +0.35 could not separate the two).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from presidio_analyzer import LocalRecognizer, RecognizerResult

from chatguard.redact.recognizers.context import context_words
from chatguard.redact.recognizers.result import recognizer_result

_NAME: Final = "DateOfBirthRecognizer"
ENTITY: Final = "DATE_OF_BIRTH"

#: A date with a birth cue before or just after it.
BIRTH_DATE_SCORE: Final = 0.85
#: Any other date: reported, but far below the 0.5 threshold even with context.
BARE_DATE_SCORE: Final = 0.1

#: Birth words, matched here as whole words (Presidio matches them as substrings).
CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["born", "birth", "birthday", "birthdate", "dob", "d.o.b", "b-day"],
    "de": ["geboren", "geb.", "geburtsdatum", "geburtstag", "geburt"],
    "fr": ["né", "née", "nés", "nées", "naissance", "anniversaire"],
    "it": ["nato", "nata", "nati", "nascita", "compleanno"],
    "pt": ["nascido", "nascida", "nascimento", "aniversário", "aniversario", "nasci"],
    "es": ["nacido", "nacida", "nacimiento", "cumpleaños", "nací", "naci"],
}

#: Words that show the date between a birth cue and it is about travel instead.
_TRAVEL_WORDS: Final = (
    r"fl(?:y|ight|ying|ies)|depart\w*|return\w*|arriv\w*|travel\w*|book\w*|trip"
    r"|flug|fliege\w*|abflug|rückflug|reise\w*|abreise|ankunft"
    r"|vol|vole|départ|retour|arrivée|voyage\w*"
    r"|volo|partenza|ritorno|arrivo|viaggio"
    r"|voo|voar|partida|regresso|chegada|viagem"
    r"|vuelo|volar|salida|regreso|llegada|viaje"
)

_MONTH_NAMES: Final[tuple[str, ...]] = (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "jänner febr maerz apr mai jun jul aug sept okt nov dez",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "janv fevrier mars avr mai juin juil aout sept oct nov decembre",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "jan fev marco abr mai jun jul ago setembro outubro nov dez",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "ene feb mar abr may jun jul ago setiembre oct nov dic",
)
#: Month name or abbreviation (lower case) -> month number, in the six languages.
_MONTHS: Final[dict[str, int]] = {
    name: number for names in _MONTH_NAMES for number, name in enumerate(names.split(), 1)
}
_MONTH: Final = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_DATE: Final[re.Pattern[str]] = re.compile(
    r"(?<![\w./-])(?:"
    r"(?P<d1>\d{1,2})(?P<sep>[./-])(?P<m1>\d{1,2})(?P=sep)(?P<y1>\d{4}|\d{2})"
    r"|(?P<y2>\d{4})(?P<sep2>[-/.])(?P<m2>\d{1,2})(?P=sep2)(?P<d2>\d{1,2})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th|º|°|er)?\.?\s+(?:de\s+|of\s+)?(?P<m3>{_MONTH})\.?"
    r"(?:,?\s+(?:de\s+)?(?P<y3>\d{4}))?"
    rf"|(?P<m4>{_MONTH})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y4>\d{{4}}))?"
    r")(?![\w/-]|\.\d)",
    re.IGNORECASE,
)

_CUE: Final[re.Pattern[str]] = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        sorted(
            {re.escape(w) for words in CONTEXT_BY_LANGUAGE.values() for w in words} | {r"geb"},
            key=len,
            reverse=True,
        )
    )
    + r")(?!\w)",
    re.IGNORECASE,
)
_TRAVEL: Final[re.Pattern[str]] = re.compile(rf"(?<!\w)(?:{_TRAVEL_WORDS})(?!\w)", re.IGNORECASE)

#: How far (in characters) a cue may stand before or after the date it names.
_CUE_BEFORE: Final = 60
_CUE_AFTER: Final = 30


class DateOfBirthRecognizer(LocalRecognizer):
    """Finds dates of birth (entity ``DATE_OF_BIRTH``) in all six languages.

    Promises: a real, past date (numeric, ISO or with a month name in any of the
    six languages) scores 0.85 when a birth cue stands shortly before it or just
    after it, with no other date or travel word in between; every other date
    scores 0.1, so that a travel date never reaches the 0.5 redaction threshold,
    even after Presidio's context boost. Only the date is reported, never the cue.
    """

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=[ENTITY],
            supported_language=supported_language,
            context=context_words(CONTEXT_BY_LANGUAGE),
            name=_NAME,
        )

    def load(self) -> None:
        """Nothing to load: the patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        """Return every date in ``text``, scored by whether a birth cue names it."""
        if ENTITY not in entities:
            return []
        dates = [match for match in _DATE.finditer(text) if _is_past_date(match)]
        results = []
        for index, match in enumerate(dates):
            previous_end = dates[index - 1].end() if index else 0
            next_start = dates[index + 1].start() if index + 1 < len(dates) else len(text)
            before = text[max(previous_end, match.start() - _CUE_BEFORE) : match.start()]
            after = text[match.end() : min(next_start, match.end() + _CUE_AFTER)]
            birth = _cue_names_date(before, cue_last=True) or (
                # "I fly on 12.05.2025, is my birthday gift allowed?" is a travel date.
                _TRAVEL.search(before[-_CUE_AFTER:]) is None
                and _cue_names_date(after, cue_last=False)
            )
            score = BIRTH_DATE_SCORE if birth else BARE_DATE_SCORE
            results.append(self._result(match, score, birth))
        return results

    def _result(self, match: re.Match[str], score: float, birth: bool) -> RecognizerResult:
        explanation = "date after a birth cue" if birth else "date without a birth cue"
        # The birth cue was judged here; Presidio must not add its own boost.
        return recognizer_result(
            self, match.start(), match.end(), score, explanation, context_judged=birth
        )


def _cue_names_date(window: str, *, cue_last: bool) -> bool:
    """Whether ``window`` (text before or after a date) holds a birth cue for it.

    A travel word between the cue and the date means the date is about travel.
    """
    cues = list(_CUE.finditer(window))
    if not cues:
        return False
    between = window[cues[-1].end() :] if cue_last else window[: cues[0].start()]
    return _TRAVEL.search(between) is None


def _is_past_date(match: re.Match[str]) -> bool:
    """Whether the matched date exists and lies between 1900 and today (births only)."""
    groups = match.groupdict()
    if groups["d1"]:
        day, month, year = int(groups["d1"]), int(groups["m1"]), groups["y1"]
        if groups["sep"] == "/" and month > 12 and day <= 12:  # US order: 05/23/1990
            day, month = month, day
    elif groups["y2"]:
        day, month, year = int(groups["d2"]), int(groups["m2"]), groups["y2"]
    elif groups["m3"]:
        day, month, year = int(groups["d3"]), _MONTHS[groups["m3"].lower()], groups["y3"]
    else:
        day, month, year = int(groups["d4"]), _MONTHS[groups["m4"].lower()], groups["y4"]
    today = dt.date.today()
    if year is None:
        full_year = 2000  # a leap year: "29 February" without a year is a valid birthday
    elif len(year) == 2:
        full_year = 2000 + int(year) if 2000 + int(year) <= today.year else 1900 + int(year)
    else:
        full_year = int(year)
    try:
        date = dt.date(full_year, month, day)
    except ValueError:
        return False
    return year is None or dt.date(1900, 1, 1) <= date <= today
