"""llama.cpp's own log lines stay out of the user's terminal unless --verbose."""

from __future__ import annotations

import subprocess
import sys

CLI = [sys.executable, "-m", "openscout.cli.main"]


def test_llama_log_lines_only_with_verbose(cli_env: dict[str, str]) -> None:
    args = ["generate", "-m", "gemma-3-270m", "Hello", "--max-tokens", "2"]
    quiet = subprocess.run(CLI + args, env=cli_env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert "llama_" not in quiet.stderr and "SWA cache" not in quiet.stderr
    loud = subprocess.run(
        [*CLI, "--verbose", *args], env=cli_env, capture_output=True, text=True, timeout=300
    )
    assert loud.returncode == 0 and "llama_" in loud.stderr
