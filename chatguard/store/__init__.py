"""Durable state behind one interface: SQLite (default), Redis, PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlsplit

from chatguard.clock import Clock, SystemClock
from chatguard.errors import ConfigurationError
from chatguard.store.base import Store

__all__ = ["Store", "make_store", "open_store"]


def make_store(url: str, clock: Clock | None = None) -> Store:
    """The backend ``url`` names, not yet opened.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    ``redis://host:port/db``, ``postgresql://user@host:port/db``.
    """
    scheme = urlsplit(url).scheme
    clock = clock or SystemClock()
    if scheme == "sqlite":
        from chatguard.store.sqlite import SqliteStore

        return SqliteStore(url, clock)
    if scheme in ("redis", "rediss"):
        from chatguard.store.redis import RedisStore

        return RedisStore(url, clock)
    if scheme in ("postgresql", "postgres"):
        from chatguard.store.postgres import PostgresStore

        return PostgresStore(url, clock)
    raise ConfigurationError(
        f"store.url: unknown scheme {scheme!r} (use sqlite://, redis:// or postgresql://)"
    )


async def open_store(url: str, clock: Clock | None = None) -> Store:
    """``make_store`` and ``open``."""
    store = make_store(url, clock)
    await store.open()
    return store
