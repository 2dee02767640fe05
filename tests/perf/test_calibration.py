"""The decode-speed line fitted to bench results (perf/calibration.py), on known points."""

from __future__ import annotations

import pytest

from openscout.perf.calibration import (
    DEFAULT_EFFICIENCY,
    DEFAULT_OVERHEAD_S,
    Point,
    calibrate,
    fit_line,
)

BW = 20.0  # GB/s


def _point(name: str, size: float, eff: float, overhead: float, bw: float = BW) -> Point:
    return Point(name, size, 1 / (size / (bw * 1e9 * eff) + overhead), bw)


def test_two_sizes_give_back_the_line_they_lie_on() -> None:
    pts = [_point("small", 1e8, 0.5, 0.006), _point("big", 4e9, 0.5, 0.006)]
    eff, overhead = fit_line(pts) or (0, 0)
    assert eff == pytest.approx(0.5) and overhead == pytest.approx(0.006)
    cal = calibrate(pts)
    assert cal.source.startswith("fitted to bench results here (big, small)")
    # a model between them is predicted on the same line
    assert cal.decode_tps(1e9, BW) == pytest.approx(1 / (1e9 / (BW * 1e9 * 0.5) + 0.006))
    assert cal.measured["small"] == pts[0].tps
    # the efficiency is of the bandwidth: on a machine twice as fast the bandwidth part halves
    assert cal.decode_tps(4e9, 2 * BW) == pytest.approx(1 / (4e9 / (2 * BW * 1e9 * 0.5) + 0.006))


def test_points_measured_at_different_bandwidths_share_one_line() -> None:
    pts = [_point("small", 1e8, 0.5, 0.006, bw=10.0), _point("big", 4e9, 0.5, 0.006, bw=30.0)]
    eff, overhead = fit_line(pts) or (0, 0)
    assert eff == pytest.approx(0.5) and overhead == pytest.approx(0.006)


def test_alike_sizes_or_an_unphysical_line_are_not_fitted() -> None:
    assert fit_line([_point("a", 1e8, 0.5, 0.006), _point("b", 1.1e8, 0.5, 0.006)]) is None
    # the bigger model faster than the smaller one: a negative slope
    assert fit_line([Point("a", 1e8, 20.0, BW), Point("b", 1e9, 100.0, BW)]) is None


def test_one_point_scales_the_default_line_through_it() -> None:
    p = Point("only", 2e8, 50.0, BW)
    cal = calibrate([p])
    assert cal.decode_tps(2e8, BW) == pytest.approx(50.0)
    # every time on the line stretched alike: bandwidth part and overhead by the same factor
    assert cal.efficiency * cal.overhead_s == pytest.approx(DEFAULT_EFFICIENCY * DEFAULT_OVERHEAD_S)
    assert "scaled" in cal.source and "only" in cal.source


def test_nothing_measured_uses_the_defaults() -> None:
    cal = calibrate([])
    assert (cal.efficiency, cal.overhead_s) == (DEFAULT_EFFICIENCY, DEFAULT_OVERHEAD_S)
    assert "nothing benched here yet" in cal.source
