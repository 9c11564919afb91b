"""The Facebook Messenger channel: Meta's webhook in, the Send API out (``docs/messenger.md``).

Routes:

* ``GET /webhooks/messenger``: the verification handshake. ``hub.mode=subscribe``
  with ``hub.verify_token`` equal (constant time) to ``channels.messenger.verify_token``
  is answered ``hub.challenge`` as text; anything else 403.
* ``POST /webhooks/messenger``: Meta's events.

Promises:

* ``X-Hub-Signature-256`` (``sha256=`` and the lowercase hex HMAC-SHA256 of the raw
  body keyed with the app secret) is checked in constant time before anything is
  parsed; missing, malformed or wrong (or no app secret configured) is 403, and
  nothing is stored or forwarded.
* Every ``entry[].messaging[]`` item is read: text messages, quick replies, postbacks
  and referrals become user turns; notification opt-ins (``optin.type ==
  "notification_messages"``) grant the user's ``push_notifications`` consent, and
  their ``STOP NOTIFICATIONS`` withdraws it (``RESUME NOTIFICATIONS`` grants it
  again); echoes (``message.is_echo``), other optins, delivery and read receipts are
  dropped (nothing recorded). An opt-in's token is not kept (see
  ``docs/messenger.md``). A message already stored is dropped, also after a restart
  and when another instance on the same store stored it: each turn is stored with
  its ``mid`` as delivery key (``ChatGuard.delivery_key``; a referral, which has
  none, by sender and timestamp; an opt-in by sender, timestamp and status), kept
  ``retention.deliveries``.
* Each turn's message is stored (redacted) in the user's conversation before 200 is
  answered; then the bot is called and its outputs are sent through the Send API,
  asynchronously, in tasks the application owns (awaited for a bounded time at
  shutdown, then cancelled). A turn stored but never answered (the process died) is
  answered at the next start-up by :meth:`MessengerChannel.resume_pending`.
* The PSID is never sent to a vendor, logged or put in a metric: the bot sees the
  user pseudonym and the session pseudonym; quick-reply and postback payloads (a
  ``user_email`` / ``user_phone_number`` quick reply holds the real address or
  number) are redacted like the text.
* A Messenger user has one conversation per session: reused while their last
  activity is within ``session_idle``, else a new one, under the same user pseudonym.
* chatguard's own questions (:mod:`chatguard.handover`) go out as Send API quick
  replies whose payloads are ``YES_PAYLOAD`` / ``NO_PAYLOAD``; what comes of a
  question past its deadline is sent through the Send API too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp
from aiohttp import web

from chatguard.channels.genesys import AgentDelivery, agent_relay
from chatguard.consent import Decision, Purpose, Source, TextKind
from chatguard.dialogue import DESTINATION, Dialogue
from chatguard.errors import SubjectNotFoundError, VendorError
from chatguard.guard import ChatGuard
from chatguard.handover import OutputDelivery, UserReading
from chatguard.model import RestoredText
from chatguard.outputs import ShownOutput
from chatguard.server.app import GUARD, LIVE_AGENTS, METRICS, SETTINGS, VENDOR_CALLS
from chatguard.server.bodies import parse_json_object
from chatguard.server.deadlines import answer_deadlines
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import MessengerSettings
from chatguard.store.records import (
    Author,
    Conversation,
    Direction,
    EventKind,
    TranscriptEvent,
)
from chatguard.vendors.bots import bot_vendor
from chatguard.vendors.resilience import VendorCalls

logger = logging.getLogger(__name__)

CHANNEL: Final = "messenger"
VENDOR: Final = "messenger"
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"

#: After this, an agent's reply needs the ``HUMAN_AGENT`` message tag.
STANDARD_WINDOW: Final = timedelta(hours=24)
#: A stored, unanswered turn older than this is not answered at start-up any more.
RESUME_WINDOW: Final = timedelta(hours=1)
#: Messenger's limits: quick replies per message and characters per quick-reply title.
MAX_QUICK_REPLIES: Final = 13
MAX_TITLE_CHARS: Final = 20
#: The optin type of Messenger's notification messages (Marketing Messages).
NOTIFICATION_MESSAGES: Final = "notification_messages"
#: ``optin.notification_messages_status`` when the user stops the notifications.
STOP_NOTIFICATIONS: Final = "STOP NOTIFICATIONS"
#: What the transcript records of an opt-in (chatguard's words, no personal data).
OPTED_IN: Final = "notification messages: opted in through Messenger"
OPTED_OUT: Final = "notification messages: stopped through Messenger"


def setup_messenger(app: web.Application) -> None:
    """Register the webhook routes and the channel's lifetime (HTTP client, bot, tasks)."""
    app.cleanup_ctx.append(_channel_context)
    agent_relay(app).register("messenger", _agent_delivery(app))
    answer_deadlines(app).register("messenger", _outputs_delivery(app))
    app.router.add_get("/webhooks/messenger", verify)
    app.router.add_post("/webhooks/messenger", receive)


# --- what Meta sends ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundTurn:
    """One thing a Messenger user did that the bot answers. Holds raw personal data:
    kept in memory only, never logged."""

    psid: str
    mid: str | None
    timestamp: datetime | None
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def message_id(self) -> str | None:
        """What names this turn in a redelivery: its ``mid``; for a turn without one
        (a referral), its sender and Meta's timestamp; ``None`` when neither is known."""
        if self.mid is not None:
            return self.mid
        if self.timestamp is not None:
            return f"{self.psid}@{self.timestamp.isoformat()}"
        return None


@dataclass(frozen=True, slots=True)
class NotificationOptin:
    """A Messenger user's opt-in to notification messages, or its stop (``stopped``).
    Holds the PSID: kept in memory only, never logged. The optin's token, title and
    payload are not read: chatguard sends no notifications itself."""

    psid: str
    timestamp: datetime | None
    stopped: bool

    @property
    def message_id(self) -> str | None:
        """What names this opt-in in a redelivery (sender, Meta's timestamp and whether
        it stops); ``None`` without a timestamp."""
        if self.timestamp is None:
            return None
        return f"optin:{self.psid}@{self.timestamp.isoformat()}:{int(self.stopped)}"


def signature_is_valid(raw: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the hex HMAC-SHA256 of ``raw`` under
    ``app_secret``, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


def parse_turns(body: dict[str, Any]) -> list[InboundTurn]:
    """The user turns in a webhook body, in order; echoes, optins, receipts and
    anything malformed are left out (and never raise)."""
    turns: list[InboundTurn] = []
    if body.get("object") != "page":
        return turns
    for entry in _dicts(body.get("entry")):
        for item in _dicts(entry.get("messaging")):
            turn = _turn(item)
            if turn is not None:
                turns.append(turn)
    return turns


def parse_optins(body: dict[str, Any]) -> list[NotificationOptin]:
    """The notification-message opt-ins (and stops) in a webhook body, in order;
    other optins and anything malformed are left out (and never raise)."""
    optins: list[NotificationOptin] = []
    if body.get("object") != "page":
        return optins
    for entry in _dicts(body.get("entry")):
        for item in _dicts(entry.get("messaging")):
            sender, optin = item.get("sender"), item.get("optin")
            psid = sender.get("id") if isinstance(sender, dict) else None
            if (
                not isinstance(psid, str)
                or not psid
                or not isinstance(optin, dict)
                or optin.get("type") != NOTIFICATION_MESSAGES
            ):
                continue
            stopped = optin.get("notification_messages_status") == STOP_NOTIFICATIONS
            optins.append(NotificationOptin(psid, _timestamp(item.get("timestamp")), stopped))
    return optins


def _turn(item: dict[str, Any]) -> InboundTurn | None:
    sender = item.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str) or not psid:
        return None
    timestamp = _timestamp(item.get("timestamp"))
    message = item.get("message")
    postback = item.get("postback")
    referral = item.get("referral")
    data: dict[str, Any] = {}
    if isinstance(referral, dict):
        data["referral"] = _referral(referral)
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = message.get("mid") if isinstance(message.get("mid"), str) else None
        text = _string(message.get("text"))
        quick_reply = message.get("quick_reply")
        if isinstance(quick_reply, dict) and isinstance(quick_reply.get("payload"), str):
            data["quick_reply"] = {"payload": quick_reply["payload"]}
        attachments = [
            {"type": attachment.get("type")}
            for attachment in _dicts(message.get("attachments"))
            if isinstance(attachment.get("type"), str)
        ]
        if attachments:
            data["attachments"] = attachments  # the types only: URLs point at the content
        if not text and not data:
            return None
        return InboundTurn(psid, mid, timestamp, text, data)
    if isinstance(postback, dict):
        mid = postback.get("mid") if isinstance(postback.get("mid"), str) else None
        title = _string(postback.get("title"))
        payload = postback.get("payload")
        data["postback"] = {"payload": payload if isinstance(payload, str) else ""}
        if isinstance(postback.get("referral"), dict):
            data["referral"] = _referral(postback["referral"])
        return InboundTurn(psid, mid, timestamp, title, data)
    if "referral" in data:
        return InboundTurn(psid, None, timestamp, "", data)
    return None  # optin (see parse_optins), delivery, read, ...


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _referral(referral: dict[str, Any]) -> dict[str, str]:
    return {key: str(referral[key]) for key in ("ref", "source", "type") if key in referral}


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


# --- what goes back -----------------------------------------------------------------------


def messaging_type(
    author: Author, last_user_message: datetime | None, now: datetime
) -> dict[str, str]:
    """The Send API's ``messaging_type`` (and ``tag``) for a reply by ``author``.

    A bot answers a message just received: ``RESPONSE``. A human agent's reply more
    than 24 h after the user's last message (or when that time is unknown) is outside
    Messenger's standard messaging window and carries ``MESSAGE_TAG`` ``HUMAN_AGENT``.
    """
    if author is Author.AGENT and (
        last_user_message is None or now - last_user_message > STANDARD_WINDOW
    ):
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return {"messaging_type": "RESPONSE"}


def send_api_message(output: ShownOutput) -> dict[str, Any] | None:
    """The Send API ``message`` for one output, or ``None`` when it has nothing to show.

    Quick-reply titles are cut to Messenger's 20 characters; the payload is the
    output's (chatguard's answer buttons: ``YES_PAYLOAD`` / ``NO_PAYLOAD``), else the
    whole title, so choosing one sends it back as typed.
    """
    buttons = list(output.buttons)[:MAX_QUICK_REPLIES]
    text = output.text or ("…" if buttons else None)
    if not text:
        return None
    message: dict[str, Any] = {"text": text}
    if buttons:
        message["quick_replies"] = [
            {"content_type": "text", "title": title[:MAX_TITLE_CHARS], "payload": payload}
            for title, payload in buttons
        ]
    return message


# --- one turn at a time per user ----------------------------------------------------------


class _KeyedLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


# --- the channel ---------------------------------------------------------------------------


class MessengerChannel:
    """Messenger users' turns: stored on receipt, answered in the background.

    Its tasks live as long as the application: :meth:`close` waits ``grace`` seconds
    for them, then cancels them (a cancelled turn stays stored and is resumed at the
    next start).
    """

    def __init__(
        self,
        settings: MessengerSettings,
        guard: ChatGuard,
        dialogue: Dialogue,
        http: aiohttp.ClientSession,
        metrics: ServiceMetrics,
        calls: VendorCalls | None = None,
    ) -> None:
        self.settings = settings
        self.guard = guard
        self.dialogue = dialogue
        self.http = http
        self.metrics = metrics
        #: The Send API, behind its circuit breaker (``calls``: the service's breakers).
        self.send_api = (calls or VendorCalls(metrics)).client(VENDOR, http, settings)
        self.started_at = guard.clock.now()
        self._tasks: set[asyncio.Task[None]] = set()
        self._users = _KeyedLocks()
        self._sessions = _KeyedLocks()

    # -- intake (before 200) --

    async def accept(self, turn: InboundTurn) -> None:
        """Store ``turn`` in the user's conversation and schedule its answer; a turn
        stored before (by any process on the store) does nothing. Raises when it
        cannot be stored (then Meta retries)."""
        message_id = turn.message_id
        delivery = None if message_id is None else self.guard.delivery_key(CHANNEL, message_id)
        async with self._users.hold(turn.psid):
            conversation = await self._conversation(turn.psid)
            reading = self.dialogue.gate.read(conversation, turn.text, turn.data)
            result = await self.guard.user_message(
                conversation.session,
                turn.text,
                destination=DESTINATION,
                delivery=delivery,
                kind=reading.kind,
            )
        if result is None:
            return
        for entity in result.entities:
            self.metrics.entities_redacted.labels(entity_type=entity.type).inc()
        self.metrics.messages.labels(
            channel=CHANNEL, vendor=self.dialogue.bot.name, direction="inbound"
        ).inc()
        self.spawn(
            self._answer(
                conversation.session, turn.psid, result.text, result.language, turn.data, reading
            )
        )

    async def accept_optin(self, optin: NotificationOptin) -> None:
        """Record a notification opt-in as the user's ``push_notifications`` consent
        (granted, source ``messenger_optin``; a stop withdraws it at once), once: a
        redelivery (same sender, timestamp and status) changes nothing. A grant is
        confirmed to the user through the Send API. Raises when it cannot be stored
        (then Meta retries)."""
        guard = self.guard
        message_id = optin.message_id
        delivery = None if message_id is None else guard.delivery_key(CHANNEL, message_id)
        async with self._users.hold(optin.psid):
            conversation = await self._conversation(optin.psid)
            user = conversation.user
            if user is None:  # a Messenger conversation always has its user
                raise SubjectNotFoundError("no Messenger user behind that conversation")
            said = OPTED_OUT if optin.stopped else OPTED_IN
            if not await guard.record_notice(conversation, said, delivery=delivery):
                return  # recorded before
            language = conversation.language or "en"
            if optin.stopped:
                await guard.consents.withdraw(
                    user, Purpose.PUSH_NOTIFICATIONS, Source.MESSENGER_OPTIN, language
                )
                return
            granted = guard.texts.get(TextKind.PUSH_NOTIFICATIONS_GRANTED, language)
            await guard.consents.record(
                user,
                Purpose.PUSH_NOTIFICATIONS,
                Decision.GRANTED,
                Source.MESSENGER_OPTIN,
                granted,
                granted.language,
            )
            await guard.record_notice(conversation, granted.text)
        self.spawn(self._deliver(optin.psid, [ShownOutput(granted.text)]))

    async def _conversation(self, psid: str) -> Conversation:
        guard = self.guard
        user = await guard.identities.find(CHANNEL, psid)
        if user is not None:
            conversations = [
                conversation
                for conversation in await guard.store.conversations_of(user)
                if conversation.channel == CHANNEL
            ]
            if conversations:
                latest = max(conversations, key=lambda conversation: conversation.last_activity)
                if guard.clock.now() - latest.last_activity <= self.settings.session_idle:
                    return latest
        return await guard.start_conversation(CHANNEL, user_id=psid)

    # -- answers (after 200) --

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as one of the channel's tasks."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self,
        session: str,
        psid: str,
        redacted: str,
        language: str,
        data: dict[str, Any],
        reading: UserReading | None = None,
    ) -> None:
        try:
            async with self._sessions.hold(session):
                outputs = await self.dialogue.answer_stored_turn(
                    session, redacted, language, data, reading
                )
                await self.send_outputs(psid, outputs)
        except VendorError:
            pass  # counted where it happened; the turn stays stored
        except Exception as error:
            logger.error("a Messenger turn failed: %s", type(error).__name__)

    async def _deliver(self, psid: str, outputs: list[ShownOutput]) -> None:
        """``send_outputs`` in a task of the channel's: failures logged, never raised."""
        try:
            await self.send_outputs(psid, outputs)
        except VendorError:
            pass  # counted where it happened
        except Exception as error:
            logger.error("a Messenger delivery failed: %s", type(error).__name__)

    async def send_outputs(self, psid: str, outputs: list[ShownOutput]) -> None:
        """Send each output (as the user sees it) to ``psid`` as a ``RESPONSE``."""
        for output in outputs:
            message = send_api_message(output)
            if message is not None:
                await self.send(psid, message, {"messaging_type": "RESPONSE"})
                self.metrics.messages.labels(
                    channel=CHANNEL, vendor=self.dialogue.bot.name, direction="outbound"
                ).inc()

    async def resume_pending(self, *, window: timedelta = RESUME_WINDOW) -> int:
        """Answer Messenger turns stored but never answered: conversations whose last
        transcript event before this process started, within ``window``, is a user
        message. Returns how many. (With several instances on one store, each
        resumes them: run it on one.)"""
        guard = self.guard
        now = guard.clock.now()
        # Only turns stored before this process started: later ones are this process's.
        last: dict[str, TranscriptEvent] = {}
        until = min(now, self.started_at)
        for event in await guard.store.events_between(until - window, until):
            last[event.session] = event
        resumed = 0
        for session, event in last.items():
            if not (
                event.direction is Direction.INBOUND
                and event.author is Author.USER
                and event.kind in (EventKind.MESSAGE, EventKind.CONSENT)
            ):
                continue
            conversation = await guard.store.get_conversation(session)
            if conversation is None or conversation.channel != CHANNEL or conversation.user is None:
                continue
            identity = await guard.identities.resolve(conversation.user)
            if identity is None:
                continue
            # The transcript text is redacted already; redacting it for the bot keeps
            # its placeholders and tells its language.
            result = await guard.redactor.redact(
                event.text, conversation=session, destination=DESTINATION
            )
            self.spawn(self._answer(session, identity[1], result.text, result.language, {}))
            resumed += 1
        if resumed:
            logger.warning("resumed %d unanswered Messenger turns", resumed)
        return resumed

    async def send(self, psid: str, message: dict[str, Any], kind: dict[str, str]) -> None:
        """``POST`` one message to ``psid`` through the Send API; ``VendorError`` (counted
        in ``vendor_errors{vendor="messenger"}``) when it is not accepted. Retried only
        when the connection could not be made: a repeated request could show the
        message twice. Behind the Send API's circuit breaker."""
        token = self.settings.page_token
        if token is None:
            self.send_api.count("unconfigured")
            raise VendorError("channels.messenger.page_token is not set")
        url = (
            f"{self.settings.graph_base_url.rstrip('/')}/{self.settings.graph_version}/me/messages"
        )
        body = {"recipient": {"id": psid}, **kind, "message": message}
        try:
            with self.metrics.latency.labels(stage="vendor").time():
                await self.send_api.request(
                    "POST", url, params={"access_token": token.get_secret_value()}, json=body
                )
        except VendorError as error:
            if error.status is not None:
                logger.warning("the Send API answered %d", error.status)
            raise

    async def close(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the running turns, then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)


#: The channel, opened and closed with the application.
MESSENGER = web.AppKey("messenger", MessengerChannel)


async def _channel_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        calls = app[VENDOR_CALLS]
        bot = bot_vendor(
            settings.channels.messenger.bot, settings.vendors.cognigy, http, calls=calls
        )
        metrics = app[METRICS]
        channel = MessengerChannel(
            settings.channels.messenger,
            app[GUARD],
            Dialogue(app[GUARD], bot, metrics, app.get(LIVE_AGENTS)),
            http,
            metrics,
            calls,
        )
        app[MESSENGER] = channel
        channel.spawn(_resume(channel))
        try:
            yield
        finally:
            await channel.close(settings.server.shutdown_timeout)
            await bot.close()


async def _resume(channel: MessengerChannel) -> None:
    try:
        await channel.resume_pending()
    except Exception as error:
        logger.error("resuming Messenger turns failed: %s", type(error).__name__)


# --- handlers ------------------------------------------------------------------------------


async def verify(request: web.Request) -> web.Response:
    """Meta's verification handshake: the challenge back, or 403."""
    expected = request.app[SETTINGS].channels.messenger.verify_token
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if (
        expected is None
        or request.query.get("hub.mode") != "subscribe"
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        raise web.HTTPForbidden(text="verification failed")
    return web.Response(text=challenge, content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    """A signed webhook: its turns stored, then 200 at once; unsigned or badly signed, 403."""
    secret = request.app[SETTINGS].channels.messenger.app_secret
    raw = await request.read()
    if secret is None or not signature_is_valid(
        raw, request.headers.get(SIGNATURE_HEADER), secret.get_secret_value()
    ):
        raise web.HTTPForbidden(text="bad signature")
    channel = request.app[MESSENGER]
    body = parse_json_object(raw)
    for turn in parse_turns(body):
        await channel.accept(turn)
    for optin in parse_optins(body):
        await channel.accept_optin(optin)
    return web.Response(text="EVENT_RECEIVED", content_type="text/plain")


# --- replies from elsewhere (live agents) --------------------------------------------------


async def send_to_user(app: web.Application, user: str, text: str, *, author: Author) -> None:
    """Send ``text`` from ``author`` (an agent, say) to the Messenger user ``user``.

    ``text`` may hold the conversation's placeholders and the author's own typing:
    it is stored redacted in the user's latest Messenger conversation and sent
    restored. An agent's reply more than 24 h after the user's last message carries
    the ``HUMAN_AGENT`` tag. ``SubjectNotFoundError`` when ``user`` is no Messenger
    user we know; ``VendorError`` when the Send API does not take it.
    """
    channel = app[MESSENGER]
    guard = channel.guard
    identity = await guard.identities.resolve(user)
    conversations = [c for c in await guard.store.conversations_of(user) if c.channel == CHANNEL]
    if identity is None or identity[0] != CHANNEL or not conversations:
        raise SubjectNotFoundError("no Messenger user under that pseudonym")
    conversation = max(conversations, key=lambda c: c.last_activity)
    restored = await guard.reply(conversation.session, text, author=author)
    await _send_restored(channel, identity[1], conversation, restored, author)


def _agent_delivery(app: web.Application) -> AgentDelivery:
    """How an agent's message, already stored by the Genesys webhook, reaches the user."""

    async def deliver(conversation: Conversation, text: RestoredText) -> None:
        channel = app[MESSENGER]
        identity = await channel.guard.identities.resolve(conversation.user or "")
        if identity is None or identity[0] != CHANNEL:
            raise SubjectNotFoundError("no Messenger user behind that conversation")
        await _send_restored(channel, identity[1], conversation, text, Author.AGENT)

    return deliver


def _outputs_delivery(app: web.Application) -> OutputDelivery:
    """How chatguard's outputs after a deadline (a question timed out) reach the user."""

    async def deliver(conversation: Conversation, outputs: list[ShownOutput]) -> None:
        channel = app[MESSENGER]
        identity = await channel.guard.identities.resolve(conversation.user or "")
        if identity is None or identity[0] != CHANNEL:
            raise SubjectNotFoundError("no Messenger user behind that conversation")
        await channel.send_outputs(identity[1], outputs)

    return deliver


async def _send_restored(
    channel: MessengerChannel, psid: str, conversation: Conversation, text: str, author: Author
) -> None:
    """Send already-restored ``text`` with the messaging type the 24-hour rule asks for."""
    guard = channel.guard
    last_user_message = max(
        (
            event.at
            for event in await guard.store.events(conversation.session)
            if event.author is Author.USER and event.kind in (EventKind.MESSAGE, EventKind.CONSENT)
        ),
        default=None,
    )
    kind = messaging_type(author, last_user_message, guard.clock.now())
    await channel.send(psid, {"text": text}, kind)
