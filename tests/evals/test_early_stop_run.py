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


def test_a_model_failing_its_misses_settles_nothing(settings: Settings, tmp_path: Path) -> None:
    """Items a model fails are left out of the pair: one failing (HTTP 400) exactly the
    items it would miss was "better (p=0.002)" than an honest model and "settled" first,
    after 80 of 300 items (37th probe, medium). While any item is failed nothing is decided."""
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    n = 200
    lines = ["name: ab", "prompts: ['Item {{n}}.']", "defaults: {max_tokens: 8}", "tests:"]
    for i in range(n):
        lines += [f"  - vars: {{n: {i}}}", "    assert: [{type: icontains, value: right}]"]
    suite = tmp_path / "s.yaml"
    suite.write_text("\n".join(lines) + "\n")
    add_mock(
        settings, "honest", script={f"Item {i}.": "right" if i % 10 < 7 else "no" for i in range(n)}
    )
    misses = tuple(f"Item {i}." for i in range(1, n, 2))
    # a 404: a failure (a 400 for those prompts alone is a refusal of them: a counted miss)
    bad_request = (404, {"error": {"message": "not found", "type": "invalid_request_error"}})
    fake = FakeServer("refuse", reply=lambda p: "right", misbehave_on=misses, refusal=bad_request)
    with serve(fake):
        add_remote(settings, fake.url, "hostile")
        run = run_eval(settings, str(suite), ["honest", "hostile"], early_stop=0.05, seed=3)
    stop = run.early_stop
    assert stop is not None and not stop["settled"] and stop["items_used"] == n
    assert stop["failed_items"] == {"hostile": n // 2}
    (pair,) = run.comparisons
    assert not pair.significant and pair.verdict().startswith("not decided: hostile failed 100")
