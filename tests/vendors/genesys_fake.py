"""A local server that plays Genesys Cloud's login and Open Messaging API with their shapes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from chatguard.settings import GenesysSettings

INTEGRATION = "3c7e1f52-0b7a-4d8e-9a8d-2f2a5c4b9e10"
CLIENT_ID = "chatguard-client"
CLIENT_SECRET = "s3cret-client"
WEBHOOK_SECRET = "hook-secret"


def genesys_settings(base_url: str, **overrides: object) -> GenesysSettings:
    """``[vendors.genesys]`` for a fake at ``base_url`` (API and login), fully configured."""
    values: dict[str, object] = {
        "api_base_url": base_url,
        "login_base_url": base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "integration_id": INTEGRATION,
        "webhook_secret": WEBHOOK_SECRET,
        "timeout": 2,
        **overrides,
    }
    return GenesysSettings.model_validate(values)


@dataclass
class GenesysCloud:
    """Records token requests and inbound messages; tokens are ``token-1``, ``token-2``, ...

    ``revoked`` tokens are answered 401 by the API; ``status`` other than 202 makes the
    inbound endpoint fail; ``delay`` slows it down.
    """

    expires_in: int = 86399
    tokens: list[dict[str, Any]] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    status: int = 202
    delay: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_post(
            "/api/v2/conversations/messages/{integration}/inbound/open/message", self.message
        )
        return app

    @property
    def texts(self) -> list[str]:
        """The text of every accepted inbound message, in order."""
        return [entry["body"]["text"] for entry in self.inbound if entry["accepted"]]

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Every inbound message once ``count`` have arrived (within 10 s)."""
        async with asyncio.timeout(10):
            while len(self.inbound) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.inbound

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.tokens.append(
            {"authorization": request.headers.get("Authorization"), "form": dict(form)}
        )
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"token-{len(self.tokens)}"
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in}
        )

    async def message(self, request: web.Request) -> web.Response:
        body = await request.json()
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        known = {f"token-{n}" for n in range(1, len(self.tokens) + 1)} - self.revoked
        accepted = token in known and self.status == 202
        self.inbound.append(
            {
                "integration": request.match_info["integration"],
                "authorization": authorization,
                "body": body,
                "accepted": accepted,
            }
        )
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if token not in known:
            return web.json_response({"message": "Invalid login credentials."}, status=401)
        if self.status != 202:
            return web.json_response({"message": "failed"}, status=self.status)
        channel = body["channel"]
        return web.json_response(
            {
                "id": f"genesys-{len(self.inbound)}",
                "channel": {**channel, "id": INTEGRATION},
                "type": body["type"],
                "text": body["text"],
                "direction": "Inbound",
            },
            status=202,
        )
