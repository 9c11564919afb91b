"""The store micro-benchmark runs and times every operation it names."""

from __future__ import annotations

from pathlib import Path

from benchmarks.store.run import measure


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
