"""The report and the compare output explain themselves (issue 16): the suite's real item
count, the price the cost comes from, what the memory figure measured, and chart axes with
units and readable ticks."""

from __future__ import annotations

import math
import re

from openscout.comparison import CompareResult
from openscout.report.charts import all_charts, dollar_ticks
from openscout.report.html import render_html
from openscout.report.markdown import render_markdown
from openscout.report.tables import COLUMNS, cost_assumption, memory_note, suite_note
from tests.report.sample import sample_result


def _with_settings(result: CompareResult, **changes: object) -> CompareResult:
    settings = result.settings.model_copy(update=changes)
    return result.model_copy(update={"settings": settings})


def test_header_names_the_items_asked_not_the_limit() -> None:
    result = _with_settings(sample_result(), items=8)  # --limit 20 on an 8-item suite
    assert suite_note(result.settings) == "quick, 8 items"
    for text in (render_html(result), render_markdown(result)):
        assert "quick, 8 items" in text
        assert "limit 20" not in text
    # a stored result from before the count was kept says what it knows
    assert suite_note(sample_result().settings) == "quick, at most 20 items"
    assert suite_note(_with_settings(sample_result(), suite=None).settings) == (
        "quality not measured"
    )


def test_cost_assumption_names_the_machine_and_price_everywhere() -> None:
    result = sample_result()
    line = cost_assumption(result)
    assert line is not None
    price = result.models[0].cost.price_per_hour  # type: ignore[union-attr]
    assert f"${price:g}/h" in line and "openscout's default" in line
    assert "--price-per-hour" in line and "1 client at a time" in line
    assert line in render_markdown(result)
    html = render_html(result)
    assert line.replace("'", "&#x27;") in html
    # a price of the user's own: no advice to set one
    own = result.model_copy(
        update={
            "models": [
                m.model_copy(update={"price_source": "--price-per-hour"}) for m in result.models
            ]
        }
    )
    assert "--price-per-hour to the price" not in (cost_assumption(own) or "")
    # nothing priced: nothing claimed
    bare = result.model_copy(
        update={"models": [m.model_copy(update={"cost": None}) for m in result.models]}
    )
    assert cost_assumption(bare) is None


def test_memory_is_labelled_as_peak_memory_of_a_workload() -> None:
    result = sample_result()
    assert ("memory", "peak memory") in COLUMNS
    note = memory_note(result)
    assert note is not None and note.startswith("peak memory: what the model added")
    assert "one request at a time" in note
    assert "peak memory 160 MB (peak-rss-delta" in render_html(result)


def test_cost_axis_is_in_dollars_with_decade_or_125_ticks() -> None:
    cost = all_charts(sample_result())["quality-vs-cost"]
    x = cost["layout"]["xaxis"]
    assert "$" in x["title"]["text"] and x["type"] == "log"
    assert x["tickmode"] == "array" and all(t.startswith("$") for t in x["ticktext"])
    # every tick is 1, 2 or 5 times a power of ten, and the ticks cover every point
    for v in x["tickvals"]:
        lead = v / 10 ** math.floor(math.log10(v) + 1e-9)
        assert round(lead, 6) in (1, 2, 5), v
    xs = [p for trace in cost["data"] for p in trace["x"]]
    xs += [r.blended_per_m for r in sample_result().reference_prices]
    assert min(x["tickvals"]) <= min(xs) and max(x["tickvals"]) >= max(xs)
    assert x["range"] == [math.log10(x["tickvals"][0]), math.log10(x["tickvals"][-1])]


def test_dollar_ticks_read_well() -> None:
    assert dollar_ticks([0.0123, 0.0456]) == ([0.01, 0.02, 0.05], ["$0.01", "$0.02", "$0.05"])
    # more than two decades: the decades alone
    _, text = dollar_ticks([0.0003, 15])
    assert text == ["$0.0001", "$0.001", "$0.01", "$0.1", "$1", "$10", "$100"]
    # one value still gets an axis around it
    assert dollar_ticks([0.01])[1] == ["$0.005", "$0.01", "$0.02"]
    assert dollar_ticks([]) == ([], [])


def test_every_scatter_axis_carries_its_unit() -> None:
    charts = all_charts(sample_result())
    for name in ("quality-vs-cost", "quality-vs-speed"):
        layout = charts[name]["layout"]
        assert re.search(r"\$|tokens/s", layout["xaxis"]["title"]["text"]), name
        assert "0 to 1" in layout["yaxis"]["title"]["text"], name
