"""Context words shared by the recognisers.

Chat users switch languages inside one conversation ("Hallo, my booking ..."), and
short messages defeat language detection, so every recogniser looks for its context
words in all six languages at once, whatever language the message was detected as.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chatguard.redact.languages import SUPPORTED_LANGUAGES


def context_words(by_language: Mapping[str, Sequence[str]]) -> list[str]:
    """Merge per-language context words into one lower-cased, de-duplicated list.

    Raises ``ValueError`` if a supported language has no words, so that a
    recogniser cannot silently lose a language.
    """
    missing = [lang for lang in SUPPORTED_LANGUAGES if not by_language.get(lang)]
    if missing:
        raise ValueError(f"context words missing for languages: {missing}")
    merged: dict[str, None] = {}
    for lang in SUPPORTED_LANGUAGES:
        for word in by_language[lang]:
            merged[word.lower()] = None
    return list(merged)
