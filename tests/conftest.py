"""Shared fixtures: one real detection engine for the session, and the pipeline over a
fresh SQLite store for each test that asks for ``guard`` (``another_guard`` opens one
more over the same file and keys, as a restarted process or a second instance would)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from chatguard.clock import ManualClock
from chatguard.crypto import KeyRing, random_key
from chatguard.guard import ChatGuard
from chatguard.pseudonym import Keys, UserPseudonyms
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.redactor import Redactor
from chatguard.settings import Settings
from chatguard.store.sqlite import SqliteStore


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


@pytest.fixture
def clock() -> ManualClock:
    """A clock only the test moves."""
    return ManualClock()


@pytest.fixture
def keys() -> Keys:
    """Random store and pseudonym keys, the test's own."""
    return Keys(store=KeyRing(random_key()), pseudonyms=UserPseudonyms([random_key()]))


async def guard_over(
    path: Path,
    keys: Keys,
    engine: RedactionEngine,
    clock: ManualClock,
    settings: Settings | None = None,
) -> ChatGuard:
    """The pipeline over the SQLite file at ``path`` (opened now) with ``keys`` (and
    ``settings``, the defaults when not given); the caller closes it."""
    store = SqliteStore(f"sqlite:///{path}", clock)
    await store.open()
    return ChatGuard(settings or Settings(), store=store, keys=keys, engine=engine, clock=clock)


@pytest.fixture
def guard_settings() -> Settings:
    """The settings the ``guard`` fixture's pipeline is built with: the defaults. A test
    module overrides this fixture to build its guards with settings of its own."""
    return Settings()


@pytest_asyncio.fixture(loop_scope="function")
async def guard(
    tmp_path: Path,
    engine: RedactionEngine,
    clock: ManualClock,
    keys: Keys,
    guard_settings: Settings,
) -> AsyncIterator[ChatGuard]:
    """The pipeline over a fresh SQLite store (``tmp_path / "chatguard.db"``), the
    test's keys, the test's clock and ``guard_settings``."""
    guard = await guard_over(tmp_path / "chatguard.db", keys, engine, clock, guard_settings)
    yield guard
    await guard.close()


@pytest.fixture
def another_guard(
    tmp_path: Path,
    engine: RedactionEngine,
    clock: ManualClock,
    keys: Keys,
    guard_settings: Settings,
) -> Callable[[], Awaitable[ChatGuard]]:
    """Opens another pipeline over the ``guard`` fixture's store file, keys and
    settings, as a restarted process or a second instance would; the caller closes it."""
    return lambda: guard_over(tmp_path / "chatguard.db", keys, engine, clock, guard_settings)
