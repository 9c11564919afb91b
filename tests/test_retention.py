"""Retention: "we delete the data you submitted through the chat assistant after 30
days, quality-sampling data included", kept by the sweeper over a real SQLite store
under a clock that only the test moves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.consent import ConsentLedger, Decision, Purpose, Source
from chatguard.errors import StoreUnavailableError
from chatguard.retention import RetentionPolicy, RetentionSweeper
from chatguard.settings import RetentionSettings, load_settings
from chatguard.store.records import (
    Author,
    Conversation,
    Direction,
    EventKind,
    Identity,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultRequest,
)
from chatguard.store.sqlite import SqliteStore

START = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
SESSION = "guest-aaaabbbbcccc"
OTHER = "guest-ddddeeeeffff"
USER = "user-testtesttesttesttest"
TEXT = "my name is <PERSON_1>, booking <BOOKING_REFERENCE_1>"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{tmp_path / 'state.db'}", clock)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def policy(clock: ManualClock) -> RetentionPolicy:
    return RetentionPolicy(RetentionSettings(), clock)


@pytest.fixture
def sweeper(store: SqliteStore, clock: ManualClock) -> RetentionSweeper:
    return RetentionSweeper(store, clock, RetentionSettings().audit)


async def _chat(store: SqliteStore, policy: RetentionPolicy, session: str) -> None:
    """A conversation as the pipeline writes it: transcript, feedback, vault, sample."""
    now = policy.clock.now()
    await store.save_conversation(
        Conversation(
            session,
            "messenger",
            USER,
            now,
            now,
            policy.expires_at(RecordKind.CONVERSATIONS),
        )
    )
    expires = policy.expires_at(RecordKind.TRANSCRIPTS)
    await store.append_event(
        TranscriptEvent(session, now, Direction.INBOUND, Author.USER, TEXT, expires)
    )
    await store.append_event(
        TranscriptEvent(session, now, Direction.OUTBOUND, Author.BOT, "Thank you", expires)
    )
    await store.append_event(
        TranscriptEvent(
            session, now, Direction.INBOUND, Author.USER, "", expires, EventKind.FEEDBACK, "up"
        )
    )
    await store.assign_placeholders(
        session,
        [
            VaultRequest("PERSON", "d" * 64, b"sealed-1"),
            VaultRequest("BOOKING_REFERENCE", "e" * 64, b"sealed-2"),
        ],
        policy.expires_at(RecordKind.VAULT),
    )
    await store.save_sample(Sample(session, now, policy.expires_at(RecordKind.SAMPLES)))
    await store.save_identity(
        Identity(USER, b"sealed-id", policy.expires_at(RecordKind.IDENTITIES))
    )


async def _held(store: SqliteStore, session: str) -> dict[str, int]:
    return {
        "conversation": int(await store.get_conversation(session) is not None),
        "events": len(await store.events(session)),
        "vault": len(await store.vault_entries(session)),
        "sample": sum(sample.session == session for sample in await store.samples()),
    }


async def _first_audit_entry(store: SqliteStore) -> None:
    """Return once the store holds an audit entry (a sweep that deleted something)."""
    for _ in range(1000):
        if await store.audit_entries():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no sweep was audited within 10 seconds")


# --- durations -------------------------------------------------------------------------


def test_durations_are_read_from_settings_as_days_hours_and_seconds(
    monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    monkeypatch.setenv("CHATGUARD_RETENTION__VAULT", "12h")
    settings = load_settings(retention={"transcripts": "30d", "samples": "90s"})
    policy = RetentionPolicy(settings.retention, clock)
    assert policy.expires_at(RecordKind.TRANSCRIPTS) == START + timedelta(days=30)
    assert policy.expires_at(RecordKind.VAULT) == START + timedelta(hours=12)
    assert policy.expires_at(RecordKind.SAMPLES) == START + timedelta(seconds=90)


def test_every_record_kind_of_the_chat_is_kept_30_days_by_default(
    policy: RetentionPolicy,
) -> None:
    for kind in (
        RecordKind.CONVERSATIONS,
        RecordKind.TRANSCRIPTS,
        RecordKind.VAULT,
        RecordKind.IDENTITIES,
        RecordKind.SAMPLES,
    ):
        assert policy.expires_at(kind) == START + timedelta(days=30), kind


def test_a_channel_message_id_is_remembered_7_days_by_default_to_drop_redeliveries(
    policy: RetentionPolicy,
) -> None:
    assert policy.expires_at(RecordKind.DELIVERIES) == START + timedelta(days=7)


def test_expiry_counts_from_the_given_start(policy: RetentionPolicy) -> None:
    start = START + timedelta(days=3)
    assert policy.expires_at(RecordKind.SAMPLES, start) == start + timedelta(days=30)
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.expires_at(RecordKind.SAMPLES, datetime(2026, 1, 1))


# --- the sweeper -----------------------------------------------------------------------


async def test_conversation_is_present_on_day_29_and_gone_on_day_31(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)

    clock.advance(timedelta(days=29))
    assert await sweeper.sweep_once() == {}
    assert await _held(store, SESSION) == {"conversation": 1, "events": 3, "vault": 2, "sample": 1}

    clock.advance(timedelta(days=2))
    deleted = await sweeper.sweep_once()
    assert deleted == {
        RecordKind.CONVERSATIONS: 1,
        RecordKind.TRANSCRIPTS: 3,
        RecordKind.VAULT: 2,
        RecordKind.SAMPLES: 1,
        RecordKind.IDENTITIES: 1,
    }
    assert await _held(store, SESSION) == {"conversation": 0, "events": 0, "vault": 0, "sample": 0}
    assert await store.get_identity(USER) is None


async def test_samples_and_consent_covered_data_go_at_30_days_and_the_proof_of_consent_stays(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    ledger = ConsentLedger(store, policy, clock)
    await ledger.record(
        SESSION, Purpose.QUALITY_SAMPLING, Decision.GRANTED, Source.CHAT, None, "pt"
    )
    await ledger.record(
        USER, Purpose.PUSH_NOTIFICATIONS, Decision.GRANTED, Source.MESSENGER_OPTIN, None, "pt"
    )
    await _chat(store, policy, SESSION)  # sampled, with the consent just recorded

    clock.advance(timedelta(days=29))
    assert await sweeper.sweep_once() == {}
    assert await _held(store, SESSION) == {"conversation": 1, "events": 3, "vault": 2, "sample": 1}

    clock.advance(timedelta(days=1))  # day 30: the chat and its sample are due
    deleted = await sweeper.sweep_once()
    assert deleted[RecordKind.SAMPLES] == 1 and RecordKind.CONSENTS not in deleted
    assert await _held(store, SESSION) == {"conversation": 0, "events": 0, "vault": 0, "sample": 0}
    # The proof of what the person agreed to outlives the data it covered.
    assert [r.decision for r in await ledger.history(SESSION)] == ["granted"]
    assert [r.decision for r in await ledger.history(USER)] == ["granted"]

    clock.advance(timedelta(days=365) - timedelta(seconds=1))
    assert await sweeper.sweep_once() == {}
    assert len(await ledger.history(SESSION)) == 1

    clock.advance(timedelta(seconds=1))  # 30 days + 1 year
    assert (await sweeper.sweep_once())[RecordKind.CONSENTS] == 2  # and the first sweep's audit
    assert await ledger.history(SESSION) == [] and await ledger.history(USER) == []
    assert not await ledger.allows(USER, Purpose.PUSH_NOTIFICATIONS)


async def test_sweep_is_audited_with_counts_and_no_content(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)
    clock.advance(timedelta(days=31))
    await sweeper.sweep_once()

    [entry] = await store.audit_entries()
    assert entry.action == "sweep"
    assert entry.at == clock.now()
    assert entry.counts == {
        "conversations": 1,
        "identities": 1,
        "samples": 1,
        "transcripts": 3,
        "vault": 2,
    }
    assert (entry.subject, entry.actor, entry.reason) == (None, None, None)
    assert entry.expires_at == clock.now() + RetentionSettings().audit
    for content in (SESSION, USER, "PERSON", "Thank you", "sealed"):
        assert content not in repr(entry)


async def test_second_sweep_deletes_nothing_and_audits_nothing(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)
    clock.advance(timedelta(days=31))
    assert await sweeper.sweep_once()
    assert await sweeper.sweep_once() == {}
    assert len(await store.audit_entries()) == 1


async def test_sweeper_down_for_60_days_catches_up_in_one_sweep(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)
    clock.advance(timedelta(days=20))
    await _chat(store, policy, OTHER)
    clock.advance(timedelta(days=60))  # nobody swept in between

    deleted = await sweeper.sweep_once()
    assert deleted[RecordKind.CONVERSATIONS] == 2
    assert deleted[RecordKind.TRANSCRIPTS] == 6
    assert deleted[RecordKind.VAULT] == 4
    assert deleted[RecordKind.SAMPLES] == 2
    assert await sweeper.sweep_once() == {}


async def test_only_what_has_expired_is_swept(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)
    clock.advance(timedelta(days=10))
    await _chat(store, policy, OTHER)
    clock.advance(timedelta(days=21))

    assert (await sweeper.sweep_once())[RecordKind.CONVERSATIONS] == 1
    assert await _held(store, SESSION) == {"conversation": 0, "events": 0, "vault": 0, "sample": 0}
    assert await _held(store, OTHER) == {"conversation": 1, "events": 3, "vault": 2, "sample": 1}


async def test_run_sweeps_at_start_and_stops_cleanly_when_cancelled(
    store: SqliteStore, policy: RetentionPolicy, sweeper: RetentionSweeper, clock: ManualClock
) -> None:
    await _chat(store, policy, SESSION)
    clock.advance(timedelta(days=31))

    task = asyncio.create_task(sweeper.run(timedelta(hours=1)))
    await _first_audit_entry(store)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert [entry.action for entry in await store.audit_entries()] == ["sweep"]


class _FailsOnceStore(SqliteStore):
    """A real SQLite store whose first sweep finds the store unreachable."""

    failures = 1

    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("store unreachable")
        return await super().sweep(now)


async def test_failed_sweep_is_logged_by_type_and_retried_next_interval(
    tmp_path: Path,
    policy: RetentionPolicy,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = _FailsOnceStore(f"sqlite:///{tmp_path / 'flaky.db'}", clock)
    await flaky.open()
    try:
        await _chat(flaky, policy, SESSION)
        clock.advance(timedelta(days=31))
        sweeper = RetentionSweeper(flaky, clock, timedelta(days=365))
        with caplog.at_level(logging.INFO, logger="chatguard.retention"):
            async with asyncio.timeout(10), asyncio.TaskGroup() as tasks:
                task = tasks.create_task(sweeper.run(timedelta(milliseconds=20)))
                await _first_audit_entry(flaky)
                task.cancel()
        assert flaky.failures == 0
        assert "sweep failed (StoreUnavailableError)" in caplog.text
        assert "sweep deleted conversations=1" in caplog.text
        assert SESSION not in caplog.text and USER not in caplog.text
    finally:
        await flaky.close()


def test_sweeper_refuses_nonsense_durations(store: SqliteStore, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="audit retention"):
        RetentionSweeper(store, clock, timedelta(0))
