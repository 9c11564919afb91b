"""The redaction benchmark's evaluation set is well formed, and its scorer counts right."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from benchmarks.redaction.dataset import (
    ENTITY_TYPES,
    LANGUAGES,
    Message,
    Span,
    build_dataset,
    load_dataset,
)
from benchmarks.redaction.score import Scoreboard, SpeedStats, percentile, score_message


@pytest.fixture(scope="module")
def dataset() -> list[Message]:
    return load_dataset()


def test_every_span_lies_inside_its_text_and_covers_a_trimmed_value(
    dataset: list[Message],
) -> None:
    for message in dataset:
        for span in message.spans:
            assert 0 <= span.start < span.end <= len(message.text), message.id
            value = message.text[span.start : span.end]
            assert value and value == value.strip(), message.id


def test_every_span_has_a_benchmark_entity_type(dataset: list[Message]) -> None:
    assert {span.type for m in dataset for span in m.spans} <= set(ENTITY_TYPES)


def test_every_language_has_at_least_80_messages(dataset: list[Message]) -> None:
    counts = Counter(m.lang for m in dataset)
    assert all(counts[lang] >= 80 for lang in LANGUAGES), counts


def test_message_ids_are_unique(dataset: list[Message]) -> None:
    assert len({m.id for m in dataset}) == len(dataset)


def test_committed_file_is_what_the_generator_writes(dataset: list[Message]) -> None:
    assert build_dataset() == dataset


# Toy example, counted by hand:
#   "hi Ana Silva, tel 912345678, ok"
#    0123456789012345678901234567890
#   gold: PERSON [3, 12) "Ana Silva", PHONE_NUMBER [18, 27) "912345678"
TOY = Message(
    "toy-0001",
    "pt",
    "airline",
    "hi Ana Silva, tel 912345678, ok",
    (Span(3, 12, "PERSON"), Span(18, 27, "PHONE_NUMBER")),
)
TOY_PREDICTED = (
    Span(7, 12, "PERSON"),  # "Silva": 5 of 9 gold characters >= 50%: true positive
    Span(29, 31, "PERSON"),  # "ok": false positive
    Span(18, 22, "PHONE_NUMBER"),  # 4 of 9 < 50%: false positive, and the phone is missed
    Span(14, 17, "LOCATION"),  # "tel": not a benchmark type, over-redaction only
)


def test_scorer_counts_precision_recall_f1_by_the_half_overlap_rule() -> None:
    result = score_message(TOY, TOY_PREDICTED)
    person, phone = result.types["PERSON"], result.types["PHONE_NUMBER"]
    assert (person.precision, person.recall) == (0.5, 1.0)
    assert person.f1 == pytest.approx(2 / 3)
    assert (phone.precision, phone.recall, phone.f1) == (0.0, 0.0, 0.0)
    assert "LOCATION" not in result.types
    kinds = Counter((e.kind, e.type) for e in result.errors)
    assert kinds == {
        ("false_positive", "PERSON"): 1,
        ("false_positive", "PHONE_NUMBER"): 1,
        ("false_negative", "PHONE_NUMBER"): 1,
    }


def test_scorer_counts_leak_and_over_redaction_on_non_whitespace_characters() -> None:
    board = Scoreboard()
    board.add(TOY, TOY_PREDICTED)
    chars = board.char_counts("pt")
    # personal: "AnaSilva" (8) + "912345678" (9) = 17; leaked: "Ana" (3) + "45678" (5) = 8
    assert (chars.personal, chars.leaked) == (17, 8)
    assert chars.leak_rate == pytest.approx(8 / 17)
    # other: "hi" "," "tel" "," "ok" = 9; covered: "tel" (3) + "ok" (2) = 5
    assert (chars.other, chars.over_redacted) == (9, 5)
    assert chars.over_redaction == pytest.approx(5 / 9)
    assert board.type_counts("PERSON").recall == 1.0
    assert math.isnan(board.char_counts("de").leak_rate)


def test_speed_stats_use_interpolated_percentiles() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 99) == pytest.approx(9.9)
    stats = SpeedStats.from_latencies([10.0, 20.0, 30.0, 40.0])
    assert stats.messages_per_second == pytest.approx(4 / 0.1)
    assert stats.p50_ms == 25.0
