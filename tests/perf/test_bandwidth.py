"""Memory bandwidth: measured once, cached per host in the store; MBU arithmetic."""

from __future__ import annotations

import pytest

from openscout.config import Settings
from openscout.perf import bandwidth
from openscout.perf.bandwidth import Bandwidth, kv_bytes_per_token, mbu


def test_measure_bandwidth_reports_a_positive_figure() -> None:
    bw = bandwidth.measure_bandwidth(size_bytes=32 * 2**20, passes=2)
    assert bw.gbs > 0 and bw.size_bytes == 32 * 2**20 and bw.host == bandwidth.host_key()


def test_measured_once_then_cached(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert bandwidth.cached_bandwidth_gbs(settings) is None
    calls = []

    def fake_measure() -> Bandwidth:
        calls.append(1)
        return Bandwidth(12.5, bandwidth.host_key(), bandwidth.METHOD, 1)

    monkeypatch.setattr(bandwidth, "measure_bandwidth", fake_measure)
    assert bandwidth.ensure_bandwidth(settings) == 12.5
    assert bandwidth.ensure_bandwidth(settings) == 12.5
    assert calls == [1]
    assert bandwidth.cached_bandwidth_gbs(settings) == 12.5


def test_the_best_reading_wins_and_bench_measures_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = iter([12.5, 30.0, 20.0])
    monkeypatch.setattr(
        bandwidth,
        "measure_bandwidth",
        lambda: Bandwidth(next(readings), bandwidth.host_key(), bandwidth.METHOD, 1),
    )
    assert bandwidth.ensure_bandwidth(settings) == 12.5  # measured: nothing was stored
    assert bandwidth.ensure_bandwidth(settings, fresh=True) == 30.0
    assert bandwidth.ensure_bandwidth(settings, fresh=True) == 30.0  # 20.0 read low: busy
    assert bandwidth.ensure_bandwidth(settings) == 30.0


def test_other_hosts_figures_are_not_used(settings: Settings) -> None:
    bandwidth.store_bandwidth(settings, Bandwidth(99.0, "another-host|cpu|64", bandwidth.METHOD, 1))
    assert bandwidth.cached_bandwidth_gbs(settings) is None


def test_mbu_hand_computed() -> None:
    # 100 MB read per token at 110 tok/s against 22 GB/s: 1e8 * 110 / 22e9 = 0.5
    assert mbu(1e8, 110, 22.0) == pytest.approx(0.5)
    assert mbu(None, 110, 22.0) is None
    assert mbu(1e8, None, 22.0) is None
    assert mbu(1e8, 110, None) is None


def test_kv_bytes_per_token() -> None:
    # SmolLM2-135M: 30 layers, 3 KV heads of 64 dims, f16: 2 * 30 * 3 * 64 * 2
    assert kv_bytes_per_token(30, 3, 64) == 23040
    assert kv_bytes_per_token(None, 3, 64) is None
