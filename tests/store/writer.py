"""Helper process of the crash tests: appends transcript events to one conversation
and prints each acknowledged sequence number on its own line, flushed, as soon as
``append_event`` has returned. It prints ``ready`` once the store is open and starts
on the first line it reads from stdin, so that several writers can start together.

    python -m tests.store.writer KIND ISOLATION SESSION COUNT

``COUNT`` 0 appends until killed. The text of each event names the writer and its
running number, so that a test can check that what was acknowledged is what is stored.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from datetime import timedelta

from chatguard.clock import SystemClock
from chatguard.store.records import Author, Direction, TranscriptEvent
from tests.store.backends import make_backend_store


async def append_until_done(kind: str, isolation: str, session: str, count: int) -> None:
    """Append ``count`` events (forever when 0), printing ``seq text`` per acknowledgement."""
    clock = SystemClock()
    store = make_backend_store(kind, isolation, clock)
    await store.open()
    writer = os.getpid()
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        numbers = itertools.count() if count == 0 else iter(range(count))
        for number in numbers:
            text = f"writer {writer} event {number}"
            seq = await store.append_event(
                TranscriptEvent(
                    session=session,
                    at=clock.now(),
                    direction=Direction.INBOUND,
                    author=Author.USER,
                    text=text,
                    expires_at=clock.now() + timedelta(days=30),
                )
            )
            print(seq, text, flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    kind, isolation, session, count = sys.argv[1:5]
    asyncio.run(append_until_done(kind, isolation, session, int(count)))
