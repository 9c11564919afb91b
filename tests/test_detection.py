"""Where detection runs: threads or worker processes give the engine's own answer,
short messages go before long ones, and a failure never passes for a detection."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from chatguard.errors import (
    ModelNotInstalledError,
    RedactionError,
    RedactionTimeoutError,
    UnsupportedLanguageError,
)
from chatguard.redact.detection import (
    Detection,
    DetectionPool,
    DetectionRequest,
    detect_batch,
    detect_with,
)
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import RedactionSettings

MESSAGES = (
    "Hi, I am Anna Keller, write to anna.keller@example.org",
    "Mein Buchungscode ist QWERTZ, Telefon +49 151 23456789",
    "Je m'appelle Claire Dubois, mon numéro de passeport est 12AB34567",
    "ok thanks",
)
LONG = " ".join(MESSAGES * 40)  # about 7,000 characters


def process_settings(workers: int = 1, timeout: float = 5.0) -> RedactionSettings:
    return RedactionSettings(executor="process", workers=workers, timeout=timeout)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def process_pool() -> AsyncIterator[DetectionPool]:
    """One worker process for the module (it loads its engine once, a few seconds)."""
    pool = DetectionPool(process_settings())
    await pool.start()
    yield pool
    pool.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_worker_process_finds_what_the_engine_finds(
    process_pool: DetectionPool, engine: RedactionEngine
) -> None:
    for text in MESSAGES:
        request = DetectionRequest(text, None, 0.5)
        assert await process_pool.detect(request) == detect_with(engine, request)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_worker_process_uses_the_values_the_conversation_revealed(
    process_pool: DetectionPool,
) -> None:
    found = await process_pool.detect(
        DetectionRequest("is QWERTZ confirmed?", "en", 0.5, (("BOOKING_REFERENCE", "QWERTZ"),))
    )
    assert [(e.type, e.start, e.end) for e in found.entities] == [("BOOKING_REFERENCE", 3, 9)]


@pytest.mark.asyncio(loop_scope="module")
async def test_an_engine_error_from_a_worker_process_is_raised_as_it_is(
    process_pool: DetectionPool,
) -> None:
    with pytest.raises(UnsupportedLanguageError):
        await process_pool.detect(DetectionRequest("hola", "xx", 0.5))


@pytest.mark.asyncio(loop_scope="module")
async def test_concurrent_requests_to_worker_processes_each_get_their_own_answer(
    engine: RedactionEngine,
) -> None:
    pool = DetectionPool(process_settings(workers=2))
    try:
        requests = [DetectionRequest(text, None, 0.5) for text in MESSAGES * 5]
        answers = await asyncio.gather(*(pool.detect(r) for r in requests))
        assert answers == [detect_with(engine, r) for r in requests]
    finally:
        pool.close()


async def test_a_dead_worker_process_fails_its_request_closed_and_is_replaced() -> None:
    pool = DetectionPool(process_settings(timeout=60.0))
    try:
        await pool.start()
        worker_pid = _worker_pids()
        assert worker_pid, "the worker process should be a child of this one"
        detecting = asyncio.ensure_future(pool.detect(DetectionRequest(LONG * 2, "en", 0.5)))
        await asyncio.sleep(0.2)  # the worker is busy with the long message now
        for pid in worker_pid:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RedactionError) as raised:
            await detecting
        assert "Anna" not in str(raised.value)
        again = await pool.detect(DetectionRequest(MESSAGES[0], None, 0.5))
        assert {e.type for e in again.entities} == {"PERSON", "EMAIL_ADDRESS"}
    finally:
        pool.close()


def _worker_pids() -> list[int]:
    import multiprocessing

    return [child.pid for child in multiprocessing.active_children() if child.pid is not None]


async def test_short_messages_waiting_go_before_a_long_one(engine: RedactionEngine) -> None:
    pool = DetectionPool(RedactionSettings(workers=1, timeout=30.0), engine)
    finished: list[str] = []

    async def detect(name: str, text: str) -> None:
        await pool.detect(DetectionRequest(text, "en", 0.5))
        finished.append(name)

    try:
        await pool.start()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(detect("first", MESSAGES[0]))  # takes the one worker
            await asyncio.sleep(0)
            tasks.create_task(detect("long", LONG))
            tasks.create_task(detect("short", MESSAGES[3]))
            tasks.create_task(detect("short too", MESSAGES[1]))
        assert finished[-1] == "long"
    finally:
        pool.close()


async def test_a_long_message_is_not_starved_by_a_stream_of_short_ones(
    engine: RedactionEngine,
) -> None:
    # Starved, the long message would wait for the whole stream and time out.
    pool = DetectionPool(RedactionSettings(workers=1, timeout=5.0), engine)
    long_done = asyncio.Event()
    shorts_while_long_waited = 0

    async def stream_of_short_ones() -> None:
        nonlocal shorts_while_long_waited
        while not long_done.is_set():
            await pool.detect(DetectionRequest(MESSAGES[3], "en", 0.5))
            shorts_while_long_waited += 1

    try:
        await pool.start()
        async with asyncio.TaskGroup() as tasks:
            for _ in range(4):
                tasks.create_task(stream_of_short_ones())
            await asyncio.sleep(0.05)
            await pool.detect(DetectionRequest(LONG, "en", 0.5))
            long_done.set()
        assert shorts_while_long_waited > 8  # short ones went first meanwhile
    finally:
        pool.close()


async def test_waiting_too_long_fails_closed_with_a_timeout(engine: RedactionEngine) -> None:
    pool = DetectionPool(RedactionSettings(workers=1, timeout=0.05), engine)
    try:
        await pool.start()
        results = await asyncio.gather(
            *(pool.detect(DetectionRequest(LONG, "en", 0.5)) for _ in range(3)),
            return_exceptions=True,
        )
        assert any(isinstance(result, RedactionTimeoutError) for result in results)
        assert all(
            isinstance(result, RedactionTimeoutError) or not isinstance(result, Exception)
            for result in results
        )
    finally:
        pool.close()


async def test_a_closed_pool_refuses_to_detect(engine: RedactionEngine) -> None:
    pool = DetectionPool(RedactionSettings(workers=1), engine)
    pool.close()
    with pytest.raises(RedactionError):
        await pool.detect(DetectionRequest(MESSAGES[0], None, 0.5))


def test_the_process_executor_loads_its_own_engines(engine: RedactionEngine) -> None:
    with pytest.raises(ValueError, match="workers"):
        DetectionPool(process_settings(), engine)


def test_a_batch_finds_in_each_message_what_it_finds_alone(engine: RedactionEngine) -> None:
    requests = [
        DetectionRequest(MESSAGES[0], None, 0.5),
        DetectionRequest(MESSAGES[1], "de", 0.5),
        DetectionRequest("is QWERTZ confirmed?", "en", 0.5, (("BOOKING_REFERENCE", "QWERTZ"),)),
        DetectionRequest(MESSAGES[2], None, 0.9),
        DetectionRequest(MESSAGES[3], None, 0.5),
    ]
    assert detect_batch(engine, requests) == [detect_with(engine, r) for r in requests]


def test_one_bad_request_in_a_batch_fails_alone(engine: RedactionEngine) -> None:
    requests = [
        DetectionRequest(MESSAGES[0], None, 0.5),
        DetectionRequest("hola", "xx", 0.5),
        DetectionRequest(MESSAGES[1], None, 0.5),
    ]
    first, bad, last = detect_batch(engine, requests)
    assert isinstance(bad, UnsupportedLanguageError)
    assert first == detect_with(engine, requests[0]) and isinstance(first, Detection)
    assert last == detect_with(engine, requests[2])


async def test_many_waiting_requests_each_get_their_own_answer(engine: RedactionEngine) -> None:
    pool = DetectionPool(RedactionSettings(workers=1, timeout=30.0), engine)
    try:
        requests = [DetectionRequest(text, None, 0.5) for text in MESSAGES * 10]
        answers = await asyncio.gather(*(pool.detect(r) for r in requests))
        assert answers == [detect_with(engine, r) for r in requests]
    finally:
        pool.close()


async def test_a_worker_process_without_its_model_says_which_setting_is_wrong() -> None:
    settings = RedactionSettings(executor="process", models={"de": "no_such_spacy_model"})
    pool = DetectionPool(settings)
    try:
        with pytest.raises(ModelNotInstalledError, match="no_such_spacy_model"):
            await pool.start()
    finally:
        pool.close()
