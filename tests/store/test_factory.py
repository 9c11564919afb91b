"""``store.url`` picks the backend by its scheme; anything else is a configuration
error that names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.errors import ConfigurationError
from chatguard.store import make_store, open_store
from chatguard.store.sqlite import SqliteStore
from tests.store.backends import require_module


@pytest.mark.parametrize("url", ["sqlite:///./chatguard.db", "sqlite:////var/lib/chatguard.db"])
def test_a_sqlite_url_makes_a_sqlite_store(url: str) -> None:
    assert isinstance(make_store(url), SqliteStore)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1"])
def test_a_redis_url_makes_a_redis_store(url: str) -> None:
    require_module("redis")
    from chatguard.store.redis import RedisStore

    assert isinstance(make_store(url, ManualClock()), RedisStore)


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1:5432/test", "postgres://app@db.example/chatguard"]
)
def test_a_postgresql_url_makes_a_postgres_store(url: str) -> None:
    require_module("postgres")
    from chatguard.store.postgres import PostgresStore

    assert isinstance(make_store(url, ManualClock()), PostgresStore)


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/chatguard", "chatguard.db", "file:///tmp/x.db", ""]
)
def test_an_unknown_scheme_is_a_configuration_error_naming_store_url(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"store\.url"):
        make_store(url)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/chatguard.db"])
def test_a_sqlite_url_without_a_path_is_a_configuration_error_naming_store_url(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"store\.url"):
        make_store(url)


async def test_open_store_gives_an_open_store_with_its_schema(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'chatguard.db'}", ManualClock())
    try:
        await store.ping()
        assert await store.samples() == []
    finally:
        await store.close()
