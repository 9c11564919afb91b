"""National id and tax numbers are found when their checksum passes; look-alikes are not.

Every number here is made up, with a check digit computed by python-stdnum.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.national_id import NationalIdRecognizer
from tests.recognizers.spans import matches, redacted_as

ENTITY = "NATIONAL_ID"


recognised = partial(matches, NationalIdRecognizer(supported_language="en"))
redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("BNCGLI90A41F205H", "BNCGLI90A41F205H"),
        ("cf: vrdlcu77e12h501z", "vrdlcu77e12h501z"),
        ("12345678Z", "12345678Z"),
        ("mi número 87654321-X.", "87654321-X"),
        ("X1234567L", "X1234567L"),
        ("(Y-7654321-G)", "Y-7654321-G"),
        ("123456784ZZ2", "123456784ZZ2"),
        ("12345678 4 ZZ2", "12345678 4 ZZ2"),
    ],
)
def test_checksum_valid_distinctive_id_is_found_without_context(text: str, number: str) -> None:
    assert recognised(text) == [(number, 1.0)]


@pytest.mark.parametrize(
    "number",
    ["38273301463", "38 273 301 463", "298765438", "185057800608491", "1 85 05 78 006 084 91"],
)
def test_checksum_valid_bare_digits_score_below_threshold_alone(number: str) -> None:
    assert [score < 0.5 for _, score in recognised(number)] == [True]


@pytest.mark.parametrize(
    "text",
    [
        "BNCGLI90A41F205X",
        "12345678A",
        "X1234567A",
        "123456784ZZ3",
        "38273301464",
        "298765439",
        "185057800608492",
    ],
)
def test_number_whose_checksum_fails_is_not_a_national_id(text: str) -> None:
    assert recognised(text) == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Meine Steuer-ID ist 38273301463", "38273301463"),
        pytest.param("Steueridentifikationsnummer 73 194 965 202", "73 194 965 202"),
        ("o meu NIF é 298765438", "298765438"),
        ("número de contribuinte 123456789", "123456789"),
        ("mon numéro de sécurité sociale est 1 85 05 78 006 084 91", "1 85 05 78 006 084 91"),
        ("NIR 293027512345668", "293027512345668"),
        ("my national tax number: 82459637667", "82459637667"),
    ],
)
def test_bare_digit_id_after_context_word_is_found(engine: Any, text: str, number: str) -> None:
    assert redacted(engine, text) == [number]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("il mio codice fiscale è BNCGLI90A41F205H", "BNCGLI90A41F205H"),
        ("mi DNI es 87654321X", "87654321X"),
        ("NIE Z0000001Y", "Z0000001Y"),
        ("cartão de cidadão 876543210AB9", "876543210AB9"),
    ],
)
def test_distinctive_id_after_context_word_is_found(engine: Any, text: str, number: str) -> None:
    assert redacted(engine, text) == [number]


@pytest.mark.parametrize(
    "text",
    [
        "call me on +4915112345678 or 0170 1234567",
        "ligue para 912 345 678",
        "ticket 220-1234567890 or 2201234567890",
        "flight LH1173 from FRA on 12.05.2025",
        "EUR 129,99 for seat 23A and 23 kg",
        "12345678 A",
        "THANKS HELLO URGENT",
        "booking X7KQ2P",
    ],
)
def test_phone_ticket_and_travel_details_are_not_national_ids(text: str) -> None:
    assert [n for n, score in recognised(text) if score >= 0.5] == []


@pytest.mark.parametrize(
    "text",
    [
        "o meu NIF é 298765439",
        "Steuer-ID 38273301464",
        "my phone number is 298765438",
        "ticket number 2201234567890 for my tax refund",
    ],
)
def test_invalid_or_uncontexted_numbers_are_not_national_ids(engine: Any, text: str) -> None:
    assert redacted(engine, text) == []
