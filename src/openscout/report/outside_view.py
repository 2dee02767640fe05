"""What the report shows beside the measurements: rent it vs run it here, published scores
vs yours, and how far each public benchmark's ranking matches the user's suite. Plain rows
that the Markdown, HTML and CLI renderers share; published and measured figures stay in
separate, labelled columns.
"""

from __future__ import annotations

from openscout.comparison import CompareResult, ModelComparison
from openscout.report.tables import fmt_money, fmt_quality

RENT_HEADERS = (
    "model",
    "run it here: $/1M blended (measured)",
    "rent it: $/1M blended (provider list price)",
    "provider, source (date)",
    "cheaper",
)
PUBLISHED_HEADERS = ("model", "benchmark", "published", "setting", "source (date)", "yours")
TAU_HEADERS = ("public benchmark", "models", "Kendall tau", "95% interval", "what it means")


def _run_here(m: ModelComparison) -> str:
    c = m.cost
    if c is None or c.blended_per_m is None:
        return "-"
    # where the price per hour comes from is the report's cost assumption line (tables.py)
    return f"{fmt_money(c.blended_per_m)} at ${c.price_per_hour:g}/h"


def _cheaper(run: float | None, rent: float) -> str:
    if run is None or run <= 0 or rent <= 0:
        return "-"
    if run < rent:
        return f"run here, {rent / run:.1f}x cheaper"
    return f"rent, {run / rent:.1f}x cheaper"


def rent_rows(result: CompareResult) -> list[list[str]]:
    """One row per model and provider; a model no provider prices says so."""
    rows = []
    for m in result.models:
        run = m.cost.blended_per_m if m.cost else None
        if not m.rent:
            rows.append([m.id, _run_here(m), "no provider price known for this model", "-", "-"])
            continue
        for r in m.rent:
            rows.append(
                [
                    m.id,
                    _run_here(m),
                    f"{fmt_money(r.blended_per_m)} (in {fmt_money(r.input_per_m)}, out {fmt_money(r.output_per_m)})",
                    f"{r.provider} {r.provider_model}, {r.source} ({r.date})",
                    _cheaper(run, r.blended_per_m),
                ]
            )
    return rows


def hosted_rows(result: CompareResult) -> list[list[str]]:
    return [
        [
            p.model,
            p.provider,
            fmt_money(p.input_per_m),
            fmt_money(p.output_per_m),
            fmt_money(p.blended_per_m),
            f"{p.source} ({p.date})",
        ]
        for p in result.hosted_prices
    ]


HOSTED_HEADERS = (
    "open model",
    "provider",
    "input $/1M",
    "output $/1M",
    "blended $/1M",
    "source (date)",
)


def published_rows(result: CompareResult) -> list[list[str]]:
    """Published scores beside the user's own score, in separate columns."""
    rows = []
    for m in result.models:
        yours = fmt_quality(m.quality)
        suite = m.quality.suite if m.quality else None
        yours = f"{yours} on {suite}" if suite else yours
        for p in m.published:
            rows.append(
                [
                    m.id,
                    f"{p.benchmark} ({p.publisher})",
                    f"{p.value:g}" + ("" if p.percent == p.value else f" ({p.percent:.1f}%)"),
                    p.setting,
                    f"{p.source} ({p.date})",
                    yours,
                ]
            )
    return rows


def tau_rows(result: CompareResult) -> list[list[str]]:
    out = []
    for r in result.rank_agreement:
        tau = "-" if r.tau is None else f"{r.tau:+.2f}"
        ci = "-" if r.ci_low is None else f"{r.ci_low:+.2f} to {r.ci_high:+.2f}"
        out.append([f"{r.benchmark} ({r.publisher})", str(r.n), tau, ci, r.sentence])
    return out


def tau_missing_note(result: CompareResult) -> str | None:
    """Why there is no correlation, when there is none."""
    if result.rank_agreement:
        return None
    with_both = [m.id for m in result.models if m.published and m.quality]
    return (
        f"No rank correlation: it needs three or more models with both a published score on"
        f" the same benchmark and a score on your suite ({len(with_both)} here)."
    )
