"""What the SQLite store promises beyond the contract: a WAL file, a schema that
migrates once, an index for the sweep on every table that expires, one hop to the
store's own thread per operation."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.errors import StoreError
from chatguard.handover import HANDED_OVER
from chatguard.store.records import (
    Author,
    Conversation,
    Delivery,
    Direction,
    TranscriptEvent,
    VaultRequest,
)
from chatguard.store.sqlite import MIGRATIONS, SqliteStore

ROOT = Path(__file__).resolve().parents[2]


async def open_store_at(path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{path}", ManualClock())
    await store.open()
    return store


async def test_the_file_is_in_wal_mode_and_reopening_migrates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "chatguard.db"
    for _ in range(2):
        await (await open_store_at(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        versions = [row[0] for row in db.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_processes_opening_a_new_file_at_the_same_instant_all_open_it(tmp_path: Path) -> None:
    # Switching a file to WAL can fail at once with SQLITE_BUSY, without waiting for the
    # busy timeout, when another connection switches it at the same moment (the CI run
    # of 2026-12-02 lost a writer that way); 6 processes x 40 new files made that
    # happen a few dozen times before opening retried the switch.
    rounds, processes = 40, 6
    done = subprocess.run(
        [sys.executable, "-m", "tests.store.opener", str(tmp_path), str(rounds), str(processes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.splitlines() == [" ".join(["0"] * processes)] * rounds, done.stderr


async def test_a_file_migrated_from_before_the_dialogue_state_keeps_its_hand_overs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chatguard.db"
    with sqlite3.connect(path) as db:  # a file written by the release before migration 3
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, statements in enumerate(MIGRATIONS[:2], start=1):
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        for session in ("guest-handed", "guest-bot"):
            db.execute(
                "INSERT INTO conversations VALUES (?, 'web', NULL, 1, 1, 9999999999999999)",
                (session,),
            )
        for seq, (author, text, at) in enumerate(
            [("user", "a human please", 5), ("system", HANDED_OVER, 7), ("system", HANDED_OVER, 9)]
        ):
            db.execute(
                "INSERT INTO events VALUES ('guest-handed', ?, ?, 'outbound', ?, 'message',"
                " NULL, ?, 9999999999999999)",
                (seq + 1, at, author, text),
            )

    store = await open_store_at(path)
    try:
        handed = await store.get_conversation("guest-handed")
        bot = await store.get_conversation("guest-bot")
    finally:
        await store.close()
    assert handed is not None and bot is not None
    assert handed.handed_over_at == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=7)
    assert (bot.handed_over_at, bot.reference, bot.awaiting) == (None, None, None)


async def test_reference_and_deadline_look_ups_use_their_indexes(tmp_path: Path) -> None:
    path = tmp_path / "chatguard.db"
    await (await open_store_at(path)).close()
    with sqlite3.connect(path) as db:
        by_reference = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM conversations"
            " WHERE reference = ? AND expires_at > ? LIMIT 2",
            ("digest", 0),
        ).fetchall()
        by_deadline = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM conversations"
            " WHERE awaiting_until IS NOT NULL AND awaiting_until <= ? AND expires_at > ?"
            " ORDER BY awaiting_until, session LIMIT ?",
            (0, 0, 10),
        ).fetchall()
    assert "USING INDEX conversations_reference" in str(by_reference)
    assert "USING INDEX conversations_awaiting" in str(by_deadline)
    assert "TEMP B-TREE" not in str(by_deadline)  # the index gives the order too


async def test_every_table_that_expires_has_an_index_on_expires_at(tmp_path: Path) -> None:
    path = tmp_path / "chatguard.db"
    await (await open_store_at(path)).close()
    with sqlite3.connect(path) as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        expiring = [
            table
            for table in tables
            if any(
                column[1] == "expires_at" for column in db.execute(f"PRAGMA table_info({table})")
            )
        ]
        indexed = {
            table
            for table in expiring
            for index in db.execute(f"PRAGMA index_list({table})")
            if [column[2] for column in db.execute(f"PRAGMA index_info({index[1]})")]
            == ["expires_at"]
        }
    assert len(expiring) == 8
    assert indexed == set(expiring)


async def test_a_file_with_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chatguard.db"
    await (await open_store_at(path)).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer"):
        await open_store_at(path)


async def test_a_write_that_fails_midway_leaves_nothing_and_the_next_write_works(
    tmp_path: Path,
) -> None:
    store = await open_store_at(tmp_path / "chatguard.db")
    now = ManualClock().now()
    naive = TranscriptEvent(
        session="guest-a",
        at=now.replace(tzinfo=None),
        direction=Direction.INBOUND,
        author=Author.USER,
        text="hello",
        expires_at=now + timedelta(days=30),
    )
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.append_event(naive)
        assert await store.append_event(dataclasses.replace(naive, at=now)) == 1
        assert [event.seq for event in await store.events("guest-a")] == [1]
    finally:
        await store.close()


async def test_each_operation_is_one_job_on_the_stores_thread_whatever_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store_at(tmp_path / "chatguard.db")
    thread = store._thread
    assert thread is not None
    jobs: list[object] = []
    submit = thread.submit

    def counted(*args: object, **kwargs: object) -> object:
        jobs.append(args[0])
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(thread, "submit", counted)
    now = ManualClock().now()
    later = now + timedelta(days=30)
    conversation = Conversation("guest-a", "messenger", "user-1", now, now, later)
    event = TranscriptEvent("guest-a", now, Direction.INBOUND, Author.USER, "hi", later)
    try:
        await store.record_event(event, conversation, delivery=Delivery("k", later))
        await store.record_event(event, conversation, delivery=Delivery("k", later))
        requests = [VaultRequest("PERSON", f"d{n}", b"sealed") for n in range(3)]
        await store.assign_placeholders("guest-a", requests, later)
        await store.vault_entries("guest-a")
        await store.erase_user("user-1")
        await store.sweep(now)
    finally:
        await store.close()
    assert len(jobs) == 7  # six operations and the close


async def test_writes_waiting_together_commit_together_and_one_failure_fails_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chatguard.db"
    store = await open_store_at(path)
    now = ManualClock().now()
    later = now + timedelta(days=30)
    commits_before = _commits(path)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO events (session, seq) VALUES ('guest-a', 999)")
        db.execute("INSERT INTO no_such_table VALUES (1)")  # fails after a first write

    async def append(n: int) -> int:
        event = TranscriptEvent("guest-a", now, Direction.INBOUND, Author.USER, f"m{n}", later)
        return await store.append_event(event)

    try:
        *seqs, failed = await asyncio.gather(
            *(append(n) for n in range(30)), store._write(broken), return_exceptions=True
        )
        assert sorted(seqs) == list(range(1, 31))  # type: ignore[type-var]
        assert isinstance(failed, StoreError) and "no_such_table" not in str(failed)
        assert _commits(path) - commits_before < 30  # fewer commits than writes
    finally:
        await store.close()
    reopened = await open_store_at(path)
    try:
        events = await reopened.events("guest-a")
        assert [e.seq for e in events] == list(range(1, 31))  # 999 was rolled back
    finally:
        await reopened.close()


def _commits(path: Path) -> int:
    """How many commits the WAL file holds (one commit frame each); read while the
    store is open, before a checkpoint empties it."""
    wal = path.with_name(path.name + "-wal")
    if not wal.exists():
        return 0
    data = wal.read_bytes()
    page_size = int.from_bytes(data[8:12], "big")
    frames = (len(data) - 32) // (24 + page_size)
    return sum(
        1
        for i in range(frames)
        if int.from_bytes(data[32 + i * (24 + page_size) + 4 : 32 + i * (24 + page_size) + 8])
    )
