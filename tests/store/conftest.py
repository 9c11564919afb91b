"""Fixtures of the store contract suite: every test runs once per backend
(SQLite, Redis, PostgreSQL), each time in a fresh, isolated store that is removed
afterwards, under a clock that only the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from chatguard.clock import ManualClock
from chatguard.store.base import Store
from tests.store.backends import (
    BACKENDS,
    make_backend_store,
    new_isolation,
    remove_isolation,
    require_backend,
)


@dataclass(frozen=True)
class Backend:
    """One backend and the isolation (file, namespace or schema) of this test's store."""

    kind: str
    isolation: str

    def make_store(self, clock: ManualClock) -> Store:
        """Another, unopened store over the same data (as a second process would see it)."""
        return make_backend_store(self.kind, self.isolation, clock)


@pytest.fixture
def clock() -> ManualClock:
    """The test's clock, starting at the real present (so that native expiry in Redis
    agrees) and moving only when the test advances it."""
    return ManualClock(datetime.now(UTC))


@pytest_asyncio.fixture(params=BACKENDS, loop_scope="function")
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A backend with an isolation of its own, removed after the test."""
    kind: str = request.param
    require_backend(kind)
    isolation = new_isolation(kind, str(tmp_path))
    yield Backend(kind, isolation)
    await remove_isolation(kind, isolation)


@pytest_asyncio.fixture(loop_scope="function")
async def store(backend: Backend, clock: ManualClock) -> AsyncIterator[Store]:
    """An open, empty store of the backend under test, reading time from ``clock``."""
    opened = backend.make_store(clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
