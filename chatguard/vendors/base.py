"""The interface every bot vendor client implements (Cognigy, the demo bot, ...).

The dialogue depends on ``BotVendor`` only; a new vendor is one new file. Clients
receive redacted text and data only (``RedactedText``) and return what the bot said,
still with placeholders: restoring is the dialogue's job, never the vendor's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from chatguard.model import RedactedText


@dataclass(frozen=True, slots=True)
class BotTurn:
    """One user turn as a bot vendor may see it.

    ``session`` is the session pseudonym, ``user`` the channel-user pseudonym (or
    ``None``), ``text`` redacted by the ``nlp`` policy, ``data`` structured input
    (quick-reply payloads, postbacks) with every string leaf redacted.
    """

    session: str
    user: str | None
    text: RedactedText
    language: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BotOutput:
    """One thing the bot said, with placeholders; ``handover`` asks for a human agent."""

    text: str | None = None
    quick_replies: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    handover: bool = False


class BotVendor(ABC):
    """A bot platform chatguard forwards redacted turns to.

    Contract: ``converse`` sends one turn and returns the bot's outputs in order. A
    vendor that cannot be reached, answers with an error or too slowly raises
    :class:`~chatguard.errors.VendorError` (or a subclass); it never returns partial
    outputs as if complete. ``close`` releases connections.

    Example::

        outputs = await bot.converse(BotTurn("guest-abc", None, RedactedText("hi"), "en"))
    """

    name: str = "bot"

    @abstractmethod
    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        """Send the turn; return the bot's outputs."""

    async def close(self) -> None:  # noqa: B027 - most clients have nothing to release
        """Release connections."""
