"""Quality sampling: live-chat sessions picked for review, only with consent.

The notice: "to maintain and continuously improve the quality of the customer
service provided by our service centre team, we would like to evaluate samples of
live chat session communications", with the user's consent, asked before the
hand-over; the data is deleted after 30 days, quality-sampling data included.

:class:`QualitySampler` picks sessions at a configured rate among those whose
``quality_sampling`` consent is granted now, and lets reviewers list and read them,
each time with a stated reason that goes to the audit log. A sample holds no copy of
anything: it names the session, whose transcript is stored redacted and expires on
its own; the sample expires after ``retention.samples`` (30 days).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chatguard.clock import Clock
from chatguard.consent import ConsentLedger, Purpose
from chatguard.errors import ReasonRequiredError, SubjectNotFoundError
from chatguard.retention import RetentionPolicy
from chatguard.store.base import Store
from chatguard.store.records import RecordKind, Sample, TranscriptEvent

__all__ = ["QualitySampler", "sample_to_json"]


class QualitySampler:
    """Picks consenting sessions for quality review, and shows them to reviewers.

    Promises:

    * ``maybe_sample`` samples a session only while its ``quality_sampling`` consent
      is granted, with probability ``rate``; a withdrawal that races with it still
      leaves no sample (the consent is checked again after the sample is saved).
      Each call draws anew: call it once per session (the dialogue does, at the
      first hand-over). With ``seed`` the draws are reproducible (tests).
    * ``samples`` and ``read`` never return a session whose consent is not granted
      now (declined, withdrawn, or erased), also if its sample is still stored:
      defence in depth beside the deletion on withdrawal.
    * Both need a reason (:class:`~chatguard.errors.ReasonRequiredError` before
      anything is read) and are audited (``sample_list``, ``sample_read``) with the
      reviewer, the reason and counts, never content.

    Example::

        sampler = QualitySampler(store, consents, retention, clock, rate=0.05)
        await sampler.maybe_sample(session)                 # a Sample, or None
        await sampler.samples("alice", "QA review 2026-W03")
        await sampler.read(session, "alice", "QA review 2026-W03")
    """

    def __init__(
        self,
        store: Store,
        consents: ConsentLedger,
        retention: RetentionPolicy,
        clock: Clock,
        *,
        rate: float = 0.05,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the sampling rate is between 0 and 1")
        self._store = store
        self._consents = consents
        self._retention = retention
        self._clock = clock
        self.rate = rate
        self._random = random.Random(seed) if seed is not None else random.SystemRandom()

    async def maybe_sample(self, session: str) -> Sample | None:
        """Sample ``session`` with probability ``rate`` if its consent allows; the
        sample taken, else ``None``."""
        if not await self._consents.allows(session, Purpose.QUALITY_SAMPLING):
            return None
        if self._random.random() >= self.rate:
            return None
        now = self._clock.now()
        sample = Sample(session, now, self._retention.expires_at(RecordKind.SAMPLES, now))
        await self._store.save_sample(sample)
        if not await self._consents.allows(session, Purpose.QUALITY_SAMPLING):
            await self._store.delete_sample(session)  # withdrawn meanwhile
            return None
        return sample

    async def samples(self, reviewer: str | None, reason: str) -> list[Sample]:
        """The current samples whose sessions' consent is granted, oldest first.

        Refused without a reason; audited as ``sample_list``.
        """
        reason = _required(reason, "list quality samples")
        listed = await self._consenting(await self._store.samples())
        await self._audit("sample_list", None, reviewer, reason, {"samples": len(listed)})
        return listed

    async def read(self, session: str, reviewer: str | None, reason: str) -> list[TranscriptEvent]:
        """The redacted transcript of the sampled ``session``.

        Refused without a reason; :class:`~chatguard.errors.SubjectNotFoundError`
        when the session is not sampled or its consent is not granted now. Audited as
        ``sample_read`` with the number of events.
        """
        reason = _required(reason, "read a quality sample")
        held = [s for s in await self._store.samples() if s.session == session]
        if not await self._consenting(held):
            raise SubjectNotFoundError("no quality sample with consent is held for that session")
        events = await self._store.events(session)
        await self._audit("sample_read", session, reviewer, reason, {"transcripts": len(events)})
        return events

    async def remove(self, session: str, reviewer: str | None, reason: str) -> bool:
        """Take ``session`` out of the quality sample (the conversation stays); whether
        it was sampled. Refused without a reason; audited as ``sample_delete``."""
        reason = _required(reason, "take a conversation out of the quality sample")
        deleted = await self._store.delete_sample(session)
        await self._audit("sample_delete", session, reviewer, reason, {"samples": int(deleted)})
        return deleted

    async def _consenting(self, samples: Sequence[Sample]) -> list[Sample]:
        return [
            sample
            for sample in samples
            if await self._consents.allows(sample.session, Purpose.QUALITY_SAMPLING)
        ]

    async def _audit(
        self,
        action: str,
        subject: str | None,
        reviewer: str | None,
        reason: str,
        counts: dict[str, int],
    ) -> None:
        await self._store.append_audit(
            self._retention.audit_entry(
                action, counts, subject=subject, actor=reviewer, reason=reason
            )
        )


def sample_to_json(sample: Sample) -> dict[str, str]:
    """A sample as the admin API and ``chatguard samples list`` write it: a reference
    and times, no content."""
    return {
        "session": sample.session,
        "sampled_at": sample.sampled_at.isoformat(),
        "expires_at": sample.expires_at.isoformat(),
    }


def _required(reason: str, what: str) -> str:
    if not reason or not reason.strip():
        raise ReasonRequiredError(f"a reason is required to {what}")
    return reason.strip()
