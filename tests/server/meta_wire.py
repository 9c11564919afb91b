"""Meta's Messenger webhook as the tests send it: signed bodies of ``messaging`` items
in Meta's wire format, and the ``[channels.messenger]`` settings they are signed for."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from chatguard.guard import ChatGuard
from chatguard.settings import Settings
from tests.server.serving import Client

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me"
PAGE_TOKEN = "page-token"
PSID = "6123456789012345"
#: Settings sections ``messenger_settings`` passes on.
SECTIONS = ("vendors", "consent", "admin")


def messenger_settings(graph_url: str, **messenger: Any) -> Settings:
    """Settings with the Messenger channel on the Graph API at ``graph_url``;
    ``vendors``, ``consent`` and ``admin`` given here go to their sections, ``web`` to
    ``[channels.web]``, the rest to ``[channels.messenger]``."""
    sections = {name: messenger.pop(name) for name in SECTIONS if name in messenger}
    web = messenger.pop("web", {})
    channels = {
        "web": web,
        "messenger": {
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "page_token": PAGE_TOKEN,
            "graph_base_url": graph_url,
            "session_idle": "30m",
            **messenger,
        },
    }
    return Settings(channels=channels, **sections)


def webhook(*items: dict[str, Any]) -> bytes:
    """A webhook body of one page entry with ``items`` as its ``messaging``."""
    return json.dumps(
        {"object": "page", "entry": [{"id": "page-1", "time": 1, "messaging": list(items)}]}
    ).encode()


def message_event(
    guard: ChatGuard, mid: str, text: str, psid: str = PSID, **message: Any
) -> dict[str, Any]:
    """A ``messaging`` item of a text message from ``psid``, at the guard's time."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": "page-1"},
        "timestamp": int(guard.clock.now().timestamp() * 1000),
        "message": {"mid": mid, "text": text, **message},
    }


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    """The headers of ``body`` signed as Meta signs it (``X-Hub-Signature-256``)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def post_webhook(client: Client, body: bytes, headers: dict[str, str] | None = None) -> int:
    """``POST /webhooks/messenger``; the status."""
    response = await client.post("/webhooks/messenger", data=body, headers=headers or {})
    return response.status
