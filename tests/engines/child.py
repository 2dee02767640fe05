"""Scripts run in a fresh Python: a case that aborted llama.cpp before its fix fails its
test there instead of taking the whole test run with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_in_child(script: str, *args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
