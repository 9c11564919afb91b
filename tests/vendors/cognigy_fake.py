"""A local server that plays Cognigy.AI's REST endpoint with its request and answer shapes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


def quick_replies_output(text: str, titles: list[str]) -> dict[str, Any]:
    """An ``outputStack`` entry as a Cognigy "Quick Replies" say node produces it."""
    replies = [
        {"id": index, "contentType": "postback", "payload": title, "title": title}
        for index, title in enumerate(titles)
    ]
    default = {"_quickReplies": {"type": "quickReplies", "text": text, "quickReplies": replies}}
    return {"text": None, "data": {"_cognigy": {"_default": default}}, "source": "bot"}


@dataclass
class CognigyEndpoint:
    """Records every request body; answers ``outputs`` as the ``outputStack``."""

    received: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/endpoint-token", self.endpoint)
        return app

    async def endpoint(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": "flow failed"}, status=self.status)
        first = self.outputs[0] if self.outputs else {"text": None, "data": {}}
        return web.json_response(
            {
                "text": first.get("text"),
                "data": first.get("data", {}),
                "outputStack": self.outputs,
                "userId": body["userId"],
                "sessionId": body["sessionId"],
            }
        )
