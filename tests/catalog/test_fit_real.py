"""`fit` against what loading the bundled SmolLM2 really takes (resident memory, child process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openscout.catalog.fit import MachineMemory, estimate_fit
from openscout.config import Settings

PROBE = Path(__file__).with_name("rss_probe.py")


def _measure(path: Path, n_ctx: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, str(PROBE), str(path), str(n_ctx)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.real_model
def test_fit_agrees_with_measured_resident_memory(smollm2_path: Path, settings: Settings) -> None:
    n_ctx = 1024  # a prompt filling 1024 tokens keeps the test short on a 2-core machine
    m = _measure(smollm2_path, n_ctx)
    assert m["tokens"] > n_ctx - 100  # the prompt really filled the context
    measured = m["peak"] - m["before"]
    machine = MachineMemory(64 * 10**9, 60 * 10**9)
    report = estimate_fit(
        "smollm2-135m-instruct", context=n_ctx, settings=settings, machine=machine, bandwidth_gbs=20
    )
    assert report.shape.source == "gguf header"
    err = abs(report.required_bytes - measured) / measured
    est = report.required_bytes / 1e6
    print(f"estimate {est:.1f} MB, measured {measured / 1e6:.1f} MB, error {err:.1%}")
    assert err <= 0.30
    # the weights alone are what the file says; loading without a prompt already holds them + KV
    assert m["loaded"] - m["before"] >= report.weights_bytes + report.kv_cache_bytes * 0.9
