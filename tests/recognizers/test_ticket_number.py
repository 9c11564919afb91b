"""E-ticket numbers are found; phone numbers, cards, dates and prices are not."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.ticket_number import TicketNumberRecognizer
from tests.recognizers.spans import matches, redacted_as

ENTITY = "TICKET_NUMBER"


recognised = partial(matches, TicketNumberRecognizer(supported_language="en"))
redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("220-1234567890", "220-1234567890"),
        ("my number is 047-9876543210.", "047-9876543210"),
        ("(125-5550001234)", "125-5550001234"),
    ],
)
def test_dashed_ticket_number_is_found_without_context(text: str, number: str) -> None:
    assert [n for n, score in recognised(text) if score >= 0.5] == [number]


@pytest.mark.parametrize("text", ["2201234567890", "220 1234567890"])
def test_plain_thirteen_digits_need_context(text: str) -> None:
    assert [score < 0.5 for _, score in recognised(text)] == [True]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("My e-ticket is 2201234567890", "2201234567890"),
        ("ticket number 220 1234567890 please", "220 1234567890"),
        pytest.param("Meine Ticketnummer: 0757654321098", "0757654321098"),
        ("Flugschein 2205550001111 storniert?", "2205550001111"),
        ("mon billet 0571234500001", "0571234500001"),
        ("il mio biglietto 0551234567891", "0551234567891"),
        pytest.param("o número do bilhete é 047 1234567890", "047 1234567890"),
        ("el billete 0751112223334 no funciona", "0751112223334"),
    ],
)
def test_ticket_number_after_context_word_in_any_language_is_found(
    engine: Any, text: str, number: str
) -> None:
    assert redacted(engine, text) == [number]


@pytest.mark.parametrize(
    "text",
    [
        "call me on +4915112345678",
        "+351 2201234567",
        "0049 1511234567 or 00351 912345678",
        "card 4111 1111 1111 1111",
        "22012345678901",
        "220123456789",
        "flight LH 1173 on 12.05.2025 at 10:30, EUR 129,99",
        "000-0000000000",
        "1234567890.1234567",
    ],
)
def test_phone_numbers_and_other_numbers_are_not_ticket_numbers(text: str) -> None:
    assert [n for n, score in recognised(text) if score >= 0.5] == []


@pytest.mark.parametrize(
    "text",
    [
        "my ticket for +4915112345678",
        "ticket for LH1173 on 2025-05-12, seat 23A, 23 kg",
        "bilhete TP 1234 por 129.99 €",
        "billet 2201234567890123",
    ],
)
def test_numbers_near_ticket_context_that_are_not_ticket_numbers_are_kept(
    engine: Any, text: str
) -> None:
    assert redacted(engine, text) == []
