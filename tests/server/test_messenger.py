"""The Messenger channel on a real port, with a local server playing the Graph Send API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.channels.messenger import CHANNEL, messaging_type, parse_turns
from chatguard.clock import ManualClock
from chatguard.guard import ChatGuard
from chatguard.store.records import Author, Direction
from tests.server.meta_wire import (
    PAGE_TOKEN,
    PSID,
    VERIFY_TOKEN,
    message_event,
    messenger_settings,
    post_webhook,
    signed,
    webhook,
)
from tests.server.serving import Client, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.graph_fake import GraphSendApi

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"
PERSONAL = (NAME, "Keller", EMAIL, PSID)


@pytest_asyncio.fixture(loop_scope="function")
async def graph() -> AsyncIterator[tuple[GraphSendApi, str]]:
    fake = GraphSendApi()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/")).rstrip("/")


@pytest_asyncio.fixture(loop_scope="function")
async def cognigy() -> AsyncIterator[tuple[CognigyEndpoint, str]]:
    fake = CognigyEndpoint()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/endpoint-token"))


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard, graph: tuple[GraphSendApi, str]) -> AsyncIterator[Client]:
    client = await started(guard, messenger_settings(graph[1]))
    yield client
    await client.close()


async def _transcript_sessions(guard: ChatGuard) -> set[str]:
    now = guard.clock.now()
    events = await guard.store.events_between(now - timedelta(days=2), now + timedelta(days=2))
    return {event.session for event in events}


async def _user_texts(guard: ChatGuard) -> list[str]:
    """What the user's messages were stored as, in the one conversation with a transcript."""
    [session] = await _transcript_sessions(guard)
    return [e.text for e in await guard.store.events(session) if e.author is Author.USER]


async def test_the_verification_handshake_answers_the_challenge_only_for_the_token(
    client: Client,
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158"}
    response = await client.get("/webhooks/messenger", params=query)
    assert response.status == 200 and await response.text() == "1158"
    assert response.content_type == "text/plain"
    wrong = await client.get("/webhooks/messenger", params={**query, "hub.verify_token": "x"})
    assert wrong.status == 403
    mode = await client.get("/webhooks/messenger", params={**query, "hub.mode": "unsubscribe"})
    assert mode.status == 403


async def test_an_unsigned_or_badly_signed_webhook_is_refused_and_nothing_stored_or_sent(
    client: Client, guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    body = webhook(message_event(guard, "m.1", f"I am {NAME}"))
    assert await post_webhook(client, body) == 403
    assert await post_webhook(client, body, signed(body, "another-secret")) == 403
    assert await post_webhook(client, body, {"X-Hub-Signature-256": "sha256=00"}) == 403
    assert await post_webhook(client, b"not json", signed(body)) == 403
    await asyncio.sleep(0.2)
    assert await _transcript_sessions(guard) == set()
    assert graph[0].received == []


async def test_a_signed_message_is_answered_through_the_send_api_restored_and_the_bot_saw_no_psid(
    guard: ChatGuard, graph: tuple[GraphSendApi, str], cognigy: tuple[CognigyEndpoint, str]
) -> None:
    bot, bot_url = cognigy
    bot.outputs = [{"text": "Hello <PERSON_1>, I will write to <EMAIL_ADDRESS_1>", "data": {}}]
    settings = messenger_settings(
        graph[1], bot="cognigy", vendors={"cognigy": {"endpoint_url": bot_url, "timeout": 2}}
    )
    client = await started(guard, settings)
    try:
        body = webhook(message_event(guard, "m.1", f"I am {NAME}, my e-mail is {EMAIL}"))
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await post_webhook(client, body, signed(body)) == 200
        assert loop.time() - began < 5
        [sent] = await graph[0].wait_for(1)
    finally:
        await client.close()
    assert sent == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": f"Hello {NAME}, I will write to {EMAIL}"},
    }
    assert graph[0].tokens == [PAGE_TOKEN]
    [turn] = bot.received
    wire = json.dumps(turn, ensure_ascii=False)
    assert not [value for value in PERSONAL if value in wire]
    assert turn["userId"].startswith("user-") and turn["sessionId"].startswith("guest-")


async def test_the_demo_bot_sees_placeholders_and_a_user_email_quick_reply_is_redacted(
    client: Client, guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    quick = {"quick_reply": {"payload": EMAIL}}
    body = webhook(message_event(guard, "m.q", EMAIL, **quick))
    assert await post_webhook(client, body, signed(body)) == 200
    [sent] = await graph[0].wait_for(1)
    assert sent["recipient"] == {"id": PSID}
    [session] = await _transcript_sessions(guard)
    stored = " ".join(event.text for event in await guard.store.events(session))
    assert EMAIL not in stored and "<EMAIL_ADDRESS_1>" in stored
    assert EMAIL in sent["message"]["text"]  # the demo bot named the placeholder; restored


async def test_the_same_mid_twice_is_processed_once_and_echoes_are_dropped(
    client: Client, guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    body = webhook(message_event(guard, "m.dup", "hello"))
    assert await post_webhook(client, body, signed(body)) == 200
    assert await post_webhook(client, body, signed(body)) == 200
    echo = webhook(message_event(guard, "m.echo", "from the page", is_echo=True))
    assert await post_webhook(client, echo, signed(echo)) == 200
    optin = webhook({"sender": {"id": PSID}, "optin": {"ref": "checkbox-plugin"}})
    assert await post_webhook(client, optin, signed(optin)) == 200
    await graph[0].wait_for(1)
    await asyncio.sleep(0.3)
    assert len(graph[0].received) == 1
    assert await _user_texts(guard) == ["hello"]


async def test_a_message_redelivered_after_a_restart_is_dropped(
    guard: ChatGuard,
    graph: tuple[GraphSendApi, str],
    another_guard: Callable[[], Awaitable[ChatGuard]],
    clock: ManualClock,
) -> None:
    body = webhook(message_event(guard, "m.r", f"I am {NAME}"))
    first = await started(guard, messenger_settings(graph[1]))
    try:
        assert await post_webhook(first, body, signed(body)) == 200
        await graph[0].wait_for(1)
    finally:
        await first.close()
        await guard.close()
    # Meta retries for hours: by now the user's session has gone idle (30 minutes).
    clock.advance(timedelta(minutes=45))

    restarted = await another_guard()
    second = await started(restarted, messenger_settings(graph[1]))
    try:
        assert await post_webhook(second, body, signed(body)) == 200
        await asyncio.sleep(0.3)
        stored = await _user_texts(restarted)
    finally:
        await second.close()
        await restarted.close()
    assert len(graph[0].received) == 1
    assert stored == ["I am <PERSON_1>"]


async def test_a_message_delivered_to_two_instances_on_one_store_is_answered_once(
    guard: ChatGuard,
    graph: tuple[GraphSendApi, str],
    another_guard: Callable[[], Awaitable[ChatGuard]],
    clock: ManualClock,
) -> None:
    other = await another_guard()
    instances = [
        await started(guard, messenger_settings(graph[1])),
        await started(other, messenger_settings(graph[1])),
    ]
    body = webhook(message_event(guard, "m.twice", "hello"))
    try:
        statuses = await asyncio.gather(
            *(post_webhook(instance, body, signed(body)) for instance in instances)
        )
        await graph[0].wait_for(1)
        await asyncio.sleep(0.3)
    finally:
        for instance in instances:
            await instance.close()
        await other.close()
    assert statuses == [200, 200]
    assert len(graph[0].received) == 1
    assert await _user_texts(guard) == ["hello"]


def test_a_redelivery_is_named_by_the_mid_or_for_a_referral_by_sender_and_time() -> None:
    at = 1_767_225_600_000
    referral = {"sender": {"id": PSID}, "timestamp": at, "referral": {"ref": "ad-7"}}
    message = {**referral, "message": {"mid": "m.1", "text": "hi"}}
    untimed = {"sender": {"id": PSID}, "referral": {"ref": "ad-7"}}
    body = {"object": "page", "entry": [{"messaging": [message, referral, untimed]}]}
    [with_mid, without_mid, without_time] = parse_turns(body)
    assert with_mid.message_id == "m.1"
    assert without_mid.message_id == f"{PSID}@2026-01-01T00:00:00+00:00"
    assert without_time.message_id is None


async def test_a_user_keeps_the_session_while_active_and_gets_a_new_one_after_the_idle_time(
    client: Client, guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    assert isinstance(guard.clock, ManualClock)
    for mid in ("m.a", "m.b"):
        body = webhook(message_event(guard, mid, "hello"))
        assert await post_webhook(client, body, signed(body)) == 200
        guard.clock.advance(timedelta(minutes=10))
    await graph[0].wait_for(2)
    assert len(await _transcript_sessions(guard)) == 1
    guard.clock.advance(timedelta(minutes=31))
    body = webhook(message_event(guard, "m.c", "hello"))
    assert await post_webhook(client, body, signed(body)) == 200
    await graph[0].wait_for(3)
    user = await guard.identities.find(CHANNEL, PSID)
    assert user is not None
    conversations = await guard.store.conversations_of(user)
    assert len(conversations) == 2 and {c.user for c in conversations} == {user}


async def test_a_turn_stored_but_never_answered_is_answered_at_start_up(
    guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    conversation = await guard.start_conversation(CHANNEL, user_id=PSID)
    await guard.user_message(conversation.session, f"I am {NAME}")
    answered = await guard.start_conversation(CHANNEL, user_id="another-psid")
    await guard.user_message(answered.session, "hello")
    await guard.reply(answered.session, "Hi")
    assert isinstance(guard.clock, ManualClock)
    guard.clock.advance(timedelta(seconds=2))
    client = await started(guard, messenger_settings(graph[1]))
    try:
        [sent] = await graph[0].wait_for(1)
        await asyncio.sleep(0.2)
    finally:
        await client.close()
    assert len(graph[0].received) == 1
    assert sent["recipient"] == {"id": PSID} and NAME in sent["message"]["text"]
    [*_, last] = await guard.store.events(conversation.session)
    assert last.direction is Direction.OUTBOUND


def test_an_agent_reply_after_24_hours_carries_the_human_agent_tag() -> None:
    now = datetime(2025, 5, 1, 12, tzinfo=UTC)
    tagged = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    assert messaging_type(Author.AGENT, now - timedelta(hours=23), now) == {
        "messaging_type": "RESPONSE"
    }
    assert messaging_type(Author.AGENT, now - timedelta(hours=25), now) == tagged
    assert messaging_type(Author.AGENT, None, now) == tagged
    assert messaging_type(Author.BOT, now - timedelta(hours=25), now) == {
        "messaging_type": "RESPONSE"
    }


async def test_an_agents_reply_from_genesys_reaches_the_messenger_user_restored(
    guard: ChatGuard, graph: tuple[GraphSendApi, str]
) -> None:
    secret = "genesys-outbound-secret"
    settings = messenger_settings(graph[1], vendors={"genesys": {"webhook_secret": secret}})
    client = await started(guard, settings)
    try:
        body = webhook(message_event(guard, "m.1", f"I am {NAME}"))
        assert await post_webhook(client, body, signed(body)) == 200
        await graph[0].wait_for(1)  # the bot's answer
        user = await guard.identities.find("messenger", PSID)
        assert user is not None
        [conversation] = await guard.store.conversations_of(user)
        agent = {
            "id": "g.1",
            "channel": {"platform": "Open", "type": "Private", "to": {"id": conversation.session}},
            "type": "Text",
            "text": "Hello <PERSON_1>, this is Tom from the service centre.",
            "direction": "Outbound",
        }
        raw = json.dumps(agent).encode()
        digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
        response = await client.post(
            "/webhooks/genesys",
            data=raw,
            headers={"X-Hub-Signature-256": f"sha256={digest.decode()}"},
        )
        assert response.status == 200
        sent = await graph[0].wait_for(2)
    finally:
        await client.close()
    assert sent[1]["recipient"] == {"id": PSID}
    assert sent[1]["message"]["text"] == f"Hello {NAME}, this is Tom from the service centre."
    stored = [e.text for e in await guard.store.events(conversation.session)]
    # Stored once (by the webhook, not again by the delivery), redacted: the agent's
    # own name is personal data too.
    assert stored.count("Hello <PERSON_1>, this is <PERSON_2> from the service centre.") == 1
