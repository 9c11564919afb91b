"""The service under test, started on a real loopback port."""

from __future__ import annotations

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
