"""The live chat translated, on a real port: web chat user (German) -> demo bot ->
hand-over to a local Genesys whose agents read English, through a local Translator v3."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.guard import ChatGuard
from chatguard.settings import Settings
from tests.server.serving import Client, new_web_chat, started
from tests.server.test_genesys_webhook import agent_message, signed
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings
from tests.vendors.translator_fake import KEY, TranslatorApi

NAME = "Anna Keller"
PHONE = "+49 151 23456789"
PERSONAL = (NAME, "Anna", "Keller", PHONE, "23456789")

Served = tuple[Client, GenesysCloud, TranslatorApi]


@pytest_asyncio.fixture(loop_scope="function")
async def served(guard: ChatGuard) -> AsyncIterator[Served]:
    cloud, translator = GenesysCloud(), TranslatorApi()
    async with (
        TestServer(cloud.app(), host="127.0.0.1") as genesys,
        TestServer(translator.app(), host="127.0.0.1") as microsoft,
    ):
        settings = Settings(
            vendors={
                "genesys": genesys_settings(str(genesys.make_url("/")), timeout=10),
                "translator": {
                    "endpoint": str(microsoft.make_url("/")),
                    "key": KEY,
                    "agent_language": "en",
                    "retries": 0,
                },
            }
        )
        client = await started(guard, settings)
        try:
            yield client, cloud, translator
        finally:
            await client.close()


async def _say(client: Client, session: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/chat/messages", json={"session": session, "text": text})
    assert response.status == 200
    outputs: list[dict[str, Any]] = (await response.json())["outputs"]
    return outputs


async def _handed_over(client: Client) -> tuple[str, str]:
    """A German web chat handed over to the agents: its token and pseudonym."""
    token, session = await new_web_chat(client)
    await _say(client, token, f"Guten Tag, ich heiße {NAME}.")
    outputs = await _say(client, token, "Ich möchte mit einem Mitarbeiter sprechen.")
    assert any(output["handover"] for output in outputs)
    question = outputs[-1]  # asked in the user's language, answered with its button
    assert question["quick_replies"] == ["Ja, einverstanden", "Nein, danke"]
    await _say(client, token, "Nein, danke")
    return token, session


async def test_agents_read_the_users_german_in_english_and_the_user_reads_their_reply_in_german(
    served: Served,
) -> None:
    client, cloud, translator = served
    token, session = await _handed_over(client)
    [context] = cloud.texts
    assert f"Customer: [en] Good day, my name is {NAME}." in context
    assert "Customer: [en] I would like to talk to an agent." in context

    assert await _say(client, token, f"Können Sie mich zurückrufen? Meine Nummer ist {PHONE}") == []
    assert cloud.texts[1] == f"[en] Can you call me back? My number is {PHONE}"

    raw, headers = signed(agent_message("m-1", session, f"Hello {NAME}, how can I help?"))
    assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 200
    response = await client.get("/chat/messages", params={"session": token})
    shown = (await response.json())["events"][-1]
    assert (shown["author"], shown["text"]) == ("agent", f"[de] Hallo {NAME}, wie kann ich helfen?")

    sent = json.dumps(translator.received)
    assert not [value for value in PERSONAL if value in sent]
    assert all(r["headers"]["Ocp-Apim-Subscription-Key"] == KEY for r in translator.received)
    assert [r["query"]["to"] for r in translator.received] == ["en", "en", "de"]
    assert '<span class="notranslate">&lt;PERSON_1&gt;</span>' in translator.texts[-1]
    assert '<span class="notranslate">&lt;PHONE_NUMBER_1&gt;</span>' in translator.texts[-2]


async def test_with_the_translator_down_agents_get_the_untranslated_agent_policy_text(
    served: Served,
) -> None:
    client, cloud, translator = served
    translator.status = 503
    token, session = await _handed_over(client)
    assert f"Customer: Guten Tag, ich heiße {NAME}." in cloud.texts[0]
    assert await _say(client, token, f"Meine Nummer ist {PHONE}") == []
    assert cloud.texts[1] == f"Meine Nummer ist {PHONE}"
    raw, headers = signed(agent_message("m-1", session, f"Hello {NAME}."))
    assert (await client.post("/webhooks/genesys", data=raw, headers=headers)).status == 200
    events = await (await client.get("/chat/messages", params={"session": token})).json()
    assert events["events"][-1]["text"] == f"Hello {NAME}."
    metrics = await (await client.get("/metrics")).text()
    assert 'chatguard_vendor_errors_total{kind="status_5xx",vendor="translator"} 3.0' in metrics
    assert not [value for value in PERSONAL if value in json.dumps(translator.received)]
