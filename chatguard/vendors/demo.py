"""The built-in demo bot: a bot vendor that needs no network.

It behaves like a real NLP vendor behind chatguard: it only ever sees redacted text
and answers with the placeholders it was given, in the turn's language, offering
quick replies; when the user asks for a human it hands over.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Final

from chatguard.redact.restore import find_placeholders
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor

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


class VendorLog:
    """What the demo bot received and answered, per session pseudonym, in memory only.

    Bounded: at most ``turns_per_session`` exchanges per session (the oldest dropped)
    and ``sessions`` sessions (the least recently active dropped). It only ever holds
    what the vendor saw, which is redacted; it is for the demo page, never production.
    """

    def __init__(self, *, sessions: int = 1000, turns_per_session: int = 50) -> None:
        self._sessions = sessions
        self._turns = turns_per_session
        self._log: OrderedDict[str, deque[VendorExchange]] = OrderedDict()

    def record(self, exchange: VendorExchange) -> None:
        """Keep ``exchange`` under its session pseudonym."""
        session = exchange.turn.session
        exchanges = self._log.pop(session, None) or deque(maxlen=self._turns)
        exchanges.append(exchange)
        self._log[session] = exchanges
        while len(self._log) > self._sessions:
            self._log.popitem(last=False)

    def exchanges(self, session: str) -> list[VendorExchange]:
        """The session's exchanges, oldest first (empty for an unknown session)."""
        return list(self._log.get(session, ()))


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
