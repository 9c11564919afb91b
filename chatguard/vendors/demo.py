"""The built-in demo bot, and the demo's simulated live agents: vendors that need no
network.

The bot behaves like a real NLP vendor behind chatguard: it only ever sees redacted
text and answers with the placeholders it was given, in the turn's language,
offering quick replies; when the user asks for a human it hands over. The simulated
agents receive what Genesys would (the hand-over context and later turns, as the
``agent`` policy lets agents see them, with the quality-sampling flag) and answer
nothing: demo mode connects no live-agent platform.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Final

from chatguard.guard import ChatGuard
from chatguard.redact.restore import find_placeholders
from chatguard.store.records import Conversation
from chatguard.vendors.base import (
    BotOutput,
    BotTurn,
    BotVendor,
    LiveAgentVendor,
    QualitySampling,
)
from chatguard.vendors.genesys import agent_context, for_agents

#: The demo bot's phrases per language: (thanks, "I noted", "how can I help?").
_PHRASES: Final[dict[str, tuple[str, str, str]]] = {
    "en": ("Thank you", "I noted", "How can I help?"),
    "de": ("Danke", "Ich habe notiert:", "Wie kann ich helfen?"),
    "pt": ("Obrigado", "Registei", "Como posso ajudar?"),
    "it": ("Grazie", "Ho annotato", "Come posso aiutarla?"),
    "fr": ("Merci", "J'ai noté", "Comment puis-je vous aider ?"),
    "es": ("Gracias", "He anotado", "¿En qué puedo ayudarle?"),
}

#: Quick replies per language: (change the flight, talk to a human); the second one
#: contains a hand-over word, so choosing it hands over.
QUICK_REPLIES: Final[dict[str, tuple[str, str]]] = {
    "en": ("Change my flight", "Talk to an agent"),
    "de": ("Flug ändern", "Mit einem Mitarbeiter sprechen"),
    "pt": ("Alterar o voo", "Falar com um atendente"),
    "it": ("Cambiare il volo", "Parlare con un operatore"),
    "fr": ("Modifier mon vol", "Parler à un conseiller"),
    "es": ("Cambiar mi vuelo", "Hablar con un agente"),
}

#: What the demo bot says when it hands over, per language.
HANDOVER: Final[dict[str, str]] = {
    "en": "I am connecting you with a colleague.",
    "de": "Ich verbinde Sie mit einem Kollegen.",
    "pt": "Vou ligá-lo a um colega.",
    "it": "La metto in contatto con un collega.",
    "fr": "Je vous mets en relation avec un collègue.",
    "es": "Le pongo en contacto con un compañero.",
}

#: Words that ask for a human, in the six languages (matched as whole words).
_HUMAN = re.compile(
    r"\b(agent|agents|human|mitarbeiter|mitarbeiterin|atendente|operatore|conseiller|agente)\b",
    re.IGNORECASE,
)


def demo_bot(redacted: str, language: str) -> str:
    """A stand-in NLP vendor's answer: it names the placeholders it received."""
    thanks, noted, help_offer = _PHRASES.get(language, _PHRASES["en"])
    placeholders = sorted(find_placeholders(redacted))
    people = [p for p in placeholders if p.startswith("<PERSON_")]
    others = [p for p in placeholders if not p.startswith("<PERSON_")]
    greeting = f"{thanks} {people[0]}." if people else f"{thanks}."
    return f"{greeting} {noted} {', '.join(others)}." if others else f"{greeting} {help_offer}"


def asks_for_human(text: str) -> bool:
    """Whether the user asks for a human agent, in any of the six languages."""
    return _HUMAN.search(text) is not None


@dataclass(frozen=True, slots=True)
class VendorExchange:
    """One turn as the demo bot received it (redacted) and what it answered
    (with placeholders, before chatguard restored anything)."""

    turn: BotTurn
    outputs: tuple[BotOutput, ...]

    def as_json(self) -> dict[str, Any]:
        """The exchange as JSON-ready data: ``received`` and ``answered``."""
        return {
            "received": {
                "session": self.turn.session,
                "user": self.turn.user,
                "language": self.turn.language,
                "text": str(self.turn.text),
                "data": self.turn.data,
            },
            "answered": [
                {
                    "text": output.text,
                    "quick_replies": list(output.quick_replies),
                    "handover": output.handover,
                }
                for output in self.outputs
            ],
        }


@dataclass(frozen=True, slots=True)
class AgentMessage:
    """What the simulated agents received: the hand-over context (``kind``
    ``"hand_over"``) or one user turn (``"turn"``), as the ``agent`` policy lets agents
    see it, and the quality-sampling flag that came with it."""

    session: str
    kind: str
    text: str
    quality_sampling: QualitySampling

    def as_json(self) -> dict[str, str]:
        """The message as JSON-ready data."""
        return {
            "kind": self.kind,
            "text": self.text,
            "quality_sampling": self.quality_sampling.value,
        }


class VendorLog:
    """What the demo bot received and answered, and what the simulated agents
    received, per session pseudonym, in memory only.

    Bounded: at most ``turns_per_session`` entries of each kind per session (the
    oldest dropped) and ``sessions`` sessions (the least recently active dropped). It
    only ever holds what the vendors saw, which is redacted; it is for the demo page,
    never production.
    """

    def __init__(self, *, sessions: int = 1000, turns_per_session: int = 50) -> None:
        self._sessions = sessions
        self._turns = turns_per_session
        self._log: OrderedDict[str, _SessionLog] = OrderedDict()

    def record(self, entry: VendorExchange | AgentMessage) -> None:
        """Keep ``entry`` (a bot exchange or an agent message) under its session."""
        if isinstance(entry, VendorExchange):
            self._held(entry.turn.session).exchanges.append(entry)
        else:
            self._held(entry.session).agents.append(entry)

    def exchanges(self, session: str) -> list[VendorExchange]:
        """The session's bot exchanges, oldest first (empty for an unknown session)."""
        held = self._log.get(session)
        return [] if held is None else list(held.exchanges)

    def agent_messages(self, session: str) -> list[AgentMessage]:
        """What the simulated agents received for the session, oldest first."""
        held = self._log.get(session)
        return [] if held is None else list(held.agents)

    def _held(self, session: str) -> _SessionLog:
        """The session's log, made the most recently active (the oldest session dropped
        beyond ``sessions``)."""
        held = self._log.pop(session, None) or _SessionLog(
            deque(maxlen=self._turns), deque(maxlen=self._turns)
        )
        self._log[session] = held
        while len(self._log) > self._sessions:
            self._log.popitem(last=False)
        return held


@dataclass(frozen=True, slots=True)
class _SessionLog:
    exchanges: deque[VendorExchange]
    agents: deque[AgentMessage]


class DemoBot(BotVendor):
    """The demo bot: one answer per turn in the turn's language (English when it has
    no phrases for it), with quick replies; a hand-over when the user asks for a human.

    With a ``recorder``, every turn and its answer are also kept there (for the demo
    page); the answers are the same with or without one.
    """

    name = "demo"

    def __init__(self, recorder: VendorLog | None = None) -> None:
        self.recorder = recorder

    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        """Answer the turn; never fails and never leaves the process."""
        outputs = self._answer(turn)
        if self.recorder is not None:
            self.recorder.record(VendorExchange(turn, tuple(outputs)))
        return outputs

    def _answer(self, turn: BotTurn) -> list[BotOutput]:
        language = turn.language if turn.language in _PHRASES else "en"
        if asks_for_human(turn.text):
            return [BotOutput(text=HANDOVER[language], handover=True)]
        return [
            BotOutput(text=demo_bot(turn.text, language), quick_replies=QUICK_REPLIES[language])
        ]


class SimulatedAgents(LiveAgentVendor):
    """The demo's live agents: they receive what Genesys would (the hand-over context
    rendered by :func:`~chatguard.vendors.genesys.agent_context`, later turns through
    :func:`~chatguard.vendors.genesys.for_agents`, the quality-sampling flag) into
    ``log`` and never answer. Demo mode only."""

    name = "simulated-agents"

    def __init__(self, guard: ChatGuard, log: VendorLog) -> None:
        self.guard = guard
        self.log = log

    async def hand_over(
        self, session: str, *, quality_sampling: QualitySampling, before: int | None = None
    ) -> None:
        """Keep the context the agents would get."""
        context = await agent_context(self.guard, session, before=before)
        self.log.record(AgentMessage(session, "hand_over", context, quality_sampling))

    async def send_turn(
        self,
        conversation: Conversation,
        redacted: str,
        language: str,
        *,
        quality_sampling: QualitySampling,
    ) -> None:
        """Keep the turn as the agents would read it."""
        text = await for_agents(self.guard, conversation.session, redacted)
        self.log.record(AgentMessage(conversation.session, "turn", text, quality_sampling))
