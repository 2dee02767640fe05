"""What this machine really delivers, from the bench results stored on it.

Bandwidth over bytes per token is a ceiling for decoding. The time per token measured here
follows a line in the bytes each token reads:

    seconds per token = bytes per token / (bandwidth x efficiency) + overhead

The efficiency is the share of the copy bandwidth that streaming the weights reaches; the
overhead is what every token costs whatever the model's size (graph set-up, thread barriers
in every layer, sampling over the vocabulary, the Python loop). Small models are dominated by
the overhead, large ones by the bandwidth, so one efficiency figure cannot serve both.

With bench results for two or more models of different sizes on this host, both numbers are
fitted to them (least squares); with one, the default line is scaled through it; with none,
the defaults below, measured on this project's 2-core machine, are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from openscout.config import Settings
from openscout.perf.bandwidth import host_key
from openscout.store.db import connect

# Fitted to SmolLM2-135M Q4_1 (100 MB read per token, 60.4 tok/s) and Gemma 3 270M Q4_K_M
# (254 MB, 32.0 tok/s) against an 18.7 GB/s copy bandwidth: docs/performance.md.
DEFAULT_EFFICIENCY = 0.56
DEFAULT_OVERHEAD_S = 0.0070
RECENT = 50  # bench results looked at
DISTINCT_SIZES = 1.3  # two points fit a line only when their sizes differ at least this much


@dataclass(frozen=True)
class Point:
    model_id: str
    bytes_per_token: float
    seconds_per_token: float


@dataclass(frozen=True)
class Calibration:
    efficiency: float  # of the machine's copy bandwidth, when streaming weights
    overhead_s: float  # per token, whatever the model's size
    source: str
    measured: dict[str, float]  # model id -> latest decode tok/s measured on this host

    def decode_tps(self, bytes_per_token: float, bandwidth_gbs: float) -> float:
        seconds = bytes_per_token / (bandwidth_gbs * 1e9 * self.efficiency) + self.overhead_s
        return 1.0 / seconds


def fit_line(points: list[Point], bandwidth_gbs: float) -> tuple[float, float] | None:
    """(efficiency, overhead) from a least-squares line through the points, or None when
    their sizes are too alike or the line is not physical (negative slope or overhead)."""
    xs = [p.bytes_per_token for p in points]
    if len(points) < 2 or max(xs) < DISTINCT_SIZES * min(xs):
        return None
    ys = [p.seconds_per_token for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    overhead = my - slope * mx
    if slope <= 0 or overhead < 0:
        return None
    return 1.0 / (slope * bandwidth_gbs * 1e9), overhead


def calibrate(points: list[Point], bandwidth_gbs: float | None) -> Calibration:
    measured = {p.model_id: 1.0 / p.seconds_per_token for p in points}
    default = Calibration(
        DEFAULT_EFFICIENCY,
        DEFAULT_OVERHEAD_S,
        f"default line (bandwidth efficiency {DEFAULT_EFFICIENCY:.0%}, "
        f"{DEFAULT_OVERHEAD_S * 1e3:.1f} ms a token; nothing benched here yet)",
        measured,
    )
    if not points or not bandwidth_gbs:
        return default
    names = ", ".join(sorted(measured))
    line = fit_line(points, bandwidth_gbs)
    if line:
        eff, overhead = line
        return Calibration(
            eff,
            overhead,
            f"fitted to bench results here ({names}): bandwidth efficiency {eff:.0%}, "
            f"{overhead * 1e3:.1f} ms a token",
            measured,
        )
    # one size: scale the default line through the measured point(s)
    p = max(points, key=lambda q: q.bytes_per_token)
    scale = p.seconds_per_token * default.decode_tps(p.bytes_per_token, bandwidth_gbs)
    return Calibration(
        DEFAULT_EFFICIENCY / scale,
        DEFAULT_OVERHEAD_S * scale,
        f"default line scaled by {scale:.2f} through the bench result of {p.model_id} here",
        measured,
    )


def load_calibration(settings: Settings, bandwidth_gbs: float | None = None) -> Calibration:
    """Calibration from each model's latest bench result on this host."""
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT model_id, output_tps, result_json FROM bench_results WHERE host = ?"
            " ORDER BY id DESC LIMIT ?",
            (host_key(), RECENT),
        ).fetchall()
    finally:
        conn.close()
    points: dict[str, Point] = {}
    for row in rows:
        tps = row["output_tps"]
        if row["model_id"] in points or not tps:
            continue
        r = json.loads(row["result_json"])
        if not r.get("mbu") or not r.get("bandwidth_gbs"):
            continue
        # MBU = bytes per token x tok/s / bandwidth, so the bytes come back out of it
        per_token = r["mbu"] * r["bandwidth_gbs"] * 1e9 / tps
        points[row["model_id"]] = Point(row["model_id"], per_token, 1.0 / tps)
    return calibrate(list(points.values()), bandwidth_gbs)
