#!/usr/bin/env bash
# Build llama-cpp-python once per machine, for a portable x86-64-v3 CPU (AVX2/FMA/F16C).
#
# Why not the default native build: -march=native enables AMX when the CPU reports it, but
# some VMs (this one) do not grant the AMX tile state, and the first batched decode dies
# with SIGILL. Why our own wheel dir: pip's wheel cache ignores CMAKE_ARGS, so a bad cached
# build would be reused silently. The wheel is checked with a real decode before use.
set -euo pipefail
VENV="${VENV:-.venv}"
source "$(dirname "$0")/llama-build-flags.sh"
if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION (about 6 minutes on 2 cores, once per machine)..."
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$FLAGS" "$VENV/bin/pip" wheel -q --no-deps --no-cache-dir \
    "llama-cpp-python==$VERSION" -w "$WHEELS"
fi
"$VENV/bin/pip" install -q --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl
