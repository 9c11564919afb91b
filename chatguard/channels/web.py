"""The web chat channel: a small JSON protocol for a chat widget (``docs/web-chat.md``).

Routes:

* ``POST /chat/sessions`` ``{"user_id"?}`` -> ``{"session"}``: the session's token
  (``ChatGuard.session_token``: the session pseudonym and a keyed check), issued on
  first contact; a logged-in user's id is kept only as a keyed user pseudonym (and
  its sealed map back).
* ``POST /chat/messages`` ``{"session", "text", "data"?}`` ->
  ``{"outputs": [{"text", "quick_replies", "handover", "consent"}]}`` (``consent``:
  chatguard's own question or confirmation; a button is answered by sending its
  title, or ``data: {"quick_reply": {"payload": ...}}``).
* ``GET /chat/messages?session=...&after=N`` -> ``{"events": [...]}``: the session's
  transcript after ``seq`` N as the user sees it (values restored).
* ``POST /chat/feedback`` ``{"session", "positive"}``: thumbs up or down, stored.
* ``GET /chat/ws?session=...``: a WebSocket; the client sends
  ``{"type": "message", "text", "data"?}`` and receives one ``{"type": "output", ...}``
  per output, or ``{"type": "error", "error": name, "message"}``.

Promises: what reaches the bot vendor is redacted (see :mod:`chatguard.dialogue`);
``session`` is the token ``POST /chat/sessions`` answered and gives access to its own
web conversation only: the bare pseudonym that vendors and agents see, a forged or
altered check, another channel's session or any other value is 404; a vendor failure
is answered 200 with one localized output saying so, the user's message being stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import aiohttp
from aiohttp import web

from chatguard.dialogue import Dialogue
from chatguard.errors import ChatguardError, InvalidRequestError
from chatguard.guard import ChatGuard
from chatguard.outputs import ShownOutput
from chatguard.server.app import GUARD, LIVE_AGENTS, METRICS, SETTINGS, VENDOR_CALLS
from chatguard.server.bodies import json_object, parse_json_object
from chatguard.server.demo_page import DEMO_VENDOR_LOG
from chatguard.store.records import Conversation
from chatguard.vendors.bots import bot_vendor

logger = logging.getLogger(__name__)

CHANNEL: Final = "web"

#: The web channel's dialogue with its configured bot, opened and closed with the app.
WEB_DIALOGUE = web.AppKey("web_dialogue", Dialogue)


def setup_web(app: web.Application) -> None:
    """Register the web chat routes and its bot's lifetime on ``app``."""
    app.cleanup_ctx.append(_dialogue)
    app.router.add_post("/chat/sessions", create_session)
    app.router.add_post("/chat/messages", post_message)
    app.router.add_get("/chat/messages", get_messages)
    app.router.add_post("/chat/feedback", post_feedback)
    app.router.add_get("/chat/ws", websocket)


async def _dialogue(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        bot = bot_vendor(
            settings.channels.web.bot,
            settings.vendors.cognigy,
            http,
            calls=app[VENDOR_CALLS],
            recorder=app.get(DEMO_VENDOR_LOG),  # a log only in demo mode
        )
        agents = app.get(LIVE_AGENTS)  # Genesys when configured; simulated in demo mode
        app[WEB_DIALOGUE] = Dialogue(app[GUARD], bot, app[METRICS], agents)
        try:
            yield
        finally:
            await bot.close()


async def create_session(request: web.Request) -> web.Response:
    """Start a web conversation; answer its session token."""
    body = await json_object(request, allow_empty=True)
    user_id = body.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        raise InvalidRequestError("user_id must be a non-empty string")
    conversation = await request.app[GUARD].start_conversation(CHANNEL, user_id=user_id)
    token = request.app[GUARD].session_token(conversation.session)
    return web.json_response({"session": token}, status=201)


async def post_message(request: web.Request) -> web.Response:
    """One user message to the bot; the bot's outputs, restored."""
    body = await json_object(request)
    session = await _session(request.app[GUARD], body.get("session"))
    outputs = await _turn(request.app, session.session, body)
    return web.json_response({"outputs": [_output(output) for output in outputs]})


async def get_messages(request: web.Request) -> web.Response:
    """The session's transcript after ``seq`` ``after``, values restored for the user."""
    guard = request.app[GUARD]
    conversation = await _session(guard, request.query.get("session"))
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise InvalidRequestError("after must be a whole number") from None
    events = []
    for event in await guard.store.events(conversation.session):
        if event.seq <= after:
            continue
        text = await guard.redactor.restore(event.text, conversation=conversation.session)
        events.append(
            {
                "seq": event.seq,
                "at": event.at.isoformat(),
                "author": event.author.value,
                "kind": event.kind.value,
                "text": text,
                "feedback": event.feedback,
            }
        )
    return web.json_response({"events": events}, headers={"Cache-Control": "no-store"})


async def post_feedback(request: web.Request) -> web.Response:
    """Store a thumbs-up (``positive: true``) or thumbs-down."""
    body = await json_object(request)
    guard = request.app[GUARD]
    conversation = await _session(guard, body.get("session"))
    positive = body.get("positive")
    if not isinstance(positive, bool):
        raise InvalidRequestError("positive must be true or false")
    await guard.feedback(conversation.session, positive=positive)
    return web.json_response({"status": "stored"})


async def websocket(request: web.Request) -> web.StreamResponse:
    """The same turns over a WebSocket; errors are messages, the socket stays open."""
    conversation = await _session(request.app[GUARD], request.query.get("session"))
    socket = web.WebSocketResponse(
        heartbeat=30, max_msg_size=request.app[SETTINGS].server.max_body_bytes
    )
    await socket.prepare(request)
    async for message in socket:
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        try:
            body = parse_json_object(message.data)
            if body.get("type") != "message":
                raise InvalidRequestError('type must be "message"')
            outputs = await _turn(request.app, conversation.session, body)
        except ChatguardError as error:
            await socket.send_json(
                {"type": "error", "error": type(error).__name__, "message": str(error)}
            )
            continue
        for output in outputs:
            await socket.send_json({"type": "output", **_output(output)})
    return socket


async def _turn(app: web.Application, session: str, body: Mapping[str, Any]) -> list[ShownOutput]:
    text = body.get("text")
    data = body.get("data")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("text must be a non-empty string")
    if data is not None and not isinstance(data, dict):
        raise InvalidRequestError("data must be a JSON object")
    dialogue = app[WEB_DIALOGUE]
    metrics = app[METRICS]
    vendor = dialogue.bot.name
    metrics.messages.labels(channel=CHANNEL, vendor=vendor, direction="inbound").inc()
    outputs = await dialogue.user_turn(session, text, data)
    metrics.messages.labels(channel=CHANNEL, vendor=vendor, direction="outbound").inc(len(outputs))
    return outputs


def _output(output: ShownOutput) -> dict[str, Any]:
    return {
        "text": output.text,
        "quick_replies": list(output.quick_replies),
        "handover": output.handover,
        "consent": output.consent,
    }


async def _session(guard: ChatGuard, token: object) -> Conversation:
    if not isinstance(token, str) or not token:
        raise InvalidRequestError("session must be the token POST /chat/sessions answered")
    return await guard.conversation_of_token(token, CHANNEL)
