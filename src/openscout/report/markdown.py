"""Markdown export of a comparison: the recommendation, its reasons and the ranked table."""

from __future__ import annotations

import html
import re

from openscout.comparison import CompareResult
from openscout.report import outside_view as ov
from openscout.report.tables import (
    COLUMNS,
    cost_assumption,
    depth_note,
    fmt_money,
    memory_note,
    rows,
    suite_note,
)

# a `]` before `(`, `[` or `:` is what makes a link, an image or a link definition; a
# confidence interval's "[0.31, 0.51] n=60" stays as written
_LINK_OR_CODE = re.compile(r"([\\`|]|\](?=[(\[:]))")


def _cell(text: str) -> str:
    """Words that may come from a model file or a server (a licence, a name) as inert text:
    no raw HTML, no link or image, no code span, nothing that ends a table cell."""
    text = html.escape(text, quote=False)
    return _LINK_OR_CODE.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def render_markdown(result: CompareResult) -> str:
    rec = result.recommendation
    lines = ["# openscout comparison", ""]
    s = result.settings
    lines.append(
        f"{result.created_at}, {result.machine}; suite {suite_note(s)}, "
        f"{s.repeats} repeats{depth_note(s)}."
    )
    lines += ["", "## Recommendation", "", f"**{_cell(rec.message)}**", ""]
    if rec.constraints:
        lines += ["Constraints: " + "; ".join(_cell(c) for c in rec.constraints), ""]
    lines += [f"- {_cell(r)}" for r in rec.reasons]
    lines += ["", "## Ranked comparison", ""]
    lines.append("| " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for r in rows(result):
        lines.append("| " + " | ".join(_cell(r[k]) for k, _ in COLUMNS) + " |")
    for line in (cost_assumption(result), memory_note(result)):
        if line:
            lines += ["", _cell(line)]
    for note in result.notes:
        lines += ["", f"> **Note:** {_cell(note)}"]
    for test in result.paired:
        lines += ["", f"Paired test: {_cell(test.verdict())}"]
    if result.reference_prices:
        lines += [
            "",
            "## Hosted API list prices, for comparison",
            "",
            "| API | input $/1M | output $/1M | blended $/1M | source (date) |",
            "|---|---|---|---|---|",
        ]
        for p in result.reference_prices:
            lines.append(
                f"| {_cell(p.name)} | {fmt_money(p.input_per_m)} | "
                f"{fmt_money(p.output_per_m)} | "
                f"{fmt_money(p.blended_per_m)} | {_cell(p.source)} ({_cell(p.date)}) |"
            )
    lines += _outside_view(result)
    lines.append("")
    return "\n".join(lines)


def _table(headers: tuple[str, ...], body: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return out + ["| " + " | ".join(_cell(c) for c in r) + " |" for r in body]


def _outside_view(result: CompareResult) -> list[str]:
    """Rent vs run, published vs yours, and the rank correlation (labelled, never mixed)."""
    lines = ["", "## Rent it or run it here", ""]
    lines.append(
        "*Run it here*: measured on this machine, $/1M = price per hour / (tokens/s x 3600)"
        " x 1e6, blended 3:1. *Rent it*: a provider's list price for the same open model."
    )
    lines += ["", *_table(ov.RENT_HEADERS, ov.rent_rows(result))]
    if result.hosted_prices:
        lines += ["", "Hosted list prices for open models:", ""]
        lines += _table(ov.HOSTED_HEADERS, ov.hosted_rows(result))
    lines += ["", "## Published scores beside yours", ""]
    published = ov.published_rows(result)
    if published:
        lines.append(
            "*Published*: what a leaderboard or model card reports. *Yours*: measured here."
        )
        lines += ["", *_table(ov.PUBLISHED_HEADERS, published)]
    else:
        lines.append("No published score is known for these models.")
    lines += ["", "## How far to trust the leaderboard for your task", ""]
    taus = ov.tau_rows(result)
    if taus:
        lines += _table(ov.TAU_HEADERS, taus)
    else:
        lines.append(ov.tau_missing_note(result) or "")
    return lines
