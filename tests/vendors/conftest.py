"""Fixtures of the vendor clients' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio


@pytest_asyncio.fixture(loop_scope="function")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for the client under test (closed after the test)."""
    async with aiohttp.ClientSession() as session:
        yield session
