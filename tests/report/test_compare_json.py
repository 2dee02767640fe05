"""`openscout compare --json` keeps its keys, their order and its shape: scripts and stored
report.json files read them. Mock models, a real subprocess, the shipped catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from openscout.config import Settings

TOP = [
    "version",
    "created_at",
    "machine",
    "wall_s",
    "bandwidth_gbs",
    "settings",
    "models",
    "reference_prices",
    "recommendation",
    "notes",
    # added by issue 20 (published scores, hosted prices): new keys only ever go at the end
    "hosted_prices",
    "rank_agreement",
    # added by issue 19: the paired test of each two models on the same quality items
    "paired",
]
PAIRED = [
    "model_a",
    "model_b",
    "n",
    "score_a",
    "score_b",
    "diff",
    "p_value",
    "significant",
    "method",
    # added by the 37th probe: items each failed, left out; no order is decided while any
    "failed_a",
    "failed_b",
    # added by the 53rd probe: items scored differently (alike on all: one arm in Holm's)
    "discordant",
]
SETTINGS = [
    "suite",
    "limit",
    "seed",
    "repeats",
    "warmup",
    "max_tokens",
    "speed_depth",
    "price_per_hour",
    "cost_concurrency",
    "weights",
    "items",  # added by issue 16
]
MODEL = [
    "id",
    "engine",
    "license",
    "catalog_id",
    "bundled",
    "quality",
    "output_tps",
    "ttft_s",
    "prefill_tps",
    "itl_p50_s",
    "itl_p99_s",
    "mbu",
    "memory_bytes",
    "cost",
    "price_source",
    "openness",
    "fit",
    "bench",
    "errors",
    "published",
    "rent",
]
PUBLISHED = [
    "benchmark",
    "value",
    "percent",
    "setting",
    "publisher",
    "date",
    "source",
    "quote",
    "origin",
]
RENT = [
    "provider",
    "provider_model",
    "input_per_m",
    "output_per_m",
    "blended_per_m",
    "source",
    "date",
    "note",
]
QUALITY = ["suite", "score", "n", "ci_low", "ci_high", "failed", "scoring"]
COST = ["price_per_hour", "input_per_m", "output_per_m", "blended_per_m"]
OPENNESS = [
    "label",
    "mof_class",
    "osi_approved",
    "commercial_use",
    "commercial_terms",
    "catalog_id",
    "criteria",
]
BENCH = [
    "model_id",
    "config",
    "prompts",
    "sweep",
    "memory_bytes",
    "memory_method",
    "load_s",
    "bandwidth_gbs",
    "weight_bytes",
    "depths",
    "rated_bandwidth_gbs",
    "output_tps",
    "ttft_s",
    "prefill_tps",
    "mbu",
    "mbu_rated",
    "cost",
    "price_source",
    "cost_concurrency",
]
PROMPT = [
    "prompt",
    "runs",
    "prompt_tokens",
    "completion_tokens",
    "ttft_s",
    "output_tps",
    "prefill_tps",
    "e2e_s",
    "itl_p50_s",
    "itl_p99_s",
    "mbu",
    "reference_tokens",
]
STAT = ["median", "min", "max", "n"]
DEPTH = [
    "depth",
    "prompt_tokens",
    "ttft_s",
    "output_tps",
    "prefill_tps",
    "e2e_s",
    "completion_tokens",
    "reference_tokens",
]
PRICE = ["name", "input_per_m", "output_per_m", "blended_per_m", "source", "date"]
RECOMMENDATION = [
    "recommended",
    "pareto_front",
    "ranking",
    "excluded",
    "reasons",
    "message",
    "constraints",
]
RANKED = ["id", "score", "on_front", "dominated_by", "quality_below"]
LEADERBOARD_V2 = {"IFEval", "BBH", "MATH Lvl 5", "GPQA", "MuSR", "MMLU-PRO"}


@pytest.fixture
def compared(settings: Settings, cli_env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    settings.ensure()
    models = [
        {
            "id": "mock-a",
            "engine": "mock",
            "license": "Apache-2.0",
            "catalog_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "price_per_hour": 1.0,
            "options": {"default": "1 2 3 4 5 6 7 8 9"},
        },
        {"id": "mock-b", "engine": "mock", "options": {"fail_with": "the server is down"}},
    ]
    settings.models_file.write_text(yaml.safe_dump({"version": 1, "models": models}))
    args = ["-m", "mock-a", "-m", "mock-b", "--limit", "3", "--repeats", "1"]
    args += ["--max-tokens", "8", "--depth", "300", "--out", str(tmp_path / "out"), "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "compare", *args],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    stored = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    result["_stored"] = stored
    return result


def test_compare_json_keys_are_pinned(compared: dict[str, Any]) -> None:
    stored = compared.pop("_stored")
    assert list(compared) == [*TOP, "report"]
    assert list(compared["report"]) == ["html", "markdown", "json"]
    assert list(compared["settings"]) == SETTINGS
    assert compared["settings"]["items"] == 3  # the items asked, not only the limit
    assert list(compared["settings"]["weights"]) == ["quality", "cost", "speed", "memory"]
    a, b = compared["models"]
    assert list(a) == MODEL and list(b) == MODEL
    assert list(a["quality"]) == QUALITY
    assert list(a["cost"]) == COST
    assert list(a["openness"]) == OPENNESS and a["openness"]["criteria"]
    assert all(isinstance(v, str) for v in a["openness"]["criteria"].values())
    assert a["fit"] is None and b["openness"] is None and b["bench"] is None
    assert list(a["bench"]) == BENCH
    assert list(a["bench"]["cost"]) == COST
    short = a["bench"]["prompts"]["short"]
    assert list(short) == PROMPT and list(short["ttft_s"]) == STAT
    assert [list(d) for d in a["bench"]["depths"]] == [DEPTH, DEPTH]
    assert list(compared["reference_prices"][0]) == PRICE
    # mock-a points at SmolLM2-135M-Instruct: the leaderboard's six scores, no provider price
    assert [list(p) for p in a["published"]] == [PUBLISHED] * 6
    assert {p["benchmark"] for p in a["published"]} == LEADERBOARD_V2
    assert a["rent"] == [] and b["published"] == []
    assert list(compared["hosted_prices"][0]) == [*RENT, "model"]
    assert compared["rank_agreement"] == []
    assert compared["paired"] == []  # mock-b answered nothing: no pair to test
    rec = compared["recommendation"]
    # mock-b answered nothing: excluded, so ranked alone (38th probe: it was recommended)
    assert list(rec) == RECOMMENDATION and [list(r) for r in rec["ranking"]] == [RANKED]
    # the stored report.json is the same document, less where the report was written
    assert stored == {k: v for k, v in compared.items() if k != "report"}


def test_paired_test_keys_are_pinned_and_say_who_scored_higher() -> None:
    from openscout.comparison import PairedTest
    from openscout.evals.stats import compare_paired

    c = compare_paired("tuned", [1.0] * 12 + [0.0] * 4, "base", [0.0] * 14 + [1.0] * 2)
    test = PairedTest.model_validate(c, from_attributes=True)
    assert list(test.model_dump()) == PAIRED
    assert test.significant and test.method == "mcnemar-exact"
    assert test.verdict().startswith("tuned scores higher than base on the same items by 0.625")
    tied = PairedTest.model_validate(
        compare_paired("a", [1.0, 0.0], "b", [0.0, 1.0]), from_attributes=True
    )
    assert tied.verdict().startswith("no significant quality difference between a and b")
