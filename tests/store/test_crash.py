"""Reliability: acknowledged writes survive SIGKILL, several processes append to one
conversation without losing or duplicating an event, of two processes resolving the
same questions each question is resolved once, and an unreachable store is a typed
error that quotes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.errors import StoreUnavailableError
from chatguard.store.records import (
    Author,
    Conversation,
    DialogueChange,
    Direction,
    TranscriptEvent,
)
from chatguard.store.sqlite import SqliteStore
from tests.store.conftest import Backend

ROOT = Path(__file__).resolve().parents[2]
SESSION = "guest-crash"
DAY = timedelta(days=1)


@contextlib.asynccontextmanager
async def running_writers(
    backend: Backend,
    count: int,
    processes: int = 1,
    *,
    helper: str = "tests.store.writer",
    arguments: tuple[str, ...] = (SESSION,),
) -> AsyncIterator[list[Process]]:
    """``processes`` helper processes (by default ``tests/store/writer.py``, appending
    ``count`` events each, 0: until killed, to ``SESSION``) started with the backend,
    ``arguments`` and ``count``, told to start once all have opened the store; any
    still running at the end are killed."""
    writers: list[Process] = []
    try:
        async with asyncio.timeout(30):
            for _ in range(processes):
                writers.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        helper,
                        backend.kind,
                        backend.isolation,
                        *arguments[:1],
                        str(count),
                        *arguments[1:],
                        cwd=ROOT,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE,
                    )
                )
            for writer in writers:
                assert writer.stdout is not None
                if await writer.stdout.readline() != b"ready\n":
                    pytest.fail(f"a writer did not open the store:\n{await failure_of(writer)}")
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write(b"go\n")
            await writer.stdin.drain()
        yield writers
    finally:
        for writer in writers:
            if writer.returncode is None:
                writer.kill()
                await writer.wait()


async def read_ack(writer: Process) -> tuple[int, str] | None:
    """The writer's next acknowledgement, ``None`` when it has stopped printing."""
    assert writer.stdout is not None
    line = await writer.stdout.readline()
    if not line:
        return None
    seq, text = line.decode().rstrip("\n").split(" ", 1)
    return int(seq), text


async def failure_of(writer: Process) -> str:
    """The end of what the writer wrote to stderr."""
    assert writer.stderr is not None
    return (await writer.stderr.read()).decode(errors="replace")[-2000:]


async def stored_events(backend: Backend, clock: ManualClock) -> list[TranscriptEvent]:
    """``SESSION``'s events as a store opened afresh sees them."""
    reopened = backend.make_store(clock)
    await reopened.open()
    try:
        return await reopened.events(SESSION)
    finally:
        await reopened.close()


async def test_sigkill_in_the_middle_of_writes_keeps_every_acknowledged_event(
    backend: Backend, clock: ManualClock
) -> None:
    acks: dict[int, str] = {}
    async with running_writers(backend, count=0) as [writer], asyncio.timeout(60):
        while len(acks) < 200:
            ack = await read_ack(writer)
            if ack is None:
                pytest.fail(f"the writer stopped early:\n{await failure_of(writer)}")
            acks[ack[0]] = ack[1]
        os.kill(writer.pid, signal.SIGKILL)
        assert await writer.wait() == -signal.SIGKILL

    stored = await stored_events(backend, clock)

    assert [event.seq for event in stored] == list(range(1, len(stored) + 1))
    assert len(stored) >= max(acks)
    texts = {event.seq: event.text for event in stored}
    assert {seq: texts[seq] for seq in acks} == acks


async def test_two_processes_appending_to_one_conversation_lose_and_duplicate_nothing(
    backend: Backend, clock: ManualClock
) -> None:
    per_writer = 100
    acks: dict[int, str] = {}
    async with running_writers(backend, per_writer, processes=2) as writers, asyncio.timeout(60):
        for writer in writers:
            while (ack := await read_ack(writer)) is not None:
                assert ack[0] not in acks, "one sequence number acknowledged twice"
                acks[ack[0]] = ack[1]
            if await writer.wait() != 0:
                pytest.fail(f"a writer failed:\n{await failure_of(writer)}")

    stored = await stored_events(backend, clock)

    assert sorted(acks) == list(range(1, 2 * per_writer + 1))
    assert {event.seq: event.text for event in stored} == acks
    assert [event.seq for event in stored] == sorted(acks)


async def test_two_processes_resolving_the_same_questions_resolve_each_exactly_once(
    backend: Backend, clock: ManualClock
) -> None:
    questions = 60
    asked_at = clock.now()
    store = backend.make_store(clock)
    await store.open()
    try:
        for i in range(questions):
            session = f"guest-q{i}"
            await store.save_conversation(
                Conversation(session, "web", None, asked_at, asked_at, asked_at + DAY)
            )
            asked = DialogueChange(
                awaiting="consent_answer",
                awaiting_since=asked_at,
                awaiting_until=asked_at + timedelta(minutes=2),
            )
            assert await store.update_dialogue(session, asked)

        winners: dict[int, str] = {}  # question -> the language its resolver wrote
        arguments = ("guest-q", asked_at.isoformat())
        async with (
            running_writers(
                backend, questions, processes=2, helper="tests.store.resolver", arguments=arguments
            ) as resolvers,
            asyncio.timeout(60),
        ):
            for resolver in resolvers:
                assert resolver.stdout is not None
                for line in (await resolver.stdout.read()).decode().split():
                    assert int(line) not in winners, "one question resolved twice"
                    winners[int(line)] = f"w{resolver.pid}"
                if await resolver.wait() != 0:
                    pytest.fail(f"a resolver failed:\n{await failure_of(resolver)}")

        assert sorted(winners) == list(range(questions))
        for i in range(questions):
            held = await store.get_conversation(f"guest-q{i}")
            assert held is not None and held.awaiting is None
            assert held.language == winners[i]  # the winner's change, and only its
    finally:
        await store.close()


async def test_a_sqlite_store_on_an_unwritable_path_is_unavailable_and_quotes_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    not_a_directory = tmp_path / "guest-secret-anna"
    not_a_directory.write_text("anna@example.org")
    store = SqliteStore(f"sqlite:///{not_a_directory / 'chatguard.db'}", clock)

    with pytest.raises(StoreUnavailableError) as raised:
        await store.open()

    assert "anna" not in str(raised.value)
    with pytest.raises(StoreUnavailableError):
        await store.ping()


async def test_a_sqlite_write_that_cannot_get_the_lock_in_time_is_unavailable_and_writes_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "chatguard.db"
    store = SqliteStore(f"sqlite:///{path}", clock, busy_timeout=0.1)
    await store.open()
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailableError) as raised:
            await store.append_event(
                TranscriptEvent(
                    session=SESSION,
                    at=clock.now(),
                    direction=Direction.INBOUND,
                    author=Author.USER,
                    text="my e-mail is <EMAIL_ADDRESS_1>",
                    expires_at=clock.now() + timedelta(days=30),
                )
            )
        assert "EMAIL" not in str(raised.value)
        other_process.execute("ROLLBACK")
        assert await store.events(SESSION) == []
    finally:
        other_process.close()
        await store.close()
