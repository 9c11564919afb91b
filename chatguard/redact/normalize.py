"""Chat text prepared for detection, with an exact way back to the user's offsets.

People hide personal data from filters, deliberately or by accident of their
keyboard: zero-width characters inside a card number, full-width digits from a
Japanese input method, "john dot smith at gmail dot com". Detection runs on the
normalised text; every span it finds is mapped back with
:meth:`NormalisedText.to_original` so that redaction removes exactly the
characters the user typed.

Two passes:

* :func:`normalise` is safe and always applied: invisible characters go,
  compatibility forms fold to ASCII, odd spaces and dashes become plain ones,
  and spelled-out e-mail addresses become real ones.
* :func:`join_split_digits` is riskier and optional: it glues digit groups
  ("4111 1111 1111 1111") into one run for the pattern recognisers, keeping
  dates, times, IPv4 addresses and prices apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["NormalisedText", "join_split_digits", "normalise"]


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Text prepared for detection, with the way back to the original's offsets.

    ``text`` is what detection runs on, ``original`` what the user typed. Every
    character of ``text`` was produced by a non-empty span of ``original``; those
    spans never move backwards as ``text`` is read left to right. When nothing was
    changed the map is the identity and is not stored at all.

    Build instances with :func:`normalise`; ``NormalisedText(text=s, original=s)``
    is the identity.
    """

    text: str
    original: str
    # For character i of `text`: original[_source_starts[i]:_source_ends[i]] produced it.
    # None for both means the identity map (text == original).
    _source_starts: tuple[int, ...] | None = field(default=None, repr=False)
    _source_ends: tuple[int, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._source_starts is None or self._source_ends is None:
            if self._source_starts is not self._source_ends:
                raise ValueError("source starts and ends must be given together")
            if self.text != self.original:
                raise ValueError("an identity NormalisedText needs text == original")
        elif not len(self._source_starts) == len(self._source_ends) == len(self.text):
            raise ValueError("the offset map must have one entry per character of text")

    @property
    def changed(self) -> bool:
        """True when ``text`` differs from ``original`` (the map is not the identity)."""
        return self._source_starts is not None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span ``[start, end)`` of ``text`` to ``original``.

        Returns the smallest span of ``original`` containing every character that
        produced ``text[start:end]``, so replacing ``original[s:e]`` removes them
        all. Spans map monotonically: a later start never maps before an earlier
        one, nor a later end before an earlier end. An empty span maps to an empty
        span at the original position of ``text[start]`` (or the end of
        ``original``). Raises ``ValueError`` for a span outside ``text``.
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside text of length {len(self.text)}")
        starts, ends = self._source_starts, self._source_ends
        if starts is None or ends is None:
            return start, end
        if start == end:
            position = starts[start] if start < len(starts) else len(self.original)
            return position, position
        return starts[start], ends[end - 1]


# --- character-level folding -------------------------------------------------------

_INVISIBLE: Final[frozenset[str]] = frozenset(
    chr(code)
    for low, high in (
        (0x00AD, 0x00AD),  # soft hyphen
        (0x034F, 0x034F),  # combining grapheme joiner
        (0x061C, 0x061C),  # Arabic letter mark (a bidi control)
        (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
        (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
        (0x202A, 0x202E),  # bidi embeddings and overrides
        (0x2060, 0x2064),  # word joiner, invisible operators
        (0x2066, 0x2069),  # bidi isolates
        (0xFE00, 0xFE0F),  # variation selectors
        (0xFEFF, 0xFEFF),  # zero-width no-break space / BOM
        (0xE0001, 0xE0001),  # language tag
        (0xE0020, 0xE007F),  # tag characters (can spell hidden ASCII)
        (0xE0100, 0xE01EF),  # variation selectors supplement
    )
    for code in range(low, high + 1)
)

_SPACES: Final[frozenset[str]] = frozenset(
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)

_DASHES: Final[frozenset[str]] = frozenset(
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
)

# Where characters with an ASCII compatibility form live: the BMP without its CJK
# ideographs, Hangul syllables, surrogates and private use area, plus the
# supplementary blocks that hold any (modifier letters, mathematical alphanumerics,
# enclosed alphanumerics, segmented digits).
_COMPATIBILITY_BLOCKS: Final[tuple[tuple[int, int], ...]] = (
    (0x0080, 0x33FF),
    (0xA000, 0xABFF),
    (0xF900, 0xFFFF),
    (0x10780, 0x107BF),
    (0x1D400, 0x1D7FF),
    (0x1F100, 0x1F1FF),
    (0x1FBF0, 0x1FBFF),
)


def _fold(char: str) -> str | None:
    """What one non-ASCII character becomes, or None when it stays as it is."""
    if char in _INVISIBLE:
        return ""
    if char in _SPACES:
        return " "
    if char in _DASHES:
        return "-"
    compatible = unicodedata.normalize("NFKC", char)
    if compatible != char and compatible.isascii():
        return compatible
    return None


def _folds() -> dict[str, str]:
    folds: dict[str, str] = {}
    for char in _INVISIBLE | _SPACES | _DASHES:
        folds[char] = _fold(char) or ""
    for low, high in _COMPATIBILITY_BLOCKS:
        for code in range(low, high + 1):
            folded = _fold(chr(code))
            if folded is not None:
                folds[chr(code)] = folded
    return folds


def _character_class(chars: Iterable[str]) -> str:
    """A regex class matching ``chars`` in the BMP and every supplementary character.

    sre tests supplementary ranges one by one, so they are left to a dict lookup.
    """
    ranges: list[list[int]] = []
    for code in sorted(ord(char) for char in chars if char <= "\uffff"):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    ranges.append([0x10000, 0x10FFFF])
    return "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]"


# Built once at import (a few milliseconds): every character normalise() replaces.
_FOLDS: Final[dict[str, str]] = _folds()
_FOLDABLE: Final[re.Pattern[str]] = re.compile(_character_class(_FOLDS))


def _character_edits(text: str) -> list[tuple[int, int, str]]:
    """Edits that remove invisible characters and fold compatibility forms."""
    if text.isascii():
        return []
    edits: list[tuple[int, int, str]] = []
    for match in _FOLDABLE.finditer(text):
        replacement = _FOLDS.get(match.group())
        if replacement is not None:
            edits.append((match.start(), match.end(), replacement))
    return edits


# --- spelled-out e-mail addresses ----------------------------------------------------

# Spoken "@" and "." in the supported languages, as people type them in chats.
_AT_WORD_LIST: Final[tuple[str, ...]] = ("at", "ät", "arroba", "chiocciola", "arobase")
_DOT_WORD_LIST: Final[tuple[str, ...]] = ("dot", "punkt", "ponto", "punto", "point")
_OPEN: Final[str] = r"[(\[{<]"
_CLOSE: Final[str] = r"[)\]}>]"
_SP: Final[str] = r"[ \t]"


def _separators(words: tuple[str, ...], symbol: str, *, reverse: bool = False) -> dict[str, str]:
    """Regexes for the bracketed, spoken and symbol forms of "@" or "."."""
    spelled = "(?:" + "|".join(word[::-1] if reverse else word for word in words) + ")"
    opening, closing = (_CLOSE, _OPEN) if reverse else (_OPEN, _CLOSE)
    return {
        "bracketed": rf"{_SP}*{opening}{_SP}*(?:{spelled}|{symbol}){_SP}*{closing}{_SP}*",
        "spoken": rf"{_SP}+{spelled}{_SP}+",
        "symbol": rf"{_SP}*{symbol}{_SP}*",
        "spaced": rf"{_SP}+{symbol}{_SP}+",
        "tight": symbol,
    }


_AT_FORMS: Final[dict[str, str]] = _separators(_AT_WORD_LIST, "@")
_DOT_FORMS: Final[dict[str, str]] = _separators(_DOT_WORD_LIST, r"\.")
_AT_FORMS_REVERSED: Final[dict[str, str]] = _separators(_AT_WORD_LIST, "@", reverse=True)
_DOT_FORMS_REVERSED: Final[dict[str, str]] = _separators(_DOT_WORD_LIST, r"\.", reverse=True)


def _either(forms: dict[str, str], *names: str) -> str:
    return "(?:" + "|".join(forms[name] for name in names) + ")"


_LOCAL_LABEL: Final[str] = r"[A-Za-z0-9][A-Za-z0-9_%+\-]*"
_DOMAIN_LABEL: Final[str] = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_TLD: Final[str] = r"(?-i:[a-z]{2,24}|[A-Z]{2,24})"  # "Tomorrow" is not a TLD
_NOT_BEFORE_ADDRESS: Final[str] = r"[\w.@+%'’\-]"
_NOT_AFTER_ADDRESS: Final[str] = r"(?![\w@]|[.\-][A-Za-z0-9])"

# A spoken "at" is ordinary English ("at the airport"), so it only counts next to
# a domain whose dots are unambiguous; a symbol or bracketed "at" also accepts
# "gmail . com". A dot with a space on one side only is a sentence end, never.
_LOCAL_DOT: Final[str] = _either(_DOT_FORMS, "tight", "spoken", "bracketed")
_ANY_DOT: Final[str] = _either(_DOT_FORMS, "tight", "spaced", "spoken", "bracketed")


def _domain(dot: str) -> str:
    return f"{_DOMAIN_LABEL}(?:{dot}{_DOMAIN_LABEL})*{dot}{_TLD}"


_OBFUSCATED_ADDRESS: Final[re.Pattern[str]] = re.compile(
    f"(?<!{_NOT_BEFORE_ADDRESS}){_LOCAL_LABEL}(?:{_LOCAL_DOT}{_LOCAL_LABEL})*"
    f"(?:{_AT_FORMS['spoken']}{_domain(_LOCAL_DOT)}"
    f"|{_either(_AT_FORMS, 'symbol', 'bracketed')}{_domain(_ANY_DOT)})"
    f"{_NOT_AFTER_ADDRESS}",
    re.IGNORECASE,
)

# Inside a matched address: the separators that are not a bare "." between labels.
_SEPARATOR: Final[re.Pattern[str]] = re.compile(
    f"(?P<at>{_either(_AT_FORMS, 'bracketed', 'symbol', 'spoken')})"
    f"|{_either(_DOT_FORMS, 'bracketed', 'spoken', 'spaced')}",
    re.IGNORECASE,
)

# The address pattern is too slow to search every message with, so addresses are
# found from their "@" or at-word outwards: plain substring search for the sign,
# a forward match for the domain after it, a match on the reversed text for the
# local part before it, and only then the full pattern, anchored.
_AT_SIGNS: Final[tuple[str, ...]] = tuple(word for word in _AT_WORD_LIST if word.isascii())
_ALL_AT_SIGNS: Final[tuple[str, ...]] = ("@", *_AT_WORD_LIST)
_BEFORE_AT_WORD: Final[frozenset[str]] = frozenset(" \t([{<")
_AFTER_AT_WORD: Final[frozenset[str]] = frozenset(" \t)]}>")
_REST_OF_AT: Final[re.Pattern[str]] = re.compile(rf"{_SP}*(?:{_CLOSE}{_SP}*)?")
_DOMAIN_AHEAD: Final[re.Pattern[str]] = re.compile(
    _domain(_ANY_DOT) + _NOT_AFTER_ADDRESS, re.IGNORECASE
)
_LOCAL_PART_BEHIND: Final[re.Pattern[str]] = re.compile(
    _either(_AT_FORMS_REVERSED, "bracketed", "symbol", "spoken")
    + r"[A-Za-z0-9_%+\-]*[A-Za-z0-9]"
    + "(?:"
    + _either(_DOT_FORMS_REVERSED, "tight", "spoken", "bracketed")
    + r"[A-Za-z0-9_%+\-]*[A-Za-z0-9])*"
    + f"(?!{_NOT_BEFORE_ADDRESS})",
    re.IGNORECASE,
)


def _domain_starts(text: str) -> list[int]:
    """Sorted positions just after every "@" or at-word that a domain follows."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters lower-case to two characters
        lowered = "".join(char.lower() if len(char.lower()) == 1 else char for char in text)
    starts: list[int] = []
    for sign in ("@", *_AT_SIGNS) if text.isascii() else _ALL_AT_SIGNS:
        index = lowered.find(sign)
        while index != -1:
            end = index + len(sign)
            if sign == "@" or (
                index > 0
                and lowered[index - 1] in _BEFORE_AT_WORD
                and end < len(lowered)
                and lowered[end] in _AFTER_AT_WORD
            ):
                rest = _REST_OF_AT.match(text, end)
                if rest is not None and _DOMAIN_AHEAD.match(text, rest.end()) is not None:
                    starts.append(rest.end())
            index = lowered.find(sign, end)
    starts.sort()
    return starts


def _address_edits(text: str) -> list[tuple[int, int, str]]:
    """Edits that turn spelled-out e-mail addresses into real ones."""
    edits: list[tuple[int, int, str]] = []
    reversed_text = ""
    cursor = 0  # end of the last address found
    for domain_start in _domain_starts(text):
        if domain_start <= cursor:
            continue
        reversed_text = reversed_text or text[::-1]
        local_part = _LOCAL_PART_BEHIND.match(reversed_text, len(text) - domain_start)
        if local_part is None or len(text) - local_part.end() < cursor:
            continue
        address = _OBFUSCATED_ADDRESS.match(text, len(text) - local_part.end())
        if address is None:
            continue
        offset, cursor = address.start(), address.end()
        for separator in _SEPARATOR.finditer(address.group()):
            replacement = "@" if separator.group("at") is not None else "."
            if separator.group() != replacement:
                edits.append((offset + separator.start(), offset + separator.end(), replacement))
    return edits


# --- digit groups ---------------------------------------------------------------------

_DIGIT_GROUPS: Final[re.Pattern[str]] = re.compile(r"\d+(?:[ ./\-]\d+)+", re.ASCII)

_BEFORE: Final[str] = r"(?<!\d)(?<!\d[./\-])"
_AFTER: Final[str] = r"(?![./\-]?\d)"
_DAY: Final[str] = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH: Final[str] = r"(?:0?[1-9]|1[0-2])"
_OCTET: Final[str] = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

# Punctuated numbers that are not evasions; their digits are never joined, neither
# inside nor with their neighbours.
_LEGITIMATE_NUMBER: Final[re.Pattern[str]] = re.compile(
    _BEFORE
    + "(?:"
    + "|".join(
        (
            rf"{_DAY}(?P<d1>[./\-]){_MONTH}(?P=d1)(?:\d{{4}}|\d{{2}})",  # 12.05.1990
            rf"{_MONTH}(?P<d2>[./\-]){_DAY}(?P=d2)(?:\d{{4}}|\d{{2}})",  # 05/12/1990
            rf"\d{{4}}(?P<d3>[./\-]){_MONTH}(?P=d3){_DAY}",  # 2025-05-12
            rf"{_OCTET}(?:\.{_OCTET}){{3}}",  # 192.168.0.1
            r"(?:[01]?\d|2[0-3])[.:][0-5]\d",  # 14.30
            # 1.299,00 / 1 234 567.89: thousands groups, then decimals
            r"\d{1,3}(?P<t>[. ])\d{3}(?:(?P=t)\d{3})*(?:(?=,\d{2}(?!\d))|[,.]\d{2}(?!\d))",
        )
    )
    + ")"
    + _AFTER,
    re.ASCII,
)

_MIN_JOINED_DIGITS: Final[int] = 9
_DIGITS: Final[str] = "0123456789"


def _digit_join_edits(text: str) -> list[tuple[int, int, str]]:
    """Edits that delete the separators inside long runs of digit groups."""
    runs = [
        run
        for run in _DIGIT_GROUPS.finditer(text)
        if sum(char in _DIGITS for char in run.group()) >= _MIN_JOINED_DIGITS
    ]
    if not runs:
        return []
    legitimate = [(match.start(), match.end()) for match in _LEGITIMATE_NUMBER.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    for run in runs:
        # Cut the run around the legitimate numbers inside it; join what is left.
        stretches: list[tuple[int, int]] = []
        cursor = run.start()
        for start, end in legitimate:
            if run.start() <= start and end <= run.end():
                stretches.append((cursor, start))
                cursor = end
        stretches.append((cursor, run.end()))
        for start, end in stretches:
            if sum(char in _DIGITS for char in text[start:end]) < _MIN_JOINED_DIGITS:
                continue
            edits.extend(
                (index, index + 1, "")
                for index in range(start + 1, end - 1)
                if text[index] not in _DIGITS
                and text[index - 1] in _DIGITS
                and text[index + 1] in _DIGITS
            )
    return edits


# --- applying edits --------------------------------------------------------------------


def _apply(source: NormalisedText, edits: Iterable[tuple[int, int, str]]) -> NormalisedText:
    """Apply sorted, non-overlapping ``(start, end, replacement)`` edits to ``source.text``.

    Every character of a replacement maps to the whole span it replaced; the
    result maps through ``source`` to ``source.original``.
    """
    text = source.text
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for start, end, replacement in edits:
        pieces.append(text[cursor:start])
        starts.extend(range(cursor, start))
        ends.extend(range(cursor + 1, start + 1))
        pieces.append(replacement)
        starts.extend([start] * len(replacement))
        ends.extend([end] * len(replacement))
        cursor = end
    pieces.append(text[cursor:])
    starts.extend(range(cursor, len(text)))
    ends.extend(range(cursor + 1, len(text) + 1))

    inner_starts, inner_ends = source._source_starts, source._source_ends
    if inner_starts is not None and inner_ends is not None:
        starts = [inner_starts[index] for index in starts]
        ends = [inner_ends[index - 1] for index in ends]
    return NormalisedText(
        text="".join(pieces),
        original=source.original,
        _source_starts=tuple(starts),
        _source_ends=tuple(ends),
    )


def normalise(text: str) -> NormalisedText:
    """Prepare ``text`` for detection with changes that are always safe.

    Promises:

    * zero-width, soft-hyphen, bidi-control, variation-selector and tag
      characters are removed;
    * a character whose compatibility form (NFKC) is ASCII becomes that ASCII
      ("０１２" -> "012", "ｊｏｈｎ" -> "john", "𝐚" -> "a", "ﬁ" -> "fi");
      other letters, accented ones included, are kept as typed;
    * unusual spaces become " " and unusual dashes "-";
    * a spelled-out e-mail address ("john dot smith at gmail dot com",
      "john(at)gmail(dot)com", "juan arroba gmail punto com", "max ät web punkt de")
      becomes a real one, but only when the whole phrase has the shape of an
      address ending in a 2-24 letter top-level domain;
    * nothing else changes, ``to_original`` maps every span back exactly, and
      ``normalise(result.text).text == result.text``.

    Text with nothing to change costs one scan and comes back with the identity map.
    """
    identity = NormalisedText(text=text, original=text)
    character_edits = _character_edits(text)
    folded = _apply(identity, character_edits) if character_edits else identity
    address_edits = _address_edits(folded.text)
    return _apply(folded, address_edits) if address_edits else folded


def split_digit_separators(normalised: NormalisedText) -> list[int]:
    """Offsets in ``normalised.text`` of the separators ``join_split_digits`` removes."""
    return [start for start, _, _ in _digit_join_edits(normalised.text)]


def join_split_digits(normalised: NormalisedText) -> NormalisedText | None:
    """Join digit groups split by single spaces, dots, dashes or slashes.

    A run like "4111 1111-1111.1111" or "4 1 1 1 1 1 1 1 1" becomes one digit
    string when it holds at least nine digits; letters around the digits stay
    ("DE89 3704 0044 ..." -> "DE89370400440..."). Dates, times, IPv4 addresses
    and thousands-grouped prices are left intact and not joined to their
    neighbours. The result's ``to_original`` maps to ``normalised.original``.
    Returns None when nothing would change.

    Meant for a second, pattern-only detection pass whose findings are added to
    the first pass's; it can join numbers that were never meant as one.
    """
    edits = _digit_join_edits(normalised.text)
    return _apply(normalised, edits) if edits else None
