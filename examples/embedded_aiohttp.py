"""chatguard embedded in a chat backend: an aiohttp app that redacts before its bot call.

Run it with ``.venv/bin/python -m examples.embedded_aiohttp`` and try::

    curl -s localhost:8080/messages -d '{"conversation": "c1", "text": "I am Anna Keller"}'

The bot here is a stand-in for an NLP vendor call; it only ever sees placeholders.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import web

from chatguard import ChatguardError, RedactedText, Redactor
from chatguard.redact.restore import find_placeholders

REDACTOR = web.AppKey("redactor", Redactor)


async def bot_vendor(text: RedactedText) -> str:
    """Stand-in for the vendor call (Cognigy, an LLM ...): it receives redacted text only."""
    names = sorted(p for p in find_placeholders(text) if p.startswith("<PERSON_"))
    return f"Hello {names[0]}, how can I help?" if names else "How can I help?"


async def post_message(request: web.Request) -> web.Response:
    """Redact the user's message, ask the bot, restore the reply for the user."""
    try:
        body = await request.json()
        conversation, text = str(body["conversation"]), str(body["text"])
    except (json.JSONDecodeError, KeyError, TypeError):
        raise web.HTTPBadRequest(text='expected {"conversation": ..., "text": ...}') from None
    redactor = request.app[REDACTOR]
    try:
        redacted = await redactor.redact(text, conversation=conversation)
    except ChatguardError as exc:  # fail closed: nothing went to the bot
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    reply = await bot_vendor(redacted.text)
    restored = await redactor.restore(reply, conversation=conversation)
    return web.json_response({"sent_to_bot": redacted.text, "reply": restored})


async def redactor_context(app: web.Application) -> AsyncIterator[None]:
    """Load the engine once at start-up and stop its threads at shutdown."""
    app[REDACTOR] = Redactor()
    yield
    app[REDACTOR].close()


def make_app() -> web.Application:
    """The example backend."""
    app = web.Application()
    app.cleanup_ctx.append(redactor_context)
    app.router.add_post("/messages", post_message)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8080)
