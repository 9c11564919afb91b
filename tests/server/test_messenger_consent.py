"""Consent on Messenger, end to end through the running proxy on a real port with
local servers playing Meta's Graph Send API, Cognigy's REST endpoint and Genesys
Cloud: the quality-sampling question before the hand-over (answered with its quick
reply, or timed out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.clock import ManualClock
from chatguard.consent import NO_PAYLOAD, YES_PAYLOAD, ConsentTexts, Purpose, TextKind
from chatguard.guard import ChatGuard
from chatguard.pseudonym import Keys
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import Settings
from tests.conftest import guard_over
from tests.server.meta_wire import (
    PSID,
    message_event,
    messenger_settings,
    post_webhook,
    signed,
    webhook,
)
from tests.server.serving import Client, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings
from tests.vendors.graph_fake import GraphSendApi

TOKEN = "admin-token-for-tests-0123456789abcdef"
NAME = "Anna Keller"
TEXTS = ConsentTexts.load()
CONSENT = {
    "sampling_rate": 1.0,
    "sampling_seed": 5,
    "answer_timeout": "2m",
    "deadline_check_interval": 0.05,
}
HELP = {"text": "Happy to help.", "data": {}}
HAND_OVER = {"text": "One moment, please.", "data": {"chatguard": {"handover": True}}}

Proxy = tuple[Client, GraphSendApi, CognigyEndpoint, GenesysCloud]


@pytest_asyncio.fixture(loop_scope="function")
async def guard(
    tmp_path: Path, engine: RedactionEngine, clock: ManualClock, keys: Keys
) -> AsyncIterator[ChatGuard]:
    guard = await guard_over(
        tmp_path / "chatguard.db", keys, engine, clock, Settings(consent=CONSENT)
    )
    yield guard
    await guard.close()


@pytest_asyncio.fixture(loop_scope="function")
async def proxy(guard: ChatGuard) -> AsyncIterator[Proxy]:
    """The service with Messenger in front of Cognigy and Genesys, all local fakes."""
    graph, cognigy, cloud = GraphSendApi(), CognigyEndpoint(outputs=[HELP]), GenesysCloud()
    async with (
        TestServer(graph.app(), host="127.0.0.1") as meta,
        TestServer(cognigy.app(), host="127.0.0.1") as bot,
        TestServer(cloud.app(), host="127.0.0.1") as agents,
    ):
        settings = messenger_settings(
            str(meta.make_url("/")).rstrip("/"),
            bot="cognigy",
            vendors={
                "cognigy": {"endpoint_url": str(bot.make_url("/endpoint-token")), "timeout": 2},
                "genesys": genesys_settings(str(agents.make_url("/"))),
            },
            consent=CONSENT,
            admin={"token": TOKEN},
        )
        client = await started(guard, settings)
        try:
            yield client, graph, cognigy, cloud
        finally:
            await client.close()


async def _send(client: Client, guard: ChatGuard, mid: str, text: str, **message: Any) -> None:
    body = webhook(message_event(guard, mid, text, **message))
    assert await post_webhook(client, body, signed(body)) == 200


async def _user(guard: ChatGuard) -> str:
    user = await guard.identities.find("messenger", PSID)
    assert user is not None
    return user


async def _asked(proxy: Proxy, guard: ChatGuard) -> dict[str, Any]:
    """A Messenger user who asked for a human; the question as the Send API got it."""
    client, graph, cognigy, cloud = proxy
    await _send(client, guard, "m.1", f"Hello, I am {NAME}")
    await graph.wait_for(1)
    cognigy.outputs = [HAND_OVER]
    await _send(client, guard, "m.2", "I need a human agent")
    *_, question = await graph.wait_for(3)
    cognigy.outputs = [HELP]
    assert cloud.inbound == []
    return question


async def test_the_question_goes_out_with_quick_replies_and_its_yes_payload_hands_over_allowed(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, graph, cognigy, cloud = proxy
    question = await _asked(proxy, guard)
    assert question["recipient"] == {"id": PSID}
    assert question["message"]["text"] == TEXTS.get(TextKind.QUALITY_SAMPLING_QUESTION, "en").text
    assert [r["payload"] for r in question["message"]["quick_replies"]] == [
        YES_PAYLOAD,
        NO_PAYLOAD,
    ]
    bot_turns = len(cognigy.received)

    yes = question["message"]["quick_replies"][0]
    await _send(client, guard, "m.3", yes["title"], quick_reply={"payload": yes["payload"]})
    [handover] = await cloud.wait_for(1)
    *_, granted, notice = await graph.wait_for(5)

    user = await _user(guard)
    assert handover["body"]["channel"]["from"]["id"] == user  # the user pseudonym, no PSID
    assert handover["body"]["channel"]["metadata"]["customAttributes"] == {
        "qualitySampling": "allowed"
    }
    assert f"Customer: Hello, I am {NAME}" in handover["body"]["text"]
    assert granted["message"]["text"] == TEXTS.get(TextKind.QUALITY_SAMPLING_GRANTED, "en").text
    assert "Your privacy reference is" in notice["message"]["text"]
    [conversation] = await guard.store.conversations_of(user)
    assert await guard.consents.allows(conversation.session, Purpose.QUALITY_SAMPLING)
    assert [s.session for s in await guard.store.samples()] == [conversation.session]
    assert len(cognigy.received) == bot_turns  # the answer reached no bot


async def test_on_messenger_no_answer_in_time_declines_hands_over_and_tells_the_user(
    proxy: Proxy, guard: ChatGuard, clock: ManualClock
) -> None:
    _, graph, _, cloud = proxy
    await _asked(proxy, guard)

    clock.advance(timedelta(minutes=2))
    [handover] = await cloud.wait_for(1)
    *_, told = await graph.wait_for(4)

    assert handover["body"]["channel"]["metadata"]["customAttributes"] == {
        "qualitySampling": "declined"
    }
    assert told["recipient"] == {"id": PSID}
    assert told["message"]["text"] == TEXTS.get(TextKind.QUALITY_SAMPLING_TIMED_OUT, "en").text
