"""A local server that plays Meta's Graph Send API (``POST /v21.0/me/messages``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class GraphSendApi:
    """Records every Send API request as Meta's Graph API receives it."""

    received: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v21.0/me/messages", self.messages)
        return app

    async def messages(self, request: web.Request) -> web.Response:
        self.tokens.append(request.query.get("access_token", ""))
        body = await request.json()
        self.received.append(body)
        self.arrived.set()
        return web.json_response({"recipient_id": body["recipient"]["id"], "message_id": "m.x"})

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(10):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received
