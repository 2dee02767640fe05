"""The machine's memory bandwidth, measured once with numpy and cached in the store.

Method (a STREAM-style "copy"): copy a buffer far larger than the CPU caches, split over
one thread per core (numpy releases the GIL for large copies), take the best of several
passes, and count the bytes read plus the bytes written. Decoding a model streams its
weights from memory, so this is the ceiling its tokens/s runs against:

    MBU = bytes read per generated token * tokens/s / bandwidth

with bytes per token ~ the model's weight bytes (the GGUF file size: every weight is read
once per token) plus the KV cache read for the context so far.
"""

from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from openscout.config import Settings
from openscout.store.db import connect

DEFAULT_SIZE = 256 * 2**20  # bytes per buffer; far beyond any L3 cache
METHOD = "numpy-copy-threads"


@dataclass(frozen=True)
class Bandwidth:
    gbs: float  # 1e9 bytes per second (read + written)
    host: str
    method: str
    size_bytes: int


def host_key() -> str:
    """What makes two bandwidth figures comparable: the host, its CPU and its core count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}|{cpu}|{os.cpu_count()}"


def measure_bandwidth(
    size_bytes: int = DEFAULT_SIZE, passes: int = 5, threads: int | None = None
) -> Bandwidth:
    import numpy as np

    threads = max(1, threads or os.cpu_count() or 1)
    n = size_bytes // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.empty_like(src)
    bounds = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]

    def copy(span: tuple[int, int]) -> None:
        np.copyto(dst[span[0] : span[1]], src[span[0] : span[1]])

    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(copy, bounds))  # first touch: page faults are not bandwidth
        for _ in range(passes):
            t0 = time.perf_counter()
            list(pool.map(copy, bounds))
            best = min(best, time.perf_counter() - t0)
    moved = 2 * n * 8  # read src + write dst
    return Bandwidth(moved / best / 1e9, host_key(), METHOD, n * 8)


def cached_bandwidth_gbs(settings: Settings) -> float | None:
    """The best bandwidth measured on this host, or None if it never was. The best, as STREAM
    reports: a measurement taken while other work ran reads low, never high."""
    conn = connect(settings.db_path)
    try:
        row = conn.execute(
            "SELECT MAX(gbs) AS gbs FROM machine_bandwidth WHERE host = ? AND method = ?",
            (host_key(), METHOD),
        ).fetchone()
        return float(row["gbs"]) if row and row["gbs"] is not None else None
    finally:
        conn.close()


def store_bandwidth(settings: Settings, bw: Bandwidth) -> None:
    conn = connect(settings.db_path)
    try:
        conn.execute(
            "INSERT INTO machine_bandwidth (host, gbs, method, size_bytes) VALUES (?,?,?,?)",
            (bw.host, bw.gbs, bw.method, bw.size_bytes),
        )
    finally:
        conn.close()


def ensure_bandwidth(settings: Settings, fresh: bool = False) -> float:
    """The best figure stored; measured now (about a second) and stored first if there is none
    or `fresh` is asked (bench measures again each time, so a busy first reading is replaced)."""
    cached = cached_bandwidth_gbs(settings)
    if cached is not None and not fresh:
        return cached
    store_bandwidth(settings, measure_bandwidth())
    best = cached_bandwidth_gbs(settings)
    assert best is not None
    return best


RATED_ENV = "OPENSCOUT_RATED_BANDWIDTH_GBS"


def rated_bandwidth_gbs() -> float | None:
    """The hardware's rated peak memory bandwidth, where the user states it (GB/s).

    A VM does not show its memory channels and speeds (no DMI tables), so openscout does not
    guess: set OPENSCOUT_RATED_BANDWIDTH_GBS, e.g. channels x MT/s x 8 bytes / 1000."""
    raw = os.environ.get(RATED_ENV, "").strip()
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value and value > 0 else None


def mbu(
    bytes_per_token: float | None, tokens_per_second: float | None, bandwidth_gbs: float | None
) -> float | None:
    """Memory bandwidth utilisation in [0, ~1]; None where any input is unknown."""
    if not bytes_per_token or not tokens_per_second or not bandwidth_gbs:
        return None
    return bytes_per_token * tokens_per_second / (bandwidth_gbs * 1e9)


KV_BYTES = 2  # f16 K and V, llama.cpp's default


def kv_cache_bytes(
    layers: Any, kv_heads: Any, head_dim: Any, n_ctx: Any, v_head_dim: Any = None
) -> Any:
    """KV-cache bytes of n_ctx tokens: K and V in every layer. Works on numbers and on numpy
    arrays (catalog search computes it for every model at once; NaN stays NaN)."""
    v = head_dim if v_head_dim is None else v_head_dim
    return layers * n_ctx * kv_heads * (head_dim + v) * KV_BYTES


def kv_bytes_per_token(
    n_layers: int | None, n_kv_heads: int | None, head_dim: int | None
) -> int | None:
    """KV-cache bytes one context token occupies; None where the header lacks a figure."""
    if not n_layers or not n_kv_heads or not head_dim:
        return None
    return int(kv_cache_bytes(n_layers, n_kv_heads, head_dim, 1))
