"""What the PostgreSQL store promises beyond the contract suite: the schema is migrated
once however many processes start at once, several processes share one conversation
without losing an event or giving a value two placeholders, expiry is indexed, and its
errors are typed and quote nothing that is stored.

Like the contract suite, these tests skip without a reachable PostgreSQL only while
developing; with ``CI`` set they fail instead (``tests.store.backends``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from chatguard.clock import ManualClock
from chatguard.errors import ConfigurationError, StoreError, StoreUnavailableError
from chatguard.handover import HANDED_OVER
from chatguard.store import postgres
from chatguard.store.postgres import MIGRATIONS, Migration, PostgresStore
from chatguard.store.records import Author, Direction, RecordKind, TranscriptEvent
from tests.store.backends import POSTGRES_URL, new_isolation, remove_isolation, require_backend
from tests.store.postgres_worker import SHARED_DELIVERIES, SHARED_VALUES

REPOSITORY = Path(__file__).resolve().parents[2]
START = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)  # far from the real time, on purpose


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture(loop_scope="function")
async def schema() -> AsyncIterator[str]:
    """A fresh schema name (nothing created yet), dropped after the test."""
    require_backend("postgres")
    isolation = new_isolation("postgres", "")
    yield isolation
    await remove_isolation("postgres", isolation)


async def _query(sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


async def _schema_versions(schema: str) -> list[tuple[int, datetime]]:
    rows = await _query(f'SELECT version, applied_at FROM "{schema}".schema_version ORDER BY 1')
    return [(row["version"], row["applied_at"]) for row in rows]


def _event(session: str, text: str, clock: ManualClock) -> TranscriptEvent:
    return TranscriptEvent(
        session=session,
        at=clock.now(),
        direction=Direction.INBOUND,
        author=Author.USER,
        text=text,
        expires_at=clock.now() + timedelta(days=30),
    )


async def test_open_applies_every_migration_once_and_reopening_changes_nothing(
    schema: str, clock: ManualClock
) -> None:
    store = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await store.open()
    await store.open()  # idempotent while open
    await store.close()
    applied = await _schema_versions(schema)
    assert [version for version, _ in applied] == [m.version for m in MIGRATIONS]

    clock.advance(timedelta(days=3))
    reopened = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await reopened.open()
    await reopened.close()
    assert await _schema_versions(schema) == applied


async def test_a_new_migration_is_applied_once_to_a_schema_at_an_earlier_version(
    schema: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await first.open()
    await first.close()
    following = Migration(len(MIGRATIONS) + 1, "a probe table", "CREATE TABLE probe (x int)")
    monkeypatch.setattr(postgres, "MIGRATIONS", (*MIGRATIONS, following))

    stores = [PostgresStore(POSTGRES_URL, clock, schema=schema) for _ in range(3)]
    await asyncio.gather(*(store.open() for store in stores))
    await asyncio.gather(*(store.close() for store in stores))

    versions = [version for version, _ in await _schema_versions(schema)]
    assert versions == [*(m.version for m in MIGRATIONS), following.version]
    assert await _query(f'SELECT x FROM "{schema}".probe') == []


async def test_a_schema_migrated_from_before_the_dialogue_state_keeps_its_hand_overs(
    schema: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "MIGRATIONS", MIGRATIONS[:2])  # the release before
    earlier = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await earlier.open()
    await earlier.close()
    monkeypatch.undo()
    later = clock.now() + timedelta(minutes=1)
    await _query(
        f'INSERT INTO "{schema}".conversations VALUES'
        " ('guest-handed', 'web', NULL, $1, $1, $2), ('guest-bot', 'web', NULL, $1, $1, $2)",
        clock.now(),
        clock.now() + timedelta(days=30),
    )
    for seq, (author, text, at) in enumerate(
        [("user", "a human please", clock.now()), ("system", HANDED_OVER, later)], start=1
    ):
        await _query(
            f'INSERT INTO "{schema}".events VALUES'
            " ('guest-handed', $1, $2, 'outbound', $3, 'message', $4, NULL, $5)",
            seq,
            at,
            author,
            text,
            clock.now() + timedelta(days=30),
        )

    store = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await store.open()
    try:
        handed = await store.get_conversation("guest-handed")
        bot = await store.get_conversation("guest-bot")
    finally:
        await store.close()
    assert handed is not None and handed.handed_over_at == later
    assert bot is not None and (bot.handed_over_at, bot.reference) == (None, None)
    indexes = {
        row["indexname"]
        for row in await _query("SELECT indexname FROM pg_indexes WHERE schemaname = $1", schema)
    }
    assert {"conversations_reference_idx", "conversations_awaiting_idx"} <= indexes


async def test_stores_opening_at_once_migrate_once(schema: str, clock: ManualClock) -> None:
    stores = [PostgresStore(POSTGRES_URL, clock, schema=schema) for _ in range(6)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        for store in stores:
            await store.ping()
        assert [version for version, _ in await _schema_versions(schema)] == [
            m.version for m in MIGRATIONS
        ]
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_two_processes_lose_no_event_share_placeholders_and_record_each_delivery_once(
    schema: str, clock: ManualClock
) -> None:
    count = 200
    session = "guest-twoprocesses"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.store.postgres_worker",
            POSTGRES_URL,
            schema,
            session,
            str(worker),
            str(count),
            START.isoformat(),
            cwd=REPOSITORY,
            env=environment,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for worker in (0, 1)
    ]
    async with asyncio.timeout(120):
        for worker in workers:
            assert worker.stdout is not None
            assert await worker.stdout.readline() == b"ready\n"
        outputs = []
        for worker in workers:  # both are ready: let them write together
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        for worker in workers:
            stdout, _ = await worker.communicate()
            assert worker.returncode == 0
            outputs.append(json.loads(stdout))

    store = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await store.open()
    try:
        events = await store.events(session)
        stored = {entry.digest: entry.placeholder for entry in await store.vault_entries(session)}
        once_events = await store.events(f"{session}-once")
    finally:
        await store.close()

    # Each worker asked to record every delivery ten times: one call wrote each.
    once = [
        (key, seq) for output in outputs for key, got in output["deliveries"].items() for seq in got
    ]
    assert sorted(key for key, _ in once) == sorted(
        f"delivery-{n}" for n in range(SHARED_DELIVERIES)
    )
    assert sorted(seq for _, seq in once) == list(range(1, SHARED_DELIVERIES + 1))
    assert len(once_events) == SHARED_DELIVERIES

    assert [event.seq for event in events] == list(range(1, 2 * count + 1))
    assert sorted(outputs[0]["seqs"] + outputs[1]["seqs"]) == list(range(1, 2 * count + 1))
    expected_texts = {f"w{worker}-{i}" for worker in (0, 1) for i in range(count)}
    assert sorted(event.text for event in events) == sorted(expected_texts)
    first_worker = [event.seq for event in events if event.text.startswith("w0-")]
    second_worker = [event.seq for event in events if event.text.startswith("w1-")]
    assert min(second_worker) < max(first_worker), "the two processes did not overlap"
    assert min(first_worker) < max(second_worker), "the two processes did not overlap"

    # One placeholder per value, the same in both processes, numbered without gaps.
    for output in outputs:
        assert output["placeholders"] == {
            digest: stored[digest] for digest in output["placeholders"]
        }
    assert set(stored) == {f"value-{n}" for n in range(SHARED_VALUES)}
    assert sorted(stored.values()) == sorted(f"<PERSON_{n}>" for n in range(1, SHARED_VALUES + 1))


async def test_stores_sweeping_at_once_count_each_record_once(
    schema: str, clock: ManualClock
) -> None:
    stores = [PostgresStore(POSTGRES_URL, clock, schema=schema) for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        for n in range(30):
            await stores[n % 4].append_event(_event(f"guest-{n % 3}", f"text {n}", clock))
        clock.advance(timedelta(days=31))
        counts = await asyncio.gather(*(store.sweep(clock.now()) for store in stores))
        assert sum(c.get(RecordKind.TRANSCRIPTS, 0) for c in counts) == 30
        assert await _query(f'SELECT * FROM "{schema}".events') == []
        assert await _query(f'SELECT * FROM "{schema}".event_counters') == []
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_every_table_that_expires_has_an_index_on_expires_at(
    schema: str, clock: ManualClock
) -> None:
    store = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await store.open()
    await store.close()
    rows = await _query(
        """
        SELECT c.relname AS table_name,
               bool_or(i.indkey[0] = a.attnum) AS leads_an_index
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'expires_at'
        LEFT JOIN pg_index AS i ON i.indrelid = c.oid
        WHERE n.nspname = $1 AND c.relkind = 'r'
        GROUP BY c.relname
        ORDER BY c.relname
        """,
        schema,
    )
    tables = {row["table_name"]: row["leads_an_index"] for row in rows}
    assert {"conversations", "events", "vault", "identities", "consents", "samples", "audit"} <= (
        set(tables)
    )
    assert all(tables.values()), (
        f"no index on expires_at: {[t for t, ok in tables.items() if not ok]}"
    )


async def test_errors_quote_nothing_that_is_stored(schema: str, clock: ManualClock) -> None:
    store = PostgresStore(POSTGRES_URL, clock, schema=schema)
    await store.open()
    try:
        session = "guest-anna-mueller"
        await store.append_event(_event(session, "first", clock))
        # Make the next append collide with the first event: the server's error
        # detail then quotes the key, which must not reach chatguard's error.
        await _query(f'UPDATE "{schema}".event_counters SET last_seq = 0')
        with pytest.raises(StoreError) as raised:
            await store.append_event(_event(session, "Anna Müller, LH1234", clock))
    finally:
        await store.close()
    assert not isinstance(raised.value, StoreUnavailableError)
    message = str(raised.value)
    assert "anna" not in message.lower() and "LH1234" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_an_unreachable_server_is_store_unavailable(clock: ManualClock) -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test", clock)
    with pytest.raises(StoreUnavailableError):
        await store.open()
    with pytest.raises(StoreError):  # never opened: nothing to use
        await store.append_event(_event("guest-x", "hello", clock))


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(clock: ManualClock) -> None:
    for bad in ("", "Chatguard", "chat-guard", 'x"; DROP SCHEMA public; --', "9lives", "a" * 64):
        with pytest.raises(ConfigurationError):
            PostgresStore(POSTGRES_URL, clock, schema=bad)
