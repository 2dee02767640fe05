"""A comparison result like openscout.compare.compare()'s, built by hand for report tests: a
report.json-shaped dict (fields a report may lack are left out), read as a CompareResult."""

from __future__ import annotations

from typing import Any

from openscout.compare import candidate
from openscout.comparison import CompareResult, ModelComparison
from openscout.recommend import Constraints, recommend

HOSTILE = "<img src=x onerror=alert(1)></script>"


def _stat(v: float) -> dict[str, Any]:
    return {"median": v, "min": v * 0.9, "max": v * 1.1, "n": 3}


def _model(
    mid: str,
    q: float,
    tps: float,
    mem: int,
    cost: float,
    lic: str,
    osi: bool,
    label: str,
    mof: str,
    criteria: dict[str, str],
) -> dict[str, Any]:
    prompt = {
        "prompt": "short",
        "runs": 3,
        "prompt_tokens": 20,
        "completion_tokens": 64.0,
        "ttft_s": _stat(0.05),
        "output_tps": _stat(tps),
        "prefill_tps": _stat(400.0),
        "e2e_s": _stat(0.6),
        "itl_p50_s": 0.009,
        "itl_p99_s": 0.02,
        "mbu": 0.3,
    }
    return {
        "id": mid,
        "engine": "llamacpp",
        "license": lic,
        "catalog_id": None,
        "bundled": True,
        "quality": {"suite": "quick", "score": q, "n": 60, "ci_low": q - 0.1, "ci_high": q + 0.1},
        "output_tps": tps,
        "ttft_s": 0.05,
        "prefill_tps": 400.0,
        "itl_p50_s": 0.009,
        "itl_p99_s": 0.02,
        "mbu": 0.3,
        "memory_bytes": mem,
        "cost": {
            "price_per_hour": 0.0816,
            "input_per_m": cost / 2,
            "output_per_m": cost * 2.5,
            "blended_per_m": cost,
        },
        "price_source": "default",
        "errors": [],
        "openness": {
            "label": label,
            "mof_class": mof,
            "osi_approved": osi,
            "commercial_use": True,
            "criteria": criteria,
        },
        "bench": {"prompts": {"short": prompt}, "sweep": [], "memory_method": "peak-rss-delta"},
    }


def sample_result(constraints: Constraints | None = None) -> CompareResult:
    models = [
        _model(
            "smollm2-135m-instruct",
            0.41,
            110.0,
            160 * 2**20,
            0.21,
            "Apache-2.0",
            True,
            "open source",
            "I",
            {
                "training_data": "open",
                "weights": "open",
                "evaluation_code": "open",
                "training_code": "open",
                "training_logs": "partial",
            },
        ),
        _model(
            "gemma-3-270m",
            0.47,
            70.0,
            330 * 2**20,
            0.33,
            HOSTILE,
            False,
            "restricted weights",
            "none",
            {
                "training_data": "closed",
                "weights": "open",
                "evaluation_code": "unknown",
                "training_code": "closed",
                "training_logs": "closed",
            },
        ),
    ]
    rec = recommend([candidate(ModelComparison.model_validate(m)) for m in models], constraints)
    return CompareResult.from_json(
        {
            "version": 1,
            "created_at": "2026-11-26T18:00:00Z",
            "machine": "test (x86_64, 2 cores)",
            "wall_s": 80.0,
            "bandwidth_gbs": 20.0,
            "settings": {
                "suite": "quick",
                "limit": 20,
                "seed": 0,
                "repeats": 3,
                "warmup": 1,
                "max_tokens": 64,
            },
            "models": models,
            "reference_prices": [
                {
                    "name": "openai/gpt-4o-mini",
                    "input_per_m": 0.15,
                    "output_per_m": 0.6,
                    "blended_per_m": 0.2625,
                    "source": "https://example.org/prices",
                    "date": "2026-05",
                }
            ],
            "recommendation": rec.as_dict(),
        }
    )
