"""The ranked comparison table, as plain rows that the CLI, HTML and Markdown all draw from.

Input is the `CompareResult` that `openscout.compare.compare()` returns; rows follow the
recommendation's ranking, excluded models last.
"""

from __future__ import annotations

from openscout.comparison import (
    CompareResult,
    CompareSettings,
    FitFacts,
    ModelComparison,
    OpennessFacts,
    QualityScore,
)
from openscout.recommend import Recommendation
from openscout.units import human_bytes

COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "#"),
    ("id", "model"),
    ("quality", "quality (95% CI)"),
    ("output_tps", "tokens/s"),
    ("ttft", "TTFT"),
    ("memory", "memory"),
    ("fit", "fits"),
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


def fmt_quality(q: QualityScore | None, show_method: bool = False) -> str:
    """Score, interval, sample size; failed items and, when models differ in it, how
    multiple choice was scored ("MC by ...")."""
    if q is None:
        return "-"
    lo, hi = q.ci_low, q.ci_high
    ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
    text = f"{q.score:.2f}{ci} n={q.n}"
    if q.failed:
        text += f" ({q.failed} failed)"
    if show_method and q.scoring:
        text += f"; MC by {METHOD_LABELS.get(q.scoring, q.scoring)}"
    return text


def scoring_differs(result: CompareResult) -> bool:
    """Whether the models' multiple-choice items were scored by different methods."""
    methods = {m.quality.scoring for m in result.models if m.quality}
    methods.discard(None)
    return len(methods) > 1 or "mixed" in methods


def depth_note(settings: CompareSettings) -> str:
    """How the speed columns were measured, when not on the short prompt alone."""
    depth = settings.speed_depth
    return f"; tokens/s and TTFT after {depth} tokens of context" if depth else ""


def fmt_num(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if v is None else f"{v:.{digits}f}{unit}"


def fmt_money(v: float | None) -> str:
    if v is None:
        return "-"
    return f"${v:.3f}" if v >= 0.01 else f"${v:.2g}"


def fmt_mb(n: int | None) -> str:
    return human_bytes(n)  # the one size format of every view


def fmt_openness(o: OpennessFacts | None) -> str:
    if o is None:
        return "unknown"
    label = o.label or "unknown"
    cls = o.mof_class
    if cls in ("I", "II", "III"):
        return f"{label} (MOF {cls})"
    return f"{label} (no MOF class)" if cls == "none" else label


def ordered_models(result: CompareResult) -> list[ModelComparison]:
    order = [r.id for r in result.recommendation.ranking]
    by_id = {m.id: m for m in result.models}
    ranked = [by_id[i] for i in order if i in by_id]
    return ranked + [m for m in result.models if m.id not in order]


def status_of(model_id: str, rec: Recommendation) -> str:
    if rec.recommended == model_id:
        return "recommended"
    if model_id in rec.excluded:
        return "excluded"
    if model_id in rec.pareto_front:
        return "Pareto front"
    return "dominated"


def fmt_fit(fit: FitFacts | None) -> str:
    """'yes', 'tight', 'no' or '-' (remote, or not estimated)."""
    verdict = getattr(fit, "verdict", None)
    return {"fits comfortably": "yes", "tight": "tight", "does not fit": "no"}.get(verdict, "-")


def rows(result: CompareResult) -> list[dict[str, str]]:
    """One row of formatted cells per model, keyed by the names in COLUMNS."""
    rec = result.recommendation
    out = []
    ranked = {r.id for r in rec.ranking}
    show_method = scoring_differs(result)
    for i, m in enumerate(ordered_models(result), start=1):
        out.append(
            {
                "rank": str(i) if m.id in ranked else "-",
                "id": m.id,
                "quality": fmt_quality(m.quality, show_method),
                "output_tps": fmt_num(m.output_tps),
                "ttft": "-" if m.ttft_s is None else f"{m.ttft_s * 1000:.0f} ms",
                "memory": fmt_mb(m.memory_bytes),
                "fit": fmt_fit(m.fit),
                "cost": fmt_money(m.cost_per_m),
                "openness": fmt_openness(m.openness),
                "license": m.license or "unknown",
                "status": status_of(m.id, rec),
            }
        )
    return out
