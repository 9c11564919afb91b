"""What the Redis store promises beyond the contract suite: every key that holds
something with a retention carries a native TTL taken from the injected clock, every
key lies in the store's namespace, several processes share one conversation without
losing an event or giving a value two placeholders, concurrent sweepers count each
expired record once (also records Redis has already dropped), and errors are typed
and quote nothing that is stored.

Like the contract suite, these tests skip without a reachable Redis only while
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

import pytest
import pytest_asyncio
import redis.asyncio

from chatguard.clock import ManualClock
from chatguard.errors import ConfigurationError, StoreUnavailableError
from chatguard.store.records import (
    AuditEntry,
    Author,
    ConsentRecord,
    Conversation,
    Delivery,
    Direction,
    Identity,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultRequest,
)
from chatguard.store.redis import MIN_TTL, RedisStore
from tests.store.backends import REDIS_URL, new_isolation, remove_isolation, require_backend

REPOSITORY = Path(__file__).resolve().parents[2]
# Far from the real time on purpose: native TTLs must follow the injected clock.
START = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
RETENTION = timedelta(days=30)
# Keys that hold no record of their own: expiry indexes, time indexes, id counters.
KEYS_WITHOUT_TTL = {
    "events_by_time", "samples", "audit_by_time", "awaiting", "consent_id", "audit_id",
}  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture(loop_scope="function")
async def namespace() -> AsyncIterator[str]:
    """A fresh namespace, its keys deleted after the test."""
    require_backend("redis")
    isolation = new_isolation("redis", "")
    yield isolation
    await remove_isolation("redis", isolation)


@pytest_asyncio.fixture(loop_scope="function")
async def store(namespace: str, clock: ManualClock) -> AsyncIterator[RedisStore]:
    opened = RedisStore(REDIS_URL, clock, namespace=namespace)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(loop_scope="function")
async def client() -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client, to look at what the store left in Redis."""
    plain = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield plain
    finally:
        await plain.aclose()


async def keys_of(client: redis.asyncio.Redis, namespace: str) -> list[str]:
    return sorted([key async for key in client.scan_iter(match=f"*{namespace}*", count=1000)])


def event(session: str, text: str, at: datetime, expires_at: datetime) -> TranscriptEvent:
    return TranscriptEvent(
        session=session,
        at=at,
        direction=Direction.INBOUND,
        author=Author.USER,
        text=text,
        expires_at=expires_at,
    )


async def hold_one_of_each(store: RedisStore, session: str, user: str, expires: datetime) -> None:
    """One record of every kind, all expiring at ``expires``; the conversation holds
    a privacy reference and awaits an answer."""
    now = min(START, expires)
    await store.record_event(
        event(session, "my name is <PERSON_1>", now, expires),
        Conversation(
            session,
            "messenger",
            user,
            now,
            now,
            expires,
            awaiting="consent_answer",
            awaiting_since=now,
            awaiting_until=now + timedelta(minutes=2),
            reference=f"reference-of-{session}",
        ),
        delivery=Delivery(f"delivery-of-{session}", expires),
    )
    await store.assign_placeholders(
        session, [VaultRequest("PERSON", f"digest-{session}", b"\x00sealed\xff")], expires
    )
    await store.save_identity(Identity(user, b"\x01sealed-identity", expires))
    await store.append_consent(
        ConsentRecord(session, "quality", "granted", now, "chat", "consent-1", "1", "en", expires)
    )
    await store.save_sample(Sample(session, now, expires))
    await store.append_audit(AuditEntry(now, "transcript_show", expires, reason="fault 42"))


async def test_every_key_with_a_retention_has_a_native_ttl_from_the_injected_clock(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    await hold_one_of_each(store, "guest-ttl", "user-ttl", clock.now() + RETENTION)

    keys = await keys_of(client, namespace)
    assert keys and all(key.startswith(f"{namespace}:") for key in keys)
    for key in keys:
        word = key.split(":")[1]
        ttl = timedelta(milliseconds=await client.pttl(key))
        if word == "idx" or word in KEYS_WITHOUT_TTL:
            assert ttl < timedelta(0), f"{key} indexes or counts, it needs no TTL"
        else:
            # The clock is years away from Redis's: the TTL is the record's time left.
            assert RETENTION - timedelta(minutes=1) < ttl <= RETENTION, key
    assert {key.split(":")[1] for key in keys} >= {
        "conv", "user", "ref", "awaiting", "event", "events", "seq", "vault", "vaultval", "ident",
        "consent", "consents", "sample", "delivery", "deliveries", "audit", "idx",
    }  # fmt: skip


async def test_a_container_ttl_grows_to_its_longest_record_and_never_shrinks(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    now = clock.now()
    await store.append_event(event("guest-grow", "long", now, now + timedelta(days=60)))
    await store.append_event(event("guest-grow", "short", now, now + timedelta(days=1)))

    for word in ("events", "seq"):
        ttl = timedelta(milliseconds=await client.pttl(f"{namespace}:{word}:guest-grow"))
        assert timedelta(days=59) < ttl <= timedelta(days=60), word
    short = timedelta(milliseconds=await client.pttl(f"{namespace}:event:guest-grow:2"))
    assert short <= timedelta(days=1)


async def test_a_record_written_already_expired_lives_a_second_and_is_still_swept_and_counted(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    past = clock.now() - timedelta(hours=1)
    await store.save_sample(Sample("guest-late", past, past))

    ttl = timedelta(milliseconds=await client.pttl(f"{namespace}:sample:guest-late"))
    assert timedelta(0) < ttl <= MIN_TTL
    assert await store.samples() == []
    assert await store.sweep(clock.now()) == {RecordKind.SAMPLES: 1}


async def test_a_record_redis_already_dropped_is_invisible_and_still_counted_by_one_sweep(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    expires = clock.now() + timedelta(days=1)
    await hold_one_of_each(store, "guest-dropped", "user-dropped", expires)
    # What native expiry does when the real time comes: the record keys vanish,
    # the indexes the sweeper cleans stay.
    record_words = ("conv", "event", "vaultval", "ident", "consent", "sample", "delivery", "audit")
    for key in await keys_of(client, namespace):
        if key.split(":")[1] in record_words:
            await client.delete(key)

    assert await store.get_conversation("guest-dropped") is None
    assert await store.events("guest-dropped") == []
    assert await store.vault_entries("guest-dropped") == []
    assert await store.conversations_of("user-dropped") == []
    assert await store.samples() == []
    assert await store.audit_entries() == []

    clock.advance(timedelta(days=2))
    assert await store.sweep(clock.now()) == {kind: 1 for kind in RecordKind}
    assert await store.sweep(clock.now()) == {}
    # Left: the id counters, the session's index of deliveries, the reference's and
    # the user's index of sessions (the dropped records named them), which Redis
    # drops when their TTL runs out; the sweep took the session out of ``awaiting``.
    left = await keys_of(client, namespace)
    assert [key.split(":")[1] for key in left] == [
        "audit_id",
        "consent_id",
        "deliveries",
        "ref",
        "user",
    ]
    for container in left[2:]:
        assert await client.pttl(container) > 0, container
    assert await store.conversations_awaiting(clock.now() + RETENTION, 10) == []


async def test_after_a_sweep_of_everything_only_the_id_counters_are_left(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    await hold_one_of_each(store, "guest-all", "user-all", clock.now() + RETENTION)
    clock.advance(RETENTION + timedelta(days=1))

    assert await store.sweep(clock.now()) == {kind: 1 for kind in RecordKind}
    assert [key.split(":")[1] for key in await keys_of(client, namespace)] == [
        "audit_id",
        "consent_id",
    ]


async def test_after_erasing_a_user_only_the_audit_and_the_id_counters_are_left(
    store: RedisStore, client: redis.asyncio.Redis, namespace: str, clock: ManualClock
) -> None:
    await hold_one_of_each(store, "guest-erase", "user-erase", clock.now() + RETENTION)

    erased = await store.erase_user("user-erase")

    assert erased == {kind: 1 for kind in RecordKind if kind is not RecordKind.AUDIT}
    left = {key.split(":")[1] for key in await keys_of(client, namespace)}
    assert left == {"audit", "audit_by_time", "idx", "audit_id", "consent_id"}


async def test_concurrent_sweepers_count_each_expired_record_once(
    namespace: str, clock: ManualClock
) -> None:
    stores = [RedisStore(REDIS_URL, clock, namespace=namespace) for _ in range(4)]
    for each in stores:
        await each.open()
    try:
        writer = stores[0]
        expires = clock.now() + timedelta(days=1)
        # More than one sweep batch, so that sweepers interleave between batches.
        for n in range(1200):
            await writer.append_event(event(f"guest-{n % 7}", f"event {n}", clock.now(), expires))
        for n in range(300):
            await writer.save_sample(Sample(f"guest-{n}", clock.now(), expires))
        await writer.append_event(event("guest-kept", "kept", clock.now(), expires + RETENTION))
        clock.advance(timedelta(days=2))

        results = await asyncio.gather(*(each.sweep(clock.now()) for each in stores))

        assert sum(r.get(RecordKind.TRANSCRIPTS, 0) for r in results) == 1200
        assert sum(r.get(RecordKind.SAMPLES, 0) for r in results) == 300
        assert await writer.sweep(clock.now()) == {}
        assert [e.text for e in await writer.events("guest-kept")] == ["kept"]
    finally:
        for each in stores:
            await each.close()


# A second process: appends COUNT events to SESSION, asks for the placeholders of
# values the other process asks for too, and records the messages of 20 deliveries
# that the other process records too (in SESSION-once), once both have been told to
# go; prints JSON.
WORKER = """
import asyncio, json, sys
from datetime import datetime, timedelta
from chatguard.clock import ManualClock
from chatguard.store.records import (
    Author, Conversation, Delivery, Direction, TranscriptEvent, VaultRequest)
from chatguard.store.redis import RedisStore

async def main(url, namespace, session, worker, count, start):
    clock = ManualClock(datetime.fromisoformat(start))
    store = RedisStore(url, clock, namespace=namespace)
    await store.open()
    expires = clock.now() + timedelta(days=30)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)

    async def append(i):
        return await store.append_event(TranscriptEvent(
            session, clock.now(), Direction.INBOUND, Author.USER, f"w{worker}-{i}", expires))

    async def placeholder(i):
        digest = f"value-{(i * 7 + worker) % 20}"
        request = VaultRequest("PERSON", digest, f"sealed-by-{worker}".encode())
        [assigned] = await store.assign_placeholders(session, [request], expires)
        return digest, assigned

    async def record(i):
        now, once = clock.now(), session + "-once"
        seq = await store.record_event(
            TranscriptEvent(once, now, Direction.INBOUND, Author.USER, f"w{worker}-{i}", expires),
            Conversation(once, "messenger", None, now, now, expires),
            delivery=Delivery(f"delivery-{i % 20}", expires))
        return f"delivery-{i % 20}", seq

    try:
        seqs = await asyncio.gather(*(append(i) for i in range(count)))
        pairs = await asyncio.gather(*(placeholder(i) for i in range(count)))
        recorded = await asyncio.gather(*(record(i) for i in range(count)))
    finally:
        await store.close()
    deliveries = {}
    for key, seq in recorded:
        if seq is not None:
            deliveries.setdefault(key, []).append(seq)
    print(json.dumps({"seqs": seqs, "placeholders": dict(pairs), "deliveries": deliveries}),
          flush=True)

url, namespace, session, worker, count, start = sys.argv[1:]
asyncio.run(main(url, namespace, session, int(worker), int(count), start))
"""


async def test_two_processes_share_a_conversation_losing_nothing_and_record_each_delivery_once(
    store: RedisStore, namespace: str
) -> None:
    session, count = "guest-shared", 200
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            REDIS_URL,
            namespace,
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
        for worker in workers:  # both are ready: let them write together
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        outputs = []
        for worker in workers:
            stdout, _ = await worker.communicate()
            assert worker.returncode == 0
            outputs.append(json.loads(stdout))

    seqs = sorted(outputs[0]["seqs"] + outputs[1]["seqs"])
    assert seqs == list(range(1, 2 * count + 1))
    stored = await store.events(session)
    assert [e.seq for e in stored] == seqs
    assert sorted(e.text for e in stored) == sorted(
        f"w{worker}-{i}" for worker in (0, 1) for i in range(count)
    )
    first, second = outputs[0]["placeholders"], outputs[1]["placeholders"]
    assert first == second
    assert sorted(first.values()) == sorted(f"<PERSON_{n}>" for n in range(1, 21))
    assert len(await store.vault_entries(session)) == 20
    # Each process asked to record every delivery ten times: one call wrote each.
    once = [
        (key, seq) for output in outputs for key, got in output["deliveries"].items() for seq in got
    ]
    assert sorted(key for key, _ in once) == sorted(f"delivery-{n}" for n in range(20))
    assert sorted(seq for _, seq in once) == list(range(1, 21))
    assert len(await store.events(f"{session}-once")) == 20


async def test_an_unreachable_redis_is_unavailable_and_quotes_nothing(clock: ManualClock) -> None:
    store = RedisStore("redis://127.0.0.1:1/0", clock, namespace="guest-secret-anna")

    with pytest.raises(StoreUnavailableError) as raised:
        await store.open()

    assert "anna" not in str(raised.value)
    with pytest.raises(StoreUnavailableError):
        await store.append_event(
            event("guest-secret-anna", "<EMAIL_ADDRESS_1>", clock.now(), clock.now() + RETENTION)
        )


async def test_a_malformed_url_is_a_configuration_error_that_quotes_no_password(
    clock: ManualClock,
) -> None:
    store = RedisStore("redis://chatguard:s3cret@127.0.0.1:port/0", clock)

    with pytest.raises(ConfigurationError) as raised:
        await store.open()

    assert "s3cret" not in str(raised.value) and "store.url" in str(raised.value)
