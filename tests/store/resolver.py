"""Helper process of the two-process test of ``update_dialogue``: tries to resolve
every one of ``COUNT`` open questions (conversations ``{PREFIX}{i}``, each awaiting
an answer asked at ``ASKED_AT``) with a compare-and-set, all at once, and prints the
number of each question it resolved on its own line. It prints ``ready`` once the
store is open and starts on the first line it reads from stdin.

    python -m tests.store.resolver KIND ISOLATION PREFIX COUNT ASKED_AT
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from datetime import datetime

from chatguard.clock import ManualClock
from chatguard.store.records import NOTHING_AWAITED
from tests.store.backends import make_backend_store


async def resolve_all(kind: str, isolation: str, prefix: str, count: int, asked_at: str) -> None:
    """Resolve what this process wins of the ``count`` questions; print each number."""
    asked = datetime.fromisoformat(asked_at)
    store = make_backend_store(kind, isolation, ManualClock(asked))
    await store.open()
    answer = dataclasses.replace(NOTHING_AWAITED, language=f"w{os.getpid()}")
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        won = await asyncio.gather(
            *(
                store.update_dialogue(f"{prefix}{i}", answer, expect_awaiting_since=asked)
                for i in range(count)
            )
        )
        for i, resolved in enumerate(won):
            if resolved:
                print(i, flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    kind, isolation, prefix, count, asked_at = sys.argv[1:6]
    asyncio.run(resolve_all(kind, isolation, prefix, int(count), asked_at))
