"""Evaluations: built-in generated suites, lm-eval task files, the user's own YAML suites.

Public API (what the comparison and the web UI call):

    from openscout.evals import run_eval, list_suites

    list_suites() -> list[dict]
        The built-in suites: {"name", "version", "description", "default_size"}.
        `quick` (20 items: arithmetic, logic, instructions, multiple choice) is the default
        quality suite; a few tens of seconds per model on the embedded models.

    run_eval(settings, suite_name_or_path, model_ids, limit=None, seed=0, progress=None,
             *, use_cache=True, resume=True, parallel=None, early_stop=None,
             trust_python=False, refresh=False) -> EvalRun
        suite_name_or_path: a built-in name, a YAML suite file, or an lm-eval JSON/JSONL/YAML
        task file. limit: the suite size for built-ins, the first N items for files. seed:
        generated suites give byte-identical items for the same seed. progress: called with a
        ProgressEvent(model_id, done, total, item_id, cached) after each item (in the calling
        thread). The run is stored (`openscout runs show RUN`); an unfinished run with the same
        suite, seed, limit and models is resumed instead of started again; greedy outputs are
        cached, so repeating a finished run makes no engine calls. early_stop: an error rate
        (e.g. 0.05): evaluate all models on the same items in a seeded random order and stop
        once the ranking of every pair is settled by an anytime-valid sequential test
        (evals/sequential.py); EvalRun.early_stop says how many items it needed.
        trust_python: run the suite's `python` assertions (refused otherwise), each in a
        child process with memory, CPU and time limits (SECURITY.md).

    EvalRun: run_id, suite, suite_version, seed, limit, status (done | incomplete), resumed,
        results: dict[model_id, ModelResult], comparisons: list[Comparison], notes,
        as_dict(with_items=False) -> JSON-ready dict.
    ModelResult: model_id, score, n, ci_low, ci_high (95%; Wilson for 0/1 scores, Student-t
        otherwise; score None when every item failed), metrics (acc, acc_norm,
        acc_chance_normalised, inst_level, weighted ...: each an Estimate with score, n,
        ci_low, ci_high), by_task, errors, engine_calls, cached_calls, seconds (wall time of
        this invocation, model load included), scoring {multiple_choice, items,
        loglikelihood_basis}, retries, retry_causes, concurrency (evals/pacing.py),
        items (per-item records: input, output, score, metrics, detail, timings, retries).
    Comparison (stats.py): a paired test of two models on the same items (exact McNemar for
        0/1 scores, paired bootstrap otherwise): diff, p_value, significant, verdict().

Scores: every item scores in [0, 1]; failed items (an engine error after its retries) have no
score, are left out of the model's score and comparisons (counted as `errors`), leave the run
`incomplete`, and are asked again when the run is resumed. Multiple choice is scored by
log-likelihood (acc, acc_norm as in lm-evaluation-harness) where the engine can, else by
generation and reading the letter back; ModelResult.scoring says which, and EvalRun.notes say
when two models were scored differently on the same items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from openscout.config import Settings
    from openscout.evals.results import EvalRun, ModelResult, ProgressEvent

__all__ = [
    "EvalRun",
    "ModelResult",
    "ProgressEvent",
    "get_run",
    "list_runs",
    "list_suites",
    "run_eval",
]


def list_suites() -> list[dict[str, Any]]:
    from openscout.evals.loading import list_suites as _list

    return _list()


def run_eval(
    settings: Settings,
    suite_name_or_path: str,
    model_ids: list[str],
    limit: int | None = None,
    seed: int = 0,
    progress: Callable[[ProgressEvent], None] | None = None,
    *,
    use_cache: bool = True,
    resume: bool = True,
    parallel: int | None = None,
    early_stop: float | None = None,
    trust_python: bool = False,
    refresh: bool = False,
) -> EvalRun:
    from openscout.evals.runner import run_eval as _run

    return _run(
        settings,
        suite_name_or_path,
        model_ids,
        limit,
        seed,
        progress,
        use_cache=use_cache,
        resume=resume,
        parallel=parallel,
        early_stop=early_stop,
        trust_python=trust_python,
        refresh=refresh,
    )


def list_runs(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    from openscout.evals.store import list_runs as _list

    return _list(settings, limit)


def get_run(settings: Settings, run_id: str) -> dict[str, Any]:
    from openscout.evals.store import get_run as _get

    return _get(settings, run_id)


def __getattr__(name: str) -> Any:
    if name in ("EvalRun", "ModelResult", "ProgressEvent"):
        from openscout.evals import results

        return getattr(results, name)
    raise AttributeError(name)
