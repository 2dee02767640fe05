"""What a run returns: per-model scores with intervals, per-item records, paired comparisons.

Everything here is computed from the stored item records, never from in-memory state, so a
resumed run reports exactly what an uninterrupted one would.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

from openscout.evals.stats import (
    Comparison,
    Estimate,
    chance_normalised_estimate,
    compare_paired,
    estimate,
)

if TYPE_CHECKING:
    from openscout.evals.loading import LoadedSuite
    from openscout.evals.store import EvalStore


@dataclass(frozen=True)
class ProgressEvent:
    model_id: str
    done: int
    total: int
    item_id: str | None = None  # None on the first event of a model
    cached: bool = False  # the item was answered from the cache alone


@dataclass
class ModelResult:
    model_id: str
    score: float
    n: int
    ci_low: float
    ci_high: float
    method: str  # how the interval was made: wilson | t
    metrics: dict[str, Estimate] = field(default_factory=dict)  # acc_norm, inst_level, ...
    by_task: dict[str, Estimate] = field(default_factory=dict)
    errors: int = 0  # items that failed; they score 0 and are redone on resume
    engine_calls: int = 0  # made by this invocation (0 when everything came from the cache)
    cached_calls: int = 0
    seconds: float = 0.0  # wall time this invocation spent on the model (load included)
    items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, with_items: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model_id": self.model_id,
            "score": self.score,
            "n": self.n,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "interval": self.method,
            "metrics": {k: v.as_dict() for k, v in self.metrics.items()},
            "by_task": {k: v.as_dict() for k, v in self.by_task.items()},
            "errors": self.errors,
            "engine_calls": self.engine_calls,
            "cached_calls": self.cached_calls,
            "seconds": self.seconds,
        }
        if with_items:
            d["items"] = self.items
        return d


@dataclass
class EvalRun:
    run_id: str
    suite: str
    suite_version: str
    source: str
    seed: int
    limit: int | None
    resumed: bool
    results: dict[str, ModelResult]  # in the order the models were asked for
    comparisons: list[Comparison]
    status: str = "running"
    # With early stopping: settled, items_used, items_available, order, alpha, pairs.
    early_stop: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "models": {k: v.as_dict() for k, v in self.results.items()},
            "comparisons": [c.as_dict() | {"verdict": c.verdict()} for c in self.comparisons],
        }

    def as_dict(self, with_items: bool = False) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "suite": self.suite,
            "suite_version": self.suite_version,
            "source": self.source,
            "seed": self.seed,
            "limit": self.limit,
            "status": self.status,
            "resumed": self.resumed,
            "results": [r.as_dict(with_items) for r in self.results.values()],
            "comparisons": [c.as_dict() | {"verdict": c.verdict()} for c in self.comparisons],
            "early_stop": self.early_stop,
        }


def model_result(model_id: str, records: list[dict[str, Any]]) -> ModelResult:
    scores = [0.0 if r["error"] or r["score"] is None else float(r["score"]) for r in records]
    est = estimate(scores)
    metric_values: dict[str, list[float]] = defaultdict(list)
    tasks: dict[str, list[float]] = defaultdict(list)
    correct, ks = [], []
    for r, s in zip(records, scores, strict=True):
        for k, v in (r["metrics"] or {}).items():
            metric_values[k].append(float(v))
        item = r["input"]["item"]
        tasks[str(item.get("meta", {}).get("task", "all"))].append(s)
        if item["kind"] == "choice" and "acc" in (r["metrics"] or {}):
            correct.append(float(r["metrics"]["acc"]))
            ks.append(len(item["choices"]))
    metrics = {k: estimate(v) for k, v in metric_values.items()}
    if correct and min(ks) >= 2:
        metrics["acc_chance_normalised"] = chance_normalised_estimate(correct, ks)
    return ModelResult(
        model_id,
        est.score,
        est.n,
        est.ci_low,
        est.ci_high,
        est.method,
        metrics,
        {k: estimate(v) for k, v in sorted(tasks.items())} if len(tasks) > 1 else {},
        errors=sum(1 for r in records if r["error"]),
        items=records,
    )


def comparisons(results: dict[str, ModelResult]) -> list[Comparison]:
    out = []
    for a, b in combinations(results.values(), 2):
        sa = {r["item_id"]: 0.0 if r["error"] else float(r["score"] or 0.0) for r in a.items}
        sb = {r["item_id"]: 0.0 if r["error"] else float(r["score"] or 0.0) for r in b.items}
        common = [i for i in sa if i in sb]
        if common:
            out.append(
                compare_paired(
                    a.model_id, [sa[i] for i in common], b.model_id, [sb[i] for i in common]
                )
            )
    return out


def build_run(
    run_id: str,
    suite: LoadedSuite,
    seed: int,
    limit: int | None,
    store: EvalStore,
    model_ids: list[str],
    calls: dict[str, tuple[int, int, float]],
    resumed: bool,
) -> EvalRun:
    results = {}
    for m in model_ids:
        records = sorted(store.all_items(run_id, m), key=lambda r: r["index"])
        res = model_result(m, records)
        res.engine_calls, res.cached_calls, res.seconds = calls.get(m, (0, 0, 0.0))
        results[m] = res
    return EvalRun(
        run_id,
        suite.name,
        suite.version,
        suite.source,
        seed,
        limit,
        resumed,
        results,
        comparisons(results),
    )
