"""The service under test, started on a real loopback port."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chatguard.guard import ChatGuard
from chatguard.server.app import make_app
from chatguard.settings import Settings

Client = TestClient[web.Request, web.Application]


async def started(guard: ChatGuard, settings: Settings) -> Client:
    """A client of the app over ``guard``, its server listening; the caller closes it."""
    client: Client = TestClient(TestServer(make_app(settings, guard=guard), host="127.0.0.1"))
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
