"""Consent on Messenger, end to end through the running proxy on a real port with
local servers playing Meta's Graph Send API, Cognigy's REST endpoint and Genesys
Cloud: the quality-sampling question before the hand-over (answered with its quick
reply, or timed out), and push notifications (Meta's notification-messages opt-in,
the typed word "Withdraw" and its confirmation, Meta's STOP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.clock import ManualClock
from chatguard.consent import NO_PAYLOAD, YES_PAYLOAD, ConsentTexts, Purpose, TextKind
from chatguard.guard import ChatGuard
from chatguard.settings import Settings
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


@pytest.fixture
def guard_settings() -> Settings:
    """The ``guard`` fixture's pipeline with ``CONSENT``."""
    return Settings(consent=CONSENT)


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


def _optin(guard: ChatGuard, status: str | None = None) -> bytes:
    """Meta's ``messaging_optins`` event of notification messages (a stop with
    ``status``), as the webhook delivers it."""
    optin: dict[str, Any] = {
        "type": "notification_messages",
        "payload": "flight-updates",
        "title": "Updates about your booking",
        "notification_messages_token": "token-of-the-page-to-message-the-user",
        "notification_messages_frequency": "DAILY",
        "notification_messages_timezone": "Europe/Lisbon",
        "token_expiry_timestamp": 1_800_000_000_000,
        "user_token_status": "NOT_REFRESHED",
    }
    if status is not None:
        optin["notification_messages_status"] = status
    return webhook(
        {
            "sender": {"id": PSID},
            "recipient": {"id": "page-1"},
            "timestamp": int(guard.clock.now().timestamp() * 1000),
            "optin": optin,
        }
    )


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


async def test_push_opt_in_then_typed_withdraw_and_confirmation_refuse_notifications(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, graph, cognigy, cloud = proxy
    optin = _optin(guard)
    assert await post_webhook(client, optin, signed(optin)) == 200
    [confirmed] = await graph.wait_for(1)
    assert "type “Withdraw”" in confirmed["message"]["text"]
    assert await guard.may_notify("messenger", PSID)
    allowed = await client.post(
        "/admin/notifications/allowed",
        json={"channel": "messenger", "user_id": PSID},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (await allowed.json()) == {"allowed": True}
    [record] = await guard.consents.history(await _user(guard))
    assert (record.decision, record.source) == ("granted", "messenger_optin")

    await _send(client, guard, "m.w", "Withdraw")
    [_, question] = await graph.wait_for(2)
    assert question["message"]["text"] == TEXTS.withdrawal_question("push_notifications", "en").text
    assert await guard.may_notify("messenger", PSID)  # only after the confirmation
    yes = question["message"]["quick_replies"][0]
    await _send(client, guard, "m.y", yes["title"], quick_reply={"payload": yes["payload"]})
    [*_, done] = await graph.wait_for(3)

    assert done["message"]["text"] == TEXTS.get(TextKind.WITHDRAWAL_DONE, "en").text
    assert not await guard.may_notify("messenger", PSID)
    refused = await client.post(
        "/admin/notifications/allowed",
        json={"channel": "messenger", "user_id": PSID},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (await refused.json()) == {"allowed": False}
    assert cognigy.received == [] and cloud.inbound == []  # nothing of it was forwarded

    # Meta redelivers the opt-in it already got a 200 for: it grants nothing again.
    assert await post_webhook(client, optin, signed(optin)) == 200
    await asyncio.sleep(0.2)
    assert not await guard.may_notify("messenger", PSID)
    assert len(graph.received) == 3


async def test_stop_notifications_withdraws_and_resume_grants_again(
    proxy: Proxy, guard: ChatGuard, clock: ManualClock
) -> None:
    client, graph, _, _ = proxy
    for status, allowed in (
        (None, True),
        ("STOP NOTIFICATIONS", False),
        ("RESUME NOTIFICATIONS", True),
    ):
        clock.advance(timedelta(seconds=1))
        body = _optin(guard, status)
        assert await post_webhook(client, body, signed(body)) == 200
        assert await guard.may_notify("messenger", PSID) is allowed
    decisions = [r.decision for r in await guard.consents.history(await _user(guard))]
    assert decisions == ["granted", "withdrawn", "granted"]
    await graph.wait_for(2)  # each grant was confirmed, the stop was not
    await asyncio.sleep(0.1)
    assert len(graph.received) == 2
