"""The Cognigy REST endpoint client against a local endpoint with Cognigy's shapes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.errors import VendorError, VendorTimeoutError, VendorUnavailableError
from chatguard.model import RedactedText
from chatguard.settings import CognigySettings
from chatguard.vendors.base import BotTurn
from chatguard.vendors.cognigy import CognigyBot, parse_output_stack
from tests.vendors.cognigy_fake import CognigyEndpoint, quick_replies_output

TURN = BotTurn(
    "guest-abc", "user-xyz", RedactedText("I am <PERSON_1>"), "en", {"payload": "<EMAIL_ADDRESS_1>"}
)


@pytest_asyncio.fixture(loop_scope="function")
async def endpoint() -> AsyncIterator[tuple[CognigyEndpoint, str]]:
    fake = CognigyEndpoint()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/endpoint-token"))


async def _converse(url: str, turn: BotTurn = TURN, seconds: float = 5) -> list[object]:
    async with aiohttp.ClientSession() as http:
        settings = CognigySettings(endpoint_url=url, timeout=seconds, retry_backoff=0.01)
        bot = CognigyBot(settings, http)
        return list(await bot.converse(turn))


async def test_the_turn_is_sent_under_pseudonyms_without_passthrough_ip(
    endpoint: tuple[CognigyEndpoint, str],
) -> None:
    fake, url = endpoint
    fake.outputs = [{"text": "Hello <PERSON_1>", "data": {}}]
    await _converse(url)
    assert fake.received == [
        {
            "userId": "user-xyz",
            "sessionId": "guest-abc",
            "text": "I am <PERSON_1>",
            "data": {"payload": "<EMAIL_ADDRESS_1>"},
        }
    ]


async def test_a_user_without_pseudonym_is_sent_as_the_session(
    endpoint: tuple[CognigyEndpoint, str],
) -> None:
    fake, url = endpoint
    await _converse(url, BotTurn("guest-abc", None, RedactedText("hi"), "en"))
    assert fake.received[0]["userId"] == "guest-abc"


def test_the_output_stack_gives_texts_quick_replies_buttons_and_handover() -> None:
    buttons = {
        "_buttons": {
            "type": "buttons",
            "text": "Pick one",
            "buttons": [{"title": "Call <PERSON_1>", "type": "postback", "payload": "call"}],
        }
    }
    outputs = parse_output_stack(
        {
            "outputStack": [
                {"text": "Hello <PERSON_1>", "data": {}, "source": "bot"},
                quick_replies_output("Mail <EMAIL_ADDRESS_1>?", ["Yes, <EMAIL_ADDRESS_1>", "No"]),
                {"text": None, "data": {"_cognigy": {"_default": buttons}}},
                {"text": "A colleague will help.", "data": {"chatguard": {"handover": True}}},
                {"text": None, "data": {"unrelated": 1}},
            ]
        }
    )
    assert [(o.text, o.quick_replies, o.handover) for o in outputs] == [
        ("Hello <PERSON_1>", (), False),
        ("Mail <EMAIL_ADDRESS_1>?", ("Yes, <EMAIL_ADDRESS_1>", "No"), False),
        ("Pick one", ("Call <PERSON_1>",), False),
        ("A colleague will help.", (), True),
    ]


def test_only_a_true_marker_hands_over() -> None:
    [output] = parse_output_stack(
        {"outputStack": [{"text": "x", "data": {"chatguard": {"handover": "yes"}}}]}
    )
    assert not output.handover


async def test_an_error_status_is_a_vendor_error_naming_only_the_status(
    endpoint: tuple[CognigyEndpoint, str],
) -> None:
    fake, url = endpoint
    fake.status = 500
    with pytest.raises(VendorError, match="status 500") as raised:
        await _converse(url)
    assert "PERSON" not in str(raised.value) and not isinstance(
        raised.value, VendorUnavailableError
    )


async def test_a_slow_endpoint_times_out(endpoint: tuple[CognigyEndpoint, str]) -> None:
    fake, url = endpoint
    fake.delay = 1.0
    with pytest.raises(VendorTimeoutError):
        await _converse(url, seconds=0.2)
    assert len(fake.received) == 1  # a sent turn is never repeated


async def test_an_unreachable_endpoint_is_retried_then_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VendorUnavailableError):
        await _converse(f"http://127.0.0.1:{port}/endpoint-token")


async def test_no_endpoint_configured_is_unavailable() -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(VendorUnavailableError, match="endpoint_url"):
            await CognigyBot(CognigySettings(), http).converse(TURN)
