"""The Genesys Open Messaging client against a local login and API with Genesys's shapes."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.errors import VendorError, VendorTimeoutError, VendorUnavailableError
from chatguard.guard import ChatGuard
from chatguard.model import RedactedText
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import GenesysSettings
from chatguard.store.records import EventKind
from chatguard.vendors.base import QualitySampling
from chatguard.vendors.genesys import GenesysOpenMessaging, agent_context, for_agents
from chatguard.vendors.resilience import VendorCalls
from tests.vendors.genesys_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    INTEGRATION,
    GenesysCloud,
    genesys_settings,
)

NAME = "Anna Keller"
CARD = "4111 1111 1111 1111"
NATIONAL_ID = "BNCGLI90A41F205H"


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(loop_scope="function")
async def cloud() -> AsyncIterator[tuple[GenesysCloud, str]]:
    fake = GenesysCloud()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/"))


async def test_token_is_requested_once_with_client_credentials_and_reused(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    await agents.send_inbound("guest-1", None, RedactedText("first"))
    await agents.send_inbound("guest-1", None, RedactedText("second"))
    assert len(fake.tokens) == 1
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert fake.tokens[0] == {
        "authorization": f"Basic {basic}",
        "form": {"grant_type": "client_credentials"},
    }
    assert [m["authorization"] for m in fake.inbound] == ["Bearer token-1"] * 2
    assert fake.texts == ["first", "second"]


async def test_token_is_refreshed_shortly_before_it_expires(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    fake.expires_in = 100
    clock = Ticking()
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard, clock=clock)
    await agents.send_inbound("guest-1", None, RedactedText("one"))
    clock.now += 80
    await agents.send_inbound("guest-1", None, RedactedText("two"))
    clock.now += 15  # 95 s: within the last tenth of the token's life
    await agents.send_inbound("guest-1", None, RedactedText("three"))
    assert len(fake.tokens) == 2
    assert [m["authorization"] for m in fake.inbound] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_a_401_refreshes_the_token_once_and_repeats_that_message(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    await agents.send_inbound("guest-1", None, RedactedText("one"))
    fake.revoked.add("token-1")
    await agents.send_inbound("guest-1", None, RedactedText("two"))
    assert len(fake.tokens) == 2
    assert [m["authorization"] for m in fake.inbound] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]
    refused, repeated = fake.inbound[1]["body"], fake.inbound[2]["body"]
    assert refused == repeated  # the same message, same messageId
    assert fake.texts == ["one", "two"]


async def test_a_second_401_is_an_error_and_is_not_retried_again(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    fake.revoked.update({"token-1", "token-2", "token-3"})
    metrics = ServiceMetrics()
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard, VendorCalls(metrics))
    with pytest.raises(VendorError, match="genesys answered status 401"):
        await agents.send_inbound("guest-1", None, RedactedText("one"))
    assert len(fake.inbound) == 2 and len(fake.tokens) == 2
    exposition = metrics.exposition()
    assert b'vendor_errors_total{kind="status_4xx",vendor="genesys"} 1.0' in exposition
    assert b'chatguard_vendor_circuit_state{vendor="genesys"} 0.0' in exposition


async def test_a_server_error_is_not_retried(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    fake.status = 503
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    with pytest.raises(VendorError, match="503") as raised:
        await agents.send_inbound("guest-1", None, RedactedText("my secret text"))
    assert "secret" not in str(raised.value)
    assert len(fake.inbound) == 1


async def test_timeout_and_unreachable_are_typed(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    fake.delay = 1.0
    slow = GenesysOpenMessaging(genesys_settings(url, timeout=0.2), http, guard)
    with pytest.raises(VendorTimeoutError):
        await slow.send_inbound("guest-1", None, RedactedText("one"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gone = GenesysOpenMessaging(genesys_settings(closed), http, guard)
    with pytest.raises(VendorUnavailableError):
        await gone.send_inbound("guest-1", None, RedactedText("one"))


def test_an_incomplete_configuration_is_refused(guard: ChatGuard) -> None:
    with pytest.raises(VendorUnavailableError, match="not configured"):
        GenesysOpenMessaging(GenesysSettings(), None, guard)  # type: ignore[arg-type]


async def test_inbound_message_comes_from_the_pseudonym_with_no_real_name(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    conversation = await guard.start_conversation("messenger", user_id="psid-123456")
    assert conversation.user is not None
    await agents.send_inbound(conversation.session, conversation.user, RedactedText("hello"))
    [sent] = fake.inbound
    assert sent["integration"] == INTEGRATION
    body = sent["body"]
    channel = body["channel"]
    assert channel["from"] == {
        "nickname": conversation.user,
        "id": conversation.user,
        "idType": "Opaque",
    }
    assert channel["platform"] == "Open" and channel["type"] == "Private"
    assert channel["to"] == {"id": INTEGRATION}
    assert channel["messageId"] and channel["time"].endswith("Z")
    assert (body["type"], body["direction"], body["text"]) == ("Text", "Inbound", "hello")
    assert "psid-123456" not in json.dumps(body)


async def test_hand_over_passes_what_the_agent_policy_keeps_and_nothing_else(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    conversation = await guard.start_conversation("web")
    session = conversation.session
    await guard.user_message(session, f"My name is {NAME} and my card is {CARD}.")
    await guard.reply(session, "Thank you <PERSON_1>.")
    await guard.user_message(session, f"My codice fiscale is {NATIONAL_ID}, I want an agent.")
    await agents.hand_over(session, quality_sampling=QualitySampling.DECLINED)
    [sent] = fake.inbound
    body = sent["body"]
    context = body["text"]
    assert body["channel"]["from"]["id"] == session
    assert body["channel"]["metadata"] == {"customAttributes": {"qualitySampling": "declined"}}
    assert context.splitlines() == [
        f"Customer: My name is {NAME} and my card is <CREDIT_CARD_1>.",
        f"Assistant: Thank you {NAME}.",
        "Customer: My codice fiscale is <NATIONAL_ID_1>, I want an agent.",
    ]
    everything = json.dumps(body)
    assert CARD not in everything and "4111" not in everything
    assert NATIONAL_ID not in everything


async def test_the_context_leaves_out_consent_exchanges_and_what_came_from_before_on(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str], http: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    agents = GenesysOpenMessaging(genesys_settings(url), http, guard)
    conversation = await guard.start_conversation("web")
    session = conversation.session
    await guard.user_message(session, "I need an agent")
    await guard.record_notice(conversation, "May we include this chat?")  # seq 2
    await guard.user_message(session, "Yes, I agree", kind=EventKind.CONSENT)
    await guard.user_message(session, "typed after the question")  # seq 4

    await agents.hand_over(session, quality_sampling=QualitySampling.ALLOWED, before=4)
    assert fake.texts == ["Customer: I need an agent"]
    assert fake.inbound[0]["body"]["channel"]["metadata"] == {
        "customAttributes": {"qualitySampling": "allowed"}
    }
    await agents.send_turn(
        conversation, "typed after the question", "en", quality_sampling=QualitySampling.ALLOWED
    )
    assert fake.texts[1] == "typed after the question"
    assert fake.inbound[1]["body"]["channel"]["metadata"]["customAttributes"] == {
        "qualitySampling": "allowed"
    }


async def test_for_agents_restores_only_kept_types(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    redacted = await guard.user_message(session, f"I am {NAME}, card {CARD}")
    assert "<PERSON_1>" in redacted.text and "<CREDIT_CARD_1>" in redacted.text
    shown = await for_agents(guard, session, redacted.text)
    assert shown == f"I am {NAME}, card <CREDIT_CARD_1>"
    # Placeholders of another conversation, or made up, stay as they are.
    assert await for_agents(guard, session, "<PERSON_7> <PERSON_1>") == f"<PERSON_7> {NAME}"


async def test_context_keeps_the_latest_lines_when_too_long(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    for index in range(120):
        await guard.reply(session, f"line {index} " + "x" * 90)
    context = await agent_context(guard, session)
    assert len(context) <= 8000
    assert context.endswith("line 119 " + "x" * 90)
    assert "line 0 " not in context
