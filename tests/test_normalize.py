"""Normalisation before detection: evasions are undone, offsets map back exactly."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatguard.redact.normalize import NormalisedText, join_split_digits, normalise

ZWSP = "\u200b"
CARD = "4111111111111111"


def full_width(text: str) -> str:
    """ASCII letters, digits and "@" as their full-width forms."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def original_of(normalised: NormalisedText, start: int, end: int) -> str:
    mapped_start, mapped_end = normalised.to_original(start, end)
    return normalised.original[mapped_start:mapped_end]


# --- invisible characters and compatibility forms ------------------------------------


def test_zero_width_characters_do_not_hide_a_card_number() -> None:
    typed = f"card 4111{ZWSP}1111\u200d1111\u2060111\ufeff1 thanks"
    normalised = normalise(typed)
    assert normalised.text == f"card {CARD} thanks"
    start = normalised.text.index(CARD)
    assert original_of(normalised, start, start + len(CARD)) == typed[5:-7]


def test_soft_hyphens_bidi_controls_and_variation_selectors_are_removed() -> None:
    typed = "jo\u00adhn \u202ejohn\u202c \u2066x\u2069 a\ufe0fb \u034fc \U000e0041d"
    assert normalise(typed).text == "john john x ab c d"


def test_full_width_digits_and_letters_fold_to_ascii() -> None:
    assert normalise("０１２ ｊｏｈｎ＠ｇｍａｉｌ．ｃｏｍ").text == "012 john@gmail.com"


def test_mathematical_and_circled_characters_fold_to_ascii() -> None:
    assert normalise("𝟏𝟐𝟑 𝐣𝐨𝐡𝐧 ① ⑴").text == "123 john 1 (1)"


def test_a_ligature_maps_every_letter_it_produces_to_itself() -> None:
    normalised = normalise("ﬁne")
    assert normalised.text == "fine"
    assert normalised.to_original(0, 1) == (0, 1)
    assert normalised.to_original(1, 2) == (0, 1)
    assert normalised.to_original(1, 4) == (0, 3)


@pytest.mark.parametrize(
    "name", ["Jürgen Müller", "François Lefèvre", "João Conceição", "Núñez Peña", "Niccolò Çelik"]
)
def test_accented_names_keep_their_accents(name: str) -> None:
    normalised = normalise(f"Mein Name ist {name}.")
    assert normalised.text == f"Mein Name ist {name}."
    assert not normalised.changed


def test_unusual_spaces_and_dashes_become_plain_ones() -> None:
    typed = "IBAN\u00a0DE89\u20093704\u202f0044 \u2013 call 0151\u20112345\u22126789\u3000ok"
    assert normalise(typed).text == "IBAN DE89 3704 0044 - call 0151-2345-6789 ok"


def test_plain_text_comes_back_unchanged_with_the_identity_map() -> None:
    typed = "Hi, I booked LH 1173 to Munich on 12.05.2025; my bag is 23 kg. At 5 at the gate."
    normalised = normalise(typed)
    assert normalised.text == typed
    assert not normalised.changed
    assert normalised == NormalisedText(text=typed, original=typed)
    assert normalised.to_original(3, 9) == (3, 9)


def test_a_span_outside_the_text_is_rejected() -> None:
    normalised = normalise(f"a{ZWSP}b")
    with pytest.raises(ValueError):
        normalised.to_original(0, 3)
    with pytest.raises(ValueError):
        normalised.to_original(2, 1)


def test_an_empty_span_maps_to_an_empty_span_at_the_same_place() -> None:
    normalised = normalise(f"a{ZWSP}b{ZWSP}")
    assert normalised.to_original(1, 1) == (2, 2)
    assert normalised.to_original(2, 2) == (4, 4)


# --- spelled-out e-mail addresses --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("john dot smith at gmail dot com", "john.smith@gmail.com"),
        ("john.smith (at) gmail (dot) com", "john.smith@gmail.com"),
        ("john [at] gmail [dot] com", "john@gmail.com"),
        ("john at gmail.com", "john@gmail.com"),
        ("john(at)gmail.com", "john@gmail.com"),
        ("john{at}gmail{dot}com", "john@gmail.com"),
        ("john <at> gmail <dot> co <dot> uk", "john@gmail.co.uk"),
        ("john @ gmail . com", "john@gmail.com"),
        ("john(@)gmail(.)com", "john@gmail.com"),
        ("JOHN AT GMAIL DOT COM", "JOHN@GMAIL.COM"),
        ("max ät web punkt de", "max@web.de"),
        ("max.mustermann (ät) gmx (punkt) de", "max.mustermann@gmx.de"),
        ("juan arroba gmail punto com", "juan@gmail.com"),
        ("joao arroba uol ponto com ponto br", "joao@uol.com.br"),
        ("mario chiocciola libero punto it", "mario@libero.it"),
        ("jean point dupont arobase orange point fr", "jean.dupont@orange.fr"),
        ("j_doe+chat at mail-box dot example dot org", "j_doe+chat@mail-box.example.org"),
    ],
)
def test_a_spelled_out_email_address_becomes_a_real_one(typed: str, address: str) -> None:
    normalised = normalise(f"Schreib mir an {typed}, danke")
    assert normalised.text == f"Schreib mir an {address}, danke"
    start = normalised.text.index(address)
    assert original_of(normalised, start, start + len(address)) == typed


def test_an_address_at_a_sentence_end_keeps_the_full_stop() -> None:
    assert normalise("Mail: anna at example dot com.").text == "Mail: anna@example.com."


def test_two_spelled_out_addresses_are_both_rewritten() -> None:
    typed = "either a at b dot de or c (at) d (dot) fr"
    assert normalise(typed).text == "either a@b.de or c@d.fr"


def test_a_real_email_address_is_left_as_typed() -> None:
    typed = "write to john.smith@gmail.com please"
    assert not normalise(typed).changed


@pytest.mark.parametrize(
    "typed",
    [
        "I will be at the airport",
        "meet me at gate 5 dot",
        "Call me at home. Tomorrow works",
        "mail me @ home. thanks",
        "see you at 10.30 at the lounge",
        "Ich bin am Gate Punkt 5 Uhr",
        "Estoy en casa punto final",
        "je suis au point de départ at home",
        "the flight at 5 dot 30",
        "I'm at the point com",
        "Müller at gmx dot de",
        "look at the map (dot) on the screen",
    ],
)
def test_ordinary_sentences_with_at_and_dot_words_stay_unchanged(typed: str) -> None:
    assert normalise(typed).text == typed


# --- joining split digits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "joined"),
    [
        ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", CARD),
        ("4111-1111-1111-1111", CARD),
        ("4111.1111.1111.1111", CARD),
        ("4111/1111 1111-1111", CARD),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN DE89370400440532013000"),
        ("+49 151 23456789", "+4915123456789"),
        ("Pass C01X 00T4 7 nope", "Pass C01X 00T4 7 nope"),
    ],
)
def test_split_digit_runs_are_joined(typed: str, joined: str) -> None:
    result = join_split_digits(normalise(typed))
    if joined == typed:
        assert result is None
    else:
        assert result is not None
        assert result.text == joined


@pytest.mark.parametrize(
    "typed",
    [
        "born 12.05.1990",
        "on 2025-05-12 or 12/05/1990",
        "from 12.05.1990 to 13.05.1990",
        "server 192.168.0.1 and 10.0.0.254",
        "costs 1.299,00 EUR, the suite 123.456.789,00 and 1 234 567.89",
        "flight LH 1173, bag 23 kg, seat 12 A",
        "10.30 11.45 12.00 and 13:15",
        "2025-05-12 2025-05-13",
    ],
)
def test_legitimately_punctuated_numbers_are_not_joined(typed: str) -> None:
    assert join_split_digits(normalise(typed)) is None


def test_a_date_next_to_a_split_card_number_stays_a_date() -> None:
    result = join_split_digits(normalise("12.05.1990 4111 1111 1111 1111"))
    assert result is not None
    assert result.text == f"12.05.1990 {CARD}"


def test_joined_digits_map_back_through_both_passes_to_what_was_typed() -> None:
    typed = f"card: ４１１１ {ZWSP}1111\u00a01111-１111!"
    first = normalise(typed)
    assert first.text == "card: 4111 1111 1111-1111!"
    second = join_split_digits(first)
    assert second is not None
    assert second.text == f"card: {CARD}!"
    assert second.original == typed
    assert original_of(second, 6, 6 + len(CARD)) == typed[6:-1]
    assert original_of(second, 10, 11) == "1"


# --- properties -----------------------------------------------------------------------

# Texts made of the pieces evasions are built from, so that hypothesis reaches them.
evasive_texts = st.lists(
    st.sampled_from(
        [
            "john",
            "smith",
            "x",
            "Tomorrow",
            "gmail",
            "com",
            "de",
            "5",
            "4111",
            " ",
            "\t",
            " at ",
            "at",
            " ät ",
            " dot ",
            " punkt ",
            "dot",
            ".",
            "@",
            "(at)",
            "[dot]",
            "(",
            ")",
            "-",
            "'",
            ZWSP,
            "\u00ad",
            "ｊ",
            "０",
            "＠",
            "ﬁ",
            "\u00a0",
            "\u2013",
            "é",
            "İ",
        ]
    ),
    max_size=30,
).map("".join)
any_text = st.one_of(st.text(), evasive_texts)


def assert_a_well_formed_map(normalised: NormalisedText) -> None:
    length, original_length = len(normalised.text), len(normalised.original)
    previous = (0, 0)
    for index in range(length):
        start, end = normalised.to_original(index, index + 1)
        assert 0 <= start < end <= original_length
        assert start >= previous[0]
        assert end >= previous[1]
        previous = (start, end)
    for start in range(length + 1):
        mapped = normalised.to_original(start, start)
        assert 0 <= mapped[0] == mapped[1] <= original_length
    if length:
        assert normalised.to_original(0, length) == (
            normalised.to_original(0, 1)[0],
            normalised.to_original(length - 1, length)[1],
        )


@given(any_text)
def test_mapped_spans_stay_within_the_original_and_never_go_backwards(text: str) -> None:
    normalised = normalise(text)
    assert normalised.original == text
    assert_a_well_formed_map(normalised)


@given(any_text)
def test_each_character_comes_from_text_that_could_produce_it(text: str) -> None:
    normalised = normalise(text)
    for index, char in enumerate(normalised.text):
        source = original_of(normalised, index, index + 1)
        assert char == source or char in unicodedata.normalize("NFKC", source) or char in "@.- "


# Pieces whose normalised form is known, to check the map against the truth.
PIECES: dict[str, str] = {
    "b": "b",
    "7": "7",
    " ": " ",
    "é": "é",
    ZWSP: "",
    "\u00ad": "",
    "\u202e": "",
    "ｊ": "j",
    "０": "0",
    "ﬁ": "fi",
    "①": "1",
    "\u00a0": " ",
    "\u2013": "-",
    "𝐱": "x",
}


@given(st.lists(st.sampled_from(sorted(PIECES)), max_size=25), st.data())
def test_redacting_the_mapped_span_removes_every_character_that_contributed(
    pieces: list[str], data: st.DataObject
) -> None:
    original = "".join(pieces)
    producer: list[tuple[int, int]] = []  # for each normalised char, its source piece
    offset = 0
    for piece in pieces:
        producer.extend([(offset, offset + len(piece))] * len(PIECES[piece]))
        offset += len(piece)
    normalised = normalise(original)
    assert normalised.text == "".join(PIECES[piece] for piece in pieces)

    start = data.draw(st.integers(0, len(normalised.text)))
    end = data.draw(st.integers(start, len(normalised.text)))
    mapped_start, mapped_end = normalised.to_original(start, end)
    if start < end:
        assert (mapped_start, mapped_end) == (producer[start][0], producer[end - 1][1])
        # What is left is exactly the pieces that produced nothing in the span.
        redacted = original[:mapped_start] + original[mapped_end:]
        untouched, offset = [], 0
        for piece in pieces:
            if offset + len(piece) <= mapped_start or offset >= mapped_end:
                untouched.append(PIECES[piece])
            offset += len(piece)
        assert normalise(redacted).text == "".join(untouched)


@given(st.text(alphabet=st.characters(max_codepoint=0x17F, exclude_categories=["Cf", "Zs"])))
def test_text_with_nothing_to_undo_maps_every_index_to_itself(text: str) -> None:
    normalised = normalise(text.replace("@", ""))
    if not normalised.changed:
        assert normalised.text == normalised.original
        for index in range(len(normalised.text) + 1):
            assert normalised.to_original(index, index) == (index, index)
            assert normalised.to_original(0, index) == (0, index)


@given(any_text)
def test_normalising_twice_changes_nothing_more(text: str) -> None:
    once = normalise(text).text
    assert normalise(once).text == once


@given(
    st.text(alphabet="abcxyz ,:", max_size=20).map(lambda s: s + " "),
    st.text(alphabet="abcxyz ,:", max_size=20).map(lambda s: " " + s),
    st.lists(st.booleans(), min_size=16, max_size=16),
    st.lists(
        st.sampled_from(["", "", ZWSP, "\u200d", "\ufeff", "\u00ad", "\u2060"]),
        min_size=16,
        max_size=16,
    ),
)
def test_invisible_characters_and_full_width_digits_do_not_hide_a_card_number(
    before: str, after: str, widen: list[bool], hidden: list[str]
) -> None:
    digits = [full_width(char) if wide else char for char, wide in zip(CARD, widen, strict=True)]
    obfuscated = "".join(digit + invisible for digit, invisible in zip(digits, hidden, strict=True))
    typed = before + obfuscated + after
    clean = before + CARD + after

    normalised = normalise(typed)
    assert normalised.text == normalise(clean).text == clean
    start = normalised.text.index(CARD)
    end_of_last_digit = len(before) + len(obfuscated) - len(hidden[-1])
    assert normalised.to_original(start, start + len(CARD)) == (len(before), end_of_last_digit)


@given(
    st.text(alphabet="abcxyz ,", max_size=20).map(lambda s: s + " "),
    st.text(alphabet="abcxyz ,", max_size=20).map(lambda s: " " + s),
    st.data(),
)
def test_invisible_and_full_width_characters_do_not_hide_an_email_address(
    before: str, after: str, data: st.DataObject
) -> None:
    address = "john.smith@example.com"
    obfuscated = ""
    for char in address:
        obfuscated += full_width(char) if data.draw(st.booleans()) else char
        obfuscated += data.draw(st.sampled_from(["", "", ZWSP, "\u200c", "\u00ad"]))
    obfuscated = obfuscated.rstrip(ZWSP + "\u200c\u00ad")
    typed = before + obfuscated + after

    normalised = normalise(typed)
    assert normalised.text == before + address + after
    start = normalised.text.index(address)
    mapped = normalised.to_original(start, start + len(address))
    assert mapped == (len(before), len(before) + len(obfuscated))


@given(any_text)
def test_joining_digits_keeps_a_well_formed_map_to_what_was_typed(text: str) -> None:
    normalised = normalise(text)
    joined = join_split_digits(normalised)
    if joined is None:
        return
    assert joined.original == text
    assert_a_well_formed_map(joined)
    for index, char in enumerate(joined.text):
        if char.isdigit():
            assert char in unicodedata.normalize("NFKC", original_of(joined, index, index + 1))


@given(st.lists(st.sampled_from(["4", "1", "9", " ", "-", ".", "/", "x", ZWSP, "１"]), max_size=40))
def test_joining_digits_only_removes_separators_between_digits(pieces: list[str]) -> None:
    normalised = normalise("".join(pieces))
    joined = join_split_digits(normalised)
    if joined is None:
        return

    def without_separators(text: str) -> str:
        return text.translate(str.maketrans("", "", " ./-"))

    assert without_separators(joined.text) == without_separators(normalised.text)
    assert [c for c in joined.text if c.isdigit()] == [c for c in normalised.text if c.isdigit()]
