"""Microsoft Translator v3 against a local server with its wire format; the live chat's
translation over the real pipeline."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from chatguard.errors import TranslationError, VendorError, VendorUnavailableError
from chatguard.guard import ChatGuard
from chatguard.model import RedactedText
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import Action, DestinationPolicy, TranslatorSettings
from chatguard.vendors.genesys import for_agents
from chatguard.vendors.resilience import VendorCalls
from chatguard.vendors.translator import (
    LiveChatTranslation,
    MicrosoftTranslator,
    protect_placeholders,
    same_placeholders,
    unprotect_placeholders,
)
from tests.vendors.translator_fake import KEY, REGION, TranslatorApi

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"


@pytest_asyncio.fixture(loop_scope="function")
async def api() -> AsyncIterator[tuple[TranslatorApi, str]]:
    fake = TranslatorApi()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/")).rstrip("/")


def _settings(endpoint: str, **overrides: object) -> TranslatorSettings:
    values: dict[str, object] = {
        "endpoint": endpoint,
        "key": KEY,
        "region": REGION,
        "agent_language": "en",
        "retry_backoff": 0.01,
        **overrides,
    }
    return TranslatorSettings.model_validate(values)


# --- placeholders protected ----------------------------------------------------------------


def test_placeholders_go_inside_notranslate_spans_and_everything_else_is_escaped() -> None:
    assert protect_placeholders("a<b & <PERSON_1> said <x>") == (
        'a&lt;b &amp; <span class="notranslate">&lt;PERSON_1&gt;</span> said &lt;x&gt;'
    )


_PLACEHOLDERS = st.sampled_from(["<PERSON_1>", "<EMAIL_ADDRESS_2>", "<BOOKING_REFERENCE_12>"])


@given(st.lists(st.one_of(st.text(), _PLACEHOLDERS)))
def test_unprotecting_the_protected_text_gives_it_back(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert unprotect_placeholders(protect_placeholders(text)) == text


def test_a_tag_the_translator_added_is_dropped_and_spans_may_be_written_differently() -> None:
    markup = "<b>Hello</b> <SPAN class='notranslate' >&lt;PERSON_1&gt;</span> &amp; bye"
    assert unprotect_placeholders(markup) == "Hello <PERSON_1> & bye"


def test_each_placeholder_must_come_back_as_often_as_it_went() -> None:
    assert same_placeholders("<PERSON_1> and <PERSON_1>", "<PERSON_1> und <PERSON_1>")
    assert not same_placeholders("<PERSON_1> and <PERSON_1>", "<PERSON_1> und er")
    assert not same_placeholders("<PERSON_1>", "<PERSON_1> <PERSON_2>")


# --- the wire ------------------------------------------------------------------------------


async def test_the_request_is_translator_v3_with_placeholders_protected(
    api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    translator = MicrosoftTranslator(_settings(endpoint), http)
    [out] = await translator.translate(
        [RedactedText("Guten Tag, ich heiße <PERSON_1> & mein Code ist <BOOKING_REFERENCE_1>")],
        to="en",
    )
    assert out.text == "[en] Good day, my name is <PERSON_1> & mein Code ist <BOOKING_REFERENCE_1>"
    assert out.detected_language == "de"
    [request] = fake.received
    assert request["query"] == {"api-version": "3.0", "to": "en", "textType": "html"}
    headers = request["headers"]
    assert headers["Ocp-Apim-Subscription-Key"] == KEY
    assert headers["Ocp-Apim-Subscription-Region"] == REGION
    assert headers["Content-Type"].startswith("application/json")
    uuid.UUID(headers["X-ClientTraceId"])
    assert request["body"] == [
        {
            "Text": 'Guten Tag, ich heiße <span class="notranslate">&lt;PERSON_1&gt;</span> '
            '&amp; mein Code ist <span class="notranslate">&lt;BOOKING_REFERENCE_1&gt;</span>'
        }
    ]


async def test_a_known_source_language_is_sent_and_no_region_when_unset(
    api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    translator = MicrosoftTranslator(_settings(endpoint, region=None), http)
    [out] = await translator.translate([RedactedText("Hello <PERSON_1>")], to="de", source="en")
    assert out.text == "[de] Hallo <PERSON_1>" and out.detected_language is None
    [request] = fake.received
    assert request["query"]["from"] == "en"
    assert "Ocp-Apim-Subscription-Region" not in request["headers"]


@pytest.mark.parametrize("mode", ["lose", "invent"])
async def test_a_translation_with_other_placeholders_is_refused(
    api: tuple[TranslatorApi, str], http: aiohttp.ClientSession, mode: str
) -> None:
    fake, endpoint = api
    fake.mode = mode  # type: ignore[assignment]
    metrics = ServiceMetrics()
    translator = MicrosoftTranslator(_settings(endpoint), http, calls=VendorCalls(metrics))
    with pytest.raises(TranslationError) as refused:
        await translator.translate([RedactedText("Hello <PERSON_1>")], to="de")
    assert "PERSON" not in str(refused.value)
    exposition = metrics.exposition().decode()
    assert (
        'chatguard_vendor_errors_total{kind="placeholders",vendor="translator"} 1.0' in exposition
    )


async def test_a_server_error_is_retried_a_refusal_is_not(
    api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    fake.status = 503
    translator = MicrosoftTranslator(_settings(endpoint, retries=2), http)
    with pytest.raises(VendorError, match="translator answered status 503"):
        await translator.translate([RedactedText("Hello")], to="de")
    assert len(fake.received) == 3  # translating changes nothing: safe to repeat
    fake.received.clear()
    refused = MicrosoftTranslator(_settings(endpoint, key="wrong-key"), http)
    with pytest.raises(VendorError, match="status 401"):
        await refused.translate([RedactedText("Hello")], to="de")
    assert len(fake.received) == 1


async def test_without_a_key_nothing_is_sent(
    api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    translator = MicrosoftTranslator(_settings(endpoint, key=None), http)
    with pytest.raises(VendorUnavailableError, match="not configured"):
        await translator.translate([RedactedText("Hello")], to="de")
    assert fake.received == []


# --- the live chat's translation -----------------------------------------------------------


def _live_chat(
    guard: ChatGuard, endpoint: str, http: aiohttp.ClientSession, metrics: ServiceMetrics
) -> LiveChatTranslation:
    translator = MicrosoftTranslator(_settings(endpoint), http, calls=VendorCalls(metrics))
    return LiveChatTranslation(translator, guard, "en")


async def test_the_translator_never_sees_a_value_the_bots_policy_kept(
    guard: ChatGuard, api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    guard.settings.policy["nlp"] = DestinationPolicy(actions={"EMAIL_ADDRESS": Action.KEEP})
    session = (await guard.start_conversation("web")).session
    turn = await guard.user_message(
        session, f"Guten Tag, ich heiße {NAME}, schreiben Sie an {EMAIL}"
    )
    assert EMAIL in turn.text  # what the bot may see ...
    live = _live_chat(guard, endpoint, http, ServiceMetrics())
    [translated] = await live.to_agents(
        session, [turn.text], redacted_for="nlp", language=turn.language
    )
    sent = json.dumps(fake.received)
    assert EMAIL not in sent and "Keller" not in sent  # ... the translator may not
    assert '<span class=\\"notranslate\\">&lt;EMAIL_ADDRESS_1&gt;</span>' in sent
    assert translated.startswith("[en] Good day, my name is <PERSON_1>")
    shown = await for_agents(guard, session, translated)
    assert shown == f"[en] Good day, my name is {NAME}, schreiben Sie an {EMAIL}"


async def test_a_turn_already_in_the_agents_language_is_not_sent(
    guard: ChatGuard, api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    session = (await guard.start_conversation("web")).session
    live = _live_chat(guard, endpoint, http, ServiceMetrics())
    texts = await live.to_agents(session, ["Hello <PERSON_1>"], redacted_for="nlp", language="en")
    assert texts == ["Hello <PERSON_1>"] and fake.received == []


async def test_with_the_translator_down_the_live_chat_goes_on_untranslated(
    guard: ChatGuard, http: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    metrics = ServiceMetrics()
    live = _live_chat(guard, closed, http, metrics)
    session = (await guard.start_conversation("web")).session
    await guard.user_message(session, "Ich brauche bitte Hilfe mit meinem Flug.")
    texts = await live.to_agents(
        session, ["Ich heiße <PERSON_1>"], redacted_for="nlp", language="de"
    )
    assert texts == ["Ich heiße <PERSON_1>"]
    reply = f"Hello {NAME}, your booking is confirmed."
    assert await live.for_user(session, reply) == reply
    exposition = metrics.exposition().decode()
    assert 'chatguard_vendor_errors_total{kind="unreachable",vendor="translator"} 2.0' in exposition


async def test_an_agents_reply_reaches_the_translator_redacted_and_comes_back_in_the_users_language(
    guard: ChatGuard, api: tuple[TranslatorApi, str], http: aiohttp.ClientSession
) -> None:
    fake, endpoint = api
    session = (await guard.start_conversation("web")).session
    await guard.user_message(
        session, f"Guten Tag, ich heiße {NAME} und brauche Hilfe mit dem Flug."
    )
    live = _live_chat(guard, endpoint, http, ServiceMetrics())
    translated = await live.for_user(session, f"Hello {NAME}, your booking is confirmed.")
    assert translated == "[de] Hallo <PERSON_1>, Ihre Buchung ist bestätigt."
    [request] = fake.received
    assert request["query"]["to"] == "de"
    assert "Keller" not in json.dumps(request)
    restored = await guard.redactor.restore(translated, conversation=session)
    assert restored == f"[de] Hallo {NAME}, Ihre Buchung ist bestätigt."
