"""The three store backends under test, each in a store of its own.

Shared by the fixtures in ``conftest.py`` and by ``writer.py``, the helper process
of the crash tests, so that a test and its subprocess open the very same store.
An *isolation* names that store: a file path (SQLite), a key namespace (Redis) or a
schema (PostgreSQL), fresh per test.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from functools import cache
from typing import NoReturn

import pytest

from chatguard.clock import Clock
from chatguard.store.base import Store
from chatguard.store.sqlite import SqliteStore

BACKENDS = ("sqlite", "redis", "postgres")
REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
_SERVERS = {"redis": ("Redis", 6379), "postgres": ("PostgreSQL", 5432)}


def new_isolation(kind: str, directory: str) -> str:
    """A fresh isolation for ``kind``; SQLite's is a file in ``directory``."""
    if kind == "sqlite":
        return os.path.join(directory, "chatguard.db")
    if kind == "redis":
        return f"cgtest-{uuid.uuid4()}"
    return f"cgtest_{uuid.uuid4().hex}"


def make_backend_store(kind: str, isolation: str, clock: Clock) -> Store:
    """The store of ``kind`` named by ``isolation``, not yet opened."""
    if kind == "sqlite":
        return SqliteStore(f"sqlite:///{isolation}", clock)
    if kind == "redis":
        from chatguard.store.redis import RedisStore

        return RedisStore(REDIS_URL, clock, namespace=isolation)
    if kind == "postgres":
        from chatguard.store.postgres import PostgresStore

        return PostgresStore(POSTGRES_URL, clock, schema=isolation)
    raise ValueError(f"unknown backend {kind!r}")


async def remove_isolation(kind: str, isolation: str) -> None:
    """Delete everything the store named by ``isolation`` left in its server."""
    if kind == "redis":
        import redis.asyncio

        client = redis.asyncio.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"*{isolation}*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
    elif kind == "postgres":
        import asyncpg

        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{isolation}" CASCADE')
        finally:
            await connection.close()


@contextlib.asynccontextmanager
async def conversation_writes_failing(
    kind: str, isolation: str, session: str
) -> AsyncIterator[None]:
    """Within the block, the backend fails a write of the conversation ``session``
    with an error of its own (SQLite: a trigger, PostgreSQL: a check constraint,
    Redis: a key of the wrong type where the conversation lives); a write that
    appends an event first must then leave nothing of it."""
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(isolation)) as db:
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON conversations"
                f" WHEN NEW.session = '{session}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            db.commit()
        try:
            yield
        finally:
            with contextlib.closing(sqlite3.connect(isolation)) as db:
                db.execute("DROP TRIGGER refuse")
                db.commit()
    elif kind == "postgres":
        import asyncpg

        connection = await asyncpg.connect(POSTGRES_URL)
        table = f'"{isolation}".conversations'
        try:
            await connection.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT refuse CHECK (session <> '{session}')"
            )
            yield
        finally:
            await connection.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS refuse")
            await connection.close()
    else:
        import redis.asyncio

        client = redis.asyncio.from_url(REDIS_URL)
        try:
            await client.set(f"{isolation}:conv:{session}", "not a conversation")
            yield
        finally:
            await client.delete(f"{isolation}:conv:{session}")
            await client.aclose()


def _unavailable(reason: str) -> NoReturn:
    """Skip while developing; in CI (``CI`` set) a missing backend is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: the store tests must run here", pytrace=False)
    pytest.skip(f"{reason} (set CI to make this a failure)")


@cache
def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def require_module(kind: str) -> None:
    """Return if the module of backend ``kind`` exists, else skip (or fail in CI)."""
    module = f"chatguard.store.{kind}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        _unavailable(f"{module} does not exist yet")


def require_backend(kind: str) -> None:
    """Return if ``kind`` can be tested here (its server answers and its module
    exists), else skip (or fail in CI) saying why."""
    if kind in _SERVERS:
        name, port = _SERVERS[kind]
        if not _reachable(port):
            _unavailable(f"{name} not reachable on 127.0.0.1:{port}")
    require_module(kind)
