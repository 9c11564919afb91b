"""Presidio's recognisers as chatguard sets them up: phone numbers, cards and IBANs."""

from __future__ import annotations

import pytest

from chatguard.redact.engine import RedactionEngine
from chatguard.redact.recognizers.predefined import (
    ChatCardRecognizer,
    ChatIbanRecognizer,
    ChatPhoneRecognizer,
)

PHONE = "PHONE_NUMBER"
CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"


def phones(text: str) -> list[tuple[str, float]]:
    results = ChatPhoneRecognizer().analyze(text, entities=[PHONE])
    return [(text[r.start : r.end], r.score) for r in results]


def redacted(engine: RedactionEngine, text: str, entity: str) -> list[str]:
    return [text[e.start : e.end] for e in engine.analyze(text) if e.type == entity]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Meine Nummer: +49 151 23456789", "+49 151 23456789"),
        ("ruf an unter 0151 23456789", "0151 23456789"),
        ("erreichbar unter (0)151-2345 6789", "(0)151-2345 6789"),
        ("o meu número é +351 912 345 678", "+351 912 345 678"),
        ("mon numéro 06 12 34 56 78", "06 12 34 56 78"),
        ("reach me at (212) 555-0123", "(212) 555-0123"),
    ],
)
def test_number_written_like_a_phone_number_counts_without_context(text: str, number: str) -> None:
    assert [n for n, score in phones(text) if score >= 0.5] == [number]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("o meu telemóvel é 912 345 678", "912 345 678"),
        ("mi móvil es 612 34 56 78", "612 34 56 78"),
    ],
)
def test_number_without_prefix_is_a_phone_number_after_a_phone_word(
    engine: RedactionEngine, text: str, number: str
) -> None:
    assert redacted(engine, text, PHONE) == [number]


def test_number_without_prefix_and_without_phone_word_is_not_a_phone_number(
    engine: RedactionEngine,
) -> None:
    assert [n for n, score in phones("mein Code ist 41821000") if score >= 0.5] == []
    assert redacted(engine, "mein Code ist 41821000", PHONE) == []


def test_number_after_another_digit_group_is_found() -> None:
    assert [n for n, _ in phones("Flug 1234 0151 23456789")] == ["0151 23456789"]
    assert [n for n, _ in phones("0151 23456789 oder 0171 98765432")] == [
        "0151 23456789",
        "0171 98765432",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "order WEB-2051096 never arrived",
        "order #41821000 never arrived",
        "ma commande 40059351 n'est jamais arrivée",
        "Bestellung 47358797, bekommen habe ich 40",
        "Bestellnr. #38720816",
        "pedido nº 43388107",
        "a minha encomenda #50987717 nunca chegou",
        "per l'ordine 42360616, niente risposta",
        "invoice number: 41821000",
    ],
)
def test_order_number_is_not_a_phone_number(text: str) -> None:
    assert phones(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "vamos en el vuelo el 27-6-2025, ¿podemos?",
        "Kann ich den Flug am 20.8.2025 umbuchen?",
        "flight on 2025-06-27 please",
        "le 04.11.2025 à Paris",
    ],
)
def test_travel_date_is_not_a_phone_number(text: str) -> None:
    assert phones(text) == []


def test_order_word_far_before_a_phone_number_does_not_hide_it() -> None:
    assert [n for n, _ in phones("my order arrived broken, call me on 0151 23456789")] == [
        "0151 23456789"
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("My number is +4915149903499 if the courier needs it", "+4915149903499"),
        ("llamadme al +49 1510 6887677", "+49 1510 6887677"),
    ],
)
def test_international_number_that_passes_luhn_is_a_phone_number_not_a_card(
    engine: RedactionEngine, text: str, number: str
) -> None:
    assert ChatCardRecognizer().analyze(text, entities=[CARD]) == []
    assert redacted(engine, text, PHONE) == [number]


def test_card_number_is_still_a_card() -> None:
    text = "card 4111 1111 1111 1111 please"
    assert [text[r.start : r.end] for r in ChatCardRecognizer().analyze(text, [CARD])] == [
        "4111 1111 1111 1111"
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("richiamatemi al 312 429 4507", "312 429 4507"),
        ("liguem-me para o 628 876 491", "628 876 491"),
        ("llamadme al 612 34 56 78", "612 34 56 78"),
        ("Sie erreichen mich unter 612 345 678", "612 345 678"),
    ],
)
def test_call_me_verb_in_any_language_is_phone_context(
    engine: RedactionEngine, text: str, number: str
) -> None:
    assert redacted(engine, text, PHONE) == [number]


def test_my_name_is_is_not_phone_context(engine: RedactionEngine) -> None:
    assert redacted(engine, "me llamo Pablo, mi código es 41821000", PHONE) == []


def ibans(text: str) -> list[str]:
    return [text[r.start : r.end] for r in ChatIbanRecognizer().analyze(text, entities=[IBAN])]


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 bitte", "DE89 3704 0044 0532 0130 00"),
        ("mit IBAN de89370400440532013000 zahlen", "de89370400440532013000"),
        ("IBAN ch93 0076 2011 6238 5295 7, danke", "ch93 0076 2011 6238 5295 7"),
        ("Konto at611904300234573201", "at611904300234573201"),
        ("Grüße aus der Straße: de89370400440532013000", "de89370400440532013000"),
    ],
)
def test_iban_is_found_in_capitals_and_in_lower_case(text: str, iban: str) -> None:
    assert ibans(text) == [iban]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN de89370400440532013001",
        "IBAN DE89 3704 0044 0532 0130 01",
        "code ab12cdef3456ghij7890 is not a bank account",
    ],
)
def test_iban_with_wrong_check_digits_or_format_is_not_an_iban(text: str) -> None:
    assert ibans(text) == []


def test_lower_case_iban_is_redacted_by_the_engine(engine: RedactionEngine) -> None:
    text = "Kann ich mit IBAN de89370400440532013000 zahlen?"
    assert redacted(engine, text, IBAN) == ["de89370400440532013000"]


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        ("mit IBAN at611904300234573201 zahlen", "at611904300234573201"),
        ("mit IBAN AT61 1904 3002 3457 3201 zahlen", "AT61 1904 3002 3457 3201"),
        ("IBAN gb82 west 1234 5698 7654 32 please", "gb82 west 1234 5698 7654 32"),
    ],
)
def test_iban_span_ends_before_the_next_word(text: str, iban: str) -> None:
    assert ibans(text) == [iban]


def test_two_ibans_in_a_row_are_both_found() -> None:
    text = "please DE89 3704 0044 0532 0130 00 please PT50000201231234567890154"
    assert ibans(text) == ["DE89 3704 0044 0532 0130 00", "PT50000201231234567890154"]


def test_international_number_followed_by_digits_takes_a_context_word(
    engine: RedactionEngine,
) -> None:
    text = "please reach me on +351 912 345 678 23 kg"
    assert redacted(engine, text, PHONE) == ["+351 912 345 678"]


def test_phone_number_right_after_a_price_is_found_whole() -> None:
    assert phones("EUR 129,99 0151 23456789") == [("0151 23456789", 0.6)]


def test_card_between_other_digit_groups_is_found(engine: RedactionEngine) -> None:
    text = "LH 1173 4000 0000 0000 0002 23 kg"
    assert redacted(engine, text, CARD) == ["4000 0000 0000 0002"]
    assert redacted(engine, "Amex 12 3782 822463 10005 ok", CARD) == ["3782 822463 10005"]


def test_grouped_digits_failing_the_luhn_check_are_not_a_card(engine: RedactionEngine) -> None:
    assert redacted(engine, "codes 4000 0000 0000 0003 12", CARD) == []
