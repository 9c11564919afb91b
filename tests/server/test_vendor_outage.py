"""Vendors down, through the running service: circuit breakers, retries, nothing lost."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from chatguard.consent import ConsentTexts, TextKind
from chatguard.guard import ChatGuard
from chatguard.outputs import VENDOR_DOWN
from chatguard.settings import Settings
from chatguard.store.records import Author
from tests.server.serving import Client, new_web_chat, started
from tests.vendors.cognigy_fake import CognigyEndpoint
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings
from tests.vendors.openai_fake import Upstream

NAME = "Anna Keller"
TIMEOUT = 4.0
T = TypeVar("T")


@pytest_asyncio.fixture(loop_scope="function")
async def cognigy() -> AsyncIterator[tuple[CognigyEndpoint, str]]:
    fake = CognigyEndpoint()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/endpoint-token"))


async def _say(client: Client, session: str, text: str) -> tuple[list[dict[str, Any]], float]:
    started_at = time.monotonic()
    response = await client.post("/chat/messages", json={"session": session, "text": text})
    elapsed = time.monotonic() - started_at
    assert response.status == 200
    outputs: list[dict[str, Any]] = (await response.json())["outputs"]
    return outputs, elapsed


async def _metrics(client: Client) -> str:
    return await (await client.get("/metrics")).text()


async def test_a_failing_bot_opens_its_circuit_the_user_is_answered_at_once_and_nothing_is_lost(
    guard: ChatGuard, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    fake, url = cognigy
    settings = Settings(
        channels={"web": {"bot": "cognigy"}},
        vendors={
            "cognigy": {
                "endpoint_url": url,
                "timeout": TIMEOUT,
                "breaker_failures": 2,
                "breaker_reset": 0.5,
            }
        },
    )
    client = await started(guard, settings)
    try:
        token, session = await new_web_chat(client)
        fake.status = 503
        for _ in range(2):
            outputs, _ = await _say(client, token, f"Ich heiße {NAME}, mein Flug fällt aus.")
            assert [o["text"] for o in outputs] == [VENDOR_DOWN["de"]]
        assert len(fake.received) == 2  # a turn the flow may have seen is never sent twice
        assert 'chatguard_vendor_circuit_state{vendor="cognigy"} 1.0' in await _metrics(client)

        fake.delay = 2 * TIMEOUT  # were the call made now, the user would wait the timeout
        outputs, elapsed = await _say(client, token, f"Hallo? Hier ist noch einmal {NAME}.")
        assert [o["text"] for o in outputs] == [VENDOR_DOWN["de"]]
        assert elapsed < TIMEOUT / 4
        assert len(fake.received) == 2
        metrics = await _metrics(client)
        assert 'chatguard_vendor_errors_total{kind="circuit_open",vendor="cognigy"} 1.0' in metrics
        users = [e for e in await guard.store.events(session) if e.author is Author.USER]
        assert len(users) == 3 and all(NAME not in e.text for e in users)  # stored, redacted

        fake.status, fake.delay = 200, 0.0
        fake.outputs = [{"text": "Willkommen zurück, <PERSON_1>.", "data": {}}]
        await asyncio.sleep(0.6)  # past breaker_reset: the next turn is the probe
        outputs, _ = await _say(client, token, "Sind Sie wieder da?")
        assert [o["text"] for o in outputs] == [f"Willkommen zurück, {NAME}."]
        assert len(fake.received) == 3
        assert 'chatguard_vendor_circuit_state{vendor="cognigy"} 0.0' in await _metrics(client)
    finally:
        await client.close()


async def _until_counted(client: Client, line: str) -> None:
    """Wait until ``/metrics`` shows ``line`` (polled: the service has no other signal)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if line in await _metrics(client):
                return
            await asyncio.sleep(0.02)


async def _serve_later(app: web.Application, refusing: socket.socket) -> web.AppRunner:
    """Start serving ``app`` on ``refusing``, a socket bound but (until now) not listening."""
    runner = web.AppRunner(app)
    await runner.setup()
    refusing.listen()
    await web.SockSite(runner, refusing).start()
    return runner


async def _after_one_refused_connection(
    client: Client, vendor: str, app: web.Application, refusing: socket.socket, call: Awaitable[T]
) -> T:
    """Run ``call`` while ``refusing`` refuses connections; once the service counted one
    retry of ``vendor``, serve ``app`` there; ``call``'s result."""
    task = asyncio.ensure_future(call)
    runner: web.AppRunner | None = None
    try:
        await _until_counted(client, f'chatguard_vendor_retries_total{{vendor="{vendor}"}} 1.0')
        runner = await _serve_later(app, refusing)
        return await task
    finally:
        task.cancel()
        if runner is not None:
            await runner.cleanup()
        refusing.close()


def _refusing_socket() -> tuple[socket.socket, int]:
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port: int = refusing.getsockname()[1]
    return refusing, port


async def test_the_model_list_is_fetched_after_one_refused_connection(guard: ChatGuard) -> None:
    refusing, port = _refusing_socket()
    upstream = Upstream()
    settings = Settings(
        vendors={
            "openai": {
                "base_url": f"http://127.0.0.1:{port}/v1",
                "api_key": "sk-vendor",
                "timeout": TIMEOUT,
                "retry_backoff": 1.0,  # the first wait is 0.5 to 1 s: time to start serving
            }
        },
        channels={"openai": {"client_key": "client-key"}},
    )
    client = await started(guard, settings, headers={"Authorization": "Bearer client-key"})
    try:
        response = await _after_one_refused_connection(
            client, "openai", upstream.app(), refusing, client.get("/v1/models")
        )
        assert response.status == 200
        assert (await response.json())["data"][0]["id"] == "gpt-4o-mini"
        assert len(upstream.headers) == 1
    finally:
        await client.close()


async def test_the_agents_token_is_fetched_after_one_refused_connection(guard: ChatGuard) -> None:
    cloud = GenesysCloud()
    refusing, login_port = _refusing_socket()
    async with TestServer(cloud.app(), host="127.0.0.1") as api:
        genesys = genesys_settings(
            str(api.make_url("/")),
            login_base_url=f"http://127.0.0.1:{login_port}",
            timeout=TIMEOUT,
            retry_backoff=1.0,  # the first wait is 0.5 to 1 s: time to start serving
        )
        settings = Settings(vendors={"genesys": genesys})
        client = await started(guard, settings)
        try:
            token, _ = await new_web_chat(client)
            asked = await client.post(
                "/chat/messages", json={"session": token, "text": "I want a human agent"}
            )
            assert [o["handover"] for o in (await asked.json())["outputs"]] == [True, False]
            response = await _after_one_refused_connection(  # the answer hands over
                client,
                "genesys",
                cloud.app(),
                refusing,
                client.post("/chat/messages", json={"session": token, "text": "No, thanks"}),
            )
            assert response.status == 200
            outputs = (await response.json())["outputs"]
            declined = ConsentTexts.load().get(TextKind.QUALITY_SAMPLING_DECLINED, "en").text
            assert [o["text"] for o in outputs] == [declined]  # no vendor-down message
            assert len(cloud.tokens) == 1
            assert cloud.texts and "Customer: I want a human agent" in cloud.texts[0]
        finally:
            await client.close()


async def test_every_vendor_has_its_circuit_breaker_in_the_metrics(
    guard: ChatGuard, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    settings = Settings(
        channels={"web": {"bot": "cognigy"}},
        vendors={
            "cognigy": {"endpoint_url": cognigy[1]},
            "openai": {"base_url": "http://127.0.0.1:9/v1"},
            "genesys": genesys_settings("http://127.0.0.1:9"),
            "translator": {"key": "translator-key", "agent_language": "en"},
        },
    )
    client = await started(guard, settings)
    try:
        metrics = await _metrics(client)
        for vendor in ("cognigy", "genesys", "messenger", "openai", "translator"):
            assert f'chatguard_vendor_circuit_state{{vendor="{vendor}"}} 0.0' in metrics
    finally:
        await client.close()
