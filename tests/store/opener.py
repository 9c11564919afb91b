"""Helper process of the SQLite tests: ``ROUNDS`` times, ``PROCESSES`` processes,
forked from this single-threaded one, open and close a store on one new file in
``DIRECTORY`` at the same instant. Prints one line per round, the exit codes of its
processes (0: the store opened), and exits 0.

    python -m tests.store.opener DIRECTORY ROUNDS PROCESSES

A process of its own, so that the forks copy no thread of the test runner's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from multiprocessing.synchronize import Barrier
from pathlib import Path

from chatguard.clock import ManualClock
from chatguard.store.sqlite import SqliteStore


def open_and_close_at_once(path: Path, start: Barrier) -> None:
    """Wait for the other processes, then open and close a store at ``path``."""
    start.wait()
    asyncio.run(_open_and_close(path))


async def _open_and_close(path: Path) -> None:
    store = SqliteStore(f"sqlite:///{path}", ManualClock())
    await store.open()
    await store.close()


def main(directory: Path, rounds: int, processes: int) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(rounds):
        start = context.Barrier(processes)
        path = directory / f"chatguard-{round_}.db"
        openers = [
            context.Process(target=open_and_close_at_once, args=(path, start))
            for _ in range(processes)
        ]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(30)
        print(" ".join(str(opener.exitcode) for opener in openers), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
