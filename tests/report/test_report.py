"""Tables, chart specs, HTML, Markdown and JSON export of a comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

from openscout.recommend import Constraints
from openscout.report import write_report
from openscout.report.charts import all_charts
from openscout.report.html import render_html
from openscout.report.markdown import render_markdown
from openscout.report.tables import rows
from tests.report.sample import HOSTILE, sample_result


def test_rows_follow_the_ranking_and_format_units() -> None:
    result = sample_result(Constraints(osi_required=True))
    r = rows(result)
    assert [x["id"] for x in r] == ["smollm2-135m-instruct", "gemma-3-270m"]
    smol, gemma = r
    assert smol["status"] == "recommended" and smol["rank"] == "1"
    assert gemma["status"] == "excluded" and gemma["rank"] == "-"
    assert smol["quality"] == "0.41 [0.31, 0.51] n=60"
    assert (smol["output_tps"], smol["ttft"], smol["memory"], smol["cost"]) == (
        "110.0",
        "50 ms",
        "160 MB",
        "$0.210",
    )
    assert (
        smol["openness"] == "open source (MOF I)"
        and gemma["openness"] == "restricted weights (no MOF class)"
    )


def test_charts_carry_every_model_and_the_reference_prices() -> None:
    charts = all_charts(sample_result())
    assert set(charts) == {"quality-vs-cost", "quality-vs-speed", "openness"}
    cost = charts["quality-vs-cost"]
    names = [t for trace in cost["data"] for t in trace["text"]]
    assert sorted(names) == ["gemma-3-270m", "smollm2-135m-instruct"]
    assert cost["layout"]["xaxis"]["type"] == "log"
    assert [a["text"] for a in cost["layout"]["annotations"]] == ["openai/gpt-4o-mini"]
    speed = charts["quality-vs-speed"]
    xs = sorted(x for trace in speed["data"] for x in trace["x"])
    assert xs == [70.0, 110.0]
    heat = charts["openness"]["data"][0]
    assert heat["type"] == "heatmap" and len(heat["z"]) == 2 and len(heat["x"]) == 5
    row = next(i for i, y in enumerate(heat["y"]) if y.startswith("gemma-3-270m"))
    assert heat["text"][row][0] == "closed" and heat["z"][row][0] == 0  # gemma's training data
    assert "not OSI-approved" in heat["y"][row]


def test_chart_labels_carry_a_hostile_licence_as_text() -> None:
    """Plotly reads tags in axis labels: a licence `<a href=...>` made a working link in the
    openness chart (eleventh probe). Only our own <br> stays a tag."""
    labels = all_charts(sample_result())["openness"]["data"][0]["y"]
    gemma = next(y for y in labels if y.startswith("gemma-3-270m"))
    assert "<img" not in gemma and "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;" in gemma
    assert gemma.count("<br>") == 1


def test_scatter_text_carries_a_hostile_id_as_text() -> None:
    """An id written into models.yaml by hand reached the scatter's text, which plotly reads
    as markup (twelfth probe)."""
    result = sample_result()
    odd = '<a href="https://evil.example/">x</a>'
    result.models[0] = result.models[0].model_copy(update={"id": odd})
    texts = [t for trace in all_charts(result)["quality-vs-cost"]["data"] for t in trace["text"]]
    assert odd not in texts and '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt;' in texts


def test_a_price_per_hour_must_be_finite() -> None:
    import pytest
    from pydantic import ValidationError

    from openscout.engines.spec import ModelSpec

    with pytest.raises(ValidationError):
        ModelSpec(id="m", engine="mock", price_per_hour=float("inf"))


def test_html_is_self_contained_and_escapes_untrusted_text() -> None:
    html = render_html(sample_result())
    assert "<script src" not in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]?https?:", html)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is inside
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # escaped in the table
    assert "Content-Security-Policy" in html and "'unsafe-eval'" not in html
    assert html.count("data-chart=") == 3


def test_markdown_lists_recommendation_table_and_prices() -> None:
    md = render_markdown(sample_result(Constraints(osi_required=True)))
    assert "**recommended: smollm2-135m-instruct**" in md
    assert "- gemma-3-270m is excluded: its licence (" in md
    assert "| 1 | smollm2-135m-instruct | 0.41 [0.31, 0.51] n=60 |" in md
    assert "openai/gpt-4o-mini" in md


def test_markdown_keeps_a_hostile_licence_inert() -> None:
    """A licence from a model file showed as raw HTML in the Markdown report (tenth probe)."""
    from openscout.report.markdown import _cell

    md = render_markdown(sample_result())
    assert HOSTILE not in md and "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;" in md
    link = _cell("MIT [see](javascript:alert(1)) ![x][y] [y]: http://evil `code` | a\\](b)")
    assert "](" not in link.replace("\\](", "") and "][" not in link.replace("\\][", "")
    assert "]:" not in link.replace("\\]:", "") and "\\`code\\`" in link and "\\|" in link
    assert _cell("0.41 [0.31, 0.51] n=60") == "0.41 [0.31, 0.51] n=60"


def test_write_report_writes_three_files(tmp_path: Path) -> None:
    result = sample_result()
    paths = write_report(result, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"report.html", "report.md", "report.json"}
    assert json.loads(paths["json"].read_text()) == result.to_json()
    assert not list((tmp_path / "out").glob(".*tmp*"))  # no temporary files left behind


def test_a_suite_name_is_text_in_the_charts() -> None:
    """A suite's name is its file name as given; plotly reads tags in titles, and one named
    `<a href=...>` became a link in report.html and on /leaderboard (twenty-second probe)."""
    name = '<a href="https:evil.example">CLICK<b>BOLD.yaml'
    result = sample_result()
    result = result.model_copy(
        update={
            "models": [
                m.model_copy(update={"quality": m.quality.model_copy(update={"suite": name})})
                if m.quality
                else m
                for m in result.models
            ]
        }
    )
    for spec in all_charts(result).values():
        text = json.dumps(spec)
        assert "<a href" not in text and "<b>" not in text
    titles = json.dumps(all_charts(result)["quality-vs-cost"]["layout"]["yaxis"])
    assert "&lt;a href=" in titles


def test_two_reports_in_the_same_second_get_two_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two comparisons ending in the same second wrote one folder: the first's report, the
    one its command pointed to, was replaced by the second's (42nd probe, medium)."""
    from openscout.report import new_folder

    first = new_folder(tmp_path / "reports", "compare-20261202-172206")
    second = new_folder(tmp_path / "reports", "compare-20261202-172206")
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name == "compare-20261202-172206-2"
