"""A self-contained HTML report: works offline, no CDN, nothing fetched.

plotly.js is copied from the installed `plotly` package into the page. Chart data travels
as JSON in `<script type="application/json">` blocks (never executed) and one small inline
script draws them. Every string from models, catalogs or users is escaped; a strict
Content-Security-Policy allows only the two inline scripts, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from html import escape
from typing import Any

from openscout.comparison import CompareResult, ModelComparison
from openscout.perf.measure import PromptStats, Stat, SweepPoint
from openscout.recommend import Recommendation
from openscout.report import outside_view as ov
from openscout.report.charts import all_charts
from openscout.report.tables import (
    COLUMNS,
    cost_assumption,
    depth_note,
    fmt_mb,
    fmt_money,
    fmt_num,
    memory_note,
    price_words,
    rows,
    suite_note,
    workload,
)

_DRAW = """
document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (el) {
  var fig = JSON.parse(el.textContent);
  var target = document.getElementById(el.getAttribute('data-chart'));
  Plotly.newPlot(target, fig.data, fig.layout, {responsive: true, displaylogo: false})
    .then(function () { target.setAttribute('data-drawn', 'true'); });
});
"""

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.rec{border-left:4px solid #1b9e77;background:#f1faf6;padding:.6rem 1rem}
.none{border-left:4px solid #d95f02;background:#fdf3ec;padding:.6rem 1rem}
.chart{width:100%;height:460px;margin:1rem 0}
.muted{color:#666;font-size:.85rem}
tr.recommended td{font-weight:600}
"""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The full plotly.js bundle shipped inside the plotly Python package."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _csp_hash(script: str) -> str:
    return (
        "'sha256-"
        + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        + "'"
    )


def _json_block(obj: dict[str, Any]) -> str:
    # '<' escaped so no string in the data can close the script element
    return (
        json.dumps(obj, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _table(headers: list[str], body: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    trs = []
    for i, r in enumerate(body):
        cls = f' class="{escape(classes[i])}"' if classes and classes[i] else ""
        trs.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


def _recommendation(rec: Recommendation) -> str:
    box = "rec" if rec.recommended else "none"
    items = "".join(f"<li>{escape(r)}</li>" for r in rec.reasons)
    cons = rec.constraints
    cons_html = f"<p class='muted'>Constraints: {escape('; '.join(cons))}</p>" if cons else ""
    head = f"<p><strong>{escape(rec.message)}</strong></p>"
    return f"<div class='{box}'>{head}{cons_html}<ul>{items}</ul></div>"


def _assumptions(result: CompareResult) -> str:
    """The price behind the cost column and what the memory column measured."""
    lines = [x for x in (cost_assumption(result), memory_note(result)) if x]
    return "".join(f"<p class='muted assumption'>{escape(x)}</p>" for x in lines)


def _notes(result: CompareResult) -> str:
    """What the reader must know to read the table right (e.g. scoring methods differ, and
    whether the quality differences are more than chance)."""
    notes = [*result.notes, *(f"Paired test: {t.verdict()}" for t in result.paired)]
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f"<div class='none'><strong>Note</strong><ul>{items}</ul></div>"


_PROMPT_HEADERS = [
    "prompt",
    "prompt tok",
    "output tok",
    "TTFT med [min-max]",
    "tok/s",
    "prefill tok/s",
    "end-to-end",
    "ITL p50",
    "ITL p99",
    "MBU",
]


def _prompt_row(name: str, p: PromptStats) -> list[str]:
    return [
        name,
        str(p.prompt_tokens),
        fmt_num(p.completion_tokens, 0),
        _spread(p.ttft_s, 1000, "ms"),
        _spread(p.output_tps, 1, ""),
        _spread(p.prefill_tps, 1, ""),
        _spread(p.e2e_s, 1, "s"),
        fmt_num(_ms(p.itl_p50_s), 1, " ms"),
        fmt_num(_ms(p.itl_p99_s), 1, " ms"),
        "-" if p.mbu is None else f"{p.mbu * 100:.1f}%",
    ]


def _sweep_table(sweep: list[SweepPoint]) -> str:
    if not sweep:
        return ""
    return _table(
        ["clients", "aggregate output tok/s", "latency median", "TTFT median"],
        [
            [
                str(s.concurrency),
                fmt_num(s.aggregate_output_tps),
                fmt_num(s.latency_s.median, 2, " s"),
                fmt_num(_ms(s.ttft_s.median), 0, " ms"),
            ]
            for s in sweep
        ],
    )


def _model_details(m: ModelComparison) -> str:
    b = m.bench
    body = [_prompt_row(name, p) for name, p in b.prompts.items()] if b else []
    cost = m.cost
    errors = "".join(f"<li>{escape(e)}</li>" for e in m.errors)
    method = (b.memory_method if b else None) or "not measured"
    ran = (
        f", running {workload(b.config, max((p.concurrency for p in b.sweep), default=1))}"
        if b
        else ""
    )
    memory = f"peak memory {fmt_mb(m.memory_bytes)} ({method}{ran})"
    price = (
        f"cost: input {fmt_money(cost.input_per_m)}, output {fmt_money(cost.output_per_m)} "
        f"per 1M tokens at {price_words(cost.price_per_hour, m.price_source)}"
        if cost
        else f"cost: {m.price_source or 'not measured'}"
    )
    return (
        f"<h3>{escape(m.id)}</h3>"
        f"<p class='muted'>engine {escape(str(m.engine))}; {escape(memory)}; "
        f"{escape(price)}</p>"
        + (_table(_PROMPT_HEADERS, body) if body else "")
        + _sweep_table(b.sweep if b else [])
        + (f"<ul class='none'>{errors}</ul>" if errors else "")
    )


def _details(result: CompareResult) -> str:
    return "".join(_model_details(m) for m in result.models)


def _ms(v: float | None) -> float | None:
    return None if v is None else v * 1000


def _spread(s: Stat, scale: float, unit: str) -> str:
    if s.median is None or s.min is None or s.max is None:
        return "-"
    f = (
        (lambda v: f"{v * scale:.0f}")
        if unit == "ms"
        else (lambda v: f"{v * scale:.2f}" if unit == "s" else f"{v:.1f}")
    )
    return f"{f(s.median)} [{f(s.min)}-{f(s.max)}]{(' ' + unit) if unit else ''}"


def _outside_view(result: CompareResult) -> str:
    """Rent vs run, published vs yours, rank correlation: labelled, never one number."""
    rent = _table(list(ov.RENT_HEADERS), ov.rent_rows(result))
    hosted = ov.hosted_rows(result)
    published = ov.published_rows(result)
    taus = ov.tau_rows(result)
    return (
        "<h2 id='rent-vs-run'>Rent it or run it here</h2>"
        "<p class='muted'>Run it here: measured on this machine (blended 3:1). "
        "Rent it: a provider's list price for the same open model.</p>"
        + rent
        + (_table(list(ov.HOSTED_HEADERS), hosted) if hosted else "")
        + "<h2 id='published-vs-yours'>Published scores beside yours</h2>"
        + (
            "<p class='muted'>Published: what a leaderboard or model card reports. "
            "Yours: measured here.</p>" + _table(list(ov.PUBLISHED_HEADERS), published)
            if published
            else "<p>No published score is known for these models.</p>"
        )
        + "<h2 id='rank-agreement'>How far to trust the leaderboard for your task</h2>"
        + (
            _table(list(ov.TAU_HEADERS), taus)
            if taus
            else f"<p>{escape(ov.tau_missing_note(result) or '')}</p>"
        )
    )


def render_html(result: CompareResult) -> str:
    charts = all_charts(result)
    table_rows = rows(result)
    main_table = _table(
        [label for _, label in COLUMNS],
        [[r[k] for k, _ in COLUMNS] for r in table_rows],
        [r["status"].replace(" ", "-") for r in table_rows],
    )
    refs = result.reference_prices
    ref_table = (
        _table(
            ["hosted API", "input $/1M", "output $/1M", "blended $/1M", "source", "date"],
            [
                [
                    r.name,
                    fmt_money(r.input_per_m),
                    fmt_money(r.output_per_m),
                    fmt_money(r.blended_per_m),
                    r.source,
                    r.date,
                ]
                for r in refs
            ],
        )
        if refs
        else ""
    )
    chart_divs = "".join(
        f"<div class='chart' id='chart-{escape(name)}' "
        f"style='height:{int(fig['layout'].get('height', 460))}px'></div>"
        f"<script type='application/json' data-chart='chart-{escape(name)}'>"
        f"{_json_block(fig)}</script>"
        for name, fig in charts.items()
    )
    js = plotly_js()
    csp = (
        f"default-src 'none'; script-src {_csp_hash(js)} {_csp_hash(_DRAW)}; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:"
    )
    s = result.settings
    meta = (
        f"{escape(result.created_at)} on {escape(result.machine)}; "
        f"suite {escape(suite_note(s))}, "
        f"{escape(str(s.repeats))} repeats"
        f"{escape(depth_note(s))}; memory bandwidth "
        f"{escape(fmt_num(result.bandwidth_gbs))} GB/s; "
        f"took {escape(fmt_num(result.wall_s))} s"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>openscout comparison</title><style>{_STYLE}</style></head><body>"
        f"<h1>Which model should I use?</h1><p class='muted'>{meta}</p>"
        f"<h2>Recommendation</h2>{_recommendation(result.recommendation)}"
        f"<h2>Ranked comparison</h2>{main_table}{_assumptions(result)}{_notes(result)}"
        f"<h2>Charts</h2>{chart_divs}"
        + (f"<h2>Hosted API list prices, for comparison</h2>{ref_table}" if ref_table else "")
        + _outside_view(result)
        + f"<h2>Measurements per model</h2>{_details(result)}"
        "<p class='muted'>Definitions: TTFT = request to first token; "
        "tokens/s = output tokens after the "
        "first / time from first to last token (median of runs); prefill = prompt tokens / TTFT; "
        "$/1M = price per hour / (tokens/s x 3600) x 1e6, blended = (3 x input + output) / 4; "
        "MBU = bytes read per token x tokens/s / measured memory bandwidth. "
        "See docs/metrics.md.</p>"
        f"<script>{js}</script><script>{_DRAW}</script></body></html>"
    )
