"""What this machine really delivers, from the bench results stored on it.

Bandwidth over bytes per token is a ceiling for decoding. The time per token measured here
follows a line in the bytes each token reads:

    seconds per token = bytes per token / (bandwidth x efficiency) + overhead

The efficiency is the share of the copy bandwidth that streaming the weights reaches; the
overhead is what every token costs whatever the model's size (graph set-up, thread barriers
in every layer, sampling over the vocabulary, the Python loop). Small models are dominated by
the overhead, large ones by the bandwidth, so one efficiency figure cannot serve both.

The efficiency is relative to the bandwidth measured when each bench ran, so the line carries
over to another bandwidth (`fit --bandwidth`). With bench results for two or more models of
different sizes on this host, both numbers are fitted to them (least squares); otherwise the
default line is scaled through the largest one measured; with none, the defaults below,
measured on this project's 2-core machine, are used.
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
    tps: float  # decode tokens/s measured
    bandwidth_gbs: float  # the machine's bandwidth when it was measured

    @property
    def seconds_per_token(self) -> float:
        return 1.0 / self.tps

    @property
    def full_speed_s(self) -> float:
        """Seconds a token would take if its bytes streamed at the whole bandwidth."""
        return self.bytes_per_token / (self.bandwidth_gbs * 1e9)


@dataclass(frozen=True)
class Calibration:
    efficiency: float  # of the machine's copy bandwidth, when streaming weights
    overhead_s: float  # per token, whatever the model's size
    source: str
    measured: dict[str, float]  # model id -> latest decode tok/s measured on this host

    def seconds(self, full_speed_s: float) -> float:
        return full_speed_s / self.efficiency + self.overhead_s

    def decode_tps(self, bytes_per_token: float, bandwidth_gbs: float) -> float:
        return 1.0 / self.seconds(bytes_per_token / (bandwidth_gbs * 1e9))


def fit_line(points: list[Point]) -> tuple[float, float] | None:
    """(efficiency, overhead) from a least-squares line of seconds per token against seconds
    at full bandwidth, or None when the sizes are too alike or the line is not physical."""
    xs = [p.full_speed_s for p in points]
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
    return 1.0 / slope, overhead


def calibrate(points: list[Point]) -> Calibration:
    measured = {p.model_id: p.tps for p in points}
    default = Calibration(
        DEFAULT_EFFICIENCY,
        DEFAULT_OVERHEAD_S,
        f"default line (bandwidth efficiency {DEFAULT_EFFICIENCY:.0%}, "
        f"{DEFAULT_OVERHEAD_S * 1e3:.1f} ms a token; nothing benched here yet)",
        measured,
    )
    if not points:
        return default
    names = ", ".join(sorted(measured))
    line = fit_line(points)
    if line:
        eff, overhead = line
        return Calibration(
            eff,
            overhead,
            f"fitted to bench results here ({names}): bandwidth efficiency {eff:.0%}, "
            f"{overhead * 1e3:.1f} ms a token",
            measured,
        )
    # one size (or no physical line): scale the default line through the largest model
    p = max(points, key=lambda q: q.bytes_per_token)
    scale = p.seconds_per_token / default.seconds(p.full_speed_s)
    return Calibration(
        DEFAULT_EFFICIENCY / scale,
        DEFAULT_OVERHEAD_S * scale,
        f"default line scaled by {scale:.2f} through the bench result of {p.model_id} here",
        measured,
    )


def load_calibration(settings: Settings) -> Calibration:
    """Calibration from each model's latest bench result on this host (unreadable rows are
    skipped: a fit estimate must not fail on one bad record)."""
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
        try:
            r = json.loads(row["result_json"])
            mbu, bw = float(r["mbu"]), float(r["bandwidth_gbs"])
        except (ValueError, KeyError, TypeError):
            continue
        if mbu <= 0 or bw <= 0:
            continue
        # MBU = bytes per token x tok/s / bandwidth, so the bytes come back out of it
        per_token = mbu * bw * 1e9 / tps
        points[row["model_id"]] = Point(row["model_id"], per_token, float(tps), bw)
    return calibrate(list(points.values()))
