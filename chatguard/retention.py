"""Expiry rules and the sweeper: nothing is kept longer than promised.

The notice promises that everything submitted through the chat assistant, quality
samples included, is deleted after 30 days. :class:`RetentionPolicy` turns the
configured durations (``[retention]``) into an ``expires_at`` for each record when
it is written; :class:`RetentionSweeper` deletes what has expired and writes each
deletion to the audit log as counts per record kind, never content.

Every store already hides expired records from reads, so a record is gone for
every caller at its expiry even before a sweep deletes it; the sweeper makes the
deletion physical. It deletes everything that expired at or before *now*, so a
sweep after downtime catches up in one call: nothing outlives its expiry because a
process was down when it was due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from chatguard.clock import Clock
from chatguard.settings import RetentionSettings
from chatguard.store.base import Store
from chatguard.store.records import AuditEntry, RecordKind

__all__ = ["RetentionPolicy", "RetentionSweeper"]

logger = logging.getLogger(__name__)


class RetentionPolicy:
    """How long each kind of record is kept, from ``[retention]``.

    Example::

        policy = RetentionPolicy(settings.retention, clock)
        event_expires = policy.expires_at(RecordKind.TRANSCRIPTS)   # now + 30 days
    """

    def __init__(self, settings: RetentionSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock

    @property
    def clock(self) -> Clock:
        """The clock that ``expires_at`` reads when no start is given."""
        return self._clock

    def retention(self, kind: RecordKind) -> timedelta:
        """How long a record of ``kind`` is kept (``retention.<kind>``)."""
        duration: timedelta = getattr(self._settings, kind.value)
        return duration

    def audit_entry(
        self,
        action: str,
        counts: Mapping[str, int] | Mapping[RecordKind, int],
        *,
        subject: str | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> AuditEntry:
        """An audit entry of ``action`` made now, kept for ``retention.audit``:
        ``counts`` per kind, the subject's pseudonym, the actor and the reason, never
        content."""
        now = self._clock.now()
        return AuditEntry(
            at=now,
            action=action,
            expires_at=self.expires_at(RecordKind.AUDIT, now),
            counts={str(kind): count for kind, count in counts.items()},
            subject=subject,
            actor=actor,
            reason=reason,
        )

    def expires_at(self, kind: RecordKind, start: datetime | None = None) -> datetime:
        """When a record of ``kind`` written at ``start`` (default: now) expires.

        ``start`` must be timezone-aware; the result is in the same zone.
        """
        begin = self._clock.now() if start is None else start
        if begin.tzinfo is None:
            raise ValueError("expires_at needs a timezone-aware start")
        return begin + self.retention(kind)


class RetentionSweeper:
    """Deletes expired records and audits each deletion as counts, without content.

    * ``sweep_once`` deletes every record with ``expires_at <= now``: a sweep after
      any downtime catches up completely.
    * Idempotent: a second sweep at the same time deletes nothing and audits
      nothing. Safe when several processes sweep one Redis or PostgreSQL store at
      once: the store counts each deleted record once, so each deletion is audited
      by exactly one sweeper.
    * ``run`` sweeps at start and then every ``interval`` until it is cancelled; it
      is a coroutine for the caller's ``TaskGroup``, never a task of its own. A
      failing sweep is logged by error type only and retried at the next interval.

    Example::

        sweeper = RetentionSweeper(store, clock, settings.retention.audit)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(sweeper.run(settings.retention.sweep_interval))
    """

    def __init__(self, store: Store, clock: Clock, audit_retention: timedelta) -> None:
        if audit_retention <= timedelta(0):
            raise ValueError("audit retention must be longer than zero")
        self._store = store
        self._clock = clock
        self._audit_retention = audit_retention

    async def sweep_once(self) -> dict[RecordKind, int]:
        """Delete what has expired by now; return the counts of what this call deleted.

        Kinds with nothing deleted are absent. When anything was deleted, one audit
        entry (``action="sweep"``, the counts, no subject and no content) is appended.
        """
        now = self._clock.now()
        deleted = await self._store.sweep(now)
        counts = {kind: count for kind, count in deleted.items() if count > 0}
        if counts:
            await self._store.append_audit(
                AuditEntry(
                    at=now,
                    action="sweep",
                    expires_at=now + self._audit_retention,
                    counts={kind.value: count for kind, count in sorted(counts.items())},
                )
            )
            logger.info(
                "sweep deleted %s",
                ", ".join(f"{kind.value}={count}" for kind, count in sorted(counts.items())),
            )
        return counts

    async def run(self, interval: timedelta) -> None:
        """Sweep now and then every ``interval``, until cancelled.

        Each sweep is limited to ``interval``; one that fails or takes longer is
        logged (by error type, never its message) and tried again at the next
        interval. Cancellation stops the loop at once and propagates.
        """
        if interval <= timedelta(0):
            raise ValueError("the sweep interval must be longer than zero")
        seconds = interval.total_seconds()
        while True:
            try:
                async with asyncio.timeout(seconds):
                    await self.sweep_once()
            except TimeoutError:
                logger.warning("sweep took longer than %ss; retrying next interval", seconds)
            except Exception as exc:  # any failure: retried, never fatal to the service
                logger.warning("sweep failed (%s); retrying in %ss", type(exc).__name__, seconds)
            await asyncio.sleep(seconds)
