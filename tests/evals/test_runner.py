"""The runner with the mock engine: records, cache, resume, concurrency, fallbacks."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.engines.base import Capabilities
from openscout.engines.loader import clear_cache
from openscout.engines.mock import MockEngine
from openscout.errors import ModelNotFoundError, OpenscoutError
from openscout.evals import get_run, list_runs, run_eval
from openscout.evals.calls import Caller
from openscout.evals.items import Item
from openscout.evals.loading import load_suite
from openscout.evals.runner import _run_item, _Shared, order_for_prefix
from openscout.evals.store import EvalStore
from tests.evals.helpers import add_mock, engine_calls, script_for, write_suite


@pytest.fixture(autouse=True)
def fresh_engines() -> None:
    clear_cache()


def _rows(settings: Settings, sql: str) -> list[tuple]:
    conn = sqlite3.connect(settings.db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_run_records_every_item_and_scores(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 6)
    add_mock(settings, "m", script=script_for(6))
    run = run_eval(settings, str(suite), ["m"])
    res = run.results["m"]
    assert (res.score, res.n, res.errors) == (0.5, 6, 0)
    assert 0.0 < res.ci_low < 0.5 < res.ci_high < 1.0 and res.method == "wilson"
    stored = get_run(settings, run.run_id[:12])
    assert stored["status"] == "done" and len(stored["items"]) == 6
    first = stored["items"][0]
    assert first["output"] == "ok w0" and first["score"] == 1.0 and first["latency_s"] >= 0
    assert first["input"]["request"]["messages"][-1]["content"] == "Item 0: say w0"
    assert list_runs(settings)[0]["id"] == run.run_id


def test_second_identical_run_makes_no_engine_calls(settings: Settings) -> None:
    add_mock(settings, "a")
    add_mock(settings, "b", default="Answer: 7")
    first = run_eval(settings, "quick", ["a", "b"], limit=12, seed=3)
    before = engine_calls(settings, "a") + engine_calls(settings, "b")
    assert first.results["a"].engine_calls > 0
    second = run_eval(settings, "quick", ["a", "b"], limit=12, seed=3)
    assert engine_calls(settings, "a") + engine_calls(settings, "b") == before
    assert second.run_id != first.run_id and not second.resumed
    for m in ("a", "b"):
        assert second.results[m].engine_calls == 0 and second.results[m].cached_calls > 0
        assert [r["score"] for r in second.results[m].items] == [
            r["score"] for r in first.results[m].items
        ]
    assert len(second.comparisons) == 1


def test_a_fully_cached_run_does_not_even_load_the_models(settings: Settings) -> None:
    from openscout.engines import loader

    add_mock(settings, "a")
    run_eval(settings, "quick", ["a"], limit=8)
    clear_cache()
    again = run_eval(settings, "quick", ["a"], limit=8)
    assert again.results["a"].engine_calls == 0
    assert not loader._cache._engines  # nothing was opened
    third = run_eval(settings, "quick", ["a"], limit=9)  # one new item: now it loads
    assert third.results["a"].engine_calls > 0 and loader._cache._engines


def test_sampled_outputs_are_never_cached(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 4, temperature=0.7)
    add_mock(settings, "m", script=script_for(4))
    run_eval(settings, str(suite), ["m"])
    calls = engine_calls(settings, "m")
    run_eval(settings, str(suite), ["m"])
    assert engine_calls(settings, "m") == 2 * calls == 8
    assert _rows(settings, "SELECT count(*) FROM eval_cache")[0][0] == 0


def test_errors_are_recorded_not_cached_and_redone(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 3)
    add_mock(settings, "m", fail_with="the server fell over")
    run = run_eval(settings, str(suite), ["m"])
    res = run.results["m"]
    # failed items are left out of the score: nothing was scored, so there is no score
    assert res.errors == 3 and res.score is None and res.n == 0
    assert "fell over" in res.items[0]["error"] and res.items[0]["output"] is None
    assert _rows(settings, "SELECT count(*) FROM eval_cache")[0][0] == 0
    # the same model id, now healthy: a new run calls the engine for every item again
    add_mock(settings, "m", script=script_for(3))
    clear_cache()
    again = run_eval(settings, str(suite), ["m"])
    assert again.results["m"].errors == 0 and engine_calls(settings, "m") == 3


def test_a_huge_error_is_recorded_cut(settings: Settings, tmp_path: Path) -> None:
    """A 30 MB upstream message stored with each failed item made a two-item run 360 MB,
    and `runs show` ran for minutes printing it (eleventh probe)."""
    from openscout.evals.explain import failure_reasons

    suite = write_suite(tmp_path / "s.yaml", 2)
    add_mock(settings, "m", fail_with="fell over " + "x" * 1_500_000)
    res = run_eval(settings, str(suite), ["m"]).results["m"]
    assert res.errors == 2
    stored = _rows(settings, "SELECT max(length(error)) FROM eval_items")[0][0]
    assert 1000 < stored <= 2010
    (reason,) = failure_reasons({"error": "fell over " + "y" * 3_000_000})
    assert reason.startswith("fell over") and len(reason) <= 310


def test_interrupted_run_resumes_without_redoing_items(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 8)
    add_mock(settings, "m", script=script_for(8), max_parallel=1)

    def stop_after_three(ev) -> None:
        if ev.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_eval(settings, str(suite), ["m"], progress=stop_after_three, use_cache=False)
    assert engine_calls(settings, "m") == 3
    run = run_eval(settings, str(suite), ["m"], use_cache=False)
    assert run.resumed and engine_calls(settings, "m") == 8
    assert run.results["m"].n == 8 and run.results["m"].score == 0.5
    assert _rows(settings, "SELECT count(*) FROM eval_runs")[0][0] == 1


def test_a_judge_model_scores_and_is_cached(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 2, judge="judge")
    add_mock(settings, "m", script=script_for(2))
    add_mock(settings, "judge", default="PASS")
    run = run_eval(settings, str(suite), ["m"])
    judged = [
        r for r in run.results["m"].items if r["detail"]["assertions"][0]["type"] == "llm-rubric"
    ]
    assert judged and all(r["score"] == 1.0 for r in judged)
    assert engine_calls(settings, "judge") == 2
    run_eval(settings, str(suite), ["m"])
    assert engine_calls(settings, "judge") == 2


def test_parallel_items_all_recorded_in_order(settings: Settings) -> None:
    add_mock(settings, "p", delay_s=0.01, max_parallel=4, default="Answer: 3")
    run = run_eval(settings, "arithmetic", ["p"], limit=10)
    items = run.results["p"].items
    assert [r["index"] for r in items] == list(range(10))
    assert engine_calls(settings, "p") == 10


def test_choice_items_fall_back_to_generation(settings: Settings) -> None:
    item = load_suite("mc", limit=1).items[0]
    letter = "ABCD"[item.target]
    engine = MockEngine("g", default=f"The answer is {letter}.")
    store = EvalStore(settings.ensure())
    try:
        shared = _Shared(settings, store, True)
        ll = _run_item(item, 0, Caller(engine, "mock", "k1", store, settings), "chat", shared)
        assert ll["detail"]["method"] == "loglikelihood" and len(ll["detail"]["logprobs"]) == 4
        engine.capabilities = replace(Capabilities(), loglikelihood=False)
        gen = _run_item(item, 0, Caller(engine, "mock", "k2", store, settings), "chat", shared)
        assert gen["detail"]["method"] == "generate" and gen["score"] == 1.0
    finally:
        store.close()


def test_order_puts_shared_prefixes_together() -> None:
    items = load_suite("arithmetic", limit=6).items
    other = [
        Item(
            id=f"o{i}",
            kind="generate",
            prompt=f"zz {i}",
            check="number",
            target=1,
            completion_prompt=f"Other prefix\n{i}",
        )
        for i in range(3)
    ]
    mixed = [x for pair in zip(items, other, strict=False) for x in pair] + items[3:]
    order = order_for_prefix(list(enumerate(mixed)), "completion")
    kinds = ["o" if it.id.startswith("o") else "a" for _, it in order]
    assert kinds in (["a"] * 6 + ["o"] * 3, ["o"] * 3 + ["a"] * 6)


def test_bad_requests_fail_clearly(settings: Settings) -> None:
    with pytest.raises(ModelNotFoundError):
        run_eval(settings, "quick", ["nope"])
    with pytest.raises(OpenscoutError, match="no built-in suite"):
        run_eval(settings, "no-such-suite", ["smollm2-135m-instruct"])
    with pytest.raises(OpenscoutError, match="twice"):
        run_eval(settings, "quick", ["a", "a"])


class BatchMock(MockEngine):
    """A mock that scores all options of a question in one call, like a prefix-sharing engine."""

    def __init__(self) -> None:
        super().__init__("batch")
        self.batches: list[int] = []

    def loglikelihood_choices(self, context: str, continuations: list[str]) -> list:
        self.batches.append(len(continuations))
        return [MockEngine.loglikelihood(self, context, c) for c in continuations]


def test_choice_options_use_the_batch_path_and_the_cache(settings: Settings) -> None:
    item = load_suite("mc", limit=1).items[0]
    engine = BatchMock()
    store = EvalStore(settings.ensure())
    try:
        shared = _Shared(settings, store, True)
        first = _run_item(item, 0, Caller(engine, "mock", "kb", store, settings), "chat", shared)
        again = _run_item(item, 0, Caller(engine, "mock", "kb", store, settings), "chat", shared)
    finally:
        store.close()
    assert engine.batches == [4]
    assert first["detail"]["logprobs"] == again["detail"]["logprobs"]
    assert (first["engine_calls"], again["engine_calls"], again["cached_calls"]) == (4, 0, 4)


def test_items_in_flight_at_an_interrupt_are_kept(settings: Settings, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", 8)
    add_mock(settings, "m", script=script_for(8), max_parallel=3, delay_s=0.02)

    def stop_at_first(ev) -> None:
        if ev.done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_eval(settings, str(suite), ["m"], progress=stop_at_first, use_cache=False)
    calls = engine_calls(settings, "m")
    saved = _rows(settings, "SELECT count(*) FROM eval_items")[0][0]
    assert calls == saved >= 1  # every answered item was kept
    run_eval(settings, str(suite), ["m"], use_cache=False)
    assert engine_calls(settings, "m") == 8


def test_an_answer_no_check_can_read_is_a_counted_miss(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items whose check broke on the answer were failed and left out of the score, for
    ever (the answer is cached): a model's own answers could take its misses out of its
    score (34th probe, medium). Such an item is a miss now, with the reason kept."""
    from openscout.evals import scoring
    from tests.evals.helpers import add_mock

    def breaks(item, output, ctx):  # type: ignore[no-untyped-def]
        if "17" in output:
            raise IndexError("list index out of range")
        return scoring.check_number(item, output, ctx)

    monkeypatch.setitem(scoring.CHECKS, "number", breaks)
    add_mock(settings, "m", default="Answer: 17")
    result = run_eval(settings, "arithmetic", ["m"], limit=4).results["m"]
    assert result.errors == 0 and [r["error"] for r in result.items] == [None] * 4
    assert [r["score"] for r in result.items] == [0.0] * 4 and result.score == 0.0
    assert "IndexError" in result.items[0]["detail"]["unscorable"]


def test_an_unreadable_answer_is_a_miss_on_every_metric_of_its_check(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unscorable answer counted as a miss in the score but was absent from the check's
    other metrics: ifeval's `inst_level` and `prompt_level` were taken over the answers that
    could be read (36th probe, low)."""
    from openscout.evals import scoring
    from tests.evals.helpers import add_mock

    real = scoring.CHECKS["ifeval"]
    seen: list[str] = []

    def breaks_on_the_first(item, output, ctx):  # type: ignore[no-untyped-def]
        seen.append(item.id)
        if item.id == seen[0]:
            raise IndexError("list index out of range")
        return real(item, output, ctx)

    monkeypatch.setitem(scoring.CHECKS, "ifeval", breaks_on_the_first)
    add_mock(settings, "m", default="Hello.")
    result = run_eval(settings, "ifeval", ["m"], limit=4, parallel=1).results["m"]
    assert result.n == 4 and result.errors == 0
    first = next(r for r in result.items if r["item_id"] == seen[0])
    assert "IndexError" in first["detail"]["unscorable"] and first["metrics"] == {}
    for name in ("inst_level", "prompt_level"):
        metric = result.metrics[name]
        read = [r["metrics"][name] for r in result.items if r["metrics"]]
        assert metric.n == 4 and metric.score == pytest.approx(sum(read) / 4), name


def test_when_no_answer_can_be_read_the_check_s_metrics_are_zero_not_absent(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zeros came from the metric names other answers carried: with none readable, the
    model had no `inst_level` at all (37th probe, low)."""
    from openscout.evals import scoring
    from tests.evals.helpers import add_mock

    def breaks(item, output, ctx):  # type: ignore[no-untyped-def]
        raise IndexError("list index out of range")

    monkeypatch.setitem(scoring.CHECKS, "ifeval", breaks)
    add_mock(settings, "m", default="Hello.")
    result = run_eval(settings, "ifeval", ["m"], limit=3).results["m"]
    assert result.n == 3 and result.score == 0.0
    for name in ("inst_level", "prompt_level"):
        assert (result.metrics[name].n, result.metrics[name].score) == (3, 0.0), name


def test_a_run_whose_judge_was_replaced_is_not_resumed(settings: Settings, tmp_path: Path) -> None:
    """The fingerprint held the models, not the judges: a run killed, its judge replaced,
    then run again resumed, scoring 46 items by the old judge and 54 by the new (37th probe,
    low). A changed judge starts a new run; an unchanged one still resumes."""
    from tests.evals.helpers import add_mock

    lines = ["prompts: ['{{q}}']", "judge: j", "tests:"]
    for i in range(6):
        lines += [f"  - vars: {{q: q{i}}}", "    assert: [{type: llm-rubric, value: 'ok'}]"]
    suite = tmp_path / "s.yaml"
    suite.write_text("\n".join(lines) + "\n")
    add_mock(settings, "m", default="an answer")

    def stop_at_first(ev) -> None:  # type: ignore[no-untyped-def]
        if ev.done == 1:
            raise KeyboardInterrupt

    for judge_says, resumes in (("PASS", True), ("FAIL", False)):
        add_mock(settings, "j", default="PASS")
        with pytest.raises(KeyboardInterrupt):
            run_eval(settings, str(suite), ["m"], progress=stop_at_first, parallel=1)
        add_mock(settings, "j", default=judge_says)  # the same id, another judge or the same
        run = run_eval(settings, str(suite), ["m"], parallel=1)
        assert run.resumed is resumes
        assert run.results["m"].score == (1.0 if judge_says == "PASS" else 0.0)
