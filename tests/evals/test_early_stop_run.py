"""Early stopping inside a real eval run: fewer items, same ranking, stated error rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import OpenscoutError
from openscout.evals import run_eval
from tests.evals.helpers import add_mock


def _suite(path: Path, n: int) -> Path:
    lines = ["name: ab", "prompts: ['Item {{n}}']", "defaults: {max_tokens: 8}", "tests:"]
    for i in range(n):
        lines += [f"  - vars: {{n: {i}}}", "    assert: [{type: icontains, value: right}]"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_clear_winner_settles_early(settings: Settings, tmp_path: Path) -> None:
    n = 200
    suite = _suite(tmp_path / "s.yaml", n)
    # "good" is right on 90% of items, "bad" on 20%: the order settles long before 200.
    add_mock(
        settings, "good", script={f"Item {i}": "right" if i % 10 else "wrong" for i in range(n)}
    )
    add_mock(
        settings, "bad", script={f"Item {i}": "right" if i % 5 == 0 else "wrong" for i in range(n)}
    )
    run = run_eval(settings, str(suite), ["bad", "good"], early_stop=0.05, seed=3)
    stop = run.early_stop
    assert stop is not None and stop["settled"]
    assert stop["order"] == ["good", "bad"]
    assert stop["items_used"] < n / 2 and stop["items_available"] == n
    assert run.results["good"].n == stop["items_used"] == run.results["bad"].n
    full = run_eval(settings, str(suite), ["bad", "good"], seed=3, resume=False)
    assert full.results["good"].score > full.results["bad"].score


def test_equal_models_use_the_whole_suite(settings: Settings, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "s.yaml", 40)
    script = {f"Item {i}": "right" if i % 2 else "wrong" for i in range(40)}
    add_mock(settings, "a", script=script)
    add_mock(settings, "b", script=script)
    run = run_eval(settings, str(suite), ["a", "b"], early_stop=0.05)
    assert run.early_stop is not None and not run.early_stop["settled"]
    assert run.early_stop["items_used"] == 40


def test_early_stop_needs_two_models(settings: Settings, tmp_path: Path) -> None:
    add_mock(settings, "a")
    with pytest.raises(OpenscoutError, match="two models"):
        run_eval(settings, str(_suite(tmp_path / "s.yaml", 5)), ["a"], early_stop=0.05)
