"""The quality-sampling consent at the live-chat hand-over, end to end through the
running proxy on a real port: the web chat in front, local servers playing
Cognigy's REST endpoint and Genesys Cloud's login and Open Messaging API behind,
and what each of them received."""

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
from chatguard.consent import ConsentTexts, Decision, Purpose, Source, TextKind
from chatguard.guard import ChatGuard
from chatguard.handover import REFERENCE_NOT_KEPT
from chatguard.settings import Settings
from chatguard.store.records import ConsentRecord
from tests.server.serving import Client, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings

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

Proxy = tuple[Client, CognigyEndpoint, GenesysCloud]


@pytest.fixture
def guard_settings() -> Settings:
    """The ``guard`` fixture's pipeline with ``CONSENT``."""
    return Settings(consent=CONSENT)


@pytest_asyncio.fixture(loop_scope="function")
async def proxy(guard: ChatGuard) -> AsyncIterator[Proxy]:
    """The service with the web chat on Cognigy and Genesys, both local fakes."""
    cognigy, cloud = CognigyEndpoint(outputs=[HELP]), GenesysCloud()
    async with (
        TestServer(cognigy.app(), host="127.0.0.1") as bot,
        TestServer(cloud.app(), host="127.0.0.1") as agents,
    ):
        settings = Settings(
            channels={"web": {"bot": "cognigy"}},
            vendors={
                "cognigy": {"endpoint_url": str(bot.make_url("/endpoint-token")), "timeout": 2},
                "genesys": genesys_settings(str(agents.make_url("/"))),
            },
            consent=CONSENT,
            admin={"token": TOKEN},
        )
        client = await started(guard, settings)
        try:
            yield client, cognigy, cloud
        finally:
            await client.close()


async def _say(client: Client, session: str, text: str, **data: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"session": session, "text": text, **({"data": data} if data else {})}
    response = await client.post("/chat/messages", json=body)
    assert response.status == 200, await response.text()
    outputs: list[dict[str, Any]] = (await response.json())["outputs"]
    return outputs


async def _asked(proxy: Proxy) -> str:
    """A web session that told the bot a name and a card, then asked for a human; the
    question is asked and nothing has reached Genesys."""
    client, cognigy, cloud = proxy
    session: str = (await (await client.post("/chat/sessions", json={})).json())["session"]
    await _say(client, session, f"Hi, I am {NAME}, my card is {CARD}")
    cognigy.outputs = [HAND_OVER]
    outputs = await _say(client, session, "I want to talk to a human")
    cognigy.outputs = [HELP]
    assert [(o["handover"], o["consent"]) for o in outputs] == [(True, False), (False, True)]
    assert outputs[1]["text"] == QUESTION and outputs[1]["quick_replies"] == [YES, NO]
    assert cloud.inbound == []  # nothing reached the agents before the answer
    return session


def _flag(message: dict[str, Any]) -> str:
    attributes: dict[str, str] = message["body"]["channel"]["metadata"]["customAttributes"]
    return attributes["qualitySampling"]


async def _records(guard: ChatGuard, session: str) -> list[ConsentRecord]:
    return [r for r in await guard.consents.history(session) if r.purpose == "quality_sampling"]


async def test_yes_is_recorded_the_reference_shown_once_and_the_agents_told_allowed(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, cognigy, cloud = proxy
    session = await _asked(proxy)
    bot_turns = len(cognigy.received)

    granted, notice = await _say(client, session, YES)

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

    shown = await client.get("/chat/messages", params={"session": session})
    transcript = json.dumps((await shown.json())["events"])
    assert match.group(0) not in transcript and REFERENCE_NOT_KEPT in transcript
    assert YES in transcript  # the answer is in the transcript, not forwarded

    assert await _say(client, session, "Is my seat confirmed?") == []
    assert cloud.texts[-1] == "Is my seat confirmed?" and _flag(cloud.inbound[-1]) == "allowed"


async def test_no_is_recorded_and_the_agents_are_told_declined(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, cognigy, cloud = proxy
    session = await _asked(proxy)
    bot_turns = len(cognigy.received)

    [declined] = await _say(client, session, NO)

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
    client, _, cloud = proxy
    session = await _asked(proxy)
    await asyncio.sleep(0.2)  # several deadline checks: nothing is due yet
    assert cloud.inbound == [] and await _records(guard, session) == []

    clock.advance(timedelta(minutes=2))

    await cloud.wait_for(1)  # the deadline task hands over
    [record] = await _records(guard, session)
    timed_out = TEXTS.get(TextKind.QUALITY_SAMPLING_TIMED_OUT, "en")
    assert (record.decision, record.text_id, record.at) == ("declined", timed_out.id, clock.now())
    assert _flag(cloud.inbound[0]) == "declined"
    shown = await client.get("/chat/messages", params={"session": session})
    texts = [event["text"] for event in (await shown.json())["events"]]
    assert timed_out.text in texts  # what the widget polls tells the user


async def test_a_second_hand_over_in_the_conversation_reuses_the_answer(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, cognigy, cloud = proxy
    session = await _asked(proxy)
    cloud.status = 503
    outputs = await _say(client, session, YES)
    assert "not available" in outputs[-1]["text"]  # the hand-over failed: still with the bot

    cloud.status = 202
    cognigy.outputs = [HAND_OVER]
    again = await _say(client, session, "A human, please")

    assert [o["consent"] for o in again] == [False]  # not asked again
    [record] = await _records(guard, session)
    assert record.decision == "granted"
    assert [_flag(m) for m in cloud.inbound if m["accepted"]] == ["allowed"]


async def test_a_withdrawal_during_the_session_is_confirmed_and_deletes_the_sample(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, cognigy, cloud = proxy
    session = await _asked(proxy)
    await _say(client, session, YES)
    assert len(await guard.store.samples()) == 1
    bot_turns, agent_messages = len(cognigy.received), len(cloud.inbound)

    [question] = await _say(client, session, "I withdraw my consent")
    assert question["consent"] and question["quick_replies"] == [YES, NO]
    assert await guard.store.samples() != []  # not before the confirmation
    [done] = await _say(client, session, YES, quick_reply={"payload": "CHATGUARD_CONSENT_YES"})

    assert done["text"] == TEXTS.get(TextKind.WITHDRAWAL_DONE, "en").text
    assert await guard.store.samples() == []
    assert await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    assert (len(cognigy.received), len(cloud.inbound)) == (bot_turns, agent_messages)


async def test_a_message_that_mentions_withdrawing_reaches_the_bot_and_withdraws_nothing(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, cognigy, _ = proxy
    session: str = (await (await client.post("/chat/sessions", json={})).json())["session"]
    await guard.consents.record(
        session,
        Purpose.QUALITY_SAMPLING,
        Decision.GRANTED,
        Source.CHAT,
        None,
        "en",
    )

    outputs = await _say(client, session, "How do I withdraw my consent for the newsletter?")

    assert [o["text"] for o in outputs] == ["Happy to help."]
    assert cognigy.received[-1]["text"] == "How do I withdraw my consent for the newsletter?"
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


async def test_a_withdrawal_after_the_session_through_the_admin_api_deletes_the_sample(
    proxy: Proxy, guard: ChatGuard
) -> None:
    client, _, _ = proxy
    session = await _asked(proxy)
    _, notice = await _say(client, session, YES)
    match = REFERENCE.search(notice["text"])
    assert match is not None and len(await guard.store.samples()) == 1

    body = {"purpose": "quality_sampling", "reference": match.group(0).lower()}
    response = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)

    assert response.status == 200
    answer = await response.json()
    assert (answer["withdrawn"], answer["samples_deleted"]) == ([session], 1)
    assert await guard.store.samples() == []
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
