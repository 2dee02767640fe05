"""Timing figures from one stream: a decode speed needs enough tokens to time."""

from __future__ import annotations

from openscout.timing import MIN_TIMED_TOKENS, stream_timing


def test_a_short_answer_has_no_decode_speed() -> None:
    """Two tokens 1 ms apart read 25,901 tokens/s and were recommended (39th probe)."""
    short = stream_timing(0.0, [0.5, 0.501], 0.51, 10, 2)
    assert short.output_tps is None and short.ttft_s == 0.5
    times = [0.5 + 0.01 * i for i in range(MIN_TIMED_TOKENS)]
    timed = stream_timing(0.0, times, 0.6, 10, MIN_TIMED_TOKENS)
    assert timed.output_tps is not None and abs(timed.output_tps - 100.0) < 1e-6
