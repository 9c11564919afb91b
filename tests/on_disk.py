"""What a SQLite store leaves on disk, for tests that no value is stored in clear."""

from __future__ import annotations

from pathlib import Path


def bytes_on_disk(database: Path) -> bytes:
    """Every byte of the database file and its WAL and shared-memory files."""
    return b"".join(
        path.read_bytes()
        for path in sorted(database.parent.iterdir())
        if path.name.startswith(database.name)
    )
