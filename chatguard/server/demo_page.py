"""The demo page (``/demo``): chat with the built-in demo bot and see, beside each
message, exactly what the vendor received and answered.

Routes, mounted only in demo mode (``pseudonym.demo``), never otherwise:

* ``GET /demo``: a self-contained page (no external resources; its
  Content-Security-Policy allows this origin only) that talks the web chat
  protocol (``docs/web-chat.md``).
* ``GET /demo/static/...``: its script and style sheet.
* ``GET /demo/api/vendor-log?session=<the web chat's session token>`` ->
  ``{"session", "exchanges": [{"received": {...}, "answered": [...]}],
  "agent": [{"kind", "text", "quality_sampling"}]}``: what the demo bot received for
  that web chat session (session pseudonym, redacted text with placeholders) and
  what it answered (placeholders, not yet restored), and what the simulated live
  agents received at and after the hand-over (the context and turns as the ``agent``
  policy shows them, and the quality-sampling flag); a bare pseudonym, an unknown
  session or another channel's is 404.

Promises: the vendor log holds only what the vendors saw, which is redacted; it lives
in memory, bounded, and is lost at exit. Unless ``vendors.genesys`` is configured,
demo mode hands over to :class:`~chatguard.vendors.demo.SimulatedAgents`, labelled
so on the page: it connects no live-agent platform. The hand-over goes through the
real gate, so the page shows the quality-sampling question first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from aiohttp import web

from chatguard.errors import InvalidRequestError
from chatguard.server.app import GUARD, LIVE_AGENTS, SETTINGS
from chatguard.vendors.demo import SimulatedAgents, VendorLog

#: The page's HTML, script and style sheet (package data).
STATIC: Final = Path(__file__).parent / "static"

#: What the demo bot received and answered, per session; set only in demo mode.
DEMO_VENDOR_LOG = web.AppKey("demo_vendor_log", VendorLog)

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def setup_demo_page(app: web.Application) -> None:
    """In demo mode, register the demo page, its API, the vendor log and (without
    Genesys) the simulated agents on ``app``; outside demo mode, register nothing (the
    paths stay 404). Call after the live agents' set-up and before the channels'."""
    if not app[SETTINGS].pseudonym.demo:
        return
    app[DEMO_VENDOR_LOG] = VendorLog()
    app.cleanup_ctx.append(_simulated_agents)
    app.router.add_get("/demo", demo_page)
    app.router.add_get("/demo/api/vendor-log", vendor_log)
    app.router.add_static("/demo/static", STATIC)


async def _simulated_agents(app: web.Application) -> AsyncIterator[None]:
    """Demo mode's live agents, unless a real platform was opened before."""
    if LIVE_AGENTS not in app:
        app[LIVE_AGENTS] = SimulatedAgents(app[GUARD], app[DEMO_VENDOR_LOG])
    yield


async def demo_page(request: web.Request) -> web.FileResponse:
    """The demo page."""
    return web.FileResponse(STATIC / "demo.html", headers=_HEADERS)


async def vendor_log(request: web.Request) -> web.Response:
    """What the demo bot received and answered for one web chat session, oldest first."""
    token = request.query.get("session")
    if not token:
        raise InvalidRequestError("session must be the web chat's session token")
    conversation = await request.app[GUARD].conversation_of_token(token, "web")
    log = request.app[DEMO_VENDOR_LOG]
    return web.json_response(
        {
            "session": conversation.session,
            "exchanges": [e.as_json() for e in log.exchanges(conversation.session)],
            "agent": [m.as_json() for m in log.agent_messages(conversation.session)],
        },
        headers={"Cache-Control": "no-store"},
    )
