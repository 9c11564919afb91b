"""A local server that plays an OpenAI-compatible API (chat completions, streaming, models)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Upstream:
    """An OpenAI-style API that records what it received and answers as told."""

    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    reply: str = "Noted."
    reply_arguments: str | None = None
    pieces: list[str] = field(default_factory=list)
    before_last_piece: asyncio.Event | None = None
    status: int = 200

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        app.router.add_get("/v1/models", self.models)
        return app

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(body)
        self.headers.append(dict(request.headers))
        if self.status != 200:
            error = {"message": "overloaded", "type": "server_error", "code": None}
            return web.json_response({"error": error}, status=self.status)
        if body.get("stream"):
            return await self._stream(request, body["model"])
        message: dict[str, Any] = {"role": "assistant", "content": self.reply, "refusal": None}
        if self.reply_arguments is not None:
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "send_mail", "arguments": self.reply_arguments},
                }
            ]
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
            }
        )

    async def _stream(self, request: web.Request, model: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            event = {
                "id": "chatcmpl-2",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(event)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": ""}))
        for number, piece in enumerate(self.pieces):
            if number == len(self.pieces) - 1 and self.before_last_piece is not None:
                await self.before_last_piece.wait()
            await response.write(chunk({"content": piece}))
        await response.write(chunk({}, finish="stop"))
        await response.write(b"data: [DONE]\n\n")
        return response

    async def models(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        model = {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "openai"}
        return web.json_response({"object": "list", "data": [model]})
