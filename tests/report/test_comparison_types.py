"""The typed comparison result: its JSON (one place), reading stored reports back, and the
server's use of them (a bad report is skipped, a bug in the charts is not hidden)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from openscout.comparison import BenchRecord, CompareResult, ModelComparison
from openscout.config import Settings
from openscout.perf.bench import ModelBench
from openscout.perf.cost import TokenCost
from openscout.perf.measure import BenchResult, DepthPoint, PromptStats, Stat, SweepPoint
from openscout.server import data
from tests.report.sample import sample_result


def _bench() -> ModelBench:
    s = Stat(0.5, 0.4, 0.6, 3)
    prompt = PromptStats("short", 3, 20, 64, s, s, s, s, 0.01, 0.02, mbu=0.3)
    result = BenchResult(
        model_id="m",
        config={"repeats": 3, "prompts": ("short",)},
        prompts={"short": prompt},
        sweep=[SweepPoint(2, 4, 150.0, 300.0, s, s)],
        memory_bytes=123,
        memory_method="peak-rss-delta",
        load_s=0.2,
        bandwidth_gbs=20.0,
        weight_bytes=100,
        depths=[DepthPoint(0, 20, s, s, s)],
    )
    return ModelBench(result, TokenCost(0.08, 0.1, 0.4, 0.175), "default", 1)


def test_bench_record_is_the_bench_json_exactly() -> None:
    bench = _bench()
    record = BenchRecord.of(bench)
    as_json = record.model_dump()
    assert json.dumps(as_json) == json.dumps(bench.as_dict())  # same keys, order and values
    assert as_json["prompts"]["short"]["completion_tokens"] == 64  # an int stays an int
    assert record.short is not None and record.short.itl_p99_s == 0.02
    assert BenchRecord.model_validate(json.loads(json.dumps(as_json))).short == record.short


def test_json_round_trip_and_where_the_report_was_written() -> None:
    result = sample_result()
    doc = result.to_json()
    assert "report" not in doc and list(doc)[-1] == "paired"  # newest key last
    assert CompareResult.from_json(json.loads(json.dumps(doc))) == result
    written = result.model_copy(update={"report": {"html": "/r/report.html"}})
    assert list(written.to_json())[-1] == "report"
    assert written.to_json()["report"] == {"html": "/r/report.html"}


def test_typed_fields_read_by_attribute() -> None:
    result = sample_result()
    smol = result.model("smollm2-135m-instruct")
    assert isinstance(smol, ModelComparison)
    assert smol.quality is not None and smol.quality.n == 60 and smol.quality.failed == 0
    assert smol.cost_per_m == 0.21 and smol.openness is not None
    assert smol.openness.criteria["training_logs"] == "partial"
    assert result.recommendation.ranking[0].id in {m.id for m in result.models}
    assert result.settings.speed_depth == 0  # an older report without it
    assert result.model("nobody") is None


def test_stored_reports_are_read_tolerantly_but_must_be_reports() -> None:
    doc = sample_result().to_json()
    doc["added_by_a_later_version"] = {"x": 1}
    doc["models"][0]["also_new"] = True
    assert CompareResult.from_json(doc).models[0].id == "smollm2-135m-instruct"
    with pytest.raises(ValidationError):
        CompareResult.from_json({"version": 1})  # no models: not a comparison
    with pytest.raises(ValidationError):
        CompareResult.from_json({"models": [{"engine": "mock"}]})  # a model without an id


def _store(settings: Settings, name: str, text: str) -> Path:
    folder = settings.reports_dir / name
    folder.mkdir(parents=True)
    path = folder / "report.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_server_skips_what_is_not_a_report(settings: Settings) -> None:
    import os

    good = _store(settings, "a", json.dumps(sample_result().to_json()))
    bad = _store(settings, "b", json.dumps({"models": "not a list"}))
    os.utime(good, (1, 1))  # the bad one is newer
    latest = data.latest_comparison(settings)
    assert latest is not None and latest == sample_result()
    assert bad.exists()


def test_a_bug_in_the_charts_is_not_hidden(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(settings, "a", json.dumps(sample_result().to_json()))

    def broken(result: CompareResult) -> dict[str, object]:
        raise KeyError("a bug")

    monkeypatch.setattr(data, "quality_vs_cost", broken)
    with pytest.raises(KeyError):
        data.comparison_charts(settings)
