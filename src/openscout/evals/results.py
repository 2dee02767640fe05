"""What a run returns: per-model scores with intervals, per-item records, paired comparisons.

Everything here is computed from the stored item records, never from in-memory state, so a
resumed run reports exactly what an uninterrupted one would. Failed items (an engine error
after its retries) are counted as `errors` and left out of scores and comparisons. How each
model's multiple-choice items were scored is reported, and a note says so plainly when two
models were scored by different methods on the same items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from openscout.evals.scoring import CHECK_METRICS
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
    cached: bool = False  # the model's own answer came from the cache (whatever its judge did)


@dataclass
class Invocation:
    """What one invocation did with a model (not stored per item: it varies per run)."""

    engine_calls: int = 0
    cached_calls: int = 0
    seconds: float = 0.0
    retries: int = 0
    retry_causes: dict[str, int] = field(default_factory=dict)
    concurrency: dict[str, Any] | None = None  # AdaptiveLimit.summary(), when paced
    loglikelihood_basis: str = ""  # Capabilities.loglikelihood_basis of the engine


@dataclass
class ModelResult:
    model_id: str
    score: float | None  # None when no item could be scored (all failed)
    n: int
    ci_low: float
    ci_high: float
    method: str  # how the interval was made: wilson | t
    metrics: dict[str, Estimate] = field(default_factory=dict)  # acc_norm, inst_level, ...
    by_task: dict[str, Estimate] = field(default_factory=dict)
    errors: int = 0  # items that failed: left out of the score, asked again on resume
    engine_calls: int = 0  # made by this invocation (0 when everything came from the cache)
    cached_calls: int = 0
    seconds: float = 0.0  # wall time this invocation spent on the model (load included)
    scoring: dict[str, Any] = field(default_factory=dict)  # see scoring_summary
    retries: int = 0  # requests this invocation asked again after a transient failure
    retry_causes: dict[str, int] = field(default_factory=dict)
    concurrency: dict[str, Any] | None = None  # requests in flight, when paced
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
            "scoring": self.scoring,
            "retries": self.retries,
            "retry_causes": self.retry_causes,
            "concurrency": self.concurrency,
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
    # (model a, model b) -> items both scored, each by a different method
    scoring_differs: dict[tuple[str, str], int] = field(default_factory=dict)
    suite_notes: list[str] = field(default_factory=list)  # LoadedSuite.notes

    @property
    def notes(self) -> list[str]:
        return (
            self.suite_notes
            + scoring_notes(self.results, self.scoring_differs)
            + failed_notes(self.results)
            + unread_notes(self.results)
        )

    def _comparisons(self) -> list[dict[str, Any]]:
        return [
            c.as_dict()
            | {
                "verdict": c.verdict(),
                "scoring_differs_on": self.scoring_differs.get((c.model_a, c.model_b), 0),
            }
            for c in self.comparisons
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "models": {k: v.as_dict() for k, v in self.results.items()},
            "comparisons": self._comparisons(),
            "notes": self.notes,
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
            "comparisons": self._comparisons(),
            "early_stop": self.early_stop,
            "notes": self.notes,
        }


def answered_from_cache(record: dict[str, Any]) -> bool:
    """Whether the item's own answer was read from the answer cache, whatever its judge did.
    An item stored before this was recorded is read from its call counts, the judge's with
    them."""
    if record.get("answer_cached") is not None:
        return bool(record["answer_cached"])
    return bool(record.get("cached_calls")) and not record.get("engine_calls")


def scoring_method(record: dict[str, Any]) -> str | None:
    """How a multiple-choice item was scored: loglikelihood | generate (None: not a choice)."""
    inp = record.get("input") or {}
    if (inp.get("item") or {}).get("kind") != "choice":
        return None
    mode = (inp.get("request") or {}).get("mode")
    if mode is None:
        return None
    return "loglikelihood" if mode == "loglikelihood" else "generate"


METHOD_WORDS = {
    "loglikelihood": "log-likelihood of each option",
    "generate": "reading back the letter it generated",
    "mixed": "a mix of log-likelihood and generated letters",
}


def scoring_summary(records: list[dict[str, Any]], basis: str = "") -> dict[str, Any]:
    """{multiple_choice: loglikelihood | generate | mixed | None, items: {method: n},
    loglikelihood_basis}: over the scored multiple-choice items."""
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        method = None if r["error"] else scoring_method(r)
        if method:
            counts[method] += 1
    kinds = sorted(counts)
    overall = None if not kinds else kinds[0] if len(kinds) == 1 else "mixed"
    return {"multiple_choice": overall, "items": dict(counts), "loglikelihood_basis": basis}


def _metrics_of(scored: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each scored record's metrics. An answer no check could read is a miss on every metric
    its check gives the other answers, not only on the score: left out, a hostile answer
    raised `exact_match` or `inst_level` while the score counted it."""
    keys: dict[str, set[str]] = defaultdict(set)
    for r in scored:
        check = str(r["input"]["item"].get("check"))
        keys[check].update(r["metrics"] or {}, CHECK_METRICS.get(check, ()))
    out = []
    for r in scored:
        metrics = {k: float(v) for k, v in (r["metrics"] or {}).items()}
        if (r.get("detail") or {}).get("unscorable") is not None:
            metrics = dict.fromkeys(keys[str(r["input"]["item"].get("check"))], 0.0) | metrics
        out.append(metrics)
    return out


def model_result(model_id: str, records: list[dict[str, Any]]) -> ModelResult:
    scored = [r for r in records if not r["error"]]
    scores = [float(r["score"] or 0.0) for r in scored]
    est = estimate(scores)
    metric_values: dict[str, list[float]] = defaultdict(list)
    tasks: dict[str, list[float]] = defaultdict(list)
    correct, ks = [], []
    for r, s, metrics in zip(scored, scores, _metrics_of(scored), strict=True):
        for k, v in metrics.items():
            metric_values[k].append(v)
        item = r["input"]["item"]
        tasks[str(item.get("meta", {}).get("task", "all"))].append(s)
        if item["kind"] == "choice" and "acc" in metrics:
            correct.append(metrics["acc"])
            ks.append(len(item["choices"]))
    metrics = {k: estimate(v) for k, v in metric_values.items()}
    if correct and min(ks) >= 2:
        metrics["acc_chance_normalised"] = chance_normalised_estimate(correct, ks)
    return ModelResult(
        model_id,
        est.score if scored else None,
        est.n,
        est.ci_low,
        est.ci_high,
        est.method,
        metrics,
        {k: estimate(v) for k, v in sorted(tasks.items())} if len(tasks) > 1 else {},
        errors=len(records) - len(scored),
        scoring=scoring_summary(records),
        items=records,
    )


def _scored(result: ModelResult) -> dict[str, dict[str, Any]]:
    return {r["item_id"]: r for r in result.items if not r["error"]}


def comparisons(results: dict[str, ModelResult]) -> list[Comparison]:
    """Paired tests on the items both models answered; while either failed items, the test
    decides nothing (a failed item is left out, and could be the one a model would miss)."""
    out = []
    for a, b in combinations(results.values(), 2):
        ra, rb = _scored(a), _scored(b)
        common = [i for i in ra if i in rb]
        if common:
            out.append(
                compare_paired(
                    a.model_id,
                    [float(ra[i]["score"] or 0.0) for i in common],
                    b.model_id,
                    [float(rb[i]["score"] or 0.0) for i in common],
                    failed=(a.errors, b.errors),
                )
            )
    return out


def scoring_differences(results: dict[str, ModelResult]) -> dict[tuple[str, str], int]:
    """Per pair of models: how many items both scored, each by a different method."""
    out: dict[tuple[str, str], int] = {}
    for a, b in combinations(results.values(), 2):
        ra, rb = _scored(a), _scored(b)
        n = sum(1 for i in ra if i in rb and scoring_method(ra[i]) != scoring_method(rb[i]))
        if n:
            out[(a.model_id, b.model_id)] = n
    return out


def scoring_notes(
    results: dict[str, ModelResult], differs: dict[tuple[str, str], int]
) -> list[str]:
    """Plain sentences for every pair scored by different methods on the same items."""
    notes = []
    for (a, b), n in differs.items():
        ma = results[a].scoring.get("multiple_choice") or "generate"
        mb = results[b].scoring.get("multiple_choice") or "generate"
        notes.append(
            f"scored differently: on {n} multiple-choice item{'s' if n != 1 else ''}, {a} was "
            f"scored by {METHOD_WORDS[ma]} and {b} by {METHOD_WORDS[mb]}; "
            "their scores on those items are not measured the same way"
        )
    involved = {m for pair in differs for m in pair}
    for r in results.values():
        basis = r.scoring.get("loglikelihood_basis")
        if basis and r.model_id in involved:
            used = (
                "were used" if r.scoring.get("multiple_choice") == "loglikelihood" else "not used"
            )
            notes.append(f"{r.model_id}: the server's prompt log-probs {used} ({basis})")
    return notes


def failed_notes(results: dict[str, ModelResult]) -> list[str]:
    """A score over the answered items only, with what it would be were the failed items
    misses: a model padding its wrong answers past the judge's context failed those items
    and showed 1.000 on 5 of 10 right (54th probe). Asked again, they may pass or not."""
    out = []
    for r in results.values():
        if r.errors and r.score is not None:
            low = r.score * r.n / (r.n + r.errors)
            out.append(
                f"{r.model_id}: {r.errors} item(s) failed and are left out of its score"
                f" ({r.score:.3f} over the {r.n} answered; {low:.3f} were they misses); the"
                " same command asks them again, and their errors say why they failed"
            )
    return out


def unread_notes(results: dict[str, ModelResult]) -> list[str]:
    """Multiple-choice answers asked by generation from which no option could be read (a
    model answering in a form the reader does not know scored 0 with nothing said: 58th
    probe), and answers of any kind cut at their max_tokens (what was read of one cut while
    reasoning is a guess: 60th, 62nd). Answers a server refused (none given) are not counted."""
    out = []
    for r in results.values():
        answered = [x for x in r.items if not x["error"] and x.get("output") is not None]
        asked = [x for x in answered if _generated_choice(x)]
        unread = sum(1 for x in asked if (x.get("detail") or {}).get("extracted") is None)
        cut = sum(1 for x in answered if (x.get("detail") or {}).get("cut_at_max_tokens"))
        said = (
            [f"no option could be read from {unread} of its {len(asked)} multiple-choice answers"]
            if unread
            else []
        )
        said += (
            [f"{cut} of its {len(answered)} answers were cut at their max_tokens"] if cut else []
        )
        if said:
            out.append(
                f"{r.model_id}: {'; '.join(said)}; an unread answer is a miss, a cut one read as"
                " far as it goes (`runs show` has the answers)"
            )
    return out


def _generated_choice(record: dict[str, Any]) -> bool:
    detail = record.get("detail") or {}
    item = (record.get("input") or {}).get("item") or {}
    if item.get("kind") != "choice":
        return False
    return detail.get("method") == "generate" or detail.get("unscorable") is not None


def build_run(
    run_id: str,
    suite: LoadedSuite,
    seed: int,
    limit: int | None,
    store: EvalStore,
    model_ids: list[str],
    calls: dict[str, Invocation],
    resumed: bool,
) -> EvalRun:
    results = {}
    for m in model_ids:
        records = sorted(store.all_items(run_id, m), key=lambda r: r["index"])
        res = model_result(m, records)
        inv = calls.get(m, Invocation())
        res.engine_calls, res.cached_calls, res.seconds = (
            inv.engine_calls,
            inv.cached_calls,
            inv.seconds,
        )
        res.retries, res.retry_causes, res.concurrency = (
            inv.retries,
            inv.retry_causes,
            inv.concurrency,
        )
        res.scoring["loglikelihood_basis"] = inv.loglikelihood_basis
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
        scoring_differs=scoring_differences(results),
        suite_notes=suite.notes,
    )


# -- runs as stored (evals.store.list_runs), read back typed --------------------------------

# rows written by any openscout version: fields they lack take defaults, new ones are ignored
_STORED = ConfigDict(frozen=True, extra="ignore")


class StoredScore(BaseModel):
    """One model's score in a stored run summary (ModelResult.as_dict)."""

    model_config = _STORED

    score: float | None = None
    n: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    errors: int = 0  # items left out of the score


class StoredSummary(BaseModel):
    """EvalRun.summary() as stored when a run finishes."""

    model_config = _STORED

    models: dict[str, StoredScore] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class StoredRun(BaseModel):
    """A row of evals.store.list_runs: a run, finished or not (then without a summary)."""

    model_config = _STORED

    id: str
    created_at: str | None = None
    status: str | None = None
    suite: str = "?"
    source: str = "builtin"  # or the suite file's path
    summary: StoredSummary | None = None
    model_keys: dict[str, str] = {}  # id -> identity when it ran (older runs: none)

    def model_since_changed(self, model: str, now: dict[str, str]) -> bool:
        """Whether the id `model` names another model now (`now`: evals.store.known_model_key
        of registered ids) than when this run measured it; unknown counts as the same."""
        then = self.model_keys.get(model)
        return then is not None and model in now and now[model] != then

    @property
    def suite_label(self) -> str:
        """The suite as pages show it: a file's suite with its file's name, so that one named
        like a built-in (`quick `, `qu\u0456ck`) is not taken for it (38th, 39th probes)."""
        if self.source == "builtin":
            return self.suite
        return f"{self.suite} (file {Path(self.source).name})"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredRun:
        return cls.model_validate(row)
