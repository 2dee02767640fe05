"""`openscout chat` and `generate` with the bundled base model: marked as one, and the chat
sends each turn as a Q/A prompt, so no chat-template tokens come back."""

from __future__ import annotations

import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "openscout.cli.main"]
pytestmark = pytest.mark.real_model


def run(cli_env: dict[str, str], *args: str, stdin: str = "") -> str:
    p = subprocess.run(
        CLI + list(args), env=cli_env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_chat_with_a_base_model_says_so_and_answers_cleanly(cli_env: dict[str, str]) -> None:
    out = run(
        cli_env,
        *("chat", "-m", "gemma-3-270m", "--temperature", "0", "--max-tokens", "48"),
        stdin="What is the capital of France?\nAnd of Italy?\n\n",
    )
    assert "base model" in out
    assert out.count("model>") == 2
    assert not any(t in out for t in ("<|im_start|>", "<|im_end|>", "<start_of_turn>"))


def test_generate_marks_a_base_model(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "generate", "-m", "gemma-3-270m", "Hello", "--max-tokens", "2")
    assert "base model" in out
