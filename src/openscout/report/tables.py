"""The ranked comparison table, as plain rows that the CLI, HTML and Markdown all draw from.

Input is the `CompareResult` that `openscout.compare.compare()` returns; rows follow the
recommendation's ranking, excluded models last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openscout.comparison import (
    CompareResult,
    CompareSettings,
    FitFacts,
    ModelComparison,
    OpennessFacts,
    QualityScore,
)
from openscout.recommend import Recommendation
from openscout.units import human_bytes, money

COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "#"),
    ("id", "model"),
    ("quality", "quality (95% CI)"),
    ("output_tps", "tokens/s"),
    ("ttft", "TTFT"),
    ("memory", "peak memory"),
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


def suite_note(settings: CompareSettings) -> str:
    """'quick, 8 items': the suite and how many of its items were asked (or the limit, for
    results stored before the count was kept)."""
    if settings.suite is None:
        return "quality not measured"
    if settings.items is not None:
        return f"{settings.suite}, {settings.items} item{'s' if settings.items != 1 else ''}"
    return f"{settings.suite}, at most {settings.limit} items"


def price_words(price: float, source: str | None) -> str:
    """'aws-m7g.large (2 vCPU (Graviton3), ...) at $0.0816/h, openscout's default' or the
    source as given ('--price-per-hour', a model's own price)."""
    src = (source or "").strip()
    if src == "default" or src.startswith("default:"):
        from openscout.errors import OpenscoutError
        from openscout.perf.cost import instance_price

        name = src.removeprefix("default:").split()[0] if src != "default:" else ""
        try:
            p = instance_price(name)
        except OpenscoutError:
            return f"${price:g}/h, openscout's default"
        return f"{p.name}: {p.hardware}, ${price:g}/h list price ({p.date}), openscout's default"
    return f"${price:g}/h from {src or 'an unknown source'}"


def workload(config: Mapping[str, Any], most_at_once: int = 1) -> str:
    """What a measurement ran, in words ('the short and long prompts, one request at a time'):
    peak memory grows with it, so it is said beside every peak memory figure."""
    prompts = [str(p) for p in config.get("prompts") or ()]
    what = (
        f"the {' and '.join(prompts)} prompt{'s' if len(prompts) != 1 else ''}"
        if prompts
        else "its prompts"
    )
    deep = max((int(d) for d in config.get("depths") or () if int(d) > 0), default=0)
    if deep:
        what += f", after up to {deep} tokens of context"
    at = "one request" if most_at_once <= 1 else f"up to {most_at_once} requests"
    return f"{what}, {at} at a time"


MEMORY_MEANS = (
    "peak memory: what the model added to the process's resident memory while it was "
    "measured (weights read, KV cache, buffers); it grows with the work run, so `bench` "
    "(long contexts, batches) reads more than `compare`, and `fit` estimates what a "
    "context needs"
)


def memory_note(result: CompareResult) -> str | None:
    """What the memory column measured, for this comparison's workload."""
    benches = [m.bench for m in result.models if m.bench and m.memory_bytes is not None]
    if not benches:
        return None
    b = benches[0]
    most = max((p.concurrency for p in b.sweep), default=1)
    return f"{MEMORY_MEANS}. Here: {workload(b.config, most)}"


def cost_assumption(result: CompareResult) -> str | None:
    """The price the $/1M tokens figures come from, as one line for every view; None when
    no model was priced."""
    prices: dict[tuple[float, str | None], list[str]] = {}
    for m in result.models:
        if m.cost is not None:
            prices.setdefault((m.cost.price_per_hour, m.price_source), []).append(m.id)
    if not prices:
        return _unpriced(result).removeprefix("; ") or None
    clients = result.settings.cost_concurrency
    at = f"{clients} client{'s' if clients != 1 else ''} at a time"
    if len(prices) == 1:
        (price, source), _ = next(iter(prices.items()))
        what = price_words(price, source)
    else:
        what = "; ".join(
            f"{', '.join(ids)}: {price_words(price, source)}"
            for (price, source), ids in prices.items()
        )
    text = (
        f"cost assumes {what}; $/1M tokens = that price per hour over the tokens/s "
        f"measured here, at {at}"
    )
    # a model measured at fewer clients is priced at the most it was measured at: said
    fewer = [
        f"{m.id} at {m.bench.cost_concurrency}"
        for m in result.models
        if m.cost is not None and m.bench and (m.bench.cost_concurrency or 1) < clients
    ]
    if fewer:
        text += f" (the most each was measured at: {', '.join(fewer)})"
    if any((src or "").strip().startswith("default") for _, src in prices):
        text += "; set --price-per-hour to the price of the machine you will run"
    return text + _unpriced(result)


def _unpriced(result: CompareResult) -> str:
    """The models left without a cost because they run elsewhere with no price of their own."""
    from openscout.perf.cost import UNPRICED

    ids = [m.id for m in result.models if m.cost is None and m.price_source == UNPRICED]
    if not ids:
        return ""
    return (
        f"; no cost for {', '.join(ids)}: a server elsewhere runs on hardware this machine's"
        " price says nothing of (set its own with models add --price-per-hour)"
    )


def fmt_num(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if v is None else f"{v:.{digits}f}{unit}"


def fmt_money(v: float | None) -> str:
    return money(v)  # the one price format of every view


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
    below = {r.id: r.quality_below for r in rec.ranking if r.quality_below}
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
                "status": status_of(m.id, rec)
                + (f", quality below {below[m.id]}'s" if m.id in below else ""),
            }
        )
    return out
