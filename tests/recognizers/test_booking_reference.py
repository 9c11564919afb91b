"""Booking references (PNR) are found; flight numbers, dates, prices and shouting are not."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.booking_reference import BookingReferenceRecognizer
from tests.recognizers.spans import matches, redacted_as

ENTITY = "BOOKING_REFERENCE"


recognised = partial(matches, BookingReferenceRecognizer(supported_language="en"))
redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("My booking is X7KQ2P", "X7KQ2P"),
        ("ABC123", "ABC123"),
        ("pnr: 4ZT9QM, can I add a bag?", "4ZT9QM"),
        ("Is (R2D2XY) still valid?", "R2D2XY"),
        ("Buchung:Q8VN3T", "Q8VN3T"),
    ],
)
def test_code_of_letters_and_digits_is_a_booking_reference_on_its_own(text: str, code: str) -> None:
    assert [c for c, score in recognised(text) if score >= 0.5] == [code]


def test_all_letter_code_scores_below_threshold_without_context() -> None:
    assert [score < 0.5 for _, score in recognised("QWERTZ")] == [True]


@pytest.mark.parametrize("text", ["code k3m9xw in lower case", "x7kq2p", "vjdpts"])
def test_lower_case_code_scores_below_threshold_without_context(text: str) -> None:
    assert all(score < 0.5 for _, score in recognised(text))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("mein buchungscode ist x7kq2p", "x7kq2p"),
        ("prenotazione ab12cd, grazie", "ab12cd"),
        ("my booking ref is 4zt9qm", "4zt9qm"),
        ("la confirmation zrmklb n'est jamais arrivée", "zrmklb"),
        ("die Bestätigung für lkmgch kam nie an", "lkmgch"),
        ("la conferma xqsqla non è mai arrivata", "xqsqla"),
        ("nunca me llegó la confirmación jqfcwd", "jqfcwd"),
    ],
)
def test_lower_case_booking_code_after_context_word_is_found(
    engine: Any, text: str, code: str
) -> None:
    assert redacted(engine, text) == [code]


@pytest.mark.parametrize(
    "text",
    [
        "Buchung bestätigt, danke",
        "meine Buchung bitte ändern",
        "prenotazione grazie mille",
        "booking thanks a lot",
        "la reserva gracias",
        "Die Bestätigung selbst kam nie an",
        "Buchung nichts angekommen",
        "my booking strand",
    ],
)
def test_lower_case_words_near_context_are_not_booking_references(engine: Any, text: str) -> None:
    assert redacted(engine, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Flight LH1173 to Lisbon",
        "flight LH 1173, TP 1234 and FR9876",
        "the easyJet flight U21234 or 4U1234",
        "from FRA to LIS on 12.05.2025 at 10:30",
        "it cost EUR 129,99 or 129.99 € (EUR129)",
        "seat 23A, gate B12, bag of 23 kg, 2x23kg allowed",
        "a stop of 120min and 1000th customer",
        "departure 5MAY25",
        "THANKS",
        "URGENT PLEASE HELLO",
        "write to x7kq2p@example.org or www.abc123.example",
    ],
)
def test_flight_numbers_dates_prices_and_words_are_not_booking_references(text: str) -> None:
    assert [c for c, score in recognised(text) if score >= 0.5] == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("My booking code is QWERTZ", "QWERTZ"),
        ("PNR QWERTZ", "QWERTZ"),
        ("record locator: HJKLMN", "HJKLMN"),
        ("Mein Buchungscode lautet QWERTZ", "QWERTZ"),
        ("Reservierung XCVBNM bitte stornieren", "XCVBNM"),
        ("Ma réservation : ASDFGH", "ASDFGH"),
        ("référence du dossier ASDFGH", "ASDFGH"),
        ("il codice di prenotazione è POIUYT", "POIUYT"),
        ("o código de reserva é LKJHGF", "LKJHGF"),
        ("mi localizador es MNBVCX", "MNBVCX"),
    ],
)
def test_all_letter_booking_code_after_context_word_is_found(
    engine: Any, text: str, code: str
) -> None:
    assert redacted(engine, text) == [code]


def test_booking_code_after_german_context_word_is_found(engine: Any) -> None:
    assert redacted(engine, "Hallo, meine Buchungsnummer ist X7KQ2P.") == ["X7KQ2P"]


@pytest.mark.parametrize(
    "text",
    [
        "QWERTZ",
        "URGENT: my booking was cancelled",
        "THANKS for the booking",
        "Please CHANGE my reservation",
        "my booking is on flight LH1173 on 2025-05-12",
        "Buchung für LH 1173 am 12.05.2025, Sitz 23A",
        "reserva do voo TP1234, 23 kg de bagagem",
    ],
)
def test_capital_words_and_flight_numbers_near_context_are_not_booking_references(
    engine: Any, text: str
) -> None:
    assert redacted(engine, text) == []
