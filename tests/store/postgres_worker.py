"""A second process for the PostgreSQL tests: it appends to one conversation, asks
for placeholders and records deliveries while another process does the same.

Usage: ``python -m tests.store.postgres_worker URL SCHEMA SESSION WORKER COUNT START``.
It opens the store (migrating it if needed), prints ``ready``, waits for a line on
stdin (so that both processes start writing together), then appends ``COUNT`` events
with the texts ``w{WORKER}-{i}`` (concurrently, through the pool) and asks for the
placeholder of ``COUNT`` values of which the other worker asks for the same ones,
records ``COUNT`` messages in ``SESSION-once`` with the deliveries ``delivery-0`` to
``delivery-19`` (which the other worker records too), and prints one JSON line:
``{"seqs": [...], "placeholders": {digest: placeholder}, "deliveries": {key: [seq]}}``
(a delivery's key only when this worker's call recorded it).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta

from chatguard.clock import ManualClock
from chatguard.store.postgres import PostgresStore
from chatguard.store.records import (
    Author,
    Conversation,
    Delivery,
    Direction,
    TranscriptEvent,
    VaultRequest,
)

SHARED_VALUES = 20  # the digests both workers ask placeholders for
SHARED_DELIVERIES = 20  # the deliveries both workers record


async def run(url: str, schema: str, session: str, worker: int, count: int, start: str) -> None:
    clock = ManualClock(datetime.fromisoformat(start))
    store = PostgresStore(url, clock, schema=schema)
    await store.open()
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        expires_at = clock.now() + timedelta(days=30)

        async def append(i: int) -> int:
            return await store.append_event(
                TranscriptEvent(
                    session=session,
                    at=clock.now(),
                    direction=Direction.INBOUND,
                    author=Author.USER,
                    text=f"w{worker}-{i}",
                    expires_at=expires_at,
                )
            )

        async def placeholder(i: int) -> tuple[str, str]:
            digest = f"value-{(i * 7 + worker) % SHARED_VALUES}"
            request = VaultRequest("PERSON", digest, f"sealed-by-{worker}".encode())
            [assigned] = await store.assign_placeholders(session, [request], expires_at)
            return digest, assigned

        async def record(i: int) -> tuple[str, int | None]:
            now, once, key = clock.now(), f"{session}-once", f"delivery-{i % SHARED_DELIVERIES}"
            seq = await store.record_event(
                TranscriptEvent(
                    once, now, Direction.INBOUND, Author.USER, f"w{worker}-{i}", expires_at
                ),
                Conversation(once, "messenger", None, now, now, expires_at),
                delivery=Delivery(key, expires_at),
            )
            return key, seq

        seqs = await asyncio.gather(*(append(i) for i in range(count)))
        pairs = await asyncio.gather(*(placeholder(i) for i in range(count)))
        recorded = await asyncio.gather(*(record(i) for i in range(count)))
    finally:
        await store.close()
    deliveries: dict[str, list[int]] = {}
    for key, seq in recorded:
        if seq is not None:
            deliveries.setdefault(key, []).append(seq)
    output = {"seqs": list(seqs), "placeholders": dict(pairs), "deliveries": deliveries}
    print(json.dumps(output), flush=True)


if __name__ == "__main__":
    url, schema, session, worker, count, start = sys.argv[1:7]
    asyncio.run(run(url, schema, session, int(worker), int(count), start))
