"""The service under test, started on a real loopback port."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chatguard.guard import ChatGuard
from chatguard.server.app import make_app
from chatguard.settings import Settings

Client = TestClient[web.Request, web.Application]


async def started(
    guard: ChatGuard, settings: Settings, headers: dict[str, str] | None = None
) -> Client:
    """A client of the app over ``guard``, its server listening, sending ``headers``
    with every request; the caller closes it."""
    server = TestServer(make_app(settings, guard=guard), host="127.0.0.1")
    client: Client = TestClient(server, headers=headers)
    await client.start_server()
    return client


async def status_once_up(url: str, deadline: float) -> int:
    """The status of ``GET url`` once a server answers there (by ``time.monotonic``
    ``deadline``, else an ``AssertionError``)."""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    return response.status
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.2)
    raise AssertionError(f"the service did not answer {url}")


def pseudonym_of(token: str) -> str:
    """The session pseudonym in a session token (``<pseudonym>.<check>``, what the web
    chat and the OpenAI channel give a client): what vendors see and the store holds."""
    pseudonym, _, check = token.rpartition(".")
    assert pseudonym and check, "not a session token"
    return pseudonym


async def new_web_chat(client: Client, **body: Any) -> tuple[str, str]:
    """``POST /chat/sessions`` with ``body``: the token the client holds, and the
    session pseudonym in it."""
    response = await client.post("/chat/sessions", json=body)
    assert response.status == 201, await response.text()
    token: str = (await response.json())["session"]
    return token, pseudonym_of(token)
