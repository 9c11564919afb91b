"""The built-in demo bot: a bot vendor that needs no network.

It behaves like a real NLP vendor behind chatguard: it only ever sees redacted text
and answers with the placeholders it was given, in the turn's language, offering
quick replies; when the user asks for a human it hands over.
"""

from __future__ import annotations

import re
from typing import Final

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


class DemoBot(BotVendor):
    """The demo bot: one answer per turn in the turn's language (English when it has
    no phrases for it), with quick replies; a hand-over when the user asks for a human.
    """

    name = "demo"

    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        """Answer the turn; never fails and never leaves the process."""
        language = turn.language if turn.language in _PHRASES else "en"
        if asks_for_human(turn.text):
            return [BotOutput(text=HANDOVER[language], handover=True)]
        return [
            BotOutput(text=demo_bot(turn.text, language), quick_replies=QUICK_REPLIES[language])
        ]
