"""ChatGuard: the pipeline the three uses call (embedded API, reverse proxy, benchmark).

A conversation lives under its session pseudonym; what the user types is redacted
before it leaves and stored redacted; what comes back is stored redacted and
restored for the user; everything expires as the retention settings promise.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from types import TracebackType
from typing import Final, NewType, overload

from chatguard.clock import Clock, SystemClock
from chatguard.consent import (
    ConfirmationMatcher,
    ConsentLedger,
    ConsentSubject,
    ConsentTexts,
    Decision,
    PrivacyReferences,
    Purpose,
    WithdrawalMatcher,
)
from chatguard.errors import SubjectNotFoundError
from chatguard.model import RedactionResult, RestoredText
from chatguard.pseudonym import IdentityMap, Keys, load_keys, new_session_pseudonym
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.redactor import Redactor
from chatguard.retention import RetentionPolicy, RetentionSweeper
from chatguard.sampling import QualitySampler
from chatguard.settings import Settings
from chatguard.store import Store, open_store
from chatguard.store.records import (
    Author,
    ConsentRecord,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    RecordKind,
    TranscriptEvent,
)
from chatguard.store.vault import StoreVault
from chatguard.subject import SubjectRights

#: The destination policy transcripts are written with: every type replaced.
TRANSCRIPT = "transcript"

#: Between the pseudonym and its check in a session token; never in a pseudonym.
_TOKEN_SEPARATOR: Final = "."
#: Hex characters of the HMAC kept as a session token's check (128 bits).
_TOKEN_CHECK_CHARS: Final = 32

#: What recognises a channel's redelivered message (``ChatGuard.delivery_key``): a
#: keyed digest of the channel's message id, never the id.
DeliveryKey = NewType("DeliveryKey", str)


class ChatGuard:
    """Conversations under pseudonyms, redacted on the way out, restored on the way back.

    * ``start_conversation`` gives the conversation an unlinkable session pseudonym
      (``guest-...``); a channel with a stable user id (a Messenger PSID) also gets a
      keyed user pseudonym, the same in every conversation, whose map back to the
      channel identity is kept sealed.
    * ``user_message`` redacts for the destination and stores the event; the
      transcript only ever holds text redacted by the ``transcript`` policy.
    * ``reply`` stores a vendor's or agent's text redacted and returns it restored
      for the user.
    * Both store the event and the conversation's new activity in one write; given a
      ``delivery`` key (``delivery_key``), a message already stored under that key,
      by any process on the store, is not stored again and they return ``None``.
    * If redaction or the store fails, these raise and nothing is to be forwarded.
    * Consent (``[consent]``): ``consents`` is the ledger, ``sampler`` the quality
      sampler, ``texts`` the consent texts (the operator's ``consent.texts_file``
      over the shipped ones, read when the guard is built), ``references`` the
      privacy references, ``withdrawals`` and ``answers`` read what the user types;
      ``consent_subject`` finds whom a consent request is about; ``may_notify`` is
      what code that sends push notifications asks first.
    * A session pseudonym names a conversation to vendors and operators; it opens
      nothing. What a client holds to continue its conversation is the
      ``session_token``: the pseudonym and a keyed check that only this store's keys
      make, which ``session_of_token`` verifies.

    Example::

        async with await ChatGuard.open(settings) as guard:
            conversation = await guard.start_conversation("web")
            out = await guard.user_message(conversation.session, "I am Anna Keller")
            ...  # send out.text to the bot vendor
            shown = await guard.reply(conversation.session, "Hello <PERSON_1>")
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        keys: Keys,
        engine: RedactionEngine | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.store = store
        self.retention = RetentionPolicy(settings.retention, self.clock)
        self.identities = IdentityMap(store, keys.store, keys.pseudonyms)
        self.vault = StoreVault(store, keys.store, self.clock, settings.retention.vault)
        self.redactor = Redactor(settings, engine=engine, vault=self.vault)
        self.sweeper = RetentionSweeper(store, self.clock, settings.retention.audit)
        self.rights = SubjectRights(store, keys.store, self.identities, self.clock, self.retention)
        consent = settings.consent
        self.texts = ConsentTexts.load(consent.texts_file)
        self.consents = ConsentLedger(store, self.retention, self.clock, purposes=consent.purposes)
        self.sampler = QualitySampler(
            store,
            self.consents,
            self.retention,
            self.clock,
            rate=consent.sampling_rate,
            seed=consent.sampling_seed,
        )
        self.references = PrivacyReferences(store, keys.store)
        self.withdrawals = WithdrawalMatcher()
        self.answers = ConfirmationMatcher(self.texts)
        self._keyring = keys.store

    @classmethod
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        engine: RedactionEngine | None = None,
        clock: Clock | None = None,
    ) -> ChatGuard:
        """Load the keys, open the store ``store.url`` names, and build the pipeline."""
        settings = settings or Settings()
        keys = load_keys(settings)
        store = await open_store(settings.store.url, clock)
        return cls(settings, store=store, keys=keys, engine=engine, clock=clock)

    async def close(self) -> None:
        """Stop the detection threads and close the store."""
        self.redactor.close()
        await self.store.close()

    async def __aenter__(self) -> ChatGuard:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start_conversation(self, channel: str, user_id: str | None = None) -> Conversation:
        """A new conversation under a fresh session pseudonym, stored."""
        now = self.clock.now()
        user = None
        if user_id is not None:
            user = await self.identities.remember(
                channel, user_id, self.retention.expires_at(RecordKind.IDENTITIES)
            )
        conversation = Conversation(
            session=new_session_pseudonym(),
            channel=channel,
            user=user,
            created_at=now,
            last_activity=now,
            expires_at=self.retention.expires_at(RecordKind.CONVERSATIONS),
        )
        await self.store.save_conversation(conversation)
        return conversation

    async def conversation(self, session: str) -> Conversation:
        """The stored conversation, or ``SubjectNotFoundError``."""
        conversation = await self.store.get_conversation(session)
        if conversation is None:
            raise SubjectNotFoundError("no conversation under that session pseudonym")
        return conversation

    async def consent_subject(
        self,
        *,
        reference: str | None = None,
        session: str | None = None,
        channel: str | None = None,
        user_id: str | None = None,
    ) -> ConsentSubject:
        """Whom a consent request is about, named one way: by privacy ``reference``
        (its conversation's session, and its user if any), by ``session`` (the same),
        or by ``channel`` and ``user_id`` (every pseudonym of the user, under every
        pseudonym key, and all their sessions).

        :class:`~chatguard.errors.SubjectNotFoundError` when nothing is held that way
        (a malformed reference included); its message names nothing of the request.
        A session whose conversation has expired is still found while consent
        records are held under it: their proof outlives the conversation.
        """
        by_identity = channel is not None or user_id is not None
        ways = (reference is not None) + (session is not None) + by_identity
        if ways != 1 or (by_identity and not (channel and user_id)):
            raise ValueError("name a subject by reference, by session, or by channel and user_id")
        if reference is not None:
            found = await self.references.find(reference)
            if found is None:
                raise SubjectNotFoundError("no conversation holds that privacy reference")
            return ConsentSubject((found.session,), () if found.user is None else (found.user,))
        if session is not None:
            held = await self.store.get_conversation(session)
            if held is None and not await self.consents.history(session):
                raise SubjectNotFoundError("nothing is held under that session pseudonym")
            return ConsentSubject(
                (session,), () if held is None or held.user is None else (held.user,)
            )
        assert channel is not None and user_id is not None
        pseudonyms = await self.identities.find_all(channel, user_id)
        if not pseudonyms:
            raise SubjectNotFoundError("nothing is held for that channel identity")
        sessions = [
            held.session for user in pseudonyms for held in await self.store.conversations_of(user)
        ]
        return ConsentSubject(tuple(sessions), tuple(pseudonyms))

    async def may_notify(self, channel: str, user_id: str) -> bool:
        """Whether code that sends push notifications may send one to the user
        ``user_id`` of ``channel`` (a Messenger PSID) now: only while their
        ``push_notifications`` consent is granted, i.e. the newest decision recorded
        under any of their pseudonyms (every pseudonym key) is ``granted``. ``False``
        after a withdrawal (typed, a Messenger stop, the admin API, the form), and
        without any grant. Reads only; audits nothing."""
        newest: ConsentRecord | None = None
        for user in await self.identities.find_all(channel, user_id):
            for record in await self.consents.history(user):
                if record.purpose == Purpose.PUSH_NOTIFICATIONS and (
                    newest is None or (record.at, record.id) > (newest.at, newest.id)
                ):
                    newest = record
        return newest is not None and newest.decision == Decision.GRANTED

    def delivery_key(self, channel: str, message_id: str) -> DeliveryKey:
        """The key by which ``user_message`` and ``reply`` recognise the message that
        ``channel`` names ``message_id`` when it comes again: HMAC-SHA256 under the
        store key, so the store never holds the id."""
        return DeliveryKey(self._keyring.digest(f"delivery\0{channel}\0{message_id}".encode()))

    def session_token(self, session: str) -> str:
        """What a client holds to continue ``session`` (the web chat's ``session``,
        the OpenAI channel's conversation header): ``<pseudonym>.<check>``, the check
        128 bits of HMAC-SHA256 under the current store key. Vendors see the
        pseudonym only, so that a vendor, or an agent, who knows it cannot read the
        conversation back with its values restored."""
        return f"{session}{_TOKEN_SEPARATOR}{self._session_checks(session)[0]}"

    def session_of_token(self, token: str) -> str | None:
        """The session pseudonym ``token`` was made for (under any store key, so that
        tokens outlive a key rotation while the old key is configured), or ``None``
        for anything else, a bare pseudonym included; compared in constant time."""
        session, separator, check = token.rpartition(_TOKEN_SEPARATOR)
        if not separator or not session:
            return None
        matched = False
        for expected in self._session_checks(session):
            matched |= hmac.compare_digest(check.encode(), expected.encode())
        return session if matched else None

    async def conversation_of_token(self, token: str, channel: str) -> Conversation:
        """The ``channel`` conversation that the session token ``token`` opens, or
        ``SubjectNotFoundError`` whatever failed (a bare pseudonym, a wrong check, an
        unknown or expired session, another channel's), so that no answer tells which."""
        session = self.session_of_token(token)
        held = None if session is None else await self.store.get_conversation(session)
        if held is None or held.channel != channel:
            raise SubjectNotFoundError(f"no {channel} conversation under that session token")
        return held

    def _session_checks(self, session: str) -> list[str]:
        digests = self.keyed_digests("session token", session.encode())
        return [digest[:_TOKEN_CHECK_CHARS] for digest in digests]

    def keyed_digests(self, context: str, data: bytes) -> list[str]:
        """HMAC-SHA256 digests of ``data`` under each store key, the current key's
        first: what a token that every instance on the same keys must recognise is
        made of (the privacy page's anti-forgery tokens). ``context`` names the use,
        so that one use's digests never match another's or the store's."""
        return self._keyring.digests(b"chatguard keyed digest\0" + context.encode() + b"\0" + data)

    @overload
    async def user_message(
        self,
        session: str,
        text: str,
        *,
        lang: str | None = None,
        destination: str = "nlp",
        delivery: None = None,
        kind: EventKind = EventKind.MESSAGE,
    ) -> RedactionResult: ...

    @overload
    async def user_message(
        self,
        session: str,
        text: str,
        *,
        lang: str | None = None,
        destination: str = "nlp",
        delivery: DeliveryKey,
        kind: EventKind = EventKind.MESSAGE,
    ) -> RedactionResult | None: ...

    async def user_message(
        self,
        session: str,
        text: str,
        *,
        lang: str | None = None,
        destination: str = "nlp",
        delivery: DeliveryKey | None = None,
        kind: EventKind = EventKind.MESSAGE,
    ) -> RedactionResult | None:
        """Redact what the user typed for ``destination`` and store it redacted.

        The result is what may be sent to the destination; it is returned only after
        the event is stored. ``None`` when ``delivery`` was stored before: then nothing
        is stored and nothing is to be sent. ``kind`` ``consent`` stores a message
        that belongs to chatguard's own exchange (an answer to its question), which
        is never to be sent (see :mod:`chatguard.handover`).
        """
        conversation = await self.conversation(session)
        destinations = [destination]
        redactor = self.redactor
        if destination != TRANSCRIPT and not redactor.policy(destination).serves(
            redactor.policy(TRANSCRIPT)
        ):
            destinations.append(TRANSCRIPT)
        result, *transcript = await self.redactor.redact_for(
            text, conversation=session, destinations=destinations, lang=lang
        )
        stored = transcript[0] if transcript else result
        seq = await self._record(
            conversation, Direction.INBOUND, Author.USER, stored.text, kind=kind, delivery=delivery
        )
        return None if seq is None else result

    @overload
    async def reply(
        self,
        session: str,
        text: str,
        *,
        author: Author = Author.BOT,
        lang: str | None = None,
        delivery: None = None,
    ) -> RestoredText: ...

    @overload
    async def reply(
        self,
        session: str,
        text: str,
        *,
        author: Author = Author.BOT,
        lang: str | None = None,
        delivery: DeliveryKey,
    ) -> RestoredText | None: ...

    async def reply(
        self,
        session: str,
        text: str,
        *,
        author: Author = Author.BOT,
        lang: str | None = None,
        delivery: DeliveryKey | None = None,
    ) -> RestoredText | None:
        """Store a bot's or agent's reply redacted; return it restored for the user
        (``None`` when ``delivery`` was stored before: nothing stored, nothing to show).

        A bot only ever saw placeholders, but a live agent may type personal data:
        the stored text is redacted either way. ``lang`` is the reply's language when
        the caller knows it (the conversation's), else it is detected.
        """
        if not await self.record_reply(session, text, author=author, lang=lang, delivery=delivery):
            return None
        return await self.redactor.restore(text, conversation=session)

    async def record_reply(
        self,
        session: str,
        text: str,
        *,
        author: Author = Author.BOT,
        lang: str | None = None,
        delivery: DeliveryKey | None = None,
    ) -> bool:
        """Store a bot's or agent's reply redacted, without restoring it: for a caller
        that restored and delivered it already (``redactor.restore``) and stores it
        after, so that storing adds nothing to what the user waits for. ``False`` when
        ``delivery`` was stored before (then nothing was stored)."""
        conversation = await self.conversation(session)
        stored = await self.redactor.redact(
            text, conversation=session, destination=TRANSCRIPT, lang=lang
        )
        seq = await self._record(
            conversation, Direction.OUTBOUND, author, stored.text, delivery=delivery
        )
        return seq is not None

    async def feedback(self, session: str, *, positive: bool) -> None:
        """Store a thumbs-up or thumbs-down as part of the chat flow."""
        conversation = await self.conversation(session)
        await self._record(
            conversation,
            Direction.INBOUND,
            Author.USER,
            "",
            kind=EventKind.FEEDBACK,
            feedback="up" if positive else "down",
        )

    async def record_notice(
        self,
        conversation: Conversation,
        text: str,
        *,
        kind: EventKind = EventKind.CONSENT,
        delivery: DeliveryKey | None = None,
    ) -> bool:
        """Store one of chatguard's own texts (its questions and confirmations, which
        hold no personal data and are stored as they are) as a ``system`` event of
        ``conversation``, with the conversation's new activity, in one write.
        ``conversation`` may be a copy read earlier: only its activity moves.
        ``False`` when ``delivery`` was stored before (nothing stored)."""
        seq = await self._record(
            conversation, Direction.OUTBOUND, Author.SYSTEM, text, kind=kind, delivery=delivery
        )
        return seq is not None

    async def _record(
        self,
        conversation: Conversation,
        direction: Direction,
        author: Author,
        text: str,
        *,
        kind: EventKind = EventKind.MESSAGE,
        feedback: str | None = None,
        delivery: DeliveryKey | None = None,
    ) -> int | None:
        """Store the event and the conversation's new activity in one write; its seq,
        or ``None`` (nothing written) when ``delivery`` was stored before."""
        now = self.clock.now()
        once = None
        if delivery is not None:
            once = Delivery(delivery, self.retention.expires_at(RecordKind.DELIVERIES))
        return await self.store.record_event(
            TranscriptEvent(
                session=conversation.session,
                at=now,
                direction=direction,
                author=author,
                text=text,
                expires_at=self.retention.expires_at(RecordKind.TRANSCRIPTS),
                kind=kind,
                feedback=feedback,
            ),
            replace(
                conversation,
                last_activity=now,
                expires_at=self.retention.expires_at(RecordKind.CONVERSATIONS),
            ),
            delivery=once,
        )
