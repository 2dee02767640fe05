"""`bench` on the real embedded SmolLM2 through llama.cpp, core and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.perf.bench import bench_models, recent_results
from openscout.perf.measure import BenchConfig

pytestmark = pytest.mark.real_model
SMOL = "smollm2-135m-instruct"


def test_bench_smollm2_measures_everything(settings: Settings, smollm2_path: Path) -> None:
    cfg = BenchConfig(repeats=2, warmup=1, max_tokens=16, concurrency=(1, 2))
    [b] = bench_models(settings, [SMOL], cfg, price_per_hour=3.6, cost_concurrency=2)
    d = b.as_dict()
    assert d["model_id"] == SMOL
    for name in ("short", "long"):
        p = d["prompts"][name]
        assert p["runs"] == 2 and p["completion_tokens"] >= 2
        assert p["ttft_s"]["n"] == 2 and p["output_tps"]["n"] == 2 and p["itl_p99_s"] is not None
    assert d["prompts"]["long"]["prompt_tokens"] > 4 * d["prompts"]["short"]["prompt_tokens"]
    # llama.cpp batches parallel sequences: the sweep runs batches of 1 and 2 requests
    assert [(s["concurrency"], s["requests"]) for s in d["sweep"]] == [(1, 2), (2, 4)]
    two = d["sweep"][1]
    assert two["aggregate_output_tps"] > 0 and two["latency_s"]["n"] == 4
    size = smollm2_path.stat().st_size
    assert d["weight_bytes"] == size
    # the weights are paged in while the model runs, so the model's memory is at least most of them
    assert d["memory_bytes"] is not None and d["memory_bytes"] > 0.5 * size
    assert d["bandwidth_gbs"] and d["bandwidth_gbs"] > 0 and d["mbu"] > 0
    # cost follows the formula from the speeds at 2 clients and $3.60/h:
    # 3.6 / (tok/s * 3600) * 1e6 = 1000 / (tok/s) per 1M tokens
    assert d["cost_concurrency"] == 2
    assert d["cost"]["output_per_m"] == pytest.approx(1000 / two["aggregate_output_tps"])
    assert d["cost"]["input_per_m"] == pytest.approx(1000 / two["aggregate_input_tps"])
    assert d["price_source"] == "--price-per-hour"
    [row] = recent_results(settings, SMOL)
    assert (
        row["result"]["output_tps"] == d["output_tps"] and row["memory_bytes"] == d["memory_bytes"]
    )
    # fit now shows the measured figure beside its estimate, and its line goes through it
    from openscout.catalog.fit import estimate_fit

    fit = estimate_fit(SMOL, context=256, settings=settings)
    assert fit.measured_model == SMOL and fit.measured_tokens_per_s == d["output_tps"]
    assert fit.efficiency_source and SMOL in fit.efficiency_source


def test_bench_cli_json(cli_env: dict[str, str]) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "openscout.cli.main",
            "bench",
            "-m",
            SMOL,
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--max-tokens",
            "8",
            "--concurrency",
            "2",
            "--json",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert row["model_id"] == SMOL and row["cost"]["blended_per_m"] > 0
    assert [s["concurrency"] for s in row["sweep"]] == [2]
    assert row["price_source"].startswith("default: aws-m7g.large")


def test_bench_cli_unknown_model_is_a_clear_error(cli_env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "bench", "-m", "nope"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "no model registered as 'nope'" in out.stderr and "Traceback" not in out.stderr


def test_ttft_grows_with_depth_on_smollm2(settings: Settings) -> None:
    cfg = BenchConfig(
        repeats=1, warmup=1, max_tokens=8, prompts=("short",), concurrency=(), depths=(0, 1500)
    )
    [b] = bench_models(settings, [SMOL], cfg)
    zero, deep = b.result.depths
    assert (zero.depth, deep.depth) == (0, 1500)
    # a prompt of ~1500 more tokens really reached the model, and its prefill is paid in TTFT
    assert deep.prompt_tokens > zero.prompt_tokens + 1200
    assert deep.ttft_s.median > 3 * zero.ttft_s.median
    assert deep.output_tps.median and deep.output_tps.median > 0
