"""Putting values back where placeholders stand, in whole texts and in streams."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Final

#: A placeholder as chatguard writes it: ``<PERSON_1>``, ``<EMAIL_ADDRESS_12>``.
PLACEHOLDER: Final = re.compile(r"<([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*?)_([1-9][0-9]{0,5})>")

#: Longer than any placeholder chatguard writes; bounds what a stream holds back.
_MAX_PLACEHOLDER_LEN: Final = 48

# What the tail of a stream chunk can look like while a placeholder is still arriving.
_PARTIAL: Final = re.compile(r"<(?:[A-Z][A-Z0-9_]*)?$")

Lookup = Callable[[Collection[str]], Awaitable[Mapping[str, str]]]


def find_placeholders(text: str) -> set[str]:
    """Every placeholder-shaped string in ``text``."""
    return {match.group(0) for match in PLACEHOLDER.finditer(text)}


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each placeholder in ``values`` by its value; leave all others as they are."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), text)


class StreamRestorer:
    """Restores placeholders in text that arrives in chunks (a streamed LLM answer).

    ``feed`` returns at once everything that can no longer be part of a
    placeholder, restored; it holds back only a tail that may be the start of one
    (``<PERS``), at most a few dozen characters. ``flush`` returns the rest at the
    end of the stream. Unknown placeholders pass through unchanged.
    """

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._pending = ""
        self._known: dict[str, str] = {}

    async def feed(self, chunk: str) -> str:
        """Add a chunk; return the restored text that is safe to emit now."""
        text = self._pending + chunk
        cut = self._holdback_start(text)
        ready, self._pending = text[:cut], text[cut:]
        return await self._restore(ready)

    async def flush(self) -> str:
        """End of stream: return whatever was held back, restored."""
        ready, self._pending = self._pending, ""
        return await self._restore(ready)

    @staticmethod
    def _holdback_start(text: str) -> int:
        start = text.rfind("<", max(0, len(text) - _MAX_PLACEHOLDER_LEN))
        if start == -1:
            return len(text)
        return start if _PARTIAL.match(text, start) else len(text)

    async def _restore(self, text: str) -> str:
        wanted = find_placeholders(text) - self._known.keys()
        if wanted:
            self._known.update(await self._lookup(wanted))
        return substitute(text, self._known)
