"""A date is a date of birth only where the message says so; travel dates are kept."""

from __future__ import annotations

from typing import Any

import pytest

from chatguard.redact.recognizers.date_of_birth import DateOfBirthRecognizer

ENTITY = "DATE_OF_BIRTH"
THRESHOLD = 0.5


def scored(text: str) -> list[tuple[str, bool]]:
    """Each date found, and whether it reaches the redaction threshold."""
    results = DateOfBirthRecognizer().analyze(text, [ENTITY])
    return [(text[r.start : r.end], r.score >= THRESHOLD) for r in results]


def redacted(engine: Any, text: str, language: str | None = None) -> list[str]:
    return [text[e.start : e.end] for e in engine.analyze(text, language) if e.type == ENTITY]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("My date of birth is 12.05.1990", "12.05.1990"),
        ("DOB: 1990-05-12", "1990-05-12"),
        ("I was born on 12 May 1990", "12 May 1990"),
        ("My birthday is May 12, 1990", "May 12, 1990"),
        ("Geburtsdatum: 12. Mai 1990", "12. Mai 1990"),
        ("Ich bin am 12.05.1990 geboren", "12.05.1990"),
        ("Née le 12 mai 1990 à Lyon", "12 mai 1990"),
        ("date de naissance : 03/06/1985", "03/06/1985"),
        ("nato il 12 maggio 1990", "12 maggio 1990"),
        ("data di nascita 12/05/1990", "12/05/1990"),
        ("Data de nascimento: 12 de maio de 1990", "12 de maio de 1990"),
        ("nascida em 1 de março de 1988", "1 de março de 1988"),
        ("nacida el 12 de mayo de 1990", "12 de mayo de 1990"),
        ("Fecha de nacimiento 12/05/1990", "12/05/1990"),
        ("Mein Geburtstag ist am 3. Juni", "3. Juni"),
    ],
)
def test_date_after_a_birth_cue_in_any_language_is_a_date_of_birth(text: str, date: str) -> None:
    assert scored(text) == [(date, True)]


@pytest.mark.parametrize(
    "text",
    [
        "I fly on 12.05.2025",
        "Abflug am 3. Juni",
        "Flight LH 1173 on 12 May 2025 costs 120 EUR, seat 23A, 23 kg",
        "Es necesario viajar el 12/05/2025",
        "Le vol du 12 mai 2024 a été annulé",
        "Il volo del 12 maggio 2024 è in ritardo",
        "O voo de 12 de maio de 2024 foi cancelado",
        "return 2024-05-12",
    ],
)
def test_travel_date_is_not_a_date_of_birth(text: str) -> None:
    assert [above for _, above in scored(text)] == [False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I was born on 12 May 1990, flying on 12.05.2025",
            [("12 May 1990", True), ("12.05.2025", False)],
        ),
        (
            "Geburtsdatum: 12.05.1990, Flug am 03.06.2025",
            [("12.05.1990", True), ("03.06.2025", False)],
        ),
        ("born in Lisboa, my flight is on 12.05.2024", [("12.05.2024", False)]),
    ],
)
def test_birth_cue_names_only_its_own_date(text: str, expected: list[tuple[str, bool]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text", ["born 12.05.2090", "date of birth 31.02.1990", "geboren am 12.13.1990", "23 kg"]
)
def test_future_impossible_or_non_dates_are_not_reported(text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Geburtsdatum 12.05.1990, Flug am 03.06.2025", "de", ["12.05.1990"]),
        ("data de nascimento 12 de maio de 1990", "pt", ["12 de maio de 1990"]),
        ("I fly on 12.05.2025, is my birthday gift allowed?", "en", []),
        ("Abflug am 3. Juni nach Lissabon", "de", []),
    ],
)
def test_engine_redacts_birth_dates_and_keeps_travel_dates(
    engine: Any, text: str, language: str, expected: list[str]
) -> None:
    assert redacted(engine, text, language) == expected
