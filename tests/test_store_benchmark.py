"""The store micro-benchmark runs and times every operation it names."""

from __future__ import annotations

from pathlib import Path

from benchmarks.store.run import concurrent_writes, measure, report


async def test_the_store_benchmark_times_each_operation(tmp_path: Path) -> None:
    figures = await measure(str(tmp_path), iterations=5)
    assert list(figures) == [
        "get_conversation",
        "vault_entries",
        "assign_placeholders",
        "record_event",
    ]
    for median, p99 in figures.values():
        assert 0 < median <= p99


async def test_concurrent_writers_are_timed_and_reported(tmp_path: Path) -> None:
    rate, median, p99 = await concurrent_writes(str(tmp_path), writers=8, writes=40)
    assert rate > 0 and 0 < median <= p99
    text = report({"get_conversation": (1.0, 2.0)}, {8: (rate, median, p99)}, iterations=5)
    assert "| 8 | " in text and "`get_conversation`" in text
