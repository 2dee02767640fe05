"""`python` assertions: refused unless trusted; when trusted, run in a limited child process.

The expression below escapes the in-process restrictions through a generator's frame (the
attack of issue 17): in process it reached `os` and could run a shell command as the user.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from openscout.errors import DataFileError
from openscout.evals import assertions
from openscout.evals.assertions import PythonAssertionError, run_assertion
from openscout.evals.loading import load_suite
from openscout.worker import Limits

ESCAPE = (
    "(lambda q: [q.append((f.gi_frame.f_back.f_back.f_back.f_globals['__builtins__']"
    "['__import__']('os').{call} for f in q)), list(q[0])][1][0])([])"
)


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small limits, so that the tests that hit them are quick."""
    monkeypatch.setattr(
        assertions, "PYTHON_LIMITS", Limits(memory_bytes=256 * 2**20, cpu_seconds=1, timeout=3)
    )
    monkeypatch.setattr(assertions, "_python_worker", None)


def _a(expr: str) -> dict[str, Any]:
    return {"type": "python", "value": expr, "weight": 1.0, "threshold": None, "trusted": True}


def test_escape_refused_without_trust(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "suite.yaml"
    expr = ESCAPE.format(call=f"system('touch {marker}')")
    path.write_text(
        "prompts: [hi]\ntests:\n  - vars: {}\n    assert:\n      - type: python\n"
        f'        value: "{expr}"\n'
    )
    with pytest.raises(DataFileError) as e:
        load_suite(path)
    assert e.value.line == 5 and "--trust-python" in str(e.value)
    assert not marker.exists()
    # trusted, the same file loads
    assert load_suite(path, trust_python=True).items


def test_untrusted_assertion_never_evaluated() -> None:
    a = _a("1")
    del a["trusted"]  # e.g. an item stored without trust and edited by hand
    with pytest.raises(PythonAssertionError, match="trust-python"):
        run_assertion(a, "out", {}, None)


def test_trusted_escape_runs_in_a_child_not_in_openscout(tight: None) -> None:
    _, detail = run_assertion(_a(ESCAPE.format(call="getpid()")), "out", {}, None)
    assert isinstance(detail["value"], int) and detail["value"] != os.getpid()


def test_busy_loop_is_stopped_and_the_worker_comes_back(tight: None) -> None:
    start = time.monotonic()
    s, detail = run_assertion(_a("sum(range(10**12))"), "out", {}, None)
    assert s == 0.0 and "stopped" in detail["reason"]
    assert time.monotonic() - start < 6
    assert run_assertion(_a("len(output) == 3"), "out", {}, None)[0] == 1.0


def test_huge_allocation_fails_inside_the_child(tight: None) -> None:
    s, detail = run_assertion(_a("len('x' * 10**10)"), "out", {}, None)
    assert s == 0.0 and "MemoryError" in detail["reason"]
    assert run_assertion(_a("output == 'out'"), "out", {}, None)[0] == 1.0


def test_a_value_json_cannot_write_keeps_its_truth(tight: None) -> None:
    """An int of 5,001 digits ended the worker ("e.g. out of memory") and failed a true
    assertion (47th probe, low)."""
    s, detail = run_assertion(_a("10**5000"), "out", {}, None)
    assert s == 1.0 and detail["value"] == "an integer of about 5,001 digits"
    assert run_assertion(_a("-(10**5000) * 0"), "out", {}, None)[0] == 0.0
    assert run_assertion(_a("-(10**5000)"), "out", {}, None)[0] == 0.0  # clipped, as a number
    s, detail = run_assertion(_a("[10**5000]"), "out", {}, None)  # inside a container too
    assert s == 1.0 and detail["value"] == "a list too long to show"
