"""Stored run rows (evals.store.list_runs) read back typed, as the server's pages read them."""

from __future__ import annotations

from openscout.config import Settings
from openscout.evals.results import StoredRun
from openscout.evals.runner import run_eval
from openscout.evals.store import list_runs
from openscout.models import ModelSpec, add_model


def test_a_finished_run_reads_back_with_its_scores(settings: Settings) -> None:
    add_model(settings, ModelSpec(id="m1", engine="mock", options={"default": "4"}))
    run = run_eval(settings, "arithmetic", ["m1"], limit=3)
    [stored] = [StoredRun.from_row(r) for r in list_runs(settings)]
    assert stored.id == run.run_id and stored.suite == "arithmetic"
    assert stored.summary is not None
    score = stored.summary.models["m1"]
    assert score.n == 3 and score.score == run.results["m1"].score
    assert score.ci_low == run.results["m1"].ci_low


def test_an_unfinished_or_older_row_takes_defaults() -> None:
    row = {"id": "r1", "created_at": "2026-01-01T00:00:00", "summary": None, "extra": 1}
    stored = StoredRun.from_row(row)
    assert stored.summary is None and stored.suite == "?"
    old = StoredRun.from_row({"id": "r2", "summary": {"models": {"m": {"score": 0.5}}}})
    assert old.summary is not None and old.summary.models["m"].n is None
