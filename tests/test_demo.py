"""`make demo`: the scripted conversation shows values leaving as placeholders and coming back."""

from __future__ import annotations

import io

from chatguard.demo import SCRIPT, demo_bot, run_demo


def test_demo_bot_answers_in_the_language_with_the_placeholders_it_got() -> None:
    assert demo_bot("ich heiße <PERSON_1>, Code <BOOKING_REFERENCE_1>", "de") == (
        "Danke <PERSON_1>. Ich habe notiert: <BOOKING_REFERENCE_1>."
    )
    assert demo_bot("hello", "en") == "Thank you. How can I help?"


async def test_demo_shows_redacted_vendor_view_and_restored_user_view() -> None:
    out = io.StringIO()
    assert await run_demo(out, width=200) == 0
    shown = out.getvalue()
    vendor_column = [line.split(" | ")[1] for line in shown.splitlines() if line.count(" | ") == 2]
    vendor_view = " ".join(vendor_column)
    for secret in ("X7KQ2P", "emma.clarke@example.com", "DE89 3704", "4111 1111 1111 1111"):
        assert secret not in vendor_view
    assert "<PERSON_1>" in vendor_view and "Emma Clarke" in shown
    assert len(SCRIPT) >= 6 and {"web-de", "msgr-pt", "web-it", "web-fr", "web-es"} <= {
        conversation for conversation, _ in SCRIPT
    }
