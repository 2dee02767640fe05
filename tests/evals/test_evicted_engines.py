"""An evaluation asks the engine cache for its model at each call: with room for one model,
an early-stopping run of two went back to the first model's engine after the cache had
closed it to open the second, and the process died (SIGSEGV, found beside the twenty-third
probe). A judge model opened mid-run is the same case."""

from __future__ import annotations

import json

import pytest

from tests.reliability.helpers import cli

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def test_early_stopping_with_room_for_one_model(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "OPENSCOUT_MODEL_CACHE_MB": "150"}  # each opening evicts the other
    done = cli(
        env, "eval", "-s", "arithmetic", "-m", "smollm2-135m-instruct", "-m", "gemma-3-270m",
        "--early-stop", "0.05", "--limit", "20", "--json", check=False, timeout=600,
    )  # fmt: skip  # two chunks of 10: the first model is opened again after the second
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)["results"]
    assert [(r["model_id"], r["n"], r["errors"]) for r in results] == [
        ("smollm2-135m-instruct", 20, 0),
        ("gemma-3-270m", 20, 0),
    ]
