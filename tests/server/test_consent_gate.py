"""Consent in the chat, end to end through the running proxy on a real port: the web
chat and Messenger in front, local servers playing Meta's Graph Send API, Cognigy's
REST endpoint and Genesys Cloud's login and Open Messaging API, and what each of them
received. The quality-sampling question before the hand-over (yes, no, anything
else, timeout, reuse), withdrawal during and after the session, and push
notifications (Meta's notification-messages opt-in, the typed word "Withdraw" and its
confirmation, STOP and RESUME)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.clock import ManualClock
from chatguard.consent import (
    NO_PAYLOAD,
    YES_PAYLOAD,
    ConsentTexts,
    Decision,
    Purpose,
    Source,
    TextKind,
)
from chatguard.guard import ChatGuard
from chatguard.handover import REFERENCE_NOT_KEPT
from chatguard.settings import Settings
from chatguard.store.records import ConsentRecord
from tests.server.meta_wire import (
    PSID,
    message_event,
    messenger_settings,
    post_webhook,
    signed,
    webhook,
)
from tests.server.serving import Client, new_web_chat, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings
from tests.vendors.graph_fake import GraphSendApi

TOKEN = "admin-token-for-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NAME = "Anna Keller"
CARD = "4111 1111 1111 1111"
TEXTS = ConsentTexts.load()
QUESTION = TEXTS.get(TextKind.QUALITY_SAMPLING_QUESTION, "en").text
YES, NO = TEXTS.get(TextKind.ANSWER_YES, "en").text, TEXTS.get(TextKind.ANSWER_NO, "en").text
REFERENCE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
CONSENT = {
    "sampling_rate": 1.0,
    "sampling_seed": 11,
    "answer_timeout": "2m",
    "deadline_check_interval": 0.05,
}
HELP = {"text": "Happy to help.", "data": {}}
HAND_OVER = {
    "text": "One moment, I will get a colleague.",
    "data": {"chatguard": {"handover": True}},
}

Proxy = tuple[Client, GraphSendApi, CognigyEndpoint, GenesysCloud]


@pytest.fixture
def guard_settings() -> Settings:
    """The ``guard`` fixture's pipeline with ``CONSENT``."""
    return Settings(consent=CONSENT)


@pytest_asyncio.fixture(loop_scope="function")
async def proxy(guard: ChatGuard) -> AsyncIterator[Proxy]:
    """The service with the web chat and Messenger in front of Cognigy and Genesys,
    Meta's Graph API, Cognigy and Genesys all local fakes."""
    graph, cognigy, cloud = GraphSendApi(), CognigyEndpoint(outputs=[HELP]), GenesysCloud()
    async with (
        TestServer(graph.app(), host="127.0.0.1") as meta,
        TestServer(cognigy.app(), host="127.0.0.1") as bot,
        TestServer(cloud.app(), host="127.0.0.1") as agents,
    ):
        settings = messenger_settings(
            str(meta.make_url("/")).rstrip("/"),
            bot="cognigy",
            web={"bot": "cognigy"},
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


async def _say(client: Client, session: str, text: str, **data: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"session": session, "text": text, **({"data": data} if data else {})}
    response = await client.post("/chat/messages", json=body)
    assert response.status == 200, await response.text()
    outputs: list[dict[str, Any]] = (await response.json())["outputs"]
    return outputs


async def _asked(proxy: Proxy) -> tuple[str, str]:
    """A web session that told the bot a name and a card, then asked for a human; the
    question is asked and nothing has reached Genesys. Its token and pseudonym."""
    client, _, cognigy, cloud = proxy
    token, session = await new_web_chat(client)
    await _say(client, token, f"Hi, I am {NAME}, my card is {CARD}")
    cognigy.outputs = [HAND_OVER]
    outputs = await _say(client, token, "I want to talk to a human")
    cognigy.outputs = [HELP]
    assert [(o["handover"], o["consent"]) for o in outputs] == [(True, False), (False, True)]
    assert outputs[1]["text"] == QUESTION and outputs[1]["quick_replies"] == [YES, NO]
    assert cloud.inbound == []  # nothing reached the agents before the answer
    return token, session


def _flag(message: dict[str, Any]) -> str:
    attributes: dict[str, str] = message["body"]["channel"]["metadata"]["customAttributes"]
    return attributes["qualitySampling"]


async def _records(guard: ChatGuard, session: str) -> list[ConsentRecord]:
    return [r for r in await guard.consents.history(session) if r.purpose == "quality_sampling"]


async def test_yes_is_recorded_the_reference_shown_once_and_the_agents_told_allowed(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, cognigy, cloud = proxy
    token, session = await _asked(proxy)
    bot_turns = len(cognigy.received)

    granted, notice = await _say(client, token, YES)

    assert granted["consent"] and notice["consent"]
    match = REFERENCE.search(notice["text"])
    assert match is not None and "/privacy" in notice["text"]
    [record] = await _records(guard, session)
    assert (record.decision, record.source, record.text_id) == (
        "granted",
        "chat",
        "quality_sampling_question",
    )
    assert [s.session for s in await guard.store.samples()] == [session]  # rate 1, seeded
    assert len(cognigy.received) == bot_turns  # the answer never reached the bot
    [handover] = cloud.inbound
    assert _flag(handover) == "allowed"
    assert handover["body"]["channel"]["from"]["id"] == session
    assert YES not in handover["body"]["text"] and CARD not in json.dumps(handover)

    shown = await client.get("/chat/messages", params={"session": token})
    transcript = json.dumps((await shown.json())["events"])
    assert match.group(0) not in transcript and REFERENCE_NOT_KEPT in transcript
    assert YES in transcript  # the answer is in the transcript, not forwarded

    assert await _say(client, token, "Is my seat confirmed?") == []
    assert cloud.texts[-1] == "Is my seat confirmed?" and _flag(cloud.inbound[-1]) == "allowed"


async def test_no_is_recorded_and_the_agents_are_told_declined(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, cognigy, cloud = proxy
    token, session = await _asked(proxy)
    bot_turns = len(cognigy.received)

    [declined] = await _say(client, token, NO)

    assert declined["text"] == TEXTS.get(TextKind.QUALITY_SAMPLING_DECLINED, "en").text
    [record] = await _records(guard, session)
    assert record.decision == "declined"
    assert await guard.store.samples() == []
    [handover] = cloud.inbound
    assert _flag(handover) == "declined" and NO not in handover["body"]["text"]
    assert len(cognigy.received) == bot_turns


async def test_no_answer_in_time_counts_as_no_hands_over_and_tells_the_user(
    proxy: Proxy, guard: ChatGuard, clock: ManualClock
) -> None:
    client, _, _, cloud = proxy
    token, session = await _asked(proxy)
    await asyncio.sleep(0.2)  # several deadline checks: nothing is due yet
    assert cloud.inbound == [] and await _records(guard, session) == []

    clock.advance(timedelta(minutes=2))

    await cloud.wait_for(1)  # the deadline task hands over
    [record] = await _records(guard, session)
    timed_out = TEXTS.get(TextKind.QUALITY_SAMPLING_TIMED_OUT, "en")
    assert (record.decision, record.text_id, record.at) == ("declined", timed_out.id, clock.now())
    assert _flag(cloud.inbound[0]) == "declined"
    shown = await client.get("/chat/messages", params={"session": token})
    texts = [event["text"] for event in (await shown.json())["events"]]
    assert timed_out.text in texts  # what the widget polls tells the user


async def test_a_second_hand_over_in_the_conversation_reuses_the_answer(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, cognigy, cloud = proxy
    token, session = await _asked(proxy)
    cloud.status = 503
    outputs = await _say(client, token, YES)
    assert "not available" in outputs[-1]["text"]  # the hand-over failed: still with the bot

    cloud.status = 202
    cognigy.outputs = [HAND_OVER]
    again = await _say(client, token, "A human, please")

    assert [o["consent"] for o in again] == [False]  # not asked again
    [record] = await _records(guard, session)
    assert record.decision == "granted"
    assert [_flag(m) for m in cloud.inbound if m["accepted"]] == ["allowed"]


async def test_a_withdrawal_during_the_session_is_confirmed_and_deletes_the_sample(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, cognigy, cloud = proxy
    token, session = await _asked(proxy)
    await _say(client, token, YES)
    assert len(await guard.store.samples()) == 1
    bot_turns, agent_messages = len(cognigy.received), len(cloud.inbound)

    [question] = await _say(client, token, "I withdraw my consent")
    assert question["consent"] and question["quick_replies"] == [YES, NO]
    assert await guard.store.samples() != []  # not before the confirmation
    [done] = await _say(client, token, YES, quick_reply={"payload": "CHATGUARD_CONSENT_YES"})

    assert done["text"] == TEXTS.get(TextKind.WITHDRAWAL_DONE, "en").text
    assert await guard.store.samples() == []
    assert await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    assert (len(cognigy.received), len(cloud.inbound)) == (bot_turns, agent_messages)


async def test_a_message_that_mentions_withdrawing_reaches_the_bot_and_withdraws_nothing(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, cognigy, _ = proxy
    token, session = await new_web_chat(client)
    await guard.consents.record(
        session,
        Purpose.QUALITY_SAMPLING,
        Decision.GRANTED,
        Source.CHAT,
        None,
        "en",
    )

    outputs = await _say(client, token, "How do I withdraw my consent for the newsletter?")

    assert [o["text"] for o in outputs] == ["Happy to help."]
    assert cognigy.received[-1]["text"] == "How do I withdraw my consent for the newsletter?"
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


async def test_a_withdrawal_after_the_session_through_the_admin_api_deletes_the_sample(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, _, _ = proxy
    token, session = await _asked(proxy)
    _, notice = await _say(client, token, YES)
    match = REFERENCE.search(notice["text"])
    assert match is not None and len(await guard.store.samples()) == 1

    body = {"purpose": "quality_sampling", "reference": match.group(0).lower()}
    response = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)

    assert response.status == 200
    answer = await response.json()
    assert (answer["withdrawn"], answer["samples_deleted"]) == ([session], 1)
    assert await guard.store.samples() == []
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


# --- Messenger -------------------------------------------------------------------------


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


async def _asked_on_messenger(proxy: Proxy, guard: ChatGuard) -> dict[str, Any]:
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
    question = await _asked_on_messenger(proxy, guard)
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
    await _asked_on_messenger(proxy, guard)

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
