"""The demo page: served only in demo mode, its vendor log shows placeholders and
never what the user typed, in a real headless chromium, and as `make demo` runs it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.guard import ChatGuard
from chatguard.model import RedactedText
from chatguard.server.app import make_app
from chatguard.settings import Settings
from chatguard.vendors.base import BotTurn, QualitySampling
from chatguard.vendors.demo import AgentMessage, DemoBot, VendorExchange, VendorLog
from tests.server.browser import chromium
from tests.server.serving import pseudonym_of, status_once_up

ROOT = Path(__file__).resolve().parents[2]
NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"
TYPED = f"Hi, I am {NAME}, my e-mail is {EMAIL}"
PERSONAL = (NAME, "Keller", EMAIL)


async def _server(guard: ChatGuard, *, demo: bool) -> TestServer:
    settings = Settings(pseudonym={"demo": demo})
    server = TestServer(make_app(settings, guard=guard), host="127.0.0.1")
    await server.start_server()
    return server


@pytest_asyncio.fixture(loop_scope="function")
async def demo_server(guard: ChatGuard) -> AsyncIterator[TestServer]:
    server = await _server(guard, demo=True)
    yield server
    await server.close()


async def _json(response: aiohttp.ClientResponse, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def test_demo_mode_serves_the_demo_page_without_external_resources(
    demo_server: TestServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(demo_server.make_url("/demo")) as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            html = await response.text()
        async with http.get(demo_server.make_url("/demo/static/demo.js")) as response:
            assert response.status == 200
            script = await response.text()
    assert "Talk to an agent" in html
    assert "/demo/static/demo.js" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "/demo/api/vendor-log" in script and "/chat/messages" in script


async def test_vendor_log_shows_placeholders_and_never_the_typed_values(
    demo_server: TestServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        created = await _json(await http.post(demo_server.make_url("/chat/sessions"), json={}), 201)
        session = created["session"]
        sent = await http.post(
            demo_server.make_url("/chat/messages"), json={"session": session, "text": TYPED}
        )
        [shown] = (await _json(sent, 200))["outputs"]
        logged = await http.get(
            demo_server.make_url("/demo/api/vendor-log"), params={"session": session}
        )
        log = await _json(logged, 200)

    assert NAME in shown["text"] and EMAIL in shown["text"]  # the user sees values restored
    [exchange] = log["exchanges"]
    received, [answered] = exchange["received"], exchange["answered"]
    assert received["session"] == pseudonym_of(session)
    assert "<PERSON_1>" in received["text"] and "<EMAIL_ADDRESS_1>" in received["text"]
    assert "<PERSON_1>" in answered["text"] and "<EMAIL_ADDRESS_1>" in answered["text"]
    assert not any(value in str(log) for value in PERSONAL)


async def test_vendor_log_of_an_unknown_session_or_a_bare_pseudonym_is_not_found(
    demo_server: TestServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        created = await _json(await http.post(demo_server.make_url("/chat/sessions"), json={}), 201)
        url = demo_server.make_url("/demo/api/vendor-log")
        for session in ("guest-unknown", pseudonym_of(created["session"])):
            async with http.get(url, params={"session": session}) as response:
                assert response.status == 404
        async with http.get(url) as response:
            assert response.status == 400


async def test_outside_demo_mode_there_is_no_demo_page(guard: ChatGuard) -> None:
    server = await _server(guard, demo=False)
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/demo", "/demo/api/vendor-log?session=x", "/demo/static/demo.js"):
                async with http.get(server.make_url(path)) as response:
                    assert response.status == 404, path
    finally:
        await server.close()


async def test_browser_shows_restored_reply_beside_what_the_vendor_received_and_a_handover(
    demo_server: TestServer, tmp_path: Path
) -> None:
    async with chromium(tmp_path / "chromium-profile") as context:
        from playwright.async_api import expect

        page = await context.new_page()
        await page.goto(str(demo_server.make_url("/demo")))
        await expect(page.locator("body[data-ready=true]")).to_have_count(1)
        session = await page.locator("#session").inner_text()
        assert session.startswith("guest-")

        await page.fill("#message", TYPED)
        await page.click("#send")
        chat, vendor = page.locator("#chat"), page.locator("#vendor")
        await expect(chat.locator("li.bot")).to_contain_text(f"Thank you {NAME}.")
        await expect(chat.locator("li.bot")).to_contain_text(EMAIL)
        await expect(vendor.locator("li.received")).to_contain_text(
            "my e-mail is <EMAIL_ADDRESS_1>"
        )
        await expect(vendor.locator("li.received")).to_contain_text(session)
        await expect(vendor.locator("li.answered")).to_contain_text("<PERSON_1>")
        vendor_text = await vendor.inner_text()
        assert EMAIL not in vendor_text and NAME not in vendor_text

        await page.click("#agent")
        await expect(vendor.locator("li.answered.handover")).to_contain_text("handover: true")
        question = chat.locator("li.consent").first
        await expect(question).to_contain_text("May we include this chat?")
        await expect(page.locator("#quick-replies button")).to_have_text(
            ["Yes, I agree", "No, thanks"]
        )
        await expect(chat.locator("li.agent")).to_have_count(0)  # asked before the hand-over

        await page.click("#quick-replies button:text-is('Yes, I agree')")
        reference = chat.locator("li.consent", has_text="Your privacy reference is")
        await expect(reference).to_have_count(1)
        assert re.search(
            r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}",
            await reference.inner_text(),
        )
        withheld = vendor.locator("li.withheld")
        await expect(withheld).to_contain_text("Not sent to the bot or the agents")
        handed_over = vendor.locator("li.agent")
        await expect(handed_over).to_contain_text("received the hand-over")
        await expect(handed_over).to_contain_text("qualitySampling: allowed")
        await expect(handed_over).to_contain_text(f"Customer: Hi, I am {NAME}")
        await expect(chat.locator("li.agent")).to_contain_text("Agent (simulated)")
        assert "Yes, I agree" not in await vendor.inner_text()  # the answer reached none
        bot_side = await vendor.locator("li.received, li.answered").all_inner_texts()
        assert not [text for text in bot_side if EMAIL in text or NAME in text]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_make_demo_command_serves_the_demo_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / ".demo").mkdir()  # what `make demo` makes before it starts the service
    chatguard = Path(sys.executable).with_name("chatguard")
    command = [str(chatguard)] if chatguard.exists() else [sys.executable, "-m", "chatguard.cli"]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("CHATGUARD_")
    }
    environment |= {"CHATGUARD_PSEUDONYM__DEMO": "true", "CHATGUARD_SERVER__PORT": str(port)}
    process = subprocess.Popen(
        [*command, "--config", str(ROOT / "examples" / "demo.toml"), "serve"],
        cwd=tmp_path,  # the demo store is ./.demo/chatguard.db, relative to where it runs
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        status = asyncio.run(status_once_up(f"http://127.0.0.1:{port}/demo", time.monotonic() + 90))
        assert status == 200
        assert (tmp_path / ".demo" / "chatguard.db").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _exchange(session: str, text: str) -> VendorExchange:
    return VendorExchange(BotTurn(session, None, RedactedText(text), "en"), ())


def test_vendor_log_keeps_the_latest_turns_of_the_latest_sessions_only() -> None:
    log = VendorLog(sessions=2, turns_per_session=2)
    for text in ("one", "two", "three"):
        log.record(_exchange("guest-a", text))
    log.record(_exchange("guest-b", "b"))
    log.record(_exchange("guest-c", "c"))

    assert log.exchanges("guest-a") == []  # the least recently active session went first
    assert [str(e.turn.text) for e in log.exchanges("guest-b")] == ["b"]
    log.record(_exchange("guest-b", "b2"))
    log.record(_exchange("guest-b", "b3"))
    assert [str(e.turn.text) for e in log.exchanges("guest-b")] == ["b2", "b3"]
    for text in ("context", "t1", "t2"):  # what the agents received is kept beside, bounded
        log.record(AgentMessage("guest-b", "turn", text, QualitySampling.DECLINED))
    assert [m.text for m in log.agent_messages("guest-b")] == ["t1", "t2"]
    assert [str(e.turn.text) for e in log.exchanges("guest-b")] == ["b2", "b3"]


async def test_demo_bot_answers_the_same_with_a_recorder() -> None:
    turn = BotTurn("guest-a", None, RedactedText("I am <PERSON_1>"), "en")
    log = VendorLog()
    assert await DemoBot(recorder=log).converse(turn) == await DemoBot().converse(turn)
    [exchange] = log.exchanges("guest-a")
    assert exchange.turn == turn
