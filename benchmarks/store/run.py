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

Prints the median and 99th percentile (nearest rank) of each, in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
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


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per operation")
    parser.add_argument("--dir", default=None, help="where the database file goes (a temp dir)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=arguments.dir) as directory:
        figures = asyncio.run(measure(directory, arguments.iterations))
    print(f"SQLite store, {arguments.iterations} calls each, python {platform.python_version()}")
    print(f"{'operation':<22}{'median us':>11}{'p99 us':>11}")
    for name, (median, p99) in figures.items():
        print(f"{name:<22}{median:>11.0f}{p99:>11.0f}")


if __name__ == "__main__":
    main()
