"""The public API: everything in ``chatguard.__all__`` resolves, and nothing heavy loads early."""

from __future__ import annotations

import subprocess
import sys

import chatguard


def test_every_public_name_resolves_to_its_owner() -> None:
    assert set(chatguard.__all__) == {"__version__", *chatguard._EXPORTS}
    for name in chatguard.__all__:
        assert getattr(chatguard, name) is not None, name


def test_importing_chatguard_does_not_load_the_redaction_engine() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, chatguard; print('presidio_analyzer' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
