"""Scoring of predicted spans against the gold spans of the evaluation set.

Rules (the same for every engine):

* **Span match.** A predicted span is a true positive if it overlaps a gold span
  of the *same type* by at least 50% of that gold span's length. Precision counts
  predictions (matched predictions / predictions of that type), recall counts
  gold spans (gold spans matched by at least one prediction / gold spans), F1 is
  their harmonic mean. Predictions of a type the benchmark does not have
  (LOCATION, DATE_TIME, ...) are not scored for P/R/F1; they count for leak and
  over-redaction only.
* **Leak rate.** Share of the gold personal-data characters that no prediction of
  *any* type covers.
* **Over-redaction.** Share of the characters outside every gold span that some
  prediction covers.
* Leak and over-redaction count non-whitespace characters only, so that
  padding and the spaces between words do not dilute either figure.
* **Speed.** Messages per second over the whole pass, and the 50th and 99th
  percentile of the milliseconds spent per message (linear interpolation
  between closest ranks). For batched runs each message is charged its batch's
  time divided by the batch size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from benchmarks.redaction.dataset import ENTITY_TYPES, Message, Span

#: A predicted span must cover at least this share of a gold span to match it.
MIN_GOLD_OVERLAP = 0.5


def overlap(a: Span, b: Span) -> int:
    """Number of characters that ``a`` and ``b`` share."""
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def matches(predicted: Span, gold: Span) -> bool:
    """Whether ``predicted`` counts as finding ``gold`` (same type, >= 50% of gold)."""
    return predicted.type == gold.type and overlap(predicted, gold) >= MIN_GOLD_OVERLAP * len(gold)


@dataclass
class TypeCounts:
    """Counts behind precision and recall for one entity type (and language)."""

    predicted: int = 0
    predicted_matched: int = 0
    gold: int = 0
    gold_matched: int = 0

    def add(self, other: TypeCounts) -> None:
        """Add ``other``'s counts to these."""
        self.predicted += other.predicted
        self.predicted_matched += other.predicted_matched
        self.gold += other.gold
        self.gold_matched += other.gold_matched

    @property
    def precision(self) -> float:
        """Matched predictions / predictions; NaN when nothing was predicted."""
        return self.predicted_matched / self.predicted if self.predicted else math.nan

    @property
    def recall(self) -> float:
        """Matched gold spans / gold spans; NaN when there is no gold span."""
        return self.gold_matched / self.gold if self.gold else math.nan

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when either is 0 or undefined
        while gold spans exist; NaN with neither gold nor predictions)."""
        if not self.gold and not self.predicted:
            return math.nan
        p = 0.0 if math.isnan(self.precision) else self.precision
        r = 0.0 if math.isnan(self.recall) else self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class CharCounts:
    """Non-whitespace character counts behind leak rate and over-redaction."""

    personal: int = 0
    leaked: int = 0
    other: int = 0
    over_redacted: int = 0

    def add(self, other: CharCounts) -> None:
        """Add ``other``'s counts to these."""
        self.personal += other.personal
        self.leaked += other.leaked
        self.other += other.other
        self.over_redacted += other.over_redacted

    @property
    def leak_rate(self) -> float:
        """Share of personal characters not covered by any prediction."""
        return self.leaked / self.personal if self.personal else math.nan

    @property
    def over_redaction(self) -> float:
        """Share of non-personal characters covered by some prediction."""
        return self.over_redacted / self.other if self.other else math.nan


@dataclass(frozen=True)
class ScoringError:
    """One false negative or false positive, located without copying any text."""

    kind: str  # "false_negative" or "false_positive"
    type: str
    message_id: str
    lang: str
    start: int
    end: int
    #: For a false negative: types of predictions that overlap it (found, wrong type).
    #: For a false positive: types of gold spans it overlaps (right place, wrong type).
    overlapping: tuple[str, ...] = ()


@dataclass
class MessageScore:
    """The outcome of scoring one message."""

    types: dict[str, TypeCounts]
    chars: CharCounts
    errors: list[ScoringError]


def score_message(message: Message, predicted: Sequence[Span]) -> MessageScore:
    """Score ``predicted`` spans (any types) against ``message``'s gold spans."""
    types: dict[str, TypeCounts] = defaultdict(TypeCounts)
    errors: list[ScoringError] = []
    scored = [p for p in predicted if p.type in ENTITY_TYPES]
    for gold in message.spans:
        counts = types[gold.type]
        counts.gold += 1
        if any(matches(p, gold) for p in scored):
            counts.gold_matched += 1
        else:
            others = sorted({p.type for p in predicted if overlap(p, gold) > 0})
            errors.append(
                ScoringError(
                    "false_negative",
                    gold.type,
                    message.id,
                    message.lang,
                    gold.start,
                    gold.end,
                    tuple(others),
                )
            )
    for pred in scored:
        counts = types[pred.type]
        counts.predicted += 1
        if any(matches(pred, gold) for gold in message.spans):
            counts.predicted_matched += 1
        else:
            others = sorted({g.type for g in message.spans if overlap(pred, g) > 0})
            errors.append(
                ScoringError(
                    "false_positive",
                    pred.type,
                    message.id,
                    message.lang,
                    pred.start,
                    pred.end,
                    tuple(others),
                )
            )
    return MessageScore(dict(types), char_counts(message, predicted), errors)


def char_counts(message: Message, predicted: Iterable[Span]) -> CharCounts:
    """Leak and over-redaction counts for one message (non-whitespace characters)."""
    text = message.text
    personal = [False] * len(text)
    covered = [False] * len(text)
    for span in message.spans:
        personal[span.start : span.end] = [True] * len(span)
    for span in predicted:
        start, end = max(0, span.start), min(len(text), span.end)
        if start < end:
            covered[start:end] = [True] * (end - start)
    counts = CharCounts()
    for ch, is_personal, is_covered in zip(text, personal, covered, strict=True):
        if ch.isspace():
            continue
        if is_personal:
            counts.personal += 1
            counts.leaked += not is_covered
        else:
            counts.other += 1
            counts.over_redacted += is_covered
    return counts


@dataclass
class Scoreboard:
    """Accumulates message scores and answers per-type and per-language questions."""

    types: dict[tuple[str, str], TypeCounts] = field(
        default_factory=lambda: defaultdict(TypeCounts)
    )
    chars: dict[str, CharCounts] = field(default_factory=lambda: defaultdict(CharCounts))
    errors: list[ScoringError] = field(default_factory=list)
    messages: int = 0

    def add(self, message: Message, predicted: Sequence[Span]) -> None:
        """Score one message's predictions and keep the counts."""
        result = score_message(message, predicted)
        for entity_type, counts in result.types.items():
            self.types[(message.lang, entity_type)].add(counts)
        self.chars[message.lang].add(result.chars)
        self.errors.extend(result.errors)
        self.messages += 1

    def type_counts(self, entity_type: str, lang: str | None = None) -> TypeCounts:
        """Counts for one type, in one language or (``None``) all of them."""
        total = TypeCounts()
        for (counts_lang, counts_type), counts in self.types.items():
            if counts_type == entity_type and lang in (None, counts_lang):
                total.add(counts)
        return total

    def char_counts(self, lang: str | None = None) -> CharCounts:
        """Character counts in one language or (``None``) all of them."""
        total = CharCounts()
        for counts_lang, counts in self.chars.items():
            if lang in (None, counts_lang):
                total.add(counts)
        return total


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class SpeedStats:
    """Throughput and per-message latency of one pass over the messages."""

    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def messages_per_second(self) -> float:
        """Messages processed per second of measured time."""
        return self.messages / self.seconds if self.seconds else math.nan

    @classmethod
    def from_latencies(cls, latencies_ms: Sequence[float]) -> SpeedStats:
        """Stats of a pass whose per-message times (milliseconds) are given."""
        return cls(
            len(latencies_ms),
            sum(latencies_ms) / 1000,
            percentile(latencies_ms, 50),
            percentile(latencies_ms, 99),
        )
