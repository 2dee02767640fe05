"""Markdown export of a comparison: the recommendation, its reasons and the ranked table."""

from __future__ import annotations

from openscout.comparison import CompareResult
from openscout.report.tables import COLUMNS, depth_note, fmt_money, rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: CompareResult) -> str:
    rec = result.recommendation
    lines = ["# openscout comparison", ""]
    s = result.settings
    lines.append(
        f"{result.created_at}, {result.machine}; suite `{s.suite}` "
        f"(limit {s.limit}), {s.repeats} repeats{depth_note(s)}."
    )
    lines += ["", "## Recommendation", "", f"**{rec.message}**", ""]
    if rec.constraints:
        lines += ["Constraints: " + "; ".join(rec.constraints), ""]
    lines += [f"- {r}" for r in rec.reasons]
    lines += ["", "## Ranked comparison", ""]
    lines.append("| " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for r in rows(result):
        lines.append("| " + " | ".join(_cell(r[k]) for k, _ in COLUMNS) + " |")
    for note in result.notes:
        lines += ["", f"> **Note:** {_cell(note)}"]
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
    lines.append("")
    return "\n".join(lines)
