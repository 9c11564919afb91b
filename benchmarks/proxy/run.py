"""Run the proxy benchmark: the latency chatguard adds over a plain aiohttp pass-through.

    .venv/bin/python -m benchmarks.proxy.run [--quick] [--servers subprocess|inprocess]
                                             [--out benchmarks/PROXY_RESULTS.md]

Three servers on loopback (:mod:`benchmarks.proxy.servers`): an OpenAI-style
upstream, chatguard's application in front of it, and a plain aiohttp
pass-through in front of the same upstream. By default each runs in a process of
its own, so that neither the load generator (this process) nor chatguard's
detection takes the pass-through's event loop or GIL; ``--servers inprocess``
runs all of them in this process's event loop (what the test uses).

For each detection set-up (``redaction.executor`` and ``redaction.workers``:
one thread, then one and two worker processes; chatguard restarted between),
phases at a fixed offered rate of 200 messages/s (:mod:`benchmarks.proxy.load`):
50, 200 and 500 concurrent conversations of short messages, then the head-of-line
phase (200 conversations of short messages plus long 2-5 KB messages at a few per
second, each in a conversation of its own). Every message goes to both paths,
interleaved. Writes the report to ``--out`` and prints it; a hand-written part of
an existing report, after the ``<!-- findings -->`` line, is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp

from benchmarks.proxy.load import (
    PATHS,
    Added,
    PathStats,
    Sample,
    added,
    drive,
    error_kinds,
    path_stats,
    schedule,
)
from benchmarks.proxy.servers import serving
from benchmarks.redaction.dataset import load_dataset
from chatguard.redact.engine import RedactionEngine

REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[2]
DEFAULT_OUT: Final[Path] = REPO_ROOT / "benchmarks" / "PROXY_RESULTS.md"
FINDINGS_MARKER: Final = "<!-- findings -->"
RATE: Final = 200.0  # the rate the targets are stated at
LEVELS: Final = (50, 200, 500)
#: chatguard's detection set-ups, ``EXECUTOR:WORKERS``: the first runs every level.
DETECTIONS: Final = ("thread:1", "process:1", "process:2")
HOL_CONVERSATIONS: Final = 200
LONG_RATE: Final = 4.0
LONG_SIZES: Final = (2000, 3000, 4000, 5000)
MAX_ADDED_P50_MS: Final = 5.0
MAX_ADDED_P99_MS: Final = 25.0
MIN_ACHIEVED: Final = 0.95  # of the offered rate
START_TIMEOUT: Final = 180.0
#: The target rate, half of it, and a rate far below saturation on this machine.
RATES: Final = (200.0, 100.0, 20.0)
STAGES: Final = ("redact", "vendor", "restore")
#: Whose CPU time the report shows per message: chatguard's server process, its
#: detection worker processes, the pass-through, the upstream, and the load generator.
CPU_ROLES: Final = ("chatguard", "detection", "passthrough", "upstream", "load")


# --- the messages ------------------------------------------------------------------------


def short_messages(seed: int = 7) -> list[str]:
    """The redaction benchmark's chat messages (six languages), in a fixed shuffle."""
    texts = [message.text for message in load_dataset()]
    random.Random(seed).shuffle(texts)
    return texts


def long_messages(seed: int = 11) -> list[str]:
    """Messages of 2-5 KB: one language's chat messages run together."""
    rng = random.Random(seed)
    by_language: dict[str, list[str]] = {}
    for message in load_dataset():
        by_language.setdefault(message.lang, []).append(message.text)
    out: list[str] = []
    for language in sorted(by_language):
        pool = by_language[language]
        for size in LONG_SIZES:
            parts: list[str] = []
            while sum(len(p.encode()) + 1 for p in parts) < size:
                parts.append(rng.choice(pool))
            out.append(" ".join(parts))
    rng.shuffle(out)
    return out


# --- the servers -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def servers_in_process(
    detection: str, engine: RedactionEngine | None = None
) -> AsyncIterator[dict[str, str]]:
    """The three servers in this event loop; yields each path's base URL (``.../v1``)."""
    async with (
        serving("upstream", "") as upstream,
        serving("passthrough", upstream + "/v1") as plain,
        serving("chatguard", upstream + "/v1", detection, engine) as guarded,
    ):
        yield {"chatguard": guarded + "/v1", "passthrough": plain + "/v1"}


#: The servers' process ids by role, where they run in processes of their own.
ServerPids = dict[str, int]


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time (user + system) so far, from ``/proc``, of process ``pid`` or, with
    ``children``, of its live children (chatguard's detection worker processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    if children:
        pids = [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    for each in pids:
        with contextlib.suppress(FileNotFoundError):  # a child that just ended
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_by_role(pids: ServerPids) -> dict[str, float]:
    """Each server's CPU seconds so far; chatguard's detection workers apart."""
    seconds = {role: cpu_seconds(pid) for role, pid in pids.items()}
    if "chatguard" in pids:
        seconds["detection"] = cpu_seconds(pids["chatguard"], children=True)
    return seconds


@contextlib.asynccontextmanager
async def _child(role: str, *extra: str, pids: ServerPids) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.proxy.servers",
        role,
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            line = (await process.stdout.readline()).decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"the {role} server did not start")
        pids[role] = process.pid
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        # An overloaded chatguard would finish its queue before it stops: it is killed
        # after a short grace period (its store lies in the caller's directory).
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(3):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def servers_in_subprocesses(
    detection: str, pids: ServerPids
) -> AsyncIterator[dict[str, str]]:
    """Each server in a process of its own; yields each path's base URL (``.../v1``)
    and fills ``pids`` with each role's process id."""
    async with contextlib.AsyncExitStack() as stack:
        store = stack.enter_context(tempfile.TemporaryDirectory(prefix="chatguard-bench-"))
        upstream = await stack.enter_async_context(_child("upstream", pids=pids)) + "/v1"
        plain = await stack.enter_async_context(
            _child("passthrough", "--upstream", upstream, pids=pids)
        )
        guarded = await stack.enter_async_context(
            _child(
                "chatguard",
                *("--upstream", upstream, "--detection", detection, "--store", store),
                pids=pids,
            )
        )
        yield {"chatguard": guarded + "/v1", "passthrough": plain + "/v1"}


# --- the phases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """What one phase measured."""

    name: str
    detection: str
    rate: float
    conversations: int
    duration: float
    short: dict[str, PathStats]
    long: dict[str, PathStats] | None
    added_short: Added
    added_long: Added | None
    errors: dict[str, int]
    stages: dict[str, float]  # chatguard's mean ms per stage, from its /metrics
    cpu: dict[str, float]  # CPU ms per message by role (and "load"), where measured


def summarize(
    spec: PhaseSpec,
    duration: float,
    samples: Sequence[Sample],
    stages: dict[str, float],
    cpu: dict[str, float] | None = None,
) -> Phase:
    """The figures of one phase's samples."""
    has_long = any(s.kind == "long" for s in samples)
    return Phase(
        name=spec.name,
        detection=spec.detection,
        rate=spec.rate,
        conversations=spec.conversations,
        duration=duration,
        short={p: path_stats(samples, p, "short", duration) for p in PATHS},
        long={p: path_stats(samples, p, "long", duration) for p in PATHS} if has_long else None,
        added_short=added(samples, "short"),
        added_long=added(samples, "long") if has_long else None,
        errors=error_kinds(samples),
        stages=stages,
        cpu=cpu or {},
    )


@dataclass(frozen=True)
class PhaseSpec:
    """One phase to run: offered load and chatguard's detection (``EXECUTOR:WORKERS``)."""

    name: str
    detection: str
    rate: float
    conversations: int
    long_rate: float = 0.0


def plan(rates: Sequence[float], detections: Sequence[str] = DETECTIONS) -> list[PhaseSpec]:
    """Per rate and detection set-up: the 200-conversation level and the head-of-line
    phase; the first set-up (``detections[0]``) runs every level."""
    specs: list[PhaseSpec] = []
    for rate in rates:
        for detection in detections:
            levels = LEVELS if detection == detections[0] else (HOL_CONVERSATIONS,)
            specs += [PhaseSpec(f"{n} conversations", detection, rate, n) for n in levels]
            specs.append(
                PhaseSpec("head-of-line", detection, rate, HOL_CONVERSATIONS, long_rate=LONG_RATE)
            )
    return specs


async def run_phase(
    bases: dict[str, str],
    spec: PhaseSpec,
    *,
    duration: float,
    tag: str = "",
    pids: ServerPids | None = None,
) -> Phase:
    """Warm up for a second, then drive one phase against ``bases``; with ``pids``, also
    measure each server's CPU time (and this load generator's) per message sent."""
    short = short_messages()
    long = long_messages()
    run = f"{tag}{spec.detection}-{spec.rate:.0f}-{spec.conversations}-{time.time_ns()}"
    warmup = schedule(
        short=short,
        rate=min(spec.rate, 20.0),
        duration=1.0,
        conversations=10,
        prefix=f"{run}-warm",
        long=long,
        long_rate=2.0,
    )
    await drive(bases, warmup)
    before = await stage_seconds(bases["chatguard"])
    shots = schedule(
        short=short,
        rate=spec.rate,
        duration=duration,
        conversations=spec.conversations,
        prefix=run,
        long=long,
        long_rate=spec.long_rate,
    )
    cpu_before = cpu_by_role(pids or {})
    load_before = time.process_time()
    samples = await drive(bases, shots)
    sent = max(1, len(samples) // len(PATHS))
    cpu = {
        role: 1000 * (seconds - cpu_before[role]) / sent
        for role, seconds in cpu_by_role(pids or {}).items()
    }
    if pids:
        cpu["load"] = 1000 * (time.process_time() - load_before) / sent
    after = await stage_seconds(bases["chatguard"])
    stages = {
        stage: 1000 * (total - before.get(stage, (0.0, 0.0))[0]) / count_delta
        for stage, (total, count) in after.items()
        if (count_delta := count - before.get(stage, (0.0, 0.0))[1]) > 0
    }
    return summarize(spec, duration, samples, stages, cpu)


_STAGE_LINE: Final = re.compile(
    r'^chatguard_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.e+-]+)$', re.MULTILINE
)


async def stage_seconds(base: str) -> dict[str, tuple[float, float]]:
    """chatguard's ``chatguard_stage_seconds`` sum and count per stage, from /metrics."""
    root = base.removesuffix("/v1")
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession() as session,
        session.get(root + "/metrics", timeout=timeout) as response,
    ):
        text = await response.text()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for kind, stage, value in _STAGE_LINE.findall(text):
        (sums if kind == "sum" else counts)[stage] = float(value)
    return {stage: (sums[stage], counts.get(stage, 0.0)) for stage in sums}


# --- the report --------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _passes(phase: Phase) -> bool:
    guarded = phase.short["chatguard"]
    return (
        sum(s.errors for s in phase.short.values()) == 0
        and guarded.achieved_rate >= MIN_ACHIEVED * phase.rate
        and phase.added_short.p50 <= MAX_ADDED_P50_MS
        and phase.added_short.p99 <= MAX_ADDED_P99_MS
    )


def _cpu(phase: Phase) -> str:
    return " / ".join(_ms(phase.cpu.get(role, math.nan)) for role in CPU_ROLES)


def _stages(phase: Phase) -> str:
    return " / ".join(_ms(phase.stages.get(stage, math.nan)) for stage in STAGES)


METHOD: Final = (
    "Method: an OpenAI-style upstream answers every `POST /v1/chat/completions` at once "
    "with a small reply quoting the first placeholder of the request; chatguard "
    "(`make_app`, SQLite store in a temporary directory, test keys) and a plain aiohttp "
    "pass-through (body forwarded unchanged) sit in front of the same upstream. Every "
    "phase starts the three servers afresh (an overloaded phase leaves work queued in "
    "chatguard after the client gave up, which must not fall on the next phase) and "
    "warms them up for one second. The load is open loop at a fixed offered rate: "
    "message *i* is due at *i*/rate on one path and half an interval later on the other "
    "(which path goes first alternates), each message once to each path, with its own "
    "`X-Chatguard-Conversation` (round robin over the phase's conversations). Messages: "
    "`benchmarks/redaction/dataset.jsonl` (six languages, personal data in most), one "
    "user message per request. Latency is measured from when a request was due to when "
    "its whole answer was read, so a late load generator cannot hide delay (`max send "
    "lag` shows how late it was). Achieved rate: successful answers per second of the "
    "scheduled duration. An answer is an error if it is not 200 within 10 s or still "
    "holds a placeholder. `stages` are chatguard's own mean milliseconds per request "
    "for redaction / vendor call / restoration, from its `/metrics` "
    "(`chatguard_stage_seconds`) over the phase. `CPU ms per message`: CPU time (user + "
    "system, from `/proc`) each process spent over the phase divided by the messages "
    "sent to each path, for chatguard's server process / its detection worker processes "
    "(none with `thread`: then detection is in the server's figure) / the pass-through / "
    "the upstream (which serves both paths) / the load generator (which drives both "
    "paths). Load shedding's refusals (503) cost little, so a saturated phase shows "
    "less CPU per message than the work of one answered message."
)


def report(phases: Sequence[Phase], *, mode: str, command: str, facts: Sequence[str]) -> str:
    """The Markdown report."""
    lines = [
        "# Proxy benchmark results",
        "",
        "Command (from the repository root):",
        "",
        "```",
        command,
        "```",
        "",
        *[f"- {fact}" for fact in facts],
        "",
        METHOD + f" Servers: {mode}.",
        "",
        "**Added latency** = `pXX(chatguard) - pXX(pass-through)`, percentiles "
        "(nearest rank) of each path's latency distribution in the same phase; the "
        "targets are checked on this. `paired` shows the percentiles of the per-message "
        "difference (same message on both paths) for comparison.",
    ]
    for rate in sorted({phase.rate for phase in phases}, reverse=True):
        mine = [phase for phase in phases if phase.rate == rate]
        lines += [
            "",
            f"## Added latency at {rate:.0f} messages/s offered (per path)",
            "",
            "| detection | conversations | achieved chatguard | achieved pass-through "
            "| chatguard p50 / p99 ms | pass-through p50 / p99 ms | added p50 ms "
            "| added p99 ms | paired p50 / p99 ms | errors | max send lag ms "
            "| stages ms | CPU ms per message | target | result |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for phase in mine:
            if phase.long is not None:
                continue
            g, p, a = phase.short["chatguard"], phase.short["passthrough"], phase.added_short
            lines.append(
                f"| {phase.detection} | {phase.conversations} | {g.achieved_rate:.0f}/s "
                f"| {p.achieved_rate:.0f}/s | {_ms(g.p50)} / {_ms(g.p99)} "
                f"| {_ms(p.p50)} / {_ms(p.p99)} | {_ms(a.p50)} | {_ms(a.p99)} "
                f"| {_ms(a.paired_p50)} / {_ms(a.paired_p99)} | {g.errors + p.errors} "
                f"| {_ms(max(g.max_lag, p.max_lag))} | {_stages(phase)} | {_cpu(phase)} "
                f"| added p50 <= {MAX_ADDED_P50_MS:.0f}, p99 <= {MAX_ADDED_P99_MS:.0f}"
                f"{' at 200/s' if rate != RATE else ''} "
                f"| {'PASS' if _passes(phase) else 'FAIL'}{'' if rate == RATE else ' (info)'} |"
            )
        lines += [
            "",
            f"### Head-of-line at {rate:.0f} messages/s: short messages while long ones "
            "are redacted",
            "",
            f"{HOL_CONVERSATIONS} conversations of short messages plus long messages "
            f"(2-5 KB, one conversation each) at {LONG_RATE:.0f}/s on each path. Baseline: "
            f"the same detection's {HOL_CONVERSATIONS}-conversation phase without long messages.",
            "",
            "| detection | short chatguard p50 / p99 ms, baseline | short chatguard p50 / p99 "
            "ms, with long | short added p50 / p99 ms, with long | long chatguard p50 / p99 "
            "ms | long pass-through p50 / p99 ms | errors | stages ms | result |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for phase in mine:
            if phase.long is None:
                continue
            base = next(
                (
                    q
                    for q in mine
                    if q.detection == phase.detection
                    and q.long is None
                    and q.conversations == phase.conversations
                ),
                None,
            )
            b = base.short["chatguard"] if base else None
            g, a = phase.short["chatguard"], phase.added_short
            lg, lp = phase.long["chatguard"], phase.long["passthrough"]
            errors = sum(s.errors for s in (*phase.short.values(), *phase.long.values()))
            lines.append(
                f"| {phase.detection} "
                f"| {_ms(b.p50) if b else 'n/a'} / {_ms(b.p99) if b else 'n/a'} "
                f"| {_ms(g.p50)} / {_ms(g.p99)} | {_ms(a.p50)} / {_ms(a.p99)} "
                f"| {_ms(lg.p50)} / {_ms(lg.p99)} | {_ms(lp.p50)} / {_ms(lp.p99)} | {errors} "
                f"| {_stages(phase)} | {'PASS' if _passes(phase) else 'FAIL'} (short "
                f"added p99 <= {MAX_ADDED_P99_MS:.0f}){'' if rate == RATE else ' (info)'} |"
            )
    failures: dict[str, int] = {}
    for phase in phases:
        for kind, count in phase.errors.items():
            failures[kind] = failures.get(kind, 0) + count
    if failures:
        lines += [
            "",
            "Errors by kind, all phases: "
            + ", ".join(f"{k} x{v}" for k, v in sorted(failures.items())),
        ]
    return "\n".join(lines) + "\n"


def _facts(
    mode: str, quick: bool, duration: float, load_before: str, rates: Sequence[float]
) -> list[str]:
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.platform()}, nproc = {os.cpu_count()}, "
        f"{platform.processor() or platform.machine()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"servers: {mode}; phase duration {duration:.0f} s{' (--quick)' if quick else ''}; "
        "offered rates " + ", ".join(f"{r:g}" for r in rates) + " messages/s per path",
        f"load average before: {load_before}; after: {_loadavg()}",
    ]


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def _keep_findings(out: Path) -> str:
    if not out.exists():
        return ""
    text = out.read_text(encoding="utf-8")
    at = text.find(FINDINGS_MARKER)
    return text[at:] if at >= 0 else ""


async def _main(args: argparse.Namespace) -> str:
    duration = 5.0 if args.quick else 15.0
    load_before = _loadavg()
    phases: list[Phase] = []
    specs = plan(args.rates, args.detections)
    for number, spec in enumerate(specs, 1):
        print(f"[{number}/{len(specs)}] {spec}", file=sys.stderr, flush=True)
        pids: ServerPids = {}
        if args.servers == "subprocess":
            context = servers_in_subprocesses(spec.detection, pids)
        else:
            context = servers_in_process(spec.detection)
        async with context as bases:
            phases.append(await run_phase(bases, spec, duration=duration, pids=pids))
    command = ".venv/bin/python -m benchmarks.proxy.run" + (" --quick" if args.quick else "")
    if args.servers != "subprocess":
        command += f" --servers {args.servers}"
    if list(args.rates) != list(RATES):
        command += " --rates " + " ".join(f"{r:g}" for r in args.rates)
    if list(args.detections) != list(DETECTIONS):
        command += " --detections " + " ".join(args.detections)
    return report(
        phases,
        mode=args.servers,
        command=command,
        facts=_facts(args.servers, args.quick, duration, load_before, args.rates),
    )


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases instead of 15 s")
    parser.add_argument("--servers", choices=("subprocess", "inprocess"), default="subprocess")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--rates", type=float, nargs="+", default=list(RATES), help="offered messages/s per path"
    )
    parser.add_argument(
        "--detections",
        nargs="+",
        default=list(DETECTIONS),
        help="chatguard's detection set-ups, EXECUTOR:WORKERS (thread:1 process:2 ...)",
    )
    args = parser.parse_args()
    text = asyncio.run(_main(args))
    kept = _keep_findings(args.out)
    args.out.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
