"""Micro-benchmark of the SQLite store: microseconds per ``Store`` call.

    .venv/bin/python -m benchmarks.store.run [--iterations 2000] [--dir DIRECTORY]

Opens a fresh SQLite store (WAL, ``synchronous=FULL``: every write waits for its
fsync) in a temporary directory, holds one conversation with three vault entries,
and times, one call at a time on one event loop, after a warm-up:

* ``get_conversation``: one row by key.
* ``vault_entries``: the conversation's three entries.
* ``assign_placeholders``: three values the conversation already has (a write).
* ``record_event``: one event and the conversation, with a new delivery key each
  time (a write), what the pipeline does per message.

Prints the median and 99th percentile (nearest rank) of each, in microseconds. Then
``record_event`` from 1, 8 and 64 concurrent writers (one conversation each): writes
per second and the latency of each write, which shows group commit (writes waiting
together share one fsync). Writes the report to ``--out``
(``benchmarks/STORE_RESULTS.md``); a hand-written part after ``<!-- findings -->`` is
kept.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chatguard.clock import SystemClock
from chatguard.store.records import (
    Author,
    Conversation,
    Delivery,
    Direction,
    TranscriptEvent,
    VaultRequest,
)
from chatguard.store.sqlite import SqliteStore

WARM_UP = 100
RETENTION = timedelta(days=30)
WRITERS = (1, 8, 64)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "STORE_RESULTS.md"
FINDINGS_MARKER = "<!-- findings -->"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


async def timed(call: Callable[[], Awaitable[object]], iterations: int) -> tuple[float, float]:
    """Median and p99 of ``call`` in microseconds, after ``WARM_UP`` untimed calls."""
    for _ in range(WARM_UP):
        await call()
    micros: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        await call()
        micros.append((time.perf_counter() - start) * 1e6)
    micros.sort()
    return percentile(micros, 0.5), percentile(micros, 0.99)


async def measure(directory: str, iterations: int) -> dict[str, tuple[float, float]]:
    """Each operation's median and p99 on a fresh store in ``directory``."""
    clock = SystemClock()
    store = SqliteStore(f"sqlite:///{Path(directory) / 'bench.db'}", clock)
    await store.open()
    try:
        now = clock.now()
        conversation = Conversation("guest-bench", "web", None, now, now, now + RETENTION)
        await store.save_conversation(conversation)
        values = [VaultRequest("PERSON", f"digest-{n}", b"\x01" * 60) for n in range(3)]
        await store.assign_placeholders(conversation.session, values, now + RETENTION)
        deliveries = iter(range(sys.maxsize))

        async def record_event() -> int | None:
            at = clock.now()
            event = TranscriptEvent(
                conversation.session, at, Direction.INBOUND, Author.USER, "I am <PERSON_1>",
                at + RETENTION,
            )  # fmt: skip
            return await store.record_event(
                event,
                replace(conversation, last_activity=at),
                delivery=Delivery(f"delivery-{next(deliveries)}", at + timedelta(days=7)),
            )

        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "get_conversation": lambda: store.get_conversation(conversation.session),
            "vault_entries": lambda: store.vault_entries(conversation.session),
            "assign_placeholders": lambda: store.assign_placeholders(
                conversation.session, values, clock.now() + RETENTION
            ),
            "record_event": record_event,
        }
        return {name: await timed(call, iterations) for name, call in operations.items()}
    finally:
        await store.close()


async def concurrent_writes(
    directory: str, writers: int, writes: int
) -> tuple[float, float, float]:
    """``record_event`` from ``writers`` concurrent tasks, ``writes`` in all, on a
    fresh store: writes per second, and the median and p99 microseconds of a write."""
    clock = SystemClock()
    store = SqliteStore(f"sqlite:///{Path(directory) / f'writers-{writers}.db'}", clock)
    await store.open()
    micros: list[float] = []

    async def writer(number: int) -> None:
        now = clock.now()
        conversation = Conversation(f"guest-w{number}", "web", None, now, now, now + RETENTION)
        for _ in range(writes // writers):
            at = clock.now()
            event = TranscriptEvent(
                conversation.session, at, Direction.INBOUND, Author.USER, "hi", at + RETENTION
            )
            start = time.perf_counter()
            await store.record_event(event, replace(conversation, last_activity=at))
            micros.append((time.perf_counter() - start) * 1e6)

    try:
        start = time.perf_counter()
        async with asyncio.TaskGroup() as tasks:
            for number in range(writers):
                tasks.create_task(writer(number))
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    micros.sort()
    return len(micros) / elapsed, percentile(micros, 0.5), percentile(micros, 0.99)


def report(
    figures: dict[str, tuple[float, float]],
    writes: dict[int, tuple[float, float, float]],
    iterations: int,
) -> str:
    """The Markdown report of one run."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "# Store micro-benchmark results",
        "",
        "Command (from the repository root):",
        "",
        "```",
        ".venv/bin/python -m benchmarks.store.run",
        "```",
        "",
        f"- date: {when} UTC",
        f"- machine: {platform.platform()}, nproc = {os.cpu_count()}; load average {load}",
        f"- python: {platform.python_version()}",
        "",
        "Method: a fresh SQLite store (WAL, `synchronous=FULL`, so every write waits for "
        "its fsync) in a temporary directory on the repository's disk, holding one "
        "conversation with three vault entries; each operation called "
        f"{iterations} times, one at a time on one event loop, after {WARM_UP} untimed "
        "calls. Each `Store` call is one job on the store's own thread.",
        "",
        "| operation | median µs | p99 µs |",
        "|---|---|---|",
        *[f"| `{name}` | {median:.0f} | {p99:.0f} |" for name, (median, p99) in figures.items()],
        "",
        "Concurrent writers: `record_event` from several tasks at once, one conversation "
        "each (what a busy service does). Writes that wait for the store's thread "
        "together are committed together (group commit: one fsync for all).",
        "",
        "| writers | writes per second | median µs per write | p99 µs per write |",
        "|---|---|---|---|",
        *[
            f"| {n} | {rate:.0f} | {median:.0f} | {p99:.0f} |"
            for n, (rate, median, p99) in writes.items()
        ],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark, print its figures and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per operation")
    parser.add_argument("--dir", default=None, help="where the database file goes (a temp dir)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the report to write")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=arguments.dir) as directory:
        figures = asyncio.run(measure(directory, arguments.iterations))
        writes = {
            n: asyncio.run(concurrent_writes(directory, n, arguments.iterations)) for n in WRITERS
        }
    text = report(figures, writes, arguments.iterations)
    kept = ""
    if arguments.out.exists():
        previous = arguments.out.read_text(encoding="utf-8")
        at = previous.find(FINDINGS_MARKER)
        kept = previous[at:] if at >= 0 else ""
    arguments.out.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
