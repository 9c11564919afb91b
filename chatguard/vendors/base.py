"""The interfaces the dialogue's vendors implement: ``BotVendor`` (Cognigy, the demo
bot, ...) and ``LiveAgentVendor`` (Genesys Open Messaging, the demo's simulated agents).

The dialogue depends on these interfaces only; a new vendor is one new file. Clients
receive redacted text and data only (``RedactedText``) and return what the bot said,
still with placeholders: restoring is the dialogue's job, never the vendor's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chatguard.model import RedactedText

if TYPE_CHECKING:
    from chatguard.store.records import Conversation


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


class QualitySampling(StrEnum):
    """What live agents are told about the session: whether it may be sampled for
    quality review (its ``quality_sampling`` consent is granted now)."""

    ALLOWED = "allowed"
    DECLINED = "declined"  # declined, timed out, withdrawn, or never asked


class LiveAgentVendor(ABC):
    """A live-agent platform the dialogue hands a conversation over to.

    Contract: ``hand_over`` opens the live-agent conversation with the conversation so
    far (as the ``agent`` policy lets agents see it, the transcript's events before
    seq ``before`` when given); ``send_turn`` sends one later user turn. Both tell the
    agents ``quality_sampling``. A platform that cannot be reached or refuses raises
    :class:`~chatguard.errors.VendorError`. ``reply_for_user`` turns an agent's message
    into what the user reads (translated when the platform translates).

    Example::

        await agents.hand_over(session, quality_sampling=QualitySampling.DECLINED)
        await agents.send_turn(conversation, redacted, "de",
                               quality_sampling=QualitySampling.DECLINED)
    """

    name: str = "agents"

    @abstractmethod
    async def hand_over(
        self, session: str, *, quality_sampling: QualitySampling, before: int | None = None
    ) -> None:
        """Open the live-agent conversation with the conversation so far."""

    @abstractmethod
    async def send_turn(
        self,
        conversation: Conversation,
        redacted: str,
        language: str,
        *,
        quality_sampling: QualitySampling,
    ) -> None:
        """Send one user turn, as the ``nlp`` policy redacted it, to the agents."""

    async def reply_for_user(self, session: str, text: str) -> str:
        """An agent's message as the user reads it (as typed, unless overridden)."""
        return text

    async def close(self) -> None:  # noqa: B027 - most platforms have nothing to release
        """Release what the client holds."""
