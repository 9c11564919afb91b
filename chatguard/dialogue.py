"""Dialogue: one user turn through chatguard to a bot vendor and back.

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
* Live agents (``agents``, Genesys): when an output asks for a human, the
  conversation is handed over once (the agents get the conversation so far, see
  :mod:`chatguard.vendors.genesys`) and marked, in one store write, by the
  conversation's ``handed_over_at`` (what later turns read, so the mark survives
  restarts) and a ``system`` transcript event ``HANDED_OVER`` (so the person sees it
  in their transcript and export). From then on each user turn goes to the agents instead of the bot
  (the ``nlp`` text with the placeholders of the types the ``agent`` policy keeps
  restored, translated into the agents' language when translation is on, see
  :meth:`GenesysOpenMessaging.send_turn`) and returns no outputs: the agents' replies
  arrive through the Genesys webhook. Structured ``data`` is not sent to agents. If
  the hand-over fails, the user gets the vendor-down message and the conversation
  stays with the bot (asking again retries).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from chatguard.errors import VendorError
from chatguard.guard import ChatGuard
from chatguard.model import RedactedText
from chatguard.server.metrics import ServiceMetrics
from chatguard.store.records import (
    Author,
    Conversation,
    DialogueChange,
    Direction,
    RecordKind,
    TranscriptEvent,
)
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor
from chatguard.vendors.genesys import GenesysOpenMessaging

#: What the bot vendor's destination policy is called.
DESTINATION: Final = "nlp"

#: What the user sees when the bot vendor fails, per language (English otherwise).
VENDOR_DOWN: Final[dict[str, str]] = {
    "en": (
        "Sorry, the assistant is not available right now. "
        "Your message was saved; please try again in a moment."
    ),
    "de": (
        "Der Assistent ist gerade leider nicht erreichbar. "
        "Ihre Nachricht wurde gespeichert; bitte versuchen Sie es gleich noch einmal."
    ),
    "pt": (
        "Lamentamos, o assistente não está disponível neste momento. "
        "A sua mensagem foi guardada; tente novamente daqui a pouco."
    ),
    "it": (
        "Spiacenti, l'assistente non è disponibile al momento. "
        "Il suo messaggio è stato salvato; riprovi tra poco."
    ),
    "fr": (
        "Désolé, l'assistant n'est pas disponible pour le moment. "
        "Votre message a été enregistré ; veuillez réessayer dans un instant."
    ),
    "es": (
        "Lo sentimos, el asistente no está disponible en este momento. "
        "Su mensaje se ha guardado; inténtelo de nuevo en un momento."
    ),
}


#: The system transcript event that marks a conversation handed over to live agents.
HANDED_OVER: Final = "handed over to a live agent"


@dataclass(frozen=True, slots=True)
class ShownOutput:
    """One bot output as the user sees it: values restored; ``handover`` asks for a human."""

    text: str | None
    quick_replies: tuple[str, ...] = ()
    handover: bool = False


class Dialogue:
    """Turns of one channel's users with one bot vendor, through ``guard``."""

    def __init__(
        self,
        guard: ChatGuard,
        bot: BotVendor,
        metrics: ServiceMetrics | None = None,
        agents: GenesysOpenMessaging | None = None,
    ) -> None:
        self.guard = guard
        self.bot = bot
        self.metrics = metrics
        self.agents = agents

    async def user_turn(
        self, session: str, text: str, data: dict[str, Any] | None = None
    ) -> list[ShownOutput]:
        """Send what the user typed (and structured ``data``) to the bot, redacted;
        return the bot's outputs restored for the user (see the module's promises)."""
        result = await self.guard.user_message(session, text, destination=DESTINATION)
        self._count_entities([entity.type for entity in result.entities])
        return await self.answer_stored_turn(session, result.text, result.language, data)

    async def answer_stored_turn(
        self,
        session: str,
        redacted: RedactedText | str,
        language: str,
        data: dict[str, Any] | None = None,
    ) -> list[ShownOutput]:
        """The second half of :meth:`user_turn`, for a user message already stored.

        ``redacted`` is the message as the ``nlp`` policy lets the bot see it (what
        ``guard.user_message`` returned), ``language`` its language; ``data`` is
        still raw: every string leaf is redacted here before the bot sees it. The
        same promises hold: outputs stored redacted and returned restored, a vendor
        failure answered with the localized message.
        """
        guard = self.guard
        conversation = await guard.conversation(session)
        if self.agents is not None and conversation.handed_over_at is not None:
            return await self._to_agents(self.agents, conversation, redacted, language)

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
            return [ShownOutput(VENDOR_DOWN.get(language, VENDOR_DOWN["en"]))]

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
        if self.agents is not None and any(output.handover for output in shown):
            # Issue 5: the quality-sampling consent question is asked here, before
            # the hand-over (the notice promises it is asked first).
            try:
                await self.agents.hand_over(session)
            except VendorError:
                return [*shown, ShownOutput(VENDOR_DOWN.get(language, VENDOR_DOWN["en"]))]
            await self._mark_handed_over(await guard.conversation(session))
        return shown

    async def _to_agents(
        self,
        agents: GenesysOpenMessaging,
        conversation: Conversation,
        redacted: RedactedText | str,
        language: str,
    ) -> list[ShownOutput]:
        try:
            await agents.send_turn(conversation, redacted, language)
        except VendorError:  # counted by the client; the message is stored
            return [ShownOutput(VENDOR_DOWN.get(language, VENDOR_DOWN["en"]))]
        return []

    async def _mark_handed_over(self, conversation: Conversation) -> None:
        guard = self.guard
        now = guard.clock.now()
        await guard.store.update_dialogue(conversation.session, DialogueChange(handed_over_at=now))
        await guard.store.record_event(
            TranscriptEvent(
                session=conversation.session,
                at=now,
                direction=Direction.OUTBOUND,
                author=Author.SYSTEM,
                text=HANDED_OVER,
                expires_at=guard.retention.expires_at(RecordKind.TRANSCRIPTS),
            ),
            conversation,
        )

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
