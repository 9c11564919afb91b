"""Live agents' messages from Genesys Cloud Open Messaging, relayed to the user's channel.

Route: ``POST /webhooks/genesys``, the integration's outbound webhook.

Promises:

* The ``X-Hub-Signature-256`` header must be ``sha256=`` and the base64 HMAC-SHA256
  of the raw body keyed with ``vendors.genesys.webhook_secret``; it is compared in
  constant time before the body is parsed. Missing, wrong, or no secret configured:
  403, and nothing is stored or relayed.
* Each message id is processed once, also after a restart and across instances on
  one store: the agent's message is stored with its id as delivery key
  (``ChatGuard.delivery_key``, kept ``retention.deliveries``), and a redelivery finds
  it stored and is answered ``duplicate`` without being relayed again.
* An agent's ``Text`` message to ``channel.to.id`` (a session pseudonym, or a user
  pseudonym whose latest conversation it continues) is stored redacted and restored
  for the user, then handed to the delivery its channel registered on the app's
  :class:`AgentRelay`. Web chat needs no delivery: the stored transcript event is what
  ``GET /chat/messages?after=N`` shows. For a channel with no delivery, the message
  stays stored and a warning (without content) is logged.
* Other events (receipts, typing, unknown recipients) are answered 200 and ignored.

The Genesys client (:class:`~chatguard.vendors.genesys.GenesysOpenMessaging`) is
opened with the app when ``vendors.genesys`` is fully configured; channels find it
under :data:`~chatguard.server.app.LIVE_AGENTS` (``app.get(LIVE_AGENTS)``) and give
it to their ``Dialogue``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import web

from chatguard.guard import ChatGuard
from chatguard.model import RestoredText
from chatguard.server.app import (
    GUARD,
    LIVE_AGENTS,
    METRICS,
    SETTINGS,
    VENDOR_CALLS,
    made_once,
)
from chatguard.server.bodies import parse_json_object
from chatguard.store.records import Author, Conversation
from chatguard.vendors.genesys import VENDOR, GenesysOpenMessaging, is_configured
from chatguard.vendors.translator import live_chat_translation

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Hub-Signature-256"


class AgentDelivery(Protocol):
    """Delivers an agent's message (restored) to the user of ``conversation``."""

    async def __call__(self, conversation: Conversation, text: RestoredText) -> None: ...


class AgentRelay:
    """Where agents' messages go: one delivery per channel name. A delivery only
    delivers: the webhook has stored the message already.

    Example (what the Messenger channel registers)::

        async def deliver(conversation: Conversation, text: RestoredText) -> None:
            ...  # send ``text`` to the PSID behind ``conversation.user``

        agent_relay(app).register("messenger", deliver)
    """

    def __init__(self) -> None:
        self._deliveries: dict[str, AgentDelivery] = {}

    def register(self, channel: str, deliver: AgentDelivery) -> None:
        """``deliver`` gets every agent message of ``channel``'s conversations."""
        self._deliveries[channel] = deliver

    async def deliver(self, conversation: Conversation, text: RestoredText) -> bool:
        """Hand ``text`` to the conversation's channel; ``False`` when none is registered."""
        deliver = self._deliveries.get(conversation.channel)
        if deliver is None:
            return False
        await deliver(conversation, text)
        return True


AGENT_RELAY = web.AppKey("agent_relay", AgentRelay)


def agent_relay(app: web.Application) -> AgentRelay:
    """The app's relay, created on first use (so channels can register in any order)."""
    return made_once(app, AGENT_RELAY, AgentRelay)


async def _transcript_only(conversation: Conversation, text: RestoredText) -> None:
    """Web chat: the stored transcript event is the delivery (``GET /chat/messages``)."""


def setup_genesys(app: web.Application) -> None:
    """Register the webhook, the relay (with web chat's delivery) and the client's lifetime.

    Call before the channels' own set-up so that their dialogues find the client
    under :data:`~chatguard.server.app.LIVE_AGENTS`.
    """
    agent_relay(app).register("web", _transcript_only)
    app.cleanup_ctx.append(_client)
    app.router.add_post("/webhooks/genesys", webhook)


async def _client(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].vendors.genesys
    if not is_configured(settings):
        yield
        return
    async with aiohttp.ClientSession() as http:
        calls = app[VENDOR_CALLS]
        translation = live_chat_translation(
            app[SETTINGS].vendors.translator, http, app[GUARD], calls
        )
        agents = GenesysOpenMessaging(settings, http, app[GUARD], calls, translation=translation)
        app[LIVE_AGENTS] = agents
        try:
            yield
        finally:
            await agents.close()


def valid_signature(raw: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` + base64 HMAC-SHA256 of ``raw`` (constant time)."""
    if header is None or not header.startswith("sha256="):
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    return hmac.compare_digest(header.removeprefix("sha256=").encode(), expected)


async def webhook(request: web.Request) -> web.Response:
    """One outbound event of the Open Messaging integration (see the module's promises)."""
    raw = await request.read()
    secret = request.app[SETTINGS].vendors.genesys.webhook_secret
    if secret is None:
        logger.warning("genesys webhook refused: vendors.genesys.webhook_secret is not set")
        raise web.HTTPForbidden()
    if not valid_signature(raw, request.headers.get(SIGNATURE_HEADER), secret.get_secret_value()):
        raise web.HTTPForbidden()
    body = parse_json_object(raw)
    message_id = body.get("id")
    channel = body.get("channel")
    to = channel.get("to") if isinstance(channel, dict) else None
    recipient = to.get("id") if isinstance(to, dict) else None
    text = body.get("text")
    if (
        body.get("type") != "Text"
        or body.get("direction") != "Outbound"
        or not isinstance(message_id, str)
        or not isinstance(recipient, str)
        or not isinstance(text, str)
        or not text
    ):
        return _answer("ignored")
    guard = request.app[GUARD]
    conversation = await _conversation(guard, recipient)
    if conversation is None:
        logger.warning("genesys message to an unknown recipient ignored")
        return _answer("ignored")
    agents = request.app.get(LIVE_AGENTS)
    if agents is not None:
        # In the user's language when translation is on. A redelivery is translated
        # again before the store finds it a duplicate: rare, and it costs one call.
        text = await agents.reply_for_user(conversation.session, text)
    restored = await guard.reply(
        conversation.session,
        text,
        author=Author.AGENT,
        delivery=guard.delivery_key(VENDOR, message_id),
    )
    if restored is None:
        return _answer("duplicate")
    request.app[METRICS].messages.labels(
        channel=conversation.channel, vendor=VENDOR, direction="outbound"
    ).inc()
    try:
        delivered = await agent_relay(request.app).deliver(conversation, restored)
    except Exception as error:  # stored already: the user's channel failed, not the webhook
        logger.error(
            "agent message stored, delivery to %s failed: %s",
            conversation.channel,
            type(error).__name__,
        )
        return _answer("stored")
    if not delivered:
        logger.warning(
            "agent message stored; no delivery registered for channel %s", conversation.channel
        )
        return _answer("stored")
    return _answer("delivered")


async def _conversation(guard: ChatGuard, recipient: str) -> Conversation | None:
    conversation = await guard.store.get_conversation(recipient)
    if conversation is not None:
        return conversation
    conversations = await guard.store.conversations_of(recipient)
    return conversations[-1] if conversations else None


def _answer(status: str) -> web.Response:
    body: dict[str, Any] = {"status": status}
    return web.json_response(body)
