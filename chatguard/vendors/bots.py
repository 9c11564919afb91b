"""Which bot vendor a channel talks to, by the name its settings give."""

from __future__ import annotations

from typing import Literal

import aiohttp

from chatguard.settings import CognigySettings
from chatguard.vendors.base import BotVendor
from chatguard.vendors.cognigy import CognigyBot
from chatguard.vendors.demo import DemoBot, VendorLog
from chatguard.vendors.resilience import VendorCalls


def bot_vendor(
    name: Literal["cognigy", "demo"],
    cognigy: CognigySettings,
    http: aiohttp.ClientSession,
    *,
    calls: VendorCalls | None = None,
    recorder: VendorLog | None = None,
) -> BotVendor:
    """The client of the bot ``name`` (a channel's ``bot`` setting): Cognigy over
    ``http`` behind the service's breaker for it (``calls``), or the built-in demo bot
    (which records its turns when given a log)."""
    if name == "cognigy":
        return CognigyBot(cognigy, http, calls=calls)
    return DemoBot(recorder=recorder)
