"""Text folding shared by the name lexicon and the place gazetteer."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Return ``text`` case-folded and without accents, for accent-blind look-ups.

    ``fold("João") == fold("joao") == "joao"``; ``fold("Müller") == "muller"``.
    Called for every token of every message: ASCII text takes a fast path. (Not
    memoised on purpose: a cache would keep users' words in memory indefinitely.)
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
