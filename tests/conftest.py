"""Shared fixtures: one real detection engine (Presidio + spaCy) for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatguard.redact.engine import RedactionEngine
from chatguard.redact.redactor import Redactor
from chatguard.settings import Settings


@pytest.fixture(scope="session")
def engine() -> RedactionEngine:
    """The real engine with the default configuration; loading it takes a second or two."""
    return RedactionEngine()


@pytest.fixture
async def redactor(engine: RedactionEngine) -> AsyncIterator[Redactor]:
    """A redactor over the shared engine, with a fresh in-memory vault."""
    redactor = Redactor(Settings(), engine=engine)
    yield redactor
    redactor.close()
