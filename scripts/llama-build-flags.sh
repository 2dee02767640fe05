# Shared by build-llama.sh and build-llama-bench.sh: one version, one set of CPU flags, one cache
# folder, so that llama-bench is built from the same sources and for the same CPU as our wheel.
VERSION="0.3.36"
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
TAG="$(echo "$VERSION $FLAGS $(uname -m)" | sha256sum | cut -c1-12)"
WHEELS="${OPENSCOUT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openscout/wheels/$TAG}"
if [ "$(uname -m)" != "x86_64" ]; then
  FLAGS="-DGGML_NATIVE=OFF"
fi
