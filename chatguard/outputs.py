"""What a user is shown of a turn: :class:`ShownOutput`, and chatguard's own message
for when a vendor fails (:func:`vendor_down`), in the six languages.

The dialogue (:mod:`chatguard.dialogue`), the hand-over gate
(:mod:`chatguard.handover`) and the channels share these; a channel renders a
``ShownOutput`` in its own wire format (web chat JSON, Messenger's Send API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["VENDOR_DOWN", "ShownOutput", "vendor_down"]

#: What the user sees when a vendor fails, per language (English otherwise).
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


@dataclass(frozen=True, slots=True)
class ShownOutput:
    """One output as the user sees it: values restored; ``handover`` asks for a human.

    ``quick_replies`` are the buttons' titles. ``payloads``, when given, holds the
    payload each button sends back (one per title: chatguard's own questions answer
    with ``YES_PAYLOAD`` / ``NO_PAYLOAD``); when empty, a button sends its title.
    ``consent`` marks chatguard's own consent exchange (a question, a confirmation,
    the privacy reference), which no vendor wrote or received.
    """

    text: str | None
    quick_replies: tuple[str, ...] = ()
    handover: bool = False
    payloads: tuple[str, ...] = ()
    consent: bool = False

    def __post_init__(self) -> None:
        if self.payloads and len(self.payloads) != len(self.quick_replies):
            raise ValueError("one payload per quick reply, or none")

    @property
    def buttons(self) -> tuple[tuple[str, str], ...]:
        """Each quick reply as ``(title, payload)``."""
        payloads = self.payloads or self.quick_replies
        return tuple(zip(self.quick_replies, payloads, strict=True))


def vendor_down(language: str | None) -> ShownOutput:
    """The output that says a vendor failed and the message was kept, in ``language``."""
    return ShownOutput(VENDOR_DOWN.get(language or "en", VENDOR_DOWN["en"]))
