"""Pure timing metrics from one streamed generation, defined as the field defines them.

- TTFT: request sent to first non-empty chunk received (thinking included: it is generated).
- Output speed: completion tokens after the first / (last chunk time - first chunk time).
- Prefill speed: prompt tokens / TTFT.
- ITL: gaps between consecutive chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

MIN_TIMED_TOKENS = 8  # an answer shorter than this has no decode speed


@dataclass(frozen=True)
class StreamTiming:
    ttft_s: float | None
    output_tps: float | None
    prefill_tps: float | None
    total_s: float
    itl_s: tuple[float, ...]


def stream_timing(
    t_start: float,
    chunk_times: Sequence[float],
    t_end: float,
    prompt_tokens: int,
    completion_tokens: int,
) -> StreamTiming:
    ttft = chunk_times[0] - t_start if chunk_times else None
    output_tps = None
    # a decode speed from a few tokens is one gap, which a server can make as short as it
    # likes: two tokens 1 ms apart read 25,901 tokens/s and were recommended (39th probe)
    if len(chunk_times) >= 2 and completion_tokens >= MIN_TIMED_TOKENS:
        span = chunk_times[-1] - chunk_times[0]
        if span > 0:
            output_tps = (completion_tokens - 1) / span
    prefill = prompt_tokens / ttft if ttft and prompt_tokens else None
    itl = tuple(b - a for a, b in pairwise(chunk_times))
    return StreamTiming(ttft, output_tps, prefill, t_end - t_start, itl)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)
