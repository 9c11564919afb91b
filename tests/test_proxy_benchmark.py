"""The proxy benchmark's harness measures both paths and counts what failed."""

from __future__ import annotations

import math

from benchmarks.proxy.load import PATHS
from benchmarks.proxy.run import PhaseSpec, report, run_phase, servers_in_process
from chatguard.redact.engine import RedactionEngine


async def test_one_second_of_light_load_measures_both_paths_without_errors(
    engine: RedactionEngine,
) -> None:
    spec = PhaseSpec("smoke", detection="thread:1", rate=10.0, conversations=4, long_rate=2.0)
    async with servers_in_process("thread:1", engine) as bases:
        phase = await run_phase(bases, spec, duration=1.0, tag="test")

    assert phase.errors == {}
    assert phase.long is not None
    for path in PATHS:
        for stats in (phase.short[path], phase.long[path]):
            assert stats.sent == stats.ok > 0
            assert 0 < stats.p50 <= stats.p99 < 10_000
    assert phase.short["chatguard"].sent == 10
    assert math.isfinite(phase.added_short.p50) and math.isfinite(phase.added_short.paired_p99)
    assert phase.stages["redact"] > 0 and phase.stages["vendor"] > 0
    text = report([phase], mode="inprocess", command="test", facts=[])
    assert "| thread:1 | 4 |" not in text  # a head-of-line phase goes to its own table
    assert "Head-of-line at 10 messages/s" in text
