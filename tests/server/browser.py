"""Debian's chromium driven by playwright, started by the tests themselves (a browser
download does not work here): what the browser tests share."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

CHROMIUM = Path("/usr/bin/chromium")

#: Headless, without a sandbox (containers), and quiet: no network of its own.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_or_skip() -> None:
    """A browser test needs playwright and Debian's chromium: in CI their absence is a
    failure, elsewhere a skip that says what is missing."""
    missing = []
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: not skipped)")
        pytest.skip(reason)


@asynccontextmanager
async def chromium(profile: Path, **options: Any) -> AsyncIterator[BrowserContext]:
    """A headless chromium context with its profile in ``profile``; ``options`` go to
    playwright's ``launch_persistent_context`` (``java_script_enabled=False``,
    ``locale="pt-PT"``, ...)."""
    chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            **options,
        )
        try:
            yield context
        finally:
            await context.close()
