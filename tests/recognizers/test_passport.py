"""Passport numbers are found next to a context word, and nothing is without one."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.passport import PassportRecognizer
from tests.recognizers.spans import matches, redacted_as

ENTITY = "PASSPORT_NUMBER"


recognised = partial(matches, PassportRecognizer(supported_language="en"))
redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    "number",
    ["C01X00T47", "YA1234567", "12AB34567", "PAA123456", "C123456", "A12345678", "123456789"],
)
def test_passport_shaped_number_scores_below_threshold_without_context(number: str) -> None:
    assert [(n, score < 0.5) for n, score in recognised(number)] == [(number, True)]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("my passport number is 123456789", "123456789"),
        ("passport no. A12345678", "A12345678"),
        ("Meine Reisepassnummer: C01X00T47", "C01X00T47"),
        ("Pass Nr. CFGH1JK23", "CFGH1JK23"),
        ("numéro de passeport 12AB34567", "12AB34567"),
        ("il mio passaporto è YA1234567", "YA1234567"),
        ("o meu passaporte é C123456", "C123456"),
        ("mi pasaporte es PAA123456", "PAA123456"),
    ],
)
def test_passport_number_after_context_word_in_any_language_is_found(
    engine: Any, text: str, number: str
) -> None:
    assert redacted(engine, text) == [number]


@pytest.mark.parametrize(
    "text",
    [
        "C01X00T47",
        "flight LH1173 and LH 1173 from FRA to LIS",
        "on 12.05.2025 or 2025-05-12 at 10:30",
        "EUR 129,99 or 129.99 €, seat 23A, gate B12, 23 kg",
        "THANKS HELLO URGENT",
        "booking X7KQ2P, ticket 220-1234567890",
    ],
)
def test_travel_details_without_context_are_not_passport_numbers(engine: Any, text: str) -> None:
    assert redacted(engine, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "my passport expires on 12.05.2025",
        "Reisepass für Flug LH1173, Sitz 23A",
        "passaporte e bagagem de 23 kg",
        "passport: URGENT PLEASE",
        "passport date 12052025",
        "passport 000000000",
    ],
)
def test_dates_flights_and_words_near_passport_context_are_not_passport_numbers(
    engine: Any, text: str
) -> None:
    assert redacted(engine, text) == []
