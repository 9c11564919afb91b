"""The service's answer deadlines: one task, owned by the application, that resolves
chatguard's questions whose time is up (:class:`~chatguard.handover.AnswerDeadlines`).

It starts with the application and is cancelled and awaited at shutdown, like the
retention sweeper; it checks every ``consent.deadline_check_interval``. Channels
register how their users are told what came of a deadline (Messenger: the Send API;
web chat needs nothing: the widget polls the stored transcript).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from chatguard.handover import AnswerDeadlines, HandOverGate
from chatguard.server.app import GUARD, LIVE_AGENTS, SETTINGS, made_once

#: The application's deadlines: channels register their deliveries on it at set-up.
ANSWER_DEADLINES = web.AppKey("answer_deadlines", AnswerDeadlines)


def answer_deadlines(app: web.Application) -> AnswerDeadlines:
    """The app's deadlines, created on first use (so channels can register in any order)."""
    return made_once(app, ANSWER_DEADLINES, AnswerDeadlines)


def setup_deadlines(app: web.Application) -> None:
    """Run the deadlines for the application's lifetime. Call after the set-up of
    the live agents (they are what a timed-out question hands over to)."""
    answer_deadlines(app)
    app.cleanup_ctx.append(_running)


async def _running(app: web.Application) -> AsyncIterator[None]:
    gate = HandOverGate(app[GUARD], app.get(LIVE_AGENTS))
    interval = app[SETTINGS].consent.deadline_check_interval.total_seconds()
    task = asyncio.create_task(answer_deadlines(app).run(gate, interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
