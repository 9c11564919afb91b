"""What a recogniser finds alone, and what the whole engine redacts, for the recogniser tests."""

from __future__ import annotations

from typing import Any

from presidio_analyzer import EntityRecognizer


def matches(recognizer: EntityRecognizer, text: str) -> list[tuple[str, float]]:
    """The recogniser's own matches in ``text`` (no NLP, no context): (text, score)."""
    results = recognizer.analyze(text, entities=recognizer.supported_entities, nlp_artifacts=None)
    return [(text[r.start : r.end], r.score) for r in results]


def redacted_as(entity: str, engine: Any, text: str) -> list[str]:
    """The spans of ``text`` the engine reports as ``entity``."""
    return [text[e.start : e.end] for e in engine.analyze(text) if e.type == entity]
