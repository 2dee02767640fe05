"""Markdown export of a comparison: the recommendation, its reasons and the ranked table."""

from __future__ import annotations

from typing import Any

from openscout.report.tables import COLUMNS, depth_note, fmt_money, rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: dict[str, Any]) -> str:
    rec = result.get("recommendation") or {}
    lines = ["# openscout comparison", ""]
    s = result.get("settings") or {}
    lines.append(
        f"{result.get('created_at', '')}, {result.get('machine', '')}; suite `{s.get('suite')}` "
        f"(limit {s.get('limit')}), {s.get('repeats')} repeats{depth_note(s)}."
    )
    lines += ["", "## Recommendation", "", f"**{rec.get('message', '')}**", ""]
    if rec.get("constraints"):
        lines += ["Constraints: " + "; ".join(rec["constraints"]), ""]
    lines += [f"- {r}" for r in rec.get("reasons", [])]
    lines += ["", "## Ranked comparison", ""]
    lines.append("| " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for r in rows(result):
        lines.append("| " + " | ".join(_cell(r[k]) for k, _ in COLUMNS) + " |")
    for note in result.get("notes") or []:
        lines += ["", f"> **Note:** {_cell(note)}"]
    refs = result.get("reference_prices") or []
    if refs:
        lines += [
            "",
            "## Hosted API list prices, for comparison",
            "",
            "| API | input $/1M | output $/1M | blended $/1M | source (date) |",
            "|---|---|---|---|---|",
        ]
        for p in refs:
            lines.append(
                f"| {_cell(p['name'])} | {fmt_money(p['input_per_m'])} | "
                f"{fmt_money(p['output_per_m'])} | "
                f"{fmt_money(p['blended_per_m'])} | {_cell(p['source'])} ({_cell(p['date'])}) |"
            )
    lines.append("")
    return "\n".join(lines)
