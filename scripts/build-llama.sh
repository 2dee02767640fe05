#!/usr/bin/env bash
# Build llama-cpp-python once per machine, for a portable x86-64-v3 CPU (AVX2/FMA/F16C).
#
# Why not the default native build: -march=native enables AMX when the CPU reports it, but
# some VMs (this one) do not grant the AMX tile state, and the first batched decode dies
# with SIGILL. Why our own wheel dir: pip's wheel cache ignores CMAKE_ARGS, so a bad cached
# build would be reused silently. The wheel is checked with a real decode before use.
set -euo pipefail
VENV="${VENV:-.venv}"
VERSION="0.3.36"
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
TAG="$(echo "$VERSION $FLAGS $(uname -m)" | sha256sum | cut -c1-12)"
WHEELS="${OPENSCOUT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openscout/wheels/$TAG}"
if [ "$(uname -m)" != "x86_64" ]; then
  FLAGS="-DGGML_NATIVE=OFF"
fi
if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION (about 6 minutes on 2 cores, once per machine)..."
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$FLAGS" "$VENV/bin/pip" wheel -q --no-deps --no-cache-dir \
    "llama-cpp-python==$VERSION" -w "$WHEELS"
fi
"$VENV/bin/pip" install -q --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl
