"""What this machine really delivers, from the bench results stored on it: the share of the
memory bandwidth that decoding reaches (MBU), and each model's measured decode speed.

The fit estimate divides bandwidth by the bytes read per token, which is a ceiling: decoding
also spends time on compute, thread barriers and sampling, most of all for small models. So
the estimate is scaled by the efficiency measured here (the MBU of stored bench results) and
falls back to DEFAULT_DECODE_EFFICIENCY before anything was measured.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

from openscout.config import Settings
from openscout.perf.bandwidth import host_key
from openscout.store.db import connect

# MBU of llama.cpp decoding on this project's 2-core machine (x86-64-v3 build, default OpenMP
# policy, all cores): SmolLM2-135M Q4_1 and Gemma 3 270M Q4_K_M; see docs/performance.md.
DEFAULT_DECODE_EFFICIENCY = 0.45
RECENT = 50  # bench results looked at


@dataclass(frozen=True)
class Calibration:
    efficiency: float  # measured decode bandwidth / machine bandwidth
    source: str
    measured: dict[str, float]  # model id -> latest decode tok/s measured on this host


def load_calibration(settings: Settings) -> Calibration:
    """The median MBU of each model's latest bench result on this host (default: none yet)."""
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT model_id, output_tps, result_json FROM bench_results WHERE host = ?"
            " ORDER BY id DESC LIMIT ?",
            (host_key(), RECENT),
        ).fetchall()
    finally:
        conn.close()
    measured: dict[str, float] = {}
    mbus: dict[str, float] = {}
    for row in rows:
        if row["model_id"] in measured or row["output_tps"] is None:
            continue
        measured[row["model_id"]] = float(row["output_tps"])
        mbu = json.loads(row["result_json"]).get("mbu")
        if mbu:
            mbus[row["model_id"]] = float(mbu)
    if not mbus:
        return Calibration(
            DEFAULT_DECODE_EFFICIENCY,
            f"default efficiency {DEFAULT_DECODE_EFFICIENCY:.0%} (nothing benched here yet)",
            measured,
        )
    eff = statistics.median(mbus.values())
    names = ", ".join(sorted(mbus))
    return Calibration(
        eff, f"efficiency {eff:.0%}: median MBU of bench results here ({names})", measured
    )
