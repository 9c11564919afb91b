"""Text folding shared by the name lexicon and the place gazetteer."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Return ``text`` case-folded and without accents, for accent-blind look-ups.

    ``fold("João") == fold("joao") == "joao"``; ``fold("Müller") == "muller"``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
