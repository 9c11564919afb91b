"""Dialogue: one user turn through chatguard to a bot vendor (or the live agents) and back.

Promises:

* What the bot vendor receives is redacted by the ``nlp`` policy: the text, and
  every string leaf (not the keys) of the structured ``data`` (quick-reply payloads,
  postbacks). The user's message is stored (redacted) before the vendor is called.
* Every output the bot gives is stored redacted and shown to the user restored: its
  text and its quick replies.
* When the vendor fails (unreachable, too slow, error status, its circuit open),
  nothing the user sent is lost (it is already stored) and the user gets one short
  message in their language saying so; the vendor's client counts the failure in
  ``vendor_errors``. While a vendor's circuit is open the message comes at once,
  without waiting for a timeout. Redaction or store failures are not caught: then
  nothing was forwarded and the caller reports them.
* chatguard's own questions come first (:mod:`chatguard.handover`): while one
  awaits an answer, the turn answers it; a whole-message withdrawal phrase asks its
  confirmation. Such a turn is stored (redacted, kind ``consent``) and forwarded to
  no vendor.
* Live agents (``agents``): when an output asks for a human, the hand-over gate asks
  the quality-sampling question first, once per conversation, and hands over after
  the answer (or its timeout), whatever it is; the conversation is then marked by its
  ``handed_over_at`` (what later turns read, so the mark survives restarts) and a
  ``system`` transcript event ``HANDED_OVER``. From then on each user turn goes to
  the agents instead of the bot (the ``nlp`` text with the placeholders of the types
  the ``agent`` policy keeps restored, translated into the agents' language when
  translation is on, with the quality-sampling flag) and returns no outputs: the
  agents' replies arrive through the Genesys webhook. Structured ``data`` is not sent
  to agents. If the hand-over fails, the user gets the vendor-down message and the
  conversation stays with the bot (asking again retries, reusing the answer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from chatguard.errors import VendorError
from chatguard.guard import ChatGuard
from chatguard.handover import HandOverGate, UserReading
from chatguard.model import RedactedText
from chatguard.outputs import ShownOutput, vendor_down
from chatguard.server.metrics import ServiceMetrics
from chatguard.store.records import EventKind
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor, LiveAgentVendor

#: What the bot vendor's destination policy is called.
DESTINATION: Final = "nlp"


class Dialogue:
    """Turns of one channel's users with one bot vendor (and the live agents, when
    given), through ``guard`` and the hand-over gate (``gate``)."""

    def __init__(
        self,
        guard: ChatGuard,
        bot: BotVendor,
        metrics: ServiceMetrics | None = None,
        agents: LiveAgentVendor | None = None,
    ) -> None:
        self.guard = guard
        self.bot = bot
        self.metrics = metrics
        self.agents = agents
        self.gate = HandOverGate(guard, agents)

    async def user_turn(
        self, session: str, text: str, data: dict[str, Any] | None = None
    ) -> list[ShownOutput]:
        """Store what the user typed (redacted) and answer it: chatguard's own
        exchange, or the bot's outputs (restored for the user), or nothing after the
        hand-over (see the module's promises)."""
        reading = self.gate.read(await self.guard.conversation(session), text, data)
        result = await self.guard.user_message(
            session, text, destination=DESTINATION, kind=reading.kind
        )
        self._count_entities([entity.type for entity in result.entities])
        return await self.answer_stored_turn(session, result.text, result.language, data, reading)

    async def answer_stored_turn(
        self,
        session: str,
        redacted: RedactedText | str,
        language: str,
        data: dict[str, Any] | None = None,
        reading: UserReading | None = None,
    ) -> list[ShownOutput]:
        """The second half of :meth:`user_turn`, for a user message already stored.

        ``redacted`` is the message as the ``nlp`` policy lets the bot see it (what
        ``guard.user_message`` returned), ``language`` its language; ``data`` is
        still raw: every string leaf is redacted here before the bot sees it.
        ``reading`` is how the gate read the message when it was stored (read again
        from ``redacted`` when not given). The same promises hold.
        """
        guard = self.guard
        conversation = await guard.conversation(session)
        if reading is None:
            reading = self.gate.read(conversation, redacted, data)
        if conversation.awaiting is not None:
            answered = await self.gate.answer(conversation, reading, redacted, language)
            if answered is not None:
                return answered
            conversation = await guard.conversation(session)  # resolved elsewhere first
        if reading.withdrawal is not None and conversation.awaiting is None:
            asked_in = reading.language_for(language)
            return await self.gate.ask_withdrawal(conversation, reading.withdrawal, asked_in)
        if reading.kind is EventKind.CONSENT:
            return []  # an answer to a question resolved meanwhile: never forwarded
        if self.agents is not None and conversation.handed_over_at is not None:
            return await self.gate.to_agents(conversation, redacted, language)

        async def redact(leaf: str) -> str:
            result = await guard.redactor.redact(
                leaf, conversation=session, lang=language, destination=DESTINATION
            )
            self._count_entities([entity.type for entity in result.entities])
            return result.text

        redacted_data = await map_strings(data or {}, redact)
        turn = BotTurn(
            session=session,
            user=conversation.user,
            text=RedactedText(redacted),
            language=language,
            data=redacted_data,
        )
        try:
            outputs = await self._converse(turn)
        except VendorError:  # counted by the vendor's client; the message is stored
            return [vendor_down(language)]

        shown = []
        for output in outputs:
            restored = (
                await guard.reply(session, output.text, lang=language) if output.text else None
            )
            replies = tuple(
                [
                    await guard.redactor.restore(reply, conversation=session)
                    for reply in output.quick_replies
                ]
            )
            shown.append(ShownOutput(restored, replies, output.handover))
        if any(output.handover for output in shown):
            # The notice promises the consent is asked before the hand-over.
            held = await guard.conversation(session)
            shown += await self.gate.request_hand_over(held, language)
        return shown

    async def _converse(self, turn: BotTurn) -> list[BotOutput]:
        if self.metrics is None:
            return await self.bot.converse(turn)
        with self.metrics.latency.labels(stage="vendor").time():
            return await self.bot.converse(turn)

    def _count_entities(self, types: list[str]) -> None:
        if self.metrics is not None:
            for entity_type in types:
                self.metrics.entities_redacted.labels(entity_type=entity_type).inc()


async def map_strings(value: Any, change: Callable[[str], Awaitable[str]]) -> Any:
    """``value`` with every string leaf (not the keys) replaced by ``change(leaf)``."""
    if isinstance(value, str):
        return await change(value)
    if isinstance(value, list):
        return [await map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {key: await map_strings(item, change) for key, item in value.items()}
    return value
