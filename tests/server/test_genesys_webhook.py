"""Live agents on a real port: the hand-over from the demo bot to a local Genesys, and
the agents' replies through the signed webhook back to the web chat user."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from chatguard.channels.genesys import agent_relay
from chatguard.clock import ManualClock
from chatguard.guard import ChatGuard
from chatguard.handover import HANDED_OVER
from chatguard.model import RestoredText
from chatguard.server.app import make_app
from chatguard.settings import Settings
from chatguard.store.records import Author, Conversation, EventKind
from tests.server.serving import Client, new_web_chat, started
from tests.vendors.genesys_fake import CLIENT_ID, CLIENT_SECRET, INTEGRATION, GenesysCloud

SECRET = "hook-secret"
NAME = "Anna Keller"
CARD = "4111 1111 1111 1111"


@pytest_asyncio.fixture(loop_scope="function")
async def cloud() -> AsyncIterator[tuple[GenesysCloud, str]]:
    fake = GenesysCloud()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/"))


Delivered = list[tuple[Conversation, RestoredText]]


@pytest_asyncio.fixture(loop_scope="function")
async def served(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str]
) -> AsyncIterator[tuple[Client, GenesysCloud, Delivered]]:
    fake, url = cloud
    settings = Settings(
        vendors={
            "genesys": {
                "api_base_url": url,
                "login_base_url": url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "integration_id": INTEGRATION,
                "webhook_secret": SECRET,
                "timeout": 2,
            }
        }
    )
    app = make_app(settings, guard=guard)
    delivered: Delivered = []

    async def to_messenger(conversation: Conversation, text: RestoredText) -> None:
        delivered.append((conversation, text))

    agent_relay(app).register("messenger", to_messenger)
    client: Client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client, fake, delivered
    await client.close()


def agent_message(message_id: str, to: str, text: str) -> dict[str, Any]:
    """An outbound Open Messaging webhook payload as Genesys sends an agent's message."""
    return {
        "id": message_id,
        "channel": {
            "id": INTEGRATION,
            "platform": "Open",
            "type": "Private",
            "to": {"id": to},
            "from": {"nickname": "Agent", "id": INTEGRATION, "idType": "Opaque"},
            "time": "2026-01-01T10:00:00.000Z",
            "messageId": message_id,
        },
        "type": "Text",
        "text": text,
        "originatingEntity": "Human",
        "direction": "Outbound",
    }


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return raw, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def _say(client: Client, session: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/chat/messages", json={"session": session, "text": text})
    assert response.status == 200
    outputs: list[dict[str, Any]] = (await response.json())["outputs"]
    return outputs


async def _events(client: Client, session: str, after: int = 0) -> list[dict[str, Any]]:
    response = await client.get("/chat/messages", params={"session": session, "after": after})
    assert response.status == 200
    events: list[dict[str, Any]] = (await response.json())["events"]
    return events


async def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, _, _ = served
    _, session = await new_web_chat(client)
    raw, headers = signed(agent_message("m-1", session, f"Hello {NAME}"), secret="wrong")
    assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 403
    unsigned = {"Content-Type": "application/json"}
    assert (await client.post("/webhooks/genesys", data=raw, headers=unsigned)).status == 403
    raw, headers = signed(agent_message("m-1", session, "Hello"))
    tampered = raw.replace(b"Hello", b"Hallo")
    assert (await client.post("/webhooks/genesys", data=tampered, headers=headers)).status == 403
    assert await guard.store.events(session) == []


async def test_agent_message_is_stored_redacted_and_the_web_user_sees_it_restored(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, _, _ = served
    token, session = await new_web_chat(client)
    raw, headers = signed(agent_message("m-1", session, f"Hello {NAME}, how can I help?"))
    response = await client.post("/webhooks/genesys", data=raw, headers=headers)
    assert response.status == 200
    [stored] = await guard.store.events(session)
    assert stored.author is Author.AGENT
    assert NAME not in stored.text and "Keller" not in stored.text
    [shown] = await _events(client, token)
    assert shown["author"] == "agent"
    assert shown["text"] == f"Hello {NAME}, how can I help?"


async def test_a_redelivered_message_id_is_processed_once(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, _, _ = served
    _, session = await new_web_chat(client)
    raw, headers = signed(agent_message("m-1", session, "One moment please."))
    for _ in range(3):
        assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 200
    assert len(await guard.store.events(session)) == 1


async def test_a_message_redelivered_after_a_restart_is_dropped(
    guard: ChatGuard, another_guard: Callable[[], Awaitable[ChatGuard]], clock: ManualClock
) -> None:
    settings = Settings(vendors={"genesys": {"webhook_secret": SECRET}})
    session = (await guard.start_conversation("web")).session
    raw, headers = signed(agent_message("m-1", session, f"Hello {NAME}"))
    first = await started(guard, settings)
    try:
        response = await first.post("/webhooks/genesys", data=raw, headers=headers)
        assert (await response.json())["status"] == "delivered"
    finally:
        await first.close()
        await guard.close()
    clock.advance(timedelta(minutes=10))

    restarted = await another_guard()
    second = await started(restarted, settings)
    try:
        response = await second.post("/webhooks/genesys", data=raw, headers=headers)
        assert response.status == 200 and (await response.json())["status"] == "duplicate"
        [stored] = await restarted.store.events(session)
    finally:
        await second.close()
        await restarted.close()
    assert stored.author is Author.AGENT and NAME not in stored.text


async def test_a_message_to_a_user_pseudonym_reaches_its_channel_delivery(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, _, delivered = served
    first = await guard.start_conversation("messenger", user_id="psid-1")
    assert isinstance(guard.clock, ManualClock)
    guard.clock.advance(timedelta(minutes=5))
    latest = await guard.start_conversation("messenger", user_id="psid-1")
    assert first.user is not None and first.user == latest.user
    raw, headers = signed(agent_message("m-7", first.user, f"Hello {NAME}"))
    assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 200
    [(conversation, text)] = delivered
    assert conversation.session == latest.session
    assert text == f"Hello {NAME}"
    assert await guard.store.events(first.session) == []


async def test_a_channel_without_delivery_keeps_the_message_stored(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, _, _ = served
    conversation = await guard.start_conversation("openai")
    raw, headers = signed(agent_message("m-9", conversation.session, "Noted."))
    response = await client.post("/webhooks/genesys", data=raw, headers=headers)
    assert response.status == 200 and (await response.json())["status"] == "stored"
    assert len(await guard.store.events(conversation.session)) == 1


async def test_receipts_and_unknown_recipients_are_ignored(
    served: tuple[Client, GenesysCloud, Delivered],
) -> None:
    client, _, _ = served
    receipt = agent_message("m-2", "guest-nobody", "")
    receipt.update(type="Receipt", status="Delivered")
    for body in (receipt, agent_message("m-3", "guest-nobody", "Hi")):
        raw, headers = signed(body)
        response = await client.post("/webhooks/genesys", data=raw, headers=headers)
        assert response.status == 200 and (await response.json())["status"] == "ignored"


async def test_web_user_asking_for_a_human_is_handed_over_and_then_talks_to_agents(
    served: tuple[Client, GenesysCloud, Delivered], guard: ChatGuard
) -> None:
    client, fake, _ = served
    token, session = await new_web_chat(client)
    await _say(client, token, f"My name is {NAME} and my card is {CARD}.")
    assert fake.inbound == []
    outputs = await _say(client, token, "I want to talk to a human")
    assert any(output["handover"] for output in outputs)
    assert fake.inbound == []  # the quality-sampling question comes first
    await _say(client, token, "No, thanks")
    [context] = fake.texts
    assert f"Customer: My name is {NAME} and my card is <CREDIT_CARD_1>." in context
    assert "Customer: I want to talk to a human" in context
    assert CARD not in json.dumps(fake.inbound)
    assert fake.inbound[0]["body"]["channel"]["from"]["id"] == session

    bot_events = [e for e in await guard.store.events(session) if e.author is Author.BOT]
    assert await _say(client, token, f"Can you call me, {NAME}? Card {CARD}") == []
    assert fake.texts[1] == f"Can you call me, {NAME}? Card <CREDIT_CARD_1>"
    events = await guard.store.events(session)
    assert [e for e in events if e.author is Author.BOT] == bot_events  # the bot was not asked
    [mark] = [e for e in events if e.author is Author.SYSTEM and e.kind is EventKind.MESSAGE]
    assert mark.text == HANDED_OVER  # in the transcript, for the person's export
    assert (await guard.conversation(session)).handed_over_at == mark.at  # what turns read

    seen = len(await _events(client, token))
    raw, headers = signed(agent_message("m-1", session, f"Of course, {NAME}."))
    assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 200
    [reply] = await _events(client, token, after=seen)
    assert (reply["author"], reply["text"]) == ("agent", f"Of course, {NAME}.")
    assert len(fake.tokens) == 1


async def test_without_a_webhook_secret_every_call_is_refused(guard: ChatGuard) -> None:
    client = await started(guard, Settings())
    try:
        raw, headers = signed(agent_message("m-1", "guest-x", "Hi"))
        assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 403
    finally:
        await client.close()
