"""Published results: the curated data's rules, the leaderboard import (recorded samples in
the dataset's shape; no network), the merge with curated facts, and the offline Hub error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openscout.catalog import load_catalog
from openscout.catalog.leaderboard_import import import_results
from openscout.catalog.published import (
    all_scores,
    curated_scores,
    imported_path,
    parse_file,
    read_imported,
    scores_for,
)
from openscout.errors import DataFileError, HubError

SAMPLES = Path(__file__).parent / "fixtures" / "leaderboard"
GOOD = {
    "model": "acme/small-1b",
    "benchmark": "IFEval",
    "value": 40.0,
    "setting": "0-shot; strict accuracy",
    "publisher": "Open LLM Leaderboard v2",
    "date": "2024-09-01",
    "source": "https://example.org/leaderboard",
    "quote": "IFEval 40.0",
}


def _yaml(rows: list[dict[str, object]]) -> str:
    return json.dumps({"version": 1, "results": rows})  # JSON is YAML


def test_curated_scores_are_cited_and_name_catalog_models() -> None:
    scores = curated_scores()
    assert len(scores) >= 10
    catalog = load_catalog()
    for s in scores:
        assert s.model in catalog, f"{s.model} is not a curated model"
        assert s.source.scheme == "https" and s.quote and s.setting and s.date
        assert s.origin == "curated"


@pytest.mark.parametrize(
    "missing", ["benchmark", "setting", "date", "source", "quote", "publisher"]
)
def test_a_score_without_a_required_fact_is_rejected(missing: str) -> None:
    row = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(DataFileError) as err:
        parse_file("scores.yaml", _yaml([row]))
    assert "scores.yaml" in str(err.value) and missing in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("date", "last year"), ("source", "not a url"), ("benchmark", ""), ("model", "nope")],
)
def test_a_malformed_fact_is_rejected(field: str, value: str) -> None:
    with pytest.raises(DataFileError):
        parse_file("scores.yaml", _yaml([{**GOOD, field: value}]))


def test_a_curated_score_cites_a_web_page() -> None:
    with pytest.raises(DataFileError, match="web page"):
        parse_file("scores.yaml", _yaml([{**GOOD, "source": "file:///tmp/x.csv"}]))


def test_import_the_recorded_leaderboard_sample_and_merge(settings) -> None:
    report = import_results(
        str(SAMPLES / "contents_sample.csv"), home=settings.home, cache_dir=settings.cache_dir
    )
    assert (report.rows, report.models, report.scores) == (3, 3, 18)
    assert report.kept_curated == 6  # Qwen2.5-72B-Instruct is curated: the curated rows win
    merged = all_scores(settings.home)
    small = {s.benchmark: s for s in scores_for("acme/small-1b", merged)}
    assert small["IFEval"].value == 40.0 and small["MuSR"].value == 4.0
    assert small["BBH"].shots == 3 and small["BBH"].origin == "imported"
    assert small["IFEval"].date == "2024-09-01"
    assert str(small["IFEval"].source).startswith("file://")
    assert "row 1" in small["IFEval"].quote
    qwen = {s.benchmark: s for s in scores_for("Qwen/Qwen2.5-72B-Instruct", merged)}
    assert qwen["IFEval"].value == 86.38 and qwen["IFEval"].origin == "curated"


def test_a_second_import_replaces_rows_and_keeps_others(settings) -> None:
    kw = {"home": settings.home, "cache_dir": settings.cache_dir}
    import_results(str(SAMPLES / "contents_sample.csv"), **kw)
    report = import_results(str(SAMPLES / "datasets_server_rows.json"), **kw)
    assert report.rows == 2 and report.models == 2
    stored = read_imported(settings.home)
    small = {s.benchmark: s for s in stored if s.model == "acme/small-1b"}
    assert small["IFEval"].value == 41.0 and small["IFEval"].date == "2024-11-01"
    assert small["MuSR"].value == 4.0  # from the first import, not in the second
    assert {s.model for s in stored} >= {"acme/medium-7b", "acme/large-70b"}


def test_a_malformed_row_names_the_file_and_the_row(settings) -> None:
    path = SAMPLES / "malformed_row.csv"
    with pytest.raises(DataFileError) as err:
        import_results(str(path), home=settings.home, cache_dir=settings.cache_dir)
    text = str(err.value)
    assert f"{path}, entry 'row 2'" in text and "IFEval" in text and "forty" in text
    assert not imported_path(settings.home).exists()  # nothing half-written


def test_a_bad_row_is_named_by_its_number_not_a_wrong_line(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`k.csv:4` named line 4 for the 4th data row, which is on line 5 (30th probe, low)."""
    k = tmp_path / "k.csv"
    k.write_text("fullname,Average,IFEval\norg/a,1,1\norg/b,1,1\norg/c,1,1\nbad-id,1,1\n")
    with pytest.raises(DataFileError) as err:
        import_results(str(k), home=settings.home, cache_dir=settings.cache_dir)
    assert f"{k}, entry 'row 4'" in str(err.value) and f"{k}:4" not in str(err.value)


def test_a_file_without_leaderboard_columns_says_which_it_wants(settings, tmp_path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("name,score\nx/y,1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="no benchmark column") as err:
        import_results(str(odd), home=settings.home, cache_dir=settings.cache_dir)
    assert "IFEval" in (err.value.hint or "")


def test_the_hub_path_offline_is_a_clear_error(settings) -> None:
    with pytest.raises(HubError, match="offline") as err:
        import_results(
            "open-llm-leaderboard/contents",
            home=settings.home,
            cache_dir=settings.cache_dir,
            offline=True,
        )
    assert "export" in (err.value.hint or "")


def test_neither_a_file_nor_a_hub_id(settings) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        import_results("no-such-file.csv", home=settings.home, cache_dir=settings.cache_dir)


def test_a_damaged_cache_says_how_to_rebuild_it(settings) -> None:
    path = imported_path(settings.home)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFileError, match="import-results"):
        all_scores(settings.home)
