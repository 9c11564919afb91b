"""What chatguard keeps, one dataclass per record kind.

Nothing here holds raw personal data in clear: transcript texts are redacted,
placeholder values and channel identities are sealed (AES-256-GCM, see
``chatguard.crypto``), vault keys and delivery keys are keyed digests. Every record
carries the time it expires; the store deletes it then (natively or through the
sweeper).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Literal


class RecordKind(StrEnum):
    """The kinds of record, each with its own retention (``retention.<kind>``)."""

    CONVERSATIONS = "conversations"
    TRANSCRIPTS = "transcripts"
    VAULT = "vault"
    IDENTITIES = "identities"
    CONSENTS = "consents"
    SAMPLES = "samples"
    DELIVERIES = "deliveries"
    AUDIT = "audit"


class Direction(StrEnum):
    """Which way a transcript event travelled."""

    INBOUND = "inbound"  # from the user
    OUTBOUND = "outbound"  # to the user


class Author(StrEnum):
    """Who wrote a transcript event."""

    USER = "user"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class EventKind(StrEnum):
    """What a transcript event is."""

    MESSAGE = "message"
    FEEDBACK = "feedback"  # thumbs up or down, stored as part of the chat flow
    #: chatguard's own exchange with the user about a consent: its question, the
    #: user's answer, its confirmation. Kept in the transcript, never forwarded to a
    #: vendor (and so never part of what live agents get at the hand-over).
    CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One chat session under its pseudonym, and what the dialogue keeps about it.

    ``session`` is the session pseudonym vendors see (``guest-...``); ``user`` the
    channel-user pseudonym when the channel has a stable user id, else ``None``.

    The dialogue's state, each ``None`` until set:

    * ``language``: the language chatguard speaks to the user in (``"pt"``).
    * ``handed_over_at``: when the conversation was handed over to live agents.
    * ``awaiting``: what chatguard waits for from the user (``"consent_answer"``,
      ``"withdrawal:quality_sampling"``), since ``awaiting_since``, until
      ``awaiting_until`` (``Store.conversations_awaiting`` finds those due).
    * ``reference``: the keyed digest of the conversation's privacy reference (never
      the code itself; ``Store.conversation_by_reference`` finds it).

    Stores return the whole record. ``Store.save_conversation`` writes it whole (a
    new conversation); afterwards ``Store.record_event`` moves only its activity and
    expiry, and the dialogue's state changes only through ``Store.update_dialogue``
    (a :class:`DialogueChange`), so that no write of one overwrites the other. None
    of these fields holds content.
    """

    session: str
    channel: str
    user: str | None
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    language: str | None = None
    handed_over_at: datetime | None = None
    awaiting: str | None = None
    awaiting_since: datetime | None = None
    awaiting_until: datetime | None = None
    reference: str | None = None


class _Keep(Enum):
    KEEP = "keep"


#: A :class:`DialogueChange` field left as it is.
KEEP: Final = _Keep.KEEP
Keep = Literal[_Keep.KEEP]

#: The fields of a conversation that make up the dialogue's state.
DIALOGUE_FIELDS: Final = (
    "language",
    "handed_over_at",
    "awaiting",
    "awaiting_since",
    "awaiting_until",
    "reference",
)
_AWAITING_FIELDS: Final = ("awaiting", "awaiting_since", "awaiting_until")


@dataclass(frozen=True, slots=True)
class DialogueChange:
    """A change of a conversation's dialogue state, for ``Store.update_dialogue``.

    Each field given is set to its value (``None`` clears it); a field left at
    :data:`KEEP` keeps what the store holds. ``awaiting``, ``awaiting_since`` and
    ``awaiting_until`` change together: all three set, all three cleared, or all
    three kept (``ValueError`` otherwise), so that a question is always stored with
    its deadline.

    Example::

        asked = DialogueChange(awaiting="consent_answer", awaiting_since=now,
                               awaiting_until=now + timeout, language="pt")
        answered = replace(NOTHING_AWAITED, handed_over_at=now)
    """

    language: str | Keep | None = KEEP
    handed_over_at: datetime | Keep | None = KEEP
    awaiting: str | Keep | None = KEEP
    awaiting_since: datetime | Keep | None = KEEP
    awaiting_until: datetime | Keep | None = KEEP
    reference: str | Keep | None = KEEP

    def __post_init__(self) -> None:
        trio = [getattr(self, name) for name in _AWAITING_FIELDS]
        kept = sum(value is KEEP for value in trio)
        cleared = sum(value is None for value in trio)
        if kept not in (0, 3) or cleared not in (0, 3):
            raise ValueError("awaiting, awaiting_since and awaiting_until change together")

    @property
    def changes(self) -> dict[str, str | datetime | None]:
        """The fields this change sets, by name (in ``DIALOGUE_FIELDS`` order)."""
        changed: dict[str, str | datetime | None] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not KEEP:
                changed[item.name] = value
        return changed

    def applied_to(self, conversation: Conversation) -> Conversation:
        """``conversation`` with this change made."""
        return replace(conversation, **self.changes)  # type: ignore[arg-type]


#: The change that ends a wait: nothing awaited any more.
NOTHING_AWAITED: Final = DialogueChange(awaiting=None, awaiting_since=None, awaiting_until=None)


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    """One event of a conversation's transcript; ``text`` is always redacted.

    ``seq`` is assigned by the store on append (1, 2, ... per conversation, no gaps
    for acknowledged appends); pass 0 when appending.
    """

    session: str
    at: datetime
    direction: Direction
    author: Author
    text: str
    expires_at: datetime
    kind: EventKind = EventKind.MESSAGE
    feedback: str | None = None  # "up" or "down" for EventKind.FEEDBACK
    seq: int = 0


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """A placeholder of a conversation and its sealed value.

    ``digest`` identifies the value (a keyed hash of its canonical form), so the
    same value gets the same placeholder without the store seeing the value.
    """

    session: str
    placeholder: str
    entity_type: str
    digest: str
    sealed_value: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class VaultRequest:
    """A value that needs a placeholder: its type, digest and sealed value."""

    entity_type: str
    digest: str
    sealed_value: bytes


@dataclass(frozen=True, slots=True)
class Identity:
    """The map from a channel-user pseudonym back to the channel identity, sealed."""

    user: str
    sealed_identity: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent decision; records are never edited, the state is derived from them."""

    subject: str
    purpose: str
    decision: str  # "granted", "declined" or "withdrawn"
    at: datetime
    source: str  # "chat", "api", "form", "messenger_optin"
    text_id: str
    text_version: str
    language: str
    expires_at: datetime
    id: int = 0  # assigned by the store


@dataclass(frozen=True, slots=True)
class Sample:
    """A conversation picked for quality review; it holds no copy, only the reference."""

    session: str
    sampled_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """The memory that a channel's message was recorded, so that a redelivery of it
    is recognised (``Store.record_event``) until ``expires_at``.

    ``key`` is an idempotency key the caller derives from the channel and its own id
    of the message with a keyed digest (``ChatGuard.delivery_key``), never the id
    itself. The store keeps it under the session of the event it came with, so that
    erasing the session erases it too.
    """

    key: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Something chatguard did that must be provable, described without content.

    ``counts`` says how many records of which kind an operation touched; ``subject``
    is a pseudonym (never a channel identity); ``reason`` is the operator's words
    for a troubleshooting access.
    """

    at: datetime
    action: str  # "sweep", "erase", "export", "transcript_show", ...
    expires_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    subject: str | None = None
    actor: str | None = None
    reason: str | None = None
    id: int = 0  # assigned by the store
