"""The one interface every store backend implements.

The pipeline, the retention sweeper and the subject-rights operations depend on
``Store`` only; SQLite (``sqlite.py``), Redis (``redis.py``) and PostgreSQL
(``postgres.py``) are each one file behind it, and ``tests/store/`` holds the one
contract suite all of them pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import datetime

from chatguard.store.records import (
    KEEP,
    AuditEntry,
    ConsentRecord,
    Conversation,
    Delivery,
    DialogueChange,
    Identity,
    Keep,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultEntry,
    VaultRequest,
)


class Store(ABC):
    """Durable state of chatguard: conversations, transcripts, vault, identities,
    consents, samples, deliveries and the audit log, each record with its expiry.

    Contract, for every backend:

    * Every write is durable when its coroutine returns (acknowledged), and atomic:
      after a failure or a crash nothing of it is visible. Failures to reach the
      backend raise :class:`~chatguard.errors.StoreUnavailableError`, other failures
      :class:`~chatguard.errors.StoreError`; neither quotes stored content.
    * A record is expired from the instant ``now >= expires_at``; an expired record
      is never returned by a read, whether or not it has been deleted yet, and
      ``sweep`` deletes it.
    * Several processes may use one Redis or PostgreSQL store at once: appends never
      lose an event, one value never gets two placeholders in a conversation, and of
      compare-and-set changes of one conversation's dialogue state
      (``update_dialogue`` with an expectation) exactly one wins.
    * A conversation is written whole once (``save_conversation``, or
      ``record_event`` of its first event); then ``record_event`` moves only its
      activity and expiry and ``update_dialogue`` changes only its dialogue state, so
      a write of one never overwrites a concurrent write of the other.
    * Datetimes go in and come out timezone-aware (UTC); a naive one is a
      ``ValueError``.

    Example::

        store = await open_store("sqlite:///./chatguard.db")
        await store.save_conversation(conversation)
        await store.record_event(event, conversation)                 # 1
        once = Delivery(key, expires_at)
        await store.record_event(event, conversation, delivery=once)  # 2
        await store.record_event(event, conversation, delivery=once)  # None: seen before
        await store.close()
    """

    # --- lifecycle -------------------------------------------------------------------

    @abstractmethod
    async def open(self) -> None:
        """Connect, and create or migrate the schema; idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; idempotent."""

    @abstractmethod
    async def ping(self) -> None:
        """Return if the store answers, else raise ``StoreUnavailableError``."""

    # --- conversations ---------------------------------------------------------------

    @abstractmethod
    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert the conversation, or replace the one with the same ``session``
        (every field: for a new conversation; later changes go through
        ``record_event`` and ``update_dialogue``)."""

    @abstractmethod
    async def update_dialogue(
        self,
        session: str,
        change: DialogueChange,
        *,
        expect_awaiting_since: datetime | Keep | None = KEEP,
    ) -> bool:
        """Make ``change`` to the dialogue state of the unexpired conversation
        ``session``, touching no other field, atomically; whether it was made.

        With ``expect_awaiting_since`` it is a compare-and-set: the change is made
        only if the conversation's ``awaiting_since`` is that time (``None``: only if
        it awaits nothing). The time a question was asked names it, so of a user's
        answer and the question's timeout, each expecting the ``awaiting_since`` they
        read, exactly one resolves the question, also when they run in different
        processes on one Redis or PostgreSQL store (or one SQLite file); the other
        gets ``False`` and must not act on the question.

        ``False`` also when no unexpired conversation is held under ``session``.
        Changes that set ``awaiting_until`` or ``reference`` update the look-ups
        (``conversations_awaiting``, ``conversation_by_reference``) in the same write.
        An empty change is a ``ValueError``.

        Example::

            asked = await store.update_dialogue(session, DialogueChange(
                awaiting="consent_answer", awaiting_since=now, awaiting_until=deadline),
                expect_awaiting_since=None)                  # only if nothing is asked
            won = await store.update_dialogue(session, NOTHING_AWAITED,
                                              expect_awaiting_since=now)
        """

    @abstractmethod
    async def get_conversation(self, session: str) -> Conversation | None:
        """The conversation under ``session``, or ``None``."""

    @abstractmethod
    async def conversations_of(self, user: str) -> list[Conversation]:
        """The conversations of a channel-user pseudonym, oldest first (ties by session)."""

    @abstractmethod
    async def conversation_by_reference(self, reference: str) -> Conversation | None:
        """The unexpired conversation whose ``reference`` (a privacy reference's keyed
        digest) is ``reference``, or ``None``.

        Fails closed: ``None`` also when more than one unexpired conversation holds
        the digest (issuing references never lets that happen), so that a reference
        never acts on someone else's conversation. Indexed: the cost does not grow
        with the number of conversations.
        """

    @abstractmethod
    async def conversations_awaiting(self, until: datetime, limit: int) -> list[Conversation]:
        """Up to ``limit`` unexpired conversations whose ``awaiting_until`` is set and
        ``<= until``, the earliest deadline first (ties by session): the answers whose
        time is up. Indexed: the cost grows with what is returned, not with the number
        of conversations. ``limit`` must be positive (``ValueError``)."""

    # --- transcripts -----------------------------------------------------------------

    @abstractmethod
    async def append_event(self, event: TranscriptEvent) -> int:
        """Append ``event`` (its ``seq`` is ignored) and return its sequence number:
        1 for a conversation's first event, then one more each time, also under
        concurrent appends from several tasks or processes."""

    @abstractmethod
    async def record_event(
        self,
        event: TranscriptEvent,
        conversation: Conversation,
        *,
        delivery: Delivery | None = None,
    ) -> int | None:
        """Append ``event`` and note the conversation's activity in one atomic,
        durable write; return the event's sequence number, as ``append_event``
        numbers it.

        ``conversation`` is inserted whole when no conversation is held under its
        session. When one is held, only its ``last_activity`` and ``expires_at`` move,
        each to the later of the held and the given value; every other field, the
        dialogue's state included, stays as the store holds it (a caller that read
        the conversation before a slow step never writes back a stale state).

        ``delivery`` makes the write idempotent. When a delivery with ``delivery.key``
        is held and has not expired, nothing at all is written and the result is
        ``None``: the message was recorded before. Otherwise the delivery is recorded
        too, in the same write, under ``event.session`` until ``delivery.expires_at``
        (an expired one with that key is replaced). Of concurrent calls with one key,
        from any tasks or processes, exactly one writes and returns a number; the
        others return ``None``.

        ``event.session`` and ``conversation.session`` must be equal (``ValueError``).
        After a failure, nothing of the write is visible: neither the event, nor the
        conversation's new state, nor the delivery.
        """

    @abstractmethod
    async def events(self, session: str) -> list[TranscriptEvent]:
        """The conversation's events in ``seq`` order."""

    @abstractmethod
    async def events_between(self, since: datetime, until: datetime) -> list[TranscriptEvent]:
        """Every conversation's events with ``since <= at < until``, ordered by
        ``(at, session, seq)``."""

    # --- placeholder vault -----------------------------------------------------------

    @abstractmethod
    async def assign_placeholders(
        self, session: str, requests: Sequence[VaultRequest], expires_at: datetime
    ) -> list[str]:
        """One placeholder per request, in order, atomically.

        A request whose ``(entity_type, digest)`` the conversation already has gets
        its placeholder again (and that entry's expiry moves to ``expires_at`` if that
        is later); a new one gets ``<TYPE_n>`` with ``n`` one more than the highest
        of that type in the conversation (see ``chatguard.redact.vault.format_placeholder``).
        An expired entry counts as absent: its value is never given out again (the
        new entry may take its placeholder or the next number).
        """

    @abstractmethod
    async def vault_entries(
        self, session: str, placeholders: Collection[str] | None = None
    ) -> list[VaultEntry]:
        """The conversation's entries (only those ``placeholders``, when given),
        ordered by entity type, then number."""

    # --- identities ------------------------------------------------------------------

    @abstractmethod
    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace the identity of ``identity.user``."""

    @abstractmethod
    async def get_identity(self, user: str) -> Identity | None:
        """The sealed channel identity behind a user pseudonym, or ``None``."""

    # --- consents --------------------------------------------------------------------

    @abstractmethod
    async def append_consent(self, record: ConsentRecord) -> int:
        """Append a consent decision (never edited later); return its id."""

    @abstractmethod
    async def consents(self, subject: str) -> list[ConsentRecord]:
        """The subject's decisions, oldest first (ties by id)."""

    # --- quality samples -------------------------------------------------------------

    @abstractmethod
    async def save_sample(self, sample: Sample) -> None:
        """Insert or replace the sample of ``sample.session``."""

    @abstractmethod
    async def samples(self) -> list[Sample]:
        """All current samples, oldest first (ties by session)."""

    @abstractmethod
    async def delete_sample(self, session: str) -> bool:
        """Delete the conversation's sample; whether there was one (not yet expired)."""

    # --- audit -----------------------------------------------------------------------

    @abstractmethod
    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an audit entry; return its id."""

    @abstractmethod
    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Audit entries with ``at >= since`` (all when ``None``), oldest first."""

    # --- retention and erasure -------------------------------------------------------

    @abstractmethod
    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        """Delete every record with ``expires_at <= now``; return how many of each
        kind this call deleted (kinds with none may be absent). Idempotent, and safe
        when several processes sweep at once (each record is counted once)."""

    @abstractmethod
    async def erase_session(self, session: str) -> dict[RecordKind, int]:
        """Delete everything held under a session pseudonym: the conversation (with
        its privacy reference and what it awaited: neither is found again), its
        transcript, vault, sample and deliveries, and consents whose subject it is.
        Counts include expired records not yet swept; kinds with nothing deleted may
        be absent."""

    @abstractmethod
    async def erase_user(self, user: str) -> dict[RecordKind, int]:
        """``erase_session`` for each of the user's conversations, plus the identity
        and the consents whose subject is the user pseudonym."""


def require_one_session(event: TranscriptEvent, conversation: Conversation) -> None:
    """``ValueError`` unless ``event`` belongs to ``conversation`` (``record_event``)."""
    if event.session != conversation.session:
        raise ValueError("record_event needs the event's own conversation")


def require_change(change: DialogueChange) -> dict[str, object]:
    """The fields ``change`` sets; ``ValueError`` when it sets none (``update_dialogue``)."""
    changes: dict[str, object] = dict(change.changes)
    if not changes:
        raise ValueError("update_dialogue needs a change")
    return changes


def require_positive_limit(limit: int) -> None:
    """``ValueError`` unless ``limit`` is at least 1 (``conversations_awaiting``)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
