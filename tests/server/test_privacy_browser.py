"""The privacy page in a real headless chromium with JavaScript disabled: the real server
on a free port over a real SQLite store with real keys; what the person does in the
browser is checked in the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.consent import Decision, Purpose
from chatguard.guard import ChatGuard
from chatguard.server.app import make_app
from chatguard.settings import Settings
from tests.server.browser import chromium
from tests.server.consented import consented_web_chat

NAME = "Anna Keller"


@pytest_asyncio.fixture(loop_scope="function")
async def server(guard: ChatGuard) -> AsyncIterator[TestServer]:
    server = TestServer(make_app(Settings(), guard=guard), host="127.0.0.1", port=0)
    await server.start_server()
    yield server
    await server.close()


async def _chat(guard: ChatGuard) -> tuple[str, str]:
    return await consented_web_chat(guard, f"Hello, I am {NAME}, I need help with my booking")


async def test_browser_without_javascript_withdraws_consent_and_the_sample_is_gone(
    server: TestServer, guard: ChatGuard, tmp_path: Path
) -> None:
    session, code = await _chat(guard)
    other, _ = await _chat(guard)
    from playwright.async_api import expect

    async with chromium(tmp_path / "profile", java_script_enabled=False, locale="en-GB") as browser:
        page = await browser.new_page()
        await page.goto(str(server.make_url("/privacy")))
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.fill("#reference", code.lower().replace("-", " "))
        await page.check("#action-withdraw")
        await page.click("#continue")

        await expect(page.locator(".outcome")).to_have_text(
            "Your consent has been withdrawn. Your chat will not be evaluated for quality, "
            "and any sample taken from it has been deleted."
        )
        assert page.url.endswith("/privacy/done?outcome=withdrawn&lang=en")

    assert await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    [_, withdrawn] = await guard.consents.history(session)
    assert withdrawn.source == "form"
    assert [sample.session for sample in await guard.store.samples()] == [other]
    assert await guard.consents.allows(other, Purpose.QUALITY_SAMPLING)


async def test_browser_switches_to_portuguese_and_withdraws_in_it(
    server: TestServer, guard: ChatGuard, tmp_path: Path
) -> None:
    session, code = await _chat(guard)
    from playwright.async_api import expect

    async with chromium(tmp_path / "profile", java_script_enabled=False, locale="de-DE") as browser:
        page = await browser.new_page()
        await page.goto(str(server.make_url("/privacy")))
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.locator("label[for=reference]")).to_have_text("Datenschutz-Referenz")

        await page.click("a[hreflang=pt]")

        await expect(page.locator("html")).to_have_attribute("lang", "pt")
        await expect(page.locator("h1")).to_have_text(
            "Os dados da sua conversa e o seu consentimento"
        )
        await expect(page.locator("label[for=reference]")).to_have_text("Referência de privacidade")
        await expect(page.locator("label[for=action-withdraw]")).to_have_text(
            "Retirar o meu consentimento"
        )
        await expect(page.locator("label[for=action-export]")).to_have_text(
            "Obter uma cópia dos meus dados"
        )
        await expect(page.locator("label[for=action-erase]")).to_have_text("Apagar os meus dados")
        await expect(page.locator("#continue")).to_have_text("Continuar")

        await page.fill("#reference", code)
        await page.check("#action-withdraw")
        await page.click("#continue")

        await expect(page.locator("html")).to_have_attribute("lang", "pt")
        await expect(page.locator(".outcome")).to_contain_text("O seu consentimento foi retirado.")

    [_, withdrawn] = await guard.consents.history(session)
    assert (withdrawn.decision, withdrawn.source, withdrawn.language) == (
        "withdrawn",
        "form",
        "pt",
    )
    assert await guard.store.samples() == []


async def test_browser_erases_the_chat_after_the_confirmation_page(
    server: TestServer, guard: ChatGuard, tmp_path: Path
) -> None:
    session, code = await _chat(guard)
    other, _ = await _chat(guard)
    from playwright.async_api import expect

    async with chromium(tmp_path / "profile", java_script_enabled=False, locale="en-US") as browser:
        page = await browser.new_page()
        await page.goto(str(server.make_url("/privacy")))
        await page.fill("#reference", code)
        await page.check("#action-erase")
        await page.click("#continue")

        await expect(page.locator("h1")).to_have_text("Erase this chat?")
        assert await guard.store.get_conversation(session) is not None  # not before "yes"

        await page.click("#confirm-erase")

        await expect(page.locator(".outcome")).to_have_text("Your chat data has been erased.")

    assert await guard.store.get_conversation(session) is None
    assert await guard.store.events(session) == []
    assert await guard.store.vault_entries(session) == []
    assert await guard.consents.history(session) == []
    assert [sample.session for sample in await guard.store.samples()] == [other]
    assert await guard.store.get_conversation(other) is not None
