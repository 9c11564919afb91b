"""Frequent-flyer numbers are found next to programme words, and bare numbers are not."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.frequent_flyer import FrequentFlyerRecognizer
from tests.recognizers.spans import matches, redacted_as

ENTITY = "FREQUENT_FLYER_NUMBER"


recognised = partial(matches, FrequentFlyerRecognizer(supported_language="en"))
redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    "number",
    ["992000612345678", "992 000 612 345 678", "TP123456789", "IB12345678", "1234567890"],
)
def test_programme_number_scores_below_threshold_without_context(number: str) -> None:
    assert [(n, score < 0.5) for n, score in recognised(number)] == [(number, True)]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("my Miles & More number is 992000612345678", "992000612345678"),
        ("frequent flyer 992 000 612 345 678", "992 000 612 345 678"),
        ("Meine Vielfliegernummer: 992000698765432", "992000698765432"),
        ("Flying Blue 1234567890, please add the miles", "1234567890"),
        pytest.param("numéro de fidélité 2345678901", "2345678901"),
        pytest.param("tessera MilleMiglia 87654321", "87654321"),
        ("o meu número TAP Miles&Go é TP123456789", "TP123456789"),
        pytest.param("número de passageiro frequente TP 987654321", "TP 987654321"),
        ("mi número de socio Iberia Plus IB12345678", "IB12345678"),
        ("my Avios membership 12345678", "12345678"),
    ],
)
def test_frequent_flyer_number_after_programme_word_in_any_language_is_found(
    engine: Any, text: str, number: str
) -> None:
    assert redacted(engine, text) == [number]


@pytest.mark.parametrize(
    "text",
    [
        "992000612345678",
        "call 0612345678 or +33612345678",
        "flight LH1173, TP 1234, IB 3170 and FR 9876",
        "on 12.05.2025 at 10:30 from FRA to LIS",
        "EUR 129,99, seat 23A, 23 kg",
        "ticket 220-1234567890",
        "THANKS URGENT",
        "booking X7KQ2P",
    ],
)
def test_bare_numbers_and_travel_details_are_not_frequent_flyer_numbers(
    engine: Any, text: str
) -> None:
    assert redacted(engine, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "add the miles for flight TP 1234 on 12052025",
        "Meilen für LH 1173 am 12.05.2025",
        "frequent flyer 0000000000",
        "millas del vuelo IB 3170, 23 kg",
    ],
)
def test_flights_and_dates_near_programme_words_are_not_frequent_flyer_numbers(
    engine: Any, text: str
) -> None:
    assert redacted(engine, text) == []
