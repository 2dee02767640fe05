"""The ranked comparison table, as plain rows that the CLI, HTML and Markdown all draw from.

Input is the dict `openscout.compare.compare()` returns (see its docstring for the shape);
rows follow the recommendation's ranking, excluded models last.
"""

from __future__ import annotations

from typing import Any

COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "#"),
    ("id", "model"),
    ("quality", "quality (95% CI)"),
    ("output_tps", "tokens/s"),
    ("ttft", "TTFT"),
    ("memory", "memory"),
    ("cost", "$/1M tok (blended)"),
    ("openness", "openness"),
    ("license", "licence"),
    ("status", "status"),
)


METHOD_LABELS = {
    "loglikelihood": "log-likelihood",
    "generate": "generated letter",
    "mixed": "mixed methods",
}


def fmt_quality(q: dict[str, Any] | None, show_method: bool = False) -> str:
    """Score, interval, sample size; failed items and, when models differ in it, how
    multiple choice was scored ("MC by ...")."""
    if not q or q.get("score") is None:
        return "-"
    lo, hi = q.get("ci_low"), q.get("ci_high")
    ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
    text = f"{q['score']:.2f}{ci} n={q.get('n', '?')}"
    if q.get("failed"):
        text += f" ({q['failed']} failed)"
    if show_method and q.get("scoring"):
        text += f"; MC by {METHOD_LABELS.get(q['scoring'], q['scoring'])}"
    return text


def scoring_differs(result: dict[str, Any]) -> bool:
    """Whether the models' multiple-choice items were scored by different methods."""
    methods = {(m.get("quality") or {}).get("scoring") for m in result.get("models", [])}
    methods.discard(None)
    return len(methods) > 1 or "mixed" in methods


def depth_note(settings: dict[str, Any]) -> str:
    """How the speed columns were measured, when not on the short prompt alone."""
    depth = settings.get("speed_depth")
    return f"; tokens/s and TTFT after {depth} tokens of context" if depth else ""


def fmt_num(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if v is None else f"{v:.{digits}f}{unit}"


def fmt_money(v: float | None) -> str:
    if v is None:
        return "-"
    return f"${v:.3f}" if v >= 0.01 else f"${v:.2g}"


def fmt_mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f} MB"


def fmt_openness(o: dict[str, Any] | None) -> str:
    if not o:
        return "unknown"
    label = o.get("label") or "unknown"
    cls = o.get("mof_class")
    if cls in ("I", "II", "III"):
        return f"{label} (MOF {cls})"
    return f"{label} (no MOF class)" if cls == "none" else str(label)


def ordered_models(result: dict[str, Any]) -> list[dict[str, Any]]:
    rec = result.get("recommendation") or {}
    order = [r["id"] for r in rec.get("ranking", [])]
    by_id = {m["id"]: m for m in result.get("models", [])}
    ranked = [by_id[i] for i in order if i in by_id]
    return ranked + [m for m in result.get("models", []) if m["id"] not in order]


def status_of(model_id: str, rec: dict[str, Any]) -> str:
    if rec.get("recommended") == model_id:
        return "recommended"
    if model_id in (rec.get("excluded") or {}):
        return "excluded"
    if model_id in (rec.get("pareto_front") or []):
        return "Pareto front"
    return "dominated"


def rows(result: dict[str, Any]) -> list[dict[str, str]]:
    rec = result.get("recommendation") or {}
    out = []
    ranked = {r["id"] for r in rec.get("ranking", [])}
    show_method = scoring_differs(result)
    for i, m in enumerate(ordered_models(result), start=1):
        cost = (m.get("cost") or {}).get("blended_per_m")
        ttft = m.get("ttft_s")
        out.append(
            {
                "rank": str(i) if m["id"] in ranked else "-",
                "id": m["id"],
                "quality": fmt_quality(m.get("quality"), show_method),
                "output_tps": fmt_num(m.get("output_tps")),
                "ttft": "-" if ttft is None else f"{ttft * 1000:.0f} ms",
                "memory": fmt_mb(m.get("memory_bytes")),
                "cost": fmt_money(cost),
                "openness": fmt_openness(m.get("openness")),
                "license": m.get("license") or "unknown",
                "status": status_of(m["id"], rec),
            }
        )
    return out
