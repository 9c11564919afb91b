"""Street addresses are found in each country's format; cities, airports and gates are not."""

from __future__ import annotations

from typing import Any

import pytest

from chatguard.redact.recognizers.street_address import StreetAddressRecognizer

ENTITY = "STREET_ADDRESS"
THRESHOLD = 0.5


def addresses(text: str) -> list[str]:
    """The addresses the recogniser reports at or above the redaction threshold."""
    results = StreetAddressRecognizer().analyze(text, [ENTITY])
    return [text[r.start : r.end] for r in results if r.score >= THRESHOLD]


def redacted(engine: Any, text: str, language: str | None = None) -> list[str]:
    return [text[e.start : e.end] for e in engine.analyze(text, language) if e.type == ENTITY]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Meine Adresse ist Hauptstraße 12, 10115 Berlin", "Hauptstraße 12, 10115 Berlin"),
        ("Bitte an Goethestr. 5 liefern", "Goethestr. 5"),
        ("Ich wohne Am Markt 3a", "Am Markt 3a"),
        ("Lindenweg 7, A-1010 Wien", "Lindenweg 7, A-1010 Wien"),
        (
            "Berliner Straße 5, 60311 Frankfurt am Main",
            "Berliner Straße 5, 60311 Frankfurt am Main",
        ),
        ("Moro na Rua Augusta 27, 1100-048 Lisboa", "Rua Augusta 27, 1100-048 Lisboa"),
        ("a morada é Avenida da Liberdade 100, Lisboa", "Avenida da Liberdade 100, Lisboa"),
        ("Av. da República 45", "Av. da República 45"),
        ("Vivo en Calle Mayor 5, 28013 Madrid", "Calle Mayor 5, 28013 Madrid"),
        ("C/ Mayor 5, 28013 Madrid", "C/ Mayor 5, 28013 Madrid"),
        ("Paseo de la Castellana 100", "Paseo de la Castellana 100"),
        ("Abito in Via Roma 10, 00184 Roma", "Via Roma 10, 00184 Roma"),
        ("Piazza Navona 3", "Piazza Navona 3"),
        ("J'habite 12 rue de la Paix, 75002 Paris", "12 rue de la Paix, 75002 Paris"),
        ("3 bd Saint-Michel", "3 bd Saint-Michel"),
        ("12, rue de la Gare, L-1234 Luxembourg", "12, rue de la Gare, L-1234 Luxembourg"),
        ("Rue de la Loi 16, 1000 Bruxelles", "Rue de la Loi 16, 1000 Bruxelles"),
        ("Keizersgracht 123, 1015 CJ Amsterdam", "Keizersgracht 123, 1015 CJ Amsterdam"),
        ("I live at 221B Baker Street, London", "221B Baker Street, London"),
        ("10 Downing St", "10 Downing St"),
        (
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        ),
    ],
)
def test_street_with_number_is_found_with_its_postal_code_and_city(text: str, address: str) -> None:
    assert addresses(text) == [address]


@pytest.mark.parametrize(
    "text",
    [
        "I fly from Lisboa to Frankfurt",
        "Terminal 2, Gate B22",
        "Ich bin im Terminal 2 am Gate B22",
        "We did the Via Ferrata near Roma",
        "Flight LH 1173 Frankfurt to Porto, seat 23A, 23 kg, 120 EUR",
        "Mein Sitzplatz 23A ist kaputt",
        "Mein Platz 23A",
        "Ich fliege im Juni 2025 nach Madrid",
        "I fly via Frankfurt 2 times a year",
        "connecting via Munich 12:30",
        "Am Flughafen 1 wartet meine Frau",
        "O voo para Santos sai do Porto às 10h",
        "Vuelo a Madrid el 12/05/2025 por 120 EUR",
        "Je pars de Paris, place 23A",
    ],
)
def test_city_airport_gate_or_seat_is_not_an_address(text: str) -> None:
    assert addresses(text) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Entreguem na Rua Augusta 27, 4º Esq., 1100-048 Lisboa, obrigado",
            "Rua Augusta 27, 4º Esq., 1100-048 Lisboa",
        ),
        (
            "Rua de Cedofeita, 129, 1º Esq., 4050-180 Porto, NIF 123456789",
            "Rua de Cedofeita, 129, 1º Esq., 4050-180 Porto",
        ),
        (
            "morada: Avenida da Liberdade, 94 2D, 1250-096 Lisboa",
            "Avenida da Liberdade, 94 2D, 1250-096 Lisboa",
        ),
        ("Vivo en Calle Mayor 5, 5º B, 28013 Madrid", "Calle Mayor 5, 5º B, 28013 Madrid"),
        ("moro na Rua X 12, 2.º Dto", "Rua X 12, 2.º Dto"),
        ("Hauptstraße 5, 3. OG, 10115 Berlin", "Hauptstraße 5, 3. OG, 10115 Berlin"),
        ("Via Roma 10, piano 3, 00184 Roma", "Via Roma 10, piano 3, 00184 Roma"),
    ],
)
def test_floor_and_door_belong_to_the_one_address_span(text: str, address: str) -> None:
    assert addresses(text) == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Rua Augusta 27, 2 malas perdidas", "Rua Augusta 27"),
        ("Calle Mayor 5, 2 de mayo", "Calle Mayor 5"),
        ("Hauptstraße 5, 2 Koffer", "Hauptstraße 5"),
    ],
)
def test_a_count_after_the_house_number_is_not_a_floor(text: str, address: str) -> None:
    assert addresses(text) == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Our home address: 100 Kingsway, Bristol BS20 3XY", "100 Kingsway, Bristol BS20 3XY"),
        ("Please deliver to Kingsway, Bristol BS20 3XY instead", "Kingsway, Bristol BS20 3XY"),
        ("send it to 7 Highfield Rise, Leeds LS13 7LD", "7 Highfield Rise, Leeds LS13 7LD"),
        ("deliver to 4 Southgate, Stoke-on-Trent ST4 2AB", "4 Southgate, Stoke-on-Trent ST4 2AB"),
    ],
)
def test_british_street_with_city_and_postcode_is_one_address(text: str, address: str) -> None:
    assert addresses(text) == [address]


@pytest.mark.parametrize(
    "text",
    [
        "Flight BA 2490 from London LHR, seat 23A",
        "Kingsway is a nice street",
        "Terminal 5, Gate B22",
    ],
)
def test_british_place_without_postcode_is_not_an_address(text: str) -> None:
    assert addresses(text) == []


def test_street_named_without_a_number_needs_a_context_word() -> None:
    results = StreetAddressRecognizer().analyze("moro na Rua Augusta", [ENTITY])
    assert [(r.start, r.end) for r in results] == [(8, 19)]
    assert all(r.score < THRESHOLD for r in results)


def test_postal_code_and_city_alone_needs_a_context_word() -> None:
    results = StreetAddressRecognizer().analyze("10115 Berlin", [ENTITY])
    assert results and all(r.score < THRESHOLD for r in results)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Meine Anschrift: Hauptstraße 12, 10115 Berlin",
            "de",
            ["Hauptstraße 12, 10115 Berlin"],
        ),
        ("moro na Rua Augusta, perto da Baixa", "pt", ["Rua Augusta"]),
        ("Mi dirección es Calle Mayor 5, 28013 Madrid", "es", ["Calle Mayor 5, 28013 Madrid"]),
        ("I fly from Lisboa to Frankfurt via Paris", "en", []),
        ("Ich bin im Terminal 2 am Gate B22", "de", []),
    ],
)
def test_engine_redacts_addresses_and_keeps_destinations(
    engine: Any, text: str, language: str, expected: list[str]
) -> None:
    assert redacted(engine, text, language) == expected


def test_floor_is_found_in_unicode_normalised_spelling(engine: Any) -> None:
    text = "Mejor entregadlo en Calle Mayor 132, 5º B, 28108 Madrid"
    assert redacted(engine, text, "es") == ["Calle Mayor 132, 5º B, 28108 Madrid"]
