"""The built-in demo bot: placeholders only, the user's language, quick replies, hand-over."""

from __future__ import annotations

import pytest

from chatguard.model import RedactedText
from chatguard.vendors.base import BotTurn
from chatguard.vendors.demo import QUICK_REPLIES, DemoBot, asks_for_human, demo_bot


def _turn(text: str, language: str) -> BotTurn:
    return BotTurn("guest-1", None, RedactedText(text), language)


def test_demo_bot_answers_with_the_placeholders_it_received() -> None:
    assert demo_bot("ich heiße <PERSON_1>, Code <BOOKING_REFERENCE_1>", "de") == (
        "Danke <PERSON_1>. Ich habe notiert: <BOOKING_REFERENCE_1>."
    )


async def test_demo_bot_answers_in_the_turns_language_and_offers_quick_replies() -> None:
    [output] = await DemoBot().converse(_turn("Olá, sou <PERSON_1>", "pt"))
    assert output.text == "Obrigado <PERSON_1>. Como posso ajudar?"
    assert output.quick_replies == QUICK_REPLIES["pt"] and not output.handover


async def test_demo_bot_answers_in_english_when_it_has_no_phrases_for_the_language() -> None:
    [output] = await DemoBot().converse(_turn("hej", "sv"))
    assert output.text == "Thank you. How can I help?"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I want a human", "en"),
        ("Bitte einen Mitarbeiter", "de"),
        ("Quero um atendente", "pt"),
        ("Vorrei un operatore", "it"),
        ("Un conseiller, svp", "fr"),
        ("Quiero hablar con un agente", "es"),
    ],
)
async def test_demo_bot_hands_over_when_the_user_asks_for_a_human(text: str, language: str) -> None:
    [output] = await DemoBot().converse(_turn(text, language))
    assert output.handover and output.text


def test_every_second_quick_reply_asks_for_a_human() -> None:
    assert all(asks_for_human(second) for _, second in QUICK_REPLIES.values())
    assert not any(asks_for_human(first) for first, _ in QUICK_REPLIES.values())
    assert not asks_for_human("my agency booked it")
