"""Dialogue: what a bot vendor receives is redacted; what the user sees is restored."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatguard.dialogue import Dialogue
from chatguard.errors import VendorTimeoutError
from chatguard.guard import ChatGuard
from chatguard.outputs import VENDOR_DOWN
from chatguard.store.records import Author
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"


@dataclass
class EchoBot(BotVendor):
    """Greets the first placeholder it got, offers it as a quick reply; or fails."""

    turns: list[BotTurn] = field(default_factory=list)
    fail: bool = False
    name: str = "echo"

    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        self.turns.append(turn)
        if self.fail:
            raise VendorTimeoutError("the echo bot did not answer in time")
        return [BotOutput("Hello <PERSON_1>", quick_replies=("Mail <EMAIL_ADDRESS_1>", "No"))]


async def test_the_bot_gets_placeholders_and_the_user_gets_values_back(guard: ChatGuard) -> None:
    conversation = await guard.start_conversation("web", user_id="customer-7")
    bot = EchoBot()
    shown = await Dialogue(guard, bot).user_turn(
        conversation.session, f"I am {NAME}", {"quick_reply": {"payload": EMAIL}, "n": 3}
    )
    [turn] = bot.turns
    assert NAME not in turn.text and "<PERSON_1>" in turn.text
    assert turn.data == {"quick_reply": {"payload": "<EMAIL_ADDRESS_1>"}, "n": 3}
    assert turn.session == conversation.session and turn.user == conversation.user
    assert [(s.text, s.quick_replies, s.handover) for s in shown] == [
        (f"Hello {NAME}", (f"Mail {EMAIL}", "No"), False)
    ]
    stored = await guard.store.events(conversation.session)
    assert [e.author for e in stored] == [Author.USER, Author.BOT]
    assert not [e for e in stored if NAME in e.text or EMAIL in e.text]


async def test_a_failing_vendor_gives_a_localized_message_and_loses_nothing(
    guard: ChatGuard,
) -> None:
    conversation = await guard.start_conversation("web")
    shown = await Dialogue(guard, EchoBot(fail=True)).user_turn(
        conversation.session, "Guten Tag, ich heiße Jonas Becker und brauche Hilfe mit dem Flug."
    )
    assert [s.text for s in shown] == [VENDOR_DOWN["de"]]
    [stored] = await guard.store.events(conversation.session)
    assert stored.author is Author.USER and "<PERSON_1>" in stored.text


def test_the_vendor_down_message_speaks_six_languages() -> None:
    assert set(VENDOR_DOWN) == {"en", "de", "pt", "it", "fr", "es"}
