"""The example configurations, loaded as `chatguard --config FILE serve` loads them
(secrets from the environment), served on a real port in front of local vendors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from chatguard.consent import NO_PAYLOAD
from chatguard.crypto import random_key
from chatguard.guard import ChatGuard
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import Settings, load_settings
from tests.server.meta_wire import post_webhook, signed, webhook
from tests.server.serving import Client, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.genesys_fake import CLIENT_ID, INTEGRATION, GenesysCloud
from tests.vendors.graph_fake import GraphSendApi
from tests.vendors.openai_fake import Upstream
from tests.vendors.translator_fake import KEY, TranslatorApi

EXAMPLES = Path(__file__).parent.parent / "examples"
NAME = "Anna Keller"
PSID = "6123456789012345"
APP_SECRET = "app-secret-from-the-environment"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The keys every deployment sets in its environment, and a store of the test's."""
    monkeypatch.setenv("CHATGUARD_STORE__ENCRYPTION_KEY", random_key().hex())
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__KEY", random_key().hex())
    monkeypatch.setenv("CHATGUARD_STORE__URL", f"sqlite:///{tmp_path / 'chatguard.db'}")


@contextlib.asynccontextmanager
async def _serving(settings: Settings, engine: RedactionEngine) -> AsyncIterator[Client]:
    """The service as ``chatguard serve`` builds it from ``settings``, on a real port."""
    guard = await ChatGuard.open(settings, engine=engine)
    try:
        client = await started(guard, settings)
        try:
            yield client
        finally:
            await client.close()
    finally:
        await guard.close()


@pytest.mark.usefixtures("keys")
async def test_the_messenger_cognigy_genesys_example_serves_a_message_and_a_hand_over(
    monkeypatch: pytest.MonkeyPatch, engine: RedactionEngine
) -> None:
    cognigy, graph, cloud, translator = (
        CognigyEndpoint(),
        GraphSendApi(),
        GenesysCloud(),
        TranslatorApi(),
    )
    cognigy.outputs = [
        {"text": "Ich verbinde Sie, <PERSON_1>.", "data": {"chatguard": {"handover": True}}}
    ]
    async with (
        TestServer(cognigy.app(), host="127.0.0.1") as cognigy_server,
        TestServer(graph.app(), host="127.0.0.1") as graph_server,
        TestServer(cloud.app(), host="127.0.0.1") as genesys_server,
        TestServer(translator.app(), host="127.0.0.1") as translator_server,
    ):
        genesys_url = str(genesys_server.make_url("/"))
        for variable, value in {
            "CHANNELS__MESSENGER__APP_SECRET": APP_SECRET,
            "CHANNELS__MESSENGER__VERIFY_TOKEN": "verify-token",
            "CHANNELS__MESSENGER__PAGE_TOKEN": "page-token",
            "CHANNELS__MESSENGER__GRAPH_BASE_URL": str(graph_server.make_url("/")),
            "VENDORS__COGNIGY__ENDPOINT_URL": str(cognigy_server.make_url("/endpoint-token")),
            "VENDORS__GENESYS__API_BASE_URL": genesys_url,
            "VENDORS__GENESYS__LOGIN_BASE_URL": genesys_url,
            "VENDORS__GENESYS__CLIENT_ID": CLIENT_ID,
            "VENDORS__GENESYS__INTEGRATION_ID": INTEGRATION,
            "VENDORS__GENESYS__CLIENT_SECRET": "client-secret",
            "VENDORS__GENESYS__WEBHOOK_SECRET": "webhook-secret",
            "VENDORS__TRANSLATOR__ENDPOINT": str(translator_server.make_url("/")),
            "VENDORS__TRANSLATOR__KEY": KEY,
        }.items():
            monkeypatch.setenv(f"CHATGUARD_{variable}", value)
        settings = load_settings(EXAMPLES / "messenger_cognigy_genesys.toml")
        assert settings.channels.messenger.bot == "cognigy"
        assert settings.vendors.translator.agent_language == "en"

        async with _serving(settings, engine) as client:
            message = {"mid": "m-1", "text": f"Guten Tag, ich heiße {NAME}."}
            assert await _messenger_webhook(client, message) == 200
            [sent, question] = await graph.wait_for(2)
            no = question["message"]["quick_replies"][1]  # the consent question comes first
            answer = {"mid": "m-2", "text": no["title"], "quick_reply": {"payload": no["payload"]}}
            assert await _messenger_webhook(client, answer) == 200
            await cloud.wait_for(1)

    assert sent["message"]["text"] == f"Ich verbinde Sie, {NAME}."
    assert no["payload"] == NO_PAYLOAD
    [turn] = cognigy.received
    assert turn["text"] == "Guten Tag, ich heiße <PERSON_1>." and PSID not in json.dumps(turn)
    [context] = cloud.texts
    assert f"Customer: [en] Good day, my name is {NAME}." in context
    assert NAME not in json.dumps(translator.received)


async def _messenger_webhook(client: Client, message: dict[str, Any]) -> int:
    """Post one signed Messenger webhook with ``message`` from ``PSID``; the status."""
    body = webhook({"sender": {"id": PSID}, "recipient": {"id": "page-1"}, "message": message})
    return await post_webhook(client, body, signed(body, APP_SECRET))


@pytest.mark.usefixtures("keys")
async def test_the_openai_example_serves_a_chat_completion(
    monkeypatch: pytest.MonkeyPatch, engine: RedactionEngine
) -> None:
    upstream = Upstream(reply="Hello <PERSON_1>.")
    async with TestServer(upstream.app(), host="127.0.0.1") as vendor:
        monkeypatch.setenv("CHATGUARD_VENDORS__OPENAI__BASE_URL", str(vendor.make_url("/v1")))
        monkeypatch.setenv("CHATGUARD_VENDORS__OPENAI__API_KEY", "sk-from-the-environment")
        monkeypatch.setenv("CHATGUARD_CHANNELS__OPENAI__CLIENT_KEY", "client-key-from-the-env")
        settings = load_settings(EXAMPLES / "openai_proxy.toml")
        assert settings.vendors.openai.breaker_failures == 5
        async with _serving(settings, engine) as client:
            response = await client.post(
                "/v1/chat/completions",
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"Hi, I am {NAME}"}],
                },
                headers={"Authorization": "Bearer client-key-from-the-env"},
            )
            assert response.status == 200
            answer = await response.json()
    assert answer["choices"][0]["message"]["content"] == f"Hello {NAME}."
    [received] = upstream.received
    assert received["messages"][0]["content"] == "Hi, I am <PERSON_1>"
    assert upstream.headers[0]["Authorization"] == "Bearer sk-from-the-environment"
