"""Quality sampling: only sessions whose user said yes are picked, reviewers read them
only with a reason that is audited, and a declined or withdrawn session never shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.consent import ConsentLedger, Decision, Purpose, Source
from chatguard.errors import ReasonRequiredError, SubjectNotFoundError
from chatguard.retention import RetentionPolicy
from chatguard.sampling import QualitySampler
from chatguard.settings import RetentionSettings
from chatguard.store.records import Author, Direction, RecordKind, Sample, TranscriptEvent
from chatguard.store.sqlite import SqliteStore

START = datetime(2026, 4, 7, 16, 45, tzinfo=UTC)
QUALITY = Purpose.QUALITY_SAMPLING
REASON = "QA review 2026-W15"


@dataclass
class Sampling:
    store: SqliteStore
    clock: ManualClock
    policy: RetentionPolicy
    ledger: ConsentLedger

    def sampler(self, rate: float = 1.0, seed: int | None = 7) -> QualitySampler:
        return QualitySampler(
            self.store, self.ledger, self.policy, self.clock, rate=rate, seed=seed
        )

    async def answer(self, session: str, decision: Decision) -> None:
        await self.ledger.record(session, QUALITY, decision, Source.CHAT, None, "en")

    async def chat(self, session: str) -> None:
        expires = self.policy.expires_at(RecordKind.TRANSCRIPTS)
        for author, text in ((Author.USER, "I am <PERSON_1>"), (Author.AGENT, "Hello <PERSON_1>")):
            await self.store.append_event(
                TranscriptEvent(session, self.clock.now(), Direction.INBOUND, author, text, expires)
            )


@pytest.fixture
async def sampling(tmp_path: Path) -> AsyncIterator[Sampling]:
    clock = ManualClock(START)
    store = SqliteStore(f"sqlite:///{tmp_path / 'sampling.db'}", clock)
    await store.open()
    policy = RetentionPolicy(RetentionSettings(), clock)
    try:
        yield Sampling(store, clock, policy, ConsentLedger(store, policy, clock))
    finally:
        await store.close()


async def test_a_session_whose_user_said_yes_is_sampled_and_the_sample_expires_in_30_days(
    sampling: Sampling,
) -> None:
    await sampling.answer("guest-yes", Decision.GRANTED)

    sample = await sampling.sampler().maybe_sample("guest-yes")

    assert sample == Sample("guest-yes", START, START + timedelta(days=30))
    assert await sampling.store.samples() == [sample]


@pytest.mark.parametrize("decision", [None, Decision.DECLINED, Decision.WITHDRAWN])
async def test_a_session_without_consent_is_never_sampled(
    sampling: Sampling, decision: Decision | None
) -> None:
    if decision is Decision.WITHDRAWN:
        await sampling.answer("guest-x", Decision.GRANTED)
    if decision is not None:
        await sampling.answer("guest-x", decision)

    assert await sampling.sampler(rate=1.0).maybe_sample("guest-x") is None
    assert await sampling.store.samples() == []


async def test_sessions_are_sampled_at_the_rate_reproducibly_with_a_seed(
    sampling: Sampling,
) -> None:
    sessions = [f"guest-{n:012d}" for n in range(200)]
    for session in sessions:
        await sampling.answer(session, Decision.GRANTED)

    async def picked(sampler: QualitySampler) -> list[str]:
        return [s for s in sessions if await sampler.maybe_sample(s) is not None]

    first = await picked(sampling.sampler(rate=0.2, seed=42))
    second = await picked(sampling.sampler(rate=0.2, seed=42))
    assert first == second
    assert 20 <= len(first) <= 60  # 40 expected; this seed's draw is fixed
    assert await picked(sampling.sampler(rate=0.0, seed=42)) == []


async def test_a_withdrawal_racing_the_sampler_leaves_no_sample(sampling: Sampling) -> None:
    await sampling.answer("guest-race", Decision.GRANTED)
    save = sampling.store.save_sample

    async def withdrawn_just_before_the_write(sample: Sample) -> None:
        await sampling.ledger.withdraw("guest-race", QUALITY, Source.CHAT, "en")
        await save(sample)

    sampling.store.save_sample = withdrawn_just_before_the_write  # type: ignore[method-assign]

    assert await sampling.sampler().maybe_sample("guest-race") is None
    assert await sampling.store.samples() == []


async def test_reviewers_list_only_consenting_samples_with_a_reason_that_is_audited(
    sampling: Sampling,
) -> None:
    for session in ("guest-kept", "guest-gone"):
        await sampling.answer(session, Decision.GRANTED)
        await sampling.sampler().maybe_sample(session)
    # A sample whose consent went without its deletion (defence in depth).
    await sampling.answer("guest-gone", Decision.WITHDRAWN)

    listed = await sampling.sampler().samples("alice", f"  {REASON} ")

    assert [s.session for s in listed] == ["guest-kept"]
    [entry] = await sampling.store.audit_entries()
    assert (entry.action, entry.actor, entry.reason, entry.subject, entry.counts) == (
        "sample_list",
        "alice",
        REASON,
        None,
        {"samples": 1},
    )


async def test_a_reviewer_reads_a_sample_redacted_with_a_reason_that_is_audited(
    sampling: Sampling,
) -> None:
    await sampling.answer("guest-read", Decision.GRANTED)
    await sampling.chat("guest-read")
    await sampling.sampler().maybe_sample("guest-read")

    events = await sampling.sampler().read("guest-read", "alice", REASON)

    assert [e.text for e in events] == ["I am <PERSON_1>", "Hello <PERSON_1>"]
    [entry] = await sampling.store.audit_entries()
    assert (entry.action, entry.subject, entry.actor, entry.reason, entry.counts) == (
        "sample_read",
        "guest-read",
        "alice",
        REASON,
        {"transcripts": 2},
    )


@pytest.mark.parametrize("reason", ["", "   "])
async def test_samples_are_neither_listed_nor_read_without_a_reason(
    sampling: Sampling, reason: str
) -> None:
    await sampling.answer("guest-read", Decision.GRANTED)
    await sampling.sampler().maybe_sample("guest-read")

    with pytest.raises(ReasonRequiredError):
        await sampling.sampler().samples("alice", reason)
    with pytest.raises(ReasonRequiredError):
        await sampling.sampler().read("guest-read", "alice", reason)
    assert await sampling.store.audit_entries() == []


async def test_a_session_not_sampled_or_no_longer_consenting_cannot_be_read(
    sampling: Sampling,
) -> None:
    await sampling.answer("guest-never", Decision.GRANTED)
    await sampling.chat("guest-never")
    await sampling.answer("guest-withdrawn", Decision.GRANTED)
    await sampling.sampler().maybe_sample("guest-withdrawn")
    await sampling.answer("guest-withdrawn", Decision.WITHDRAWN)  # sample not yet deleted

    for session in ("guest-never", "guest-withdrawn"):
        with pytest.raises(SubjectNotFoundError) as refused:
            await sampling.sampler().read(session, "alice", REASON)
        assert session not in str(refused.value)
    assert await sampling.store.audit_entries() == []


def test_a_sampling_rate_outside_zero_to_one_is_refused(sampling: Sampling) -> None:
    for rate in (-0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            sampling.sampler(rate=rate)
