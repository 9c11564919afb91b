"""The person's rights over what chatguard holds (GDPR Art. 15-21, as the notice lists them).

* Access and portability (Art. 15, 20): :meth:`SubjectRights.export` gives
  everything held about a channel identity or a session pseudonym as one JSON
  document, decrypted for the person.
* Erasure (Art. 17): :meth:`SubjectRights.erase` deletes all of it, the placeholder
  vault and the identity map included.
* Troubleshooting (the notice's case-by-case analysis of technical faults):
  :meth:`SubjectRights.transcript_show` reads one transcript, only with a stated
  reason, which is audited.
* Analytics (the notice's "all references to you removed"):
  :meth:`SubjectRights.analytics_export` gives transcripts of a time range with
  pseudonyms replaced by ids that cannot be linked across exports.

Every operation appends one audit entry that names the subject by pseudonym (never
by channel identity) and counts what it touched, never content.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatguard.clock import Clock
from chatguard.crypto import KeyRing
from chatguard.errors import ReasonRequiredError, SubjectNotFoundError
from chatguard.pseudonym import IdentityMap
from chatguard.retention import RetentionPolicy
from chatguard.store.base import Store
from chatguard.store.records import (
    ConsentRecord,
    Conversation,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultEntry,
)
from chatguard.store.vault import open_vault_value

__all__ = ["SubjectRights", "coarsen", "consent_to_json", "event_to_json"]

logger = logging.getLogger(__name__)

#: Version of the export document's shape; bumped when a field changes meaning.
EXPORT_FORMAT = 1


def coarsen(at: datetime) -> datetime:
    """``at`` truncated to the start of its hour: what analytics exports show of a time."""
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class _Subject:
    """Whom an operation is about: a user pseudonym with its sessions, or one session."""

    pseudonym: str  # what the audit log names
    users: list[str]  # user pseudonyms, one per pseudonym key that made a record
    conversations: list[Conversation]
    #: Session pseudonyms whose consent records belong to the subject: those of its
    #: conversations, and a named session whose conversation has expired.
    sessions: list[str]


class SubjectRights:
    """Access, erasure, troubleshooting access and anonymised analytics over one store.

    A subject is named either by channel identity (``channel`` and ``user_id``, for
    channels with a stable user id such as Messenger) or by session pseudonym
    (``session``, the web chat's ``guest-...`` name). A subject of whom nothing is
    held raises :class:`~chatguard.errors.SubjectNotFoundError`; no error quotes an
    identity or any content.

    Example::

        rights = SubjectRights(store, keyring, identities, clock, policy)
        document = await rights.export(channel="messenger", user_id=psid)
        counts = await rights.erase(session="guest-abcdefghijkl")
    """

    def __init__(
        self,
        store: Store,
        keyring: KeyRing,
        identities: IdentityMap,
        clock: Clock,
        policy: RetentionPolicy,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._identities = identities
        self._clock = clock
        self._policy = policy

    # --- access and portability ----------------------------------------------------

    async def export(
        self,
        *,
        channel: str | None = None,
        user_id: str | None = None,
        session: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Everything held about the subject, as one JSON-serialisable document.

        The document holds the channel identity (when the subject has one), each
        conversation with its transcript events, its placeholder values decrypted
        (placeholder -> value), whether it was sampled for quality review, the
        dialogue's state (language, hand-over time, what chatguard awaited, the
        privacy reference's digest), and the consent decisions. For a session, that
        session only (with the channel identity of its user, if any); for a channel
        identity, all its sessions.
        Audited as ``export`` with the counts and ``actor`` (who asked: an operator,
        or ``privacy-page`` when the person asked on the privacy page).
        """
        subject = await self._find(channel=channel, user_id=user_id, session=session)
        identity: dict[str, str] | None = None
        for user in subject.users:
            identity = identity or await self._identity_of(user)
        sampled = {sample.session: sample for sample in await self._store.samples()}
        conversations: list[dict[str, Any]] = []
        counts = dict.fromkeys(
            (
                RecordKind.CONVERSATIONS,
                RecordKind.TRANSCRIPTS,
                RecordKind.VAULT,
                RecordKind.SAMPLES,
                RecordKind.CONSENTS,
            ),
            0,
        )
        consent_subjects = list(subject.sessions)
        for conversation in subject.conversations:
            events = await self._store.events(conversation.session)
            vault = await self._store.vault_entries(conversation.session)
            sample = sampled.get(conversation.session)
            conversations.append(self._conversation_document(conversation, events, vault, sample))
            counts[RecordKind.CONVERSATIONS] += 1
            counts[RecordKind.TRANSCRIPTS] += len(events)
            counts[RecordKind.VAULT] += len(vault)
            counts[RecordKind.SAMPLES] += sample is not None
        consent_subjects.extend(subject.users)
        consents: list[dict[str, Any]] = []
        for pseudonym in consent_subjects:
            for record in await self._store.consents(pseudonym):
                consents.append(consent_to_json(record))
        counts[RecordKind.CONSENTS] = len(consents)
        if identity is not None:
            counts[RecordKind.IDENTITIES] = 1
        await self._audit("export", subject.pseudonym, counts, actor=actor)
        return {
            "format": EXPORT_FORMAT,
            "exported_at": _iso(self._clock.now()),
            "subject": subject.pseudonym,
            "identity": identity,
            "user_pseudonyms": subject.users,
            "conversations": conversations,
            "consents": consents,
        }

    def _conversation_document(
        self,
        conversation: Conversation,
        events: list[TranscriptEvent],
        vault: list[VaultEntry],
        sample: Sample | None,
    ) -> dict[str, Any]:
        return {
            "session": conversation.session,
            "channel": conversation.channel,
            "created_at": _iso(conversation.created_at),
            "last_activity": _iso(conversation.last_activity),
            "expires_at": _iso(conversation.expires_at),
            "language": conversation.language,
            "handed_over_at": _optional_iso(conversation.handed_over_at),
            "awaiting": None
            if conversation.awaiting is None
            else {
                "what": conversation.awaiting,
                "since": _optional_iso(conversation.awaiting_since),
                "until": _optional_iso(conversation.awaiting_until),
            },
            # Only the keyed digest is held: the code itself was told to the person.
            "privacy_reference_digest": conversation.reference,
            "events": [event_to_json(event) for event in events],
            "values": {
                entry.placeholder: {
                    "type": entry.entity_type,
                    "value": open_vault_value(self._keyring, entry),
                    "expires_at": _iso(entry.expires_at),
                }
                for entry in vault
            },
            "quality_sample": None
            if sample is None
            else {"sampled_at": _iso(sample.sampled_at), "expires_at": _iso(sample.expires_at)},
        }

    async def _identity_of(self, user: str) -> dict[str, str] | None:
        resolved = await self._identities.resolve(user)
        if resolved is None:
            return None
        channel, user_id = resolved
        return {"channel": channel, "user_id": user_id}

    # --- erasure -------------------------------------------------------------------

    async def erase(
        self,
        *,
        channel: str | None = None,
        user_id: str | None = None,
        session: str | None = None,
        actor: str | None = None,
    ) -> dict[RecordKind, int]:
        """Delete everything held about the subject; return the counts per record kind.

        For a channel identity: every conversation of the user with its transcript,
        vault and sample, the consents, and the identity map entry, so the person
        is not recognised again from what was held. For a session: that
        conversation and everything under it. Other subjects are untouched. Audited
        as ``erase`` with the counts and ``actor`` (as for ``export``); the audit entry
        names the pseudonym only.
        """
        subject = await self._find(channel=channel, user_id=user_id, session=session)
        counts: dict[RecordKind, int] = {}
        parts = (
            [await self._store.erase_session(session)]
            if session is not None
            else [await self._store.erase_user(user) for user in subject.users]
        )
        for deleted in parts:
            for kind, count in deleted.items():
                if count > 0:
                    counts[kind] = counts.get(kind, 0) + count
        await self._audit("erase", subject.pseudonym, counts, actor=actor)
        return counts

    # --- troubleshooting access ----------------------------------------------------

    async def transcript_show(
        self, session: str, reason: str, actor: str | None = None
    ) -> list[TranscriptEvent]:
        """The conversation's transcript (redacted), for case-by-case fault analysis.

        Refused with :class:`~chatguard.errors.ReasonRequiredError` when ``reason`` is
        empty or blank, before anything is read. Audited as ``transcript_show`` with
        the reason, the actor and the number of events shown.
        """
        if not reason or not reason.strip():
            raise ReasonRequiredError("a reason is required to show a transcript")
        conversation = await self._store.get_conversation(session)
        events = await self._store.events(session)
        if conversation is None and not events:
            raise SubjectNotFoundError("no conversation is held under that session pseudonym")
        await self._audit(
            "transcript_show",
            session,
            {RecordKind.TRANSCRIPTS: len(events)},
            actor=actor,
            reason=reason.strip(),
        )
        return events

    # --- anonymised analytics ------------------------------------------------------

    async def analytics_export(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every transcript event with ``since <= at < until``, anonymised, one dict each.

        * Session and user pseudonyms become ids made with HMAC-SHA256 under a
          random salt drawn for this export and never stored: ids are stable within
          one export (events of a conversation stay together) and cannot be linked
          to another export's ids or back to a pseudonym.
        * Texts hold placeholders only. They are redacted when stored; as a second
          line of defence any value of the conversation's vault, or a pseudonym,
          that still appears is replaced by its placeholder or id.
        * Times are truncated to the hour (:func:`coarsen`), so that an event cannot
          be matched to a person by its exact time.
        * Feedback events (thumbs up or down) are included with ``kind="feedback"``.

        Audited as ``analytics_export`` with the number of events and conversations.
        """
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        salt = secrets.token_bytes(32)
        events = await self._store.events_between(since, until)
        conversations: dict[str, Conversation | None] = {}
        values: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for session in dict.fromkeys(event.session for event in events):
            conversations[session] = await self._store.get_conversation(session)
            values[session] = await self._vault_values(session)
        rows: list[dict[str, Any]] = []
        replaced = 0
        for event in events:
            conversation = conversations[event.session]
            session_id = _anonymous_id(salt, "conversation", event.session)
            user = conversation.user if conversation is not None else None
            user_id = None if user is None else _anonymous_id(salt, "user", user)
            text = event.text
            for placeholder, value in values[event.session]:
                text, found = value.subn(placeholder.replace("\\", "\\\\"), text)
                replaced += found
            text = text.replace(event.session, session_id)
            if user is not None and user_id is not None:
                text = text.replace(user, user_id)
            rows.append(
                {
                    "conversation": session_id,
                    "user": user_id,
                    "channel": None if conversation is None else conversation.channel,
                    "seq": event.seq,
                    "hour": _iso(coarsen(event.at)),
                    "kind": event.kind.value,
                    "direction": event.direction.value,
                    "author": event.author.value,
                    "text": text,
                    "feedback": event.feedback,
                }
            )
        counts: dict[str, int] = {
            RecordKind.TRANSCRIPTS: len(rows),
            RecordKind.CONVERSATIONS: len(conversations),
        }
        if replaced:
            # Should never happen: a stored text held a value its vault knows.
            logger.warning("analytics export replaced %d vault values left in texts", replaced)
            counts["values_replaced"] = replaced
        await self._audit("analytics_export", None, counts)
        return iter(rows)

    async def _vault_values(self, session: str) -> list[tuple[str, re.Pattern[str]]]:
        """The conversation's placeholders, each with a pattern that finds its value in
        any letter case; longest value first, so a value inside another is not cut."""
        pairs = [
            (entry.placeholder, open_vault_value(self._keyring, entry))
            for entry in await self._store.vault_entries(session)
        ]
        pairs.sort(key=lambda pair: -len(pair[1]))
        return [
            (placeholder, re.compile(re.escape(value), re.IGNORECASE))
            for placeholder, value in pairs
            if value.strip()
        ]

    # --- shared --------------------------------------------------------------------

    async def _find(
        self, *, channel: str | None, user_id: str | None, session: str | None
    ) -> _Subject:
        by_identity = channel is not None or user_id is not None
        if by_identity == (session is not None) or (by_identity and not (channel and user_id)):
            raise ValueError("name a subject by channel and user_id, or by session")
        if session is not None:
            conversation = await self._store.get_conversation(session)
            if conversation is None:
                # Consent records outlive the conversation as proof; they are still
                # the person's data, to export or erase.
                if not await self._store.consents(session):
                    raise SubjectNotFoundError("nothing is held under that session pseudonym")
                return _Subject(session, [], [], [session])
            users = [] if conversation.user is None else [conversation.user]
            return _Subject(session, users, [conversation], [session])
        assert channel is not None and user_id is not None
        users = await self._identities.find_all(channel, user_id)
        if not users:
            raise SubjectNotFoundError("nothing is held for that channel identity")
        conversations = [
            conversation
            for user in users
            for conversation in await self._store.conversations_of(user)
        ]
        sessions = [conversation.session for conversation in conversations]
        return _Subject(users[0], users, conversations, sessions)

    async def _audit(
        self,
        action: str,
        subject: str | None,
        counts: dict[RecordKind, int] | dict[str, int],
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> None:
        await self._store.append_audit(
            self._policy.audit_entry(action, counts, subject=subject, actor=actor, reason=reason)
        )


def _anonymous_id(salt: bytes, kind: str, pseudonym: str) -> str:
    digest = hmac.new(salt, f"{kind}\x00{pseudonym}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}-{digest[:20]}"


def _iso(at: datetime) -> str:
    return at.isoformat()


def _optional_iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def event_to_json(event: TranscriptEvent) -> dict[str, Any]:
    """A transcript event as the export and ``chatguard transcript show`` write it."""
    return {
        "seq": event.seq,
        "at": _iso(event.at),
        "kind": event.kind.value,
        "direction": event.direction.value,
        "author": event.author.value,
        "text": event.text,
        "feedback": event.feedback,
        "expires_at": _iso(event.expires_at),
    }


def consent_to_json(record: ConsentRecord) -> dict[str, Any]:
    """A consent record as the export and the admin API write it."""
    return {
        "subject": record.subject,
        "purpose": record.purpose,
        "decision": record.decision,
        "at": _iso(record.at),
        "source": record.source,
        "text_id": record.text_id,
        "text_version": record.text_version,
        "language": record.language,
        "expires_at": _iso(record.expires_at),
    }
