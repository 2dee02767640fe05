"""The memory a model adds does not depend on what was measured before it in the process:
the first of two identical models measured 36% bigger (the reference vocabulary loaded in its
window, and the heap a closed model left for the next to reuse), so the order of `-m` decided
between them (47th probe). Run in a fresh process, as `compare` is."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.real_model]

MEASURE_TWICE = """
import json
from openscout.config import get_settings
from openscout.models import get_model
from openscout.perf.bench import bench_one
from openscout.perf.measure import BenchConfig

settings = get_settings()
spec = get_model(settings, "smollm2-135m-instruct")
config = BenchConfig(repeats=1, warmup=0, max_tokens=8, prompts=("short",), concurrency=())
print(json.dumps([bench_one(spec, settings, config).result.memory_bytes for _ in range(2)]))
"""


def test_the_same_model_measured_twice_adds_the_same_memory(cli_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_TWICE], env=cli_env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first and second and abs(first - second) / second < 0.05, (first, second)
