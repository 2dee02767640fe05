"""Chart specifications as plain Plotly JSON (data + layout), built without importing plotly.

Three charts: quality against cost, quality against speed (both with 95% intervals as
error bars, the recommended model as a star), and the openness breakdown. Hosted API list
prices appear on the cost chart as dotted reference lines: they have a price but no local
quality measurement.
"""

from __future__ import annotations

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
            pts.append((m.id, x, q.score, q.ci_low, q.ci_high))
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
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}, "type": "log" if log_x else "linear"},
        "yaxis": {
            "title": {"text": f"quality on {suite}" if suite else "quality"},
            "range": [0, 1.05],
        },
        "legend": {"orientation": "h"},
        "margin": {"t": 60},
        "shapes": [],
        "annotations": [],
    }
    return {"data": traces, "layout": layout}


def quality_vs_cost(result: CompareResult) -> dict[str, Any]:
    fig = _quality_scatter(
        result, _cost, "$ per 1M tokens (blended 3:1), log scale", True, "Quality against cost"
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
    import math

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
        labels.append(f"{m.id}<br>{fmt_openness(o)}; {licence}, {osi}")
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
