#!/usr/bin/env bash
# llama.cpp's own `llama-bench`, built once per machine from the sources of our llama-cpp-python
# wheel (its sdist vendors llama.cpp) with the same CPU flags, and kept beside the wheel.
# Only the benchmarks need it (`make bench`); prints the binary's path.
set -euo pipefail
VENV="${VENV:-.venv}"
source "$(dirname "$0")/llama-build-flags.sh"
BIN="$WHEELS/llama-bench"
if [ ! -x "$BIN" ]; then
  echo "building llama-bench from llama-cpp-python $VERSION's sources (a few minutes, once)..." >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "$VENV/bin/pip" download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" \
    -d "$work" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
  tar -xzf "$work"/llama_cpp_python-"$VERSION".tar.gz -C "$work"
  src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
  # shellcheck disable=SC2086  # FLAGS is a list of -D options
  cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    $FLAGS >/dev/null
  cmake --build "$work/build" --target llama-bench -j "$(nproc)" >/dev/null
  mkdir -p "$WHEELS"
  cp "$work/build/bin/llama-bench" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
