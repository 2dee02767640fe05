"""Chart specifications as plain Plotly JSON (data + layout), built without importing plotly.

Three charts: quality against cost, quality against speed (both with 95% intervals as
error bars, the recommended model as a star), and the openness breakdown. Hosted API list
prices appear on the cost chart as dotted reference lines: they have a price but no local
quality measurement.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

from openscout.comparison import CompareResult, ModelComparison
from openscout.report.tables import fmt_openness, ordered_models, status_of

_COLOURS = {
    "recommended": "#1b9e77",
    "Pareto front": "#7570b3",
    "dominated": "#999999",
    "excluded": "#d95f02",
}
_STATUS_LEVEL = {"closed": 0, "unknown": 1, "partial": 2, "open": 3}


def _cost(m: ModelComparison) -> float | None:
    return m.cost_per_m


def _speed(m: ModelComparison) -> float | None:
    return m.output_tps


def _quality_scatter(
    result: CompareResult,
    x_of: Callable[[ModelComparison], float | None],
    x_title: str,
    log_x: bool,
    title: str,
) -> dict[str, Any]:
    rec = result.recommendation
    traces = []
    for status in ("recommended", "Pareto front", "dominated", "excluded"):
        pts = []
        for m in ordered_models(result):
            q, x = m.quality, x_of(m)
            if status_of(m.id, rec) != status or q is None or x is None:
                continue
            # as entities: plotly reads tags in text (an id from models.yaml is anyone's)
            pts.append((html.escape(m.id, quote=False), x, q.score, q.ci_low, q.ci_high))
        if not pts:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": status,
                "x": [p[1] for p in pts],
                "y": [p[2] for p in pts],
                "text": [p[0] for p in pts],
                "textposition": "top center",
                "marker": {
                    "size": 16 if status == "recommended" else 12,
                    "color": _COLOURS[status],
                    "symbol": "star" if status == "recommended" else "circle",
                },
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(p[4] - p[2]) if p[4] is not None else 0 for p in pts],
                    "arrayminus": [(p[2] - p[3]) if p[3] is not None else 0 for p in pts],
                },
                "hovertemplate": "%{text}<br>"
                + x_title
                + ": %{x:.3g}<br>quality: %{y:.3f}<extra></extra>",
            }
        )
    suite = next((m.quality.suite for m in result.models if m.quality), None)
    # a suite's name is its file's name as given, which may hold tags plotly reads as a
    # link or markup (twenty-second probe): escaped as the ids are
    quality = f"quality on {html.escape(suite, quote=False)}" if suite else "quality"
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}, "type": "log" if log_x else "linear"},
        "yaxis": {
            "title": {"text": f"{quality} (score, 0 to 1)"},
            "range": [0, 1.05],
        },
        "legend": {"orientation": "h"},
        "margin": {"t": 60},
        "shapes": [],
        "annotations": [],
    }
    return {"data": traces, "layout": layout}


def _steps_125(lo: float, hi: float) -> list[float]:
    """1-2-5 steps from the last one at or below `lo` to the first at or above `hi` (both
    > 0), with at least one step on each side of a single value."""
    out: list[float] = []
    for exp in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 2):
        out += [m * 10.0**exp for m in (1, 2, 5)]
    first = max(i for i, v in enumerate(out) if v <= lo * (1 + 1e-9))
    last = min(i for i, v in enumerate(out) if v >= hi * (1 - 1e-9))
    if first == last:
        first, last = first - 1, last + 1
    return out[first : last + 1]


def dollar_ticks(values: list[float]) -> tuple[list[float], list[str]]:
    """Tick positions and '$' labels for a log axis over `values`: every 1-2-5 step when the
    range spans at most two decades, else the decades alone."""
    pos = [v for v in values if v and v > 0]
    if not pos:
        return [], []
    lo, hi = min(pos), max(pos)
    steps = _steps_125(lo, hi)
    if math.log10(steps[-1] / steps[0]) > 2:
        lo_exp = math.floor(math.log10(lo) + 1e-9)
        hi_exp = math.ceil(math.log10(hi) - 1e-9)
        steps = [10.0**e for e in range(lo_exp, hi_exp + 1)]
    return steps, [_dollars(v) for v in steps]


def _dollars(v: float) -> str:
    """'$0.002', '$0.05', '$1', '$20': as many decimals as the step needs, no more."""
    return f"${v:.{max(0, -math.floor(math.log10(v) + 1e-9))}f}" if v < 1 else f"${v:g}"


def quality_vs_cost(result: CompareResult) -> dict[str, Any]:
    fig = _quality_scatter(
        result, _cost, "$ per 1M tokens (blended 3:1, log scale)", True, "Quality against cost"
    )
    xs = [m.cost_per_m for m in result.models if m.quality is not None and m.cost_per_m]
    xs += [r.blended_per_m for r in result.reference_prices if r.blended_per_m]
    tickvals, ticktext = dollar_ticks([float(x) for x in xs])
    if tickvals:
        fig["layout"]["xaxis"].update(
            tickmode="array",
            tickvals=tickvals,
            ticktext=ticktext,
            # the ticks' span, so the axis begins and ends on a labelled step
            range=[math.log10(tickvals[0]), math.log10(tickvals[-1])],
        )
    for ref in result.reference_prices:
        x = ref.blended_per_m
        if not x:
            continue
        fig["layout"]["shapes"].append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#bbbbbb"},
            }
        )
        fig["layout"]["annotations"].append(
            {
                "x": _log10(x),
                "xref": "x",
                "yref": "paper",
                "y": 1,
                "text": ref.name,
                "showarrow": False,
                "textangle": -90,
                "xanchor": "right",
                "yanchor": "top",
                "font": {"size": 10, "color": "#888888"},
            }
        )
    return fig


def _log10(x: float) -> float:
    return math.log10(x)  # annotations on a log axis take the exponent


def quality_vs_speed(result: CompareResult) -> dict[str, Any]:
    return _quality_scatter(
        result, _speed, "output tokens/s (median)", False, "Quality against speed"
    )


def openness_breakdown(result: CompareResult) -> dict[str, Any]:
    """Heatmap: one row per model, one column per openness criterion, coloured by status."""
    models = ordered_models(result)
    criteria: list[str] = []
    for m in models:
        for name in m.openness.criteria if m.openness else {}:
            if name not in criteria:
                criteria.append(name)
    z, text, labels = [], [], []
    for m in models:
        o = m.openness
        known = o.criteria if o else {}
        statuses = [known.get(c, "unknown") for c in criteria]
        z.append([_STATUS_LEVEL.get(st, 1) for st in statuses])
        text.append(statuses)
        licence = m.license or "licence unknown"
        osi = {True: "OSI-approved", False: "not OSI-approved"}.get(
            o.osi_approved if o else None, "OSI status unknown"
        )
        # plotly reads tags in labels (a licence from a model file made a working link in
        # the axis; eleventh probe): our <br> only, the words as entities
        words = html.escape(f"{fmt_openness(o)}; {licence}, {osi}", quote=False)
        labels.append(f"{html.escape(m.id, quote=False)}<br>{words}")
    if not criteria:  # no catalog facts at all: one column saying so
        criteria = ["catalog facts"]
        z = [[1] for _ in models]
        text = [["unknown"] for _ in models]
    data = [
        {
            "type": "heatmap",
            "x": [c.replace("_", " ") for c in criteria],
            "y": labels,
            "z": z,
            "text": text,
            "texttemplate": "%{text}",
            "zmin": 0,
            "zmax": 3,
            "showscale": False,
            "colorscale": [
                [0.0, "#d95f02"],
                [0.33, "#d95f02"],
                [0.33, "#cccccc"],
                [0.5, "#cccccc"],
                [0.5, "#e6ab02"],
                [0.75, "#e6ab02"],
                [0.75, "#1b9e77"],
                [1.0, "#1b9e77"],
            ],
            "hovertemplate": "%{y}<br>%{x}: %{text}<extra></extra>",
            "xgap": 2,
            "ygap": 2,
        }
    ]
    layout = {
        "title": {"text": "Openness breakdown (what each release publishes)"},
        "yaxis": {"automargin": True, "autorange": "reversed"},
        "xaxis": {"side": "top"},
        "margin": {"t": 90},
        "height": 160 + 70 * max(1, len(models)),
    }
    return {"data": data, "layout": layout}


def all_charts(result: CompareResult) -> dict[str, dict[str, Any]]:
    return {
        "quality-vs-cost": quality_vs_cost(result),
        "quality-vs-speed": quality_vs_speed(result),
        "openness": openness_breakdown(result),
    }
