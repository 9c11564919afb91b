"""Open-loop load against the two paths, and the statistics of what came back.

The load is a fixed schedule made before it starts (:func:`schedule`): message
``i`` is due at ``i / rate`` on one path and half an interval later on the other,
and which path goes first alternates with ``i``, so that both paths see the same
messages, the same conversations and the same moment's conditions. A request is
sent when it is due whether or not earlier ones have been answered (open loop),
and its latency is measured from when it was *due*, not from when it was sent: a
load generator that falls behind cannot hide the delay (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp

from chatguard.redact.restore import PLACEHOLDER

PATHS: Final = ("chatguard", "passthrough")
CONVERSATION_HEADER: Final = "X-Chatguard-Conversation"
#: The API key every shot sends: chatguard's channels.openai.client_key in the
#: benchmark (the pass-through ignores it).
CLIENT_KEY: Final = "chatguard-benchmark-client-key"
REQUEST_TIMEOUT: Final = 10.0
DRAIN_TIMEOUT: Final = 20.0


@dataclass(frozen=True)
class Shot:
    """One request of the schedule: when, to which path, for which conversation."""

    due: float
    path: str
    index: int
    kind: str  # "short" or "long"
    conversation: str
    text: str


@dataclass(frozen=True)
class Sample:
    """What one request measured; ``error`` is ``None`` when it succeeded."""

    path: str
    index: int
    kind: str
    latency: float
    lag: float
    error: str | None


def schedule(
    *,
    short: Sequence[str],
    rate: float,
    duration: float,
    conversations: int,
    prefix: str,
    long: Sequence[str] = (),
    long_rate: float = 0.0,
) -> list[Shot]:
    """Short messages at ``rate`` per second over ``conversations`` conversations
    (round robin), and optionally long ones at ``long_rate``, each in a conversation
    of its own, for ``duration`` seconds; every message once to each path."""
    shots: list[Shot] = []
    half = 0.5 / rate
    for index in range(int(rate * duration)):
        first, second = PATHS if index % 2 == 0 else PATHS[::-1]
        conversation = f"{prefix}-c{index % conversations}"
        text = short[index % len(short)]
        due = index / rate
        shots.append(Shot(due, first, index, "short", conversation, text))
        shots.append(Shot(due + half, second, index, "short", conversation, text))
    if long and long_rate > 0:
        long_half = 0.5 / long_rate
        for index in range(int(long_rate * duration)):
            first, second = PATHS if index % 2 == 0 else PATHS[::-1]
            conversation = f"{prefix}-long{index}"
            text = long[index % len(long)]
            due = (index + 0.25) / long_rate
            shots.append(Shot(due, first, index, "long", conversation, text))
            shots.append(Shot(due + long_half, second, index, "long", conversation, text))
    shots.sort(key=lambda shot: shot.due)
    return shots


async def drive(bases: Mapping[str, str], shots: Sequence[Shot]) -> list[Sample]:
    """Send every shot when it is due to ``bases[shot.path]`` (a base URL ending in
    ``/v1``) and measure it; returns one sample per shot."""
    samples: list[Sample] = []
    sessions = {
        path: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), read_bufsize=2**20)
        for path in bases
    }
    try:
        start = time.perf_counter() + 0.05
        async with (
            asyncio.timeout((shots[-1].due if shots else 0.0) + DRAIN_TIMEOUT),
            asyncio.TaskGroup() as group,
        ):
            for shot in shots:
                wait = start + shot.due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                url = bases[shot.path] + "/chat/completions"
                group.create_task(_one(sessions[shot.path], url, shot, start, samples))
    finally:
        for session in sessions.values():
            await session.close()
    return samples


async def _one(
    session: aiohttp.ClientSession, url: str, shot: Shot, start: float, samples: list[Sample]
) -> None:
    due = start + shot.due
    lag = time.perf_counter() - due
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": shot.text}]}
    error: str | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            async with session.post(
                url,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {CLIENT_KEY}",
                    CONVERSATION_HEADER: shot.conversation,
                },
            ) as response:
                payload = await response.read()
            if response.status != 200:
                error = f"status {response.status}"
            else:
                answer = json.loads(payload)
                content = answer["choices"][0]["message"]["content"]
                if PLACEHOLDER.search(content):
                    error = "placeholder not restored"
    except TimeoutError:
        error = "timeout"
    except (aiohttp.ClientError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        error = type(exc).__name__
    latency = time.perf_counter() - due
    samples.append(Sample(shot.path, shot.index, shot.kind, latency, lag, error))


# --- statistics --------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in (0, 1]); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class PathStats:
    """One path's figures for one kind of message in one phase (milliseconds)."""

    sent: int
    ok: int
    errors: int
    achieved_rate: float
    p50: float
    p99: float
    max_lag: float


def path_stats(samples: Sequence[Sample], path: str, kind: str, duration: float) -> PathStats:
    """Figures of ``path`` for ``kind``: achieved rate is successful answers per
    second of the scheduled duration."""
    mine = [s for s in samples if s.path == path and s.kind == kind]
    ok = [s.latency * 1000 for s in mine if s.error is None]
    return PathStats(
        sent=len(mine),
        ok=len(ok),
        errors=len(mine) - len(ok),
        achieved_rate=len(ok) / duration if duration > 0 else math.nan,
        p50=percentile(ok, 0.50),
        p99=percentile(ok, 0.99),
        max_lag=max((s.lag * 1000 for s in mine), default=math.nan),
    )


@dataclass(frozen=True)
class Added:
    """Latency chatguard adds (milliseconds), computed two ways.

    ``p50``/``p99``: the difference of the two distributions' percentiles,
    ``pXX(chatguard) - pXX(pass-through)``; this is what the targets are checked on.
    ``paired_p50``/``paired_p99``: percentiles of the per-message differences
    (the same message went to both paths), shown for comparison.
    """

    p50: float
    p99: float
    paired_p50: float
    paired_p99: float


def added(samples: Sequence[Sample], kind: str) -> Added:
    """What chatguard adds over the pass-through for messages of ``kind``."""
    guarded = {s.index: s.latency for s in samples if _ok(s, "chatguard", kind)}
    plain = {s.index: s.latency for s in samples if _ok(s, "passthrough", kind)}
    both = sorted(guarded.keys() & plain.keys())
    differences = [(guarded[i] - plain[i]) * 1000 for i in both]
    g = [v * 1000 for v in guarded.values()]
    p = [v * 1000 for v in plain.values()]
    return Added(
        p50=percentile(g, 0.50) - percentile(p, 0.50),
        p99=percentile(g, 0.99) - percentile(p, 0.99),
        paired_p50=percentile(differences, 0.50),
        paired_p99=percentile(differences, 0.99),
    )


def _ok(sample: Sample, path: str, kind: str) -> bool:
    return sample.path == path and sample.kind == kind and sample.error is None


def error_kinds(samples: Sequence[Sample]) -> dict[str, int]:
    """How many requests failed, by path and reason."""
    counts: dict[str, int] = {}
    for sample in samples:
        if sample.error is not None:
            key = f"{sample.path}: {sample.error}"
            counts[key] = counts.get(key, 0) + 1
    return counts
