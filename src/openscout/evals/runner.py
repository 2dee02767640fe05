"""The evaluation runner: one suite x several models, resumable, cached, recorded item by item.

For each model the pending items become work units, ordered so that requests sharing a
prefix run next to each other (engines that keep a prefix cache reuse it), and run on a pool
of `engine.capabilities.max_parallel` threads. Every finished item is committed at once; a
run that dies keeps its items, and the same command later resumes it (same fingerprint:
suite items, models, seed). Results are computed from the stored items, so a resumed run
and an uninterrupted one give the same numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from openscout.config import Settings
from openscout.engines.base import BatchGenerator, can_score
from openscout.errors import OpenscoutError, ScoringError, recorded
from openscout.evals.calls import BATCH_SHARE, Caller, Tally
from openscout.evals.items import Item, build_request
from openscout.evals.judging import JudgeReply
from openscout.evals.loading import LoadedSuite, load_suite
from openscout.evals.refusal import prompt_refusal
from openscout.evals.results import EvalRun, Invocation, ProgressEvent, build_run
from openscout.evals.scoring import Score, score_choice_logprobs, score_generation
from openscout.evals.self_judging import self_judged, self_judged_notes
from openscout.evals.store import EvalStore, model_key
from openscout.evals.thinking import cut_off_thinking, split_thinking
from openscout.models import ModelSpec, get_model

RUN_FORMAT = 1
Progress = Callable[[ProgressEvent], None]


class _Context:
    """What assertions may use: judge models (cached like any call) and the embedding model."""

    def __init__(self, shared: _Shared, tally: Tally) -> None:
        self._shared = shared
        self._tally = tally

    def judge(
        self, model_id: str | None, prompt: str, fresh: bool = False, max_tokens: int = 48
    ) -> str:
        return self._shared.judge(model_id, prompt, self._tally, fresh, max_tokens)

    def similarity(self, a: str, b: str) -> float:
        from openscout.evals.embed import similarity

        return similarity(a, b)


class _Shared:
    def __init__(
        self, settings: Settings, store: EvalStore, use_cache: bool, refresh: bool = False
    ) -> None:
        self.settings, self.store, self.use_cache = settings, store, use_cache
        self.refresh = refresh
        self._judges: dict[str, tuple[Caller, str]] = {}
        self._lock = threading.Lock()

    def caller(self, spec: ModelSpec) -> Caller:
        from openscout.engines.loader import open_engine

        with self.store.lock:
            key = model_key(self.store.conn, spec, self.settings)
        return Caller(
            lambda hold=False: open_engine(spec, self.settings, hold=hold),
            spec.engine,
            key,
            self.store,
            self.settings,
            self.use_cache,
            refresh=self.refresh,
        )

    def judge(
        self,
        model_id: str | None,
        prompt: str,
        tally: Tally,
        fresh: bool = False,
        max_tokens: int = 48,
    ) -> str:
        from openscout.evals.items import Item

        if not model_id:
            raise OpenscoutError(
                "an llm-rubric assertion needs a judge model",
                hint="set `judge: <model id>` on the assertion or the suite",
            )
        with self._lock:
            if model_id not in self._judges:
                spec = get_model(self.settings, model_id)
                self._judges[model_id] = (self.caller(spec), spec.prompt_format)
            caller, fmt = self._judges[model_id]
        item = Item(
            id="judge",
            kind="generate",
            prompt=prompt,
            check="none",
            max_tokens=max_tokens,
            completion_prompt=prompt,
            completion_stop=(),
        )
        request = build_request(item, fmt)  # type: ignore[arg-type]
        # no stop string: asked to stop at a blank line, a base model replying "\n\nPASS"
        # (the embedded Gemma 3) was cut to "" every time (40th probe); the verdict is read
        # from the whole reply (judging._judge_verdict)
        said = caller.generate(request, tally, fresh)
        text, _ = split_thinking(str(said["text"]), bool(said.get("thinking_open")))
        reply = JudgeReply(text.strip())
        reply.cut = said.get("finish_reason") == "length"
        return reply


def _run_item(item: Item, index: int, caller: Caller, fmt: str, shared: _Shared) -> dict[str, Any]:
    tally = Tally()  # the model's own calls
    judged = Tally()  # its judges' calls, apart: a fresh judge is no fresh answer (53rd probe)
    t0 = time.perf_counter()
    rec: dict[str, Any] = {
        "item_id": item.id,
        "index": index,
        "error": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "output": None,
        "score": None,
        "metrics": {},
        "detail": {},
    }
    score: Score | None = None
    cut_short = False
    batch_share = 0.0  # seconds spent generating this answer ahead, in a batch
    try:
        delim = str(item.check_data.get("target_delimiter", " "))
        conts = [delim + c for c in item.choices]
        if item.kind == "choice" and (
            caller.has_loglikelihoods(item.context or "", conts) or can_score(caller.engine)
        ):
            rec["input"] = {
                "item": item.to_dict(),
                "request": {
                    "mode": "loglikelihood",
                    "context": item.context,
                    "continuations": conts,
                },
            }
            lls = caller.loglikelihoods(item.context or "", conts, tally)
            score = score_choice_logprobs(item, lls)
            rec["output"] = item.choices[score.detail["pick"]]
        else:
            req = build_request(item, fmt)  # type: ignore[arg-type]
            rec["input"] = {"item": item.to_dict(), "request": req.key_data()}
            try:
                value = caller.generate(req, tally)
            except OpenscoutError as e:
                why = prompt_refusal(e, req, lambda r: caller.generate(r, tally, True))
                if why is None:
                    raise
                raise ScoringError(why) from e  # a counted miss (evals/refusal.py)
            batch_share = value.pop(BATCH_SHARE, 0.0)
            cut_short = value.get("finish_reason") == "length"
            rec.update(
                output=value["text"],
                prompt_tokens=value["prompt_tokens"],
                completion_tokens=value["completion_tokens"],
            )
            # whether the prompt opened thinking (an answer cached without it is asked again)
            opened = bool(value.get("thinking_open"))
            answer, thought = split_thinking(value["text"], opened)
            if thought is not None and cut_off_thinking(value["text"], opened):
                # no answer, a counted miss: scored as "", it passed every `not-*` and
                # `max-length` check, the longer it rambled the "safer" (44th probe)
                raise ScoringError(f"cut off while thinking ({len(thought):,} characters)")
            if value.get("finish_reason") == "content_filter":
                # the provider withheld or cut it: its refusal, a counted miss, as a 400
                # content_filter is (evals/refusal.py); scored, it passed every `not-*` (45th)
                raise ScoringError("withheld by the provider's content filter")
            if not answer.strip() and value.get("finish_reason") == "length":
                # the same where the thinking was streamed apart, as servers with a
                # reasoning parser send it: max_tokens spent, nothing answered (45th probe)
                raise ScoringError("cut off before any answer (max_tokens reached)")
            if not answer.strip():
                # no answer at all passed every `not-*` and `max-length` check: a server
                # answering nothing was the "safest" model and recommended (47th probe)
                raise ScoringError("no answer (the model's answer was blank)")
            score = score_generation(item, answer, _Context(shared, judged))
            if thought is not None:  # scored on the answer after it (evals/thinking.py)
                score.detail["thinking_set_aside"] = len(thought)
    except ScoringError as e:
        # the answer itself could not be checked: a miss, counted (left out, a model's own
        # answer could take its misses out of its score: 34th probe)
        score = Score(0.0, {}, {"unscorable": recorded(str(e), 500)})
    except OpenscoutError as e:
        # A failed item has no score (and no output unless its answer came before a judge
        # failed): it is shown as failed, left out of the score, and asked again on resume.
        rec.update(error=recorded(str(e)), score=None)
        score = None
        rec.setdefault("input", {"item": item.to_dict()})
    if score is not None:
        if cut_short:  # its reading may have lost the answer's end (results.unread_notes)
            score.detail["cut_at_max_tokens"] = True
        rec.update(score=score.value, metrics=score.metrics, detail=score.detail)
    rec.update(
        latency_s=time.perf_counter() - t0 + batch_share,
        engine_calls=tally.engine + judged.engine,
        cached_calls=tally.cached + judged.cached,
        retries=tally.retries + judged.retries,
        retry_causes=tally.causes + judged.causes,
        answer_cached=tally.cached > 0 and tally.engine == 0,
    )
    return rec


def _cached(caller: Caller, item: Item, fmt: str) -> bool:
    if item.kind == "choice":
        delim = str(item.check_data.get("target_delimiter", " "))
        conts = [delim + c for c in item.choices]
        if caller.has_loglikelihoods(item.context or "", conts):
            return True
    return caller.has_generation(build_request(item, fmt))  # type: ignore[arg-type]


def order_for_prefix(work: list[tuple[int, Item]], fmt: str) -> list[tuple[int, Item]]:
    """Sort so that requests with a shared prefix (few-shot block, question) are adjacent."""

    def key(w: tuple[int, Item]) -> tuple[str, int]:
        item = w[1]
        if item.kind == "choice":
            return item.context or "", w[0]
        return build_request(item, fmt).prefix_text, w[0]  # type: ignore[arg-type]

    return sorted(work, key=key)


def _run_model(
    run_id: str,
    spec: ModelSpec,
    suite: LoadedSuite,
    shared: _Shared,
    progress: Progress | None,
    parallel: int | None,
    caller: Caller | None = None,
    only: set[int] | None = None,
) -> Caller:
    caller = caller or shared.caller(spec)
    done = shared.store.finished_items(run_id, spec.id)
    total = len(suite.items)
    work = [
        (i, it)
        for i, it in enumerate(suite.items)
        if it.id not in done and (only is None or i in only)
    ]
    work = order_for_prefix(work, spec.prompt_format)
    n_done = total - len(work)
    if progress:
        progress(ProgressEvent(spec.id, n_done, total))
    # Everything answered by the cache: no need to load the model at all.
    pacer = None
    if all(_cached(caller, item, spec.prompt_format) for _, item in work):
        workers = 1
    else:
        workers = max(1, parallel or caller.engine.capabilities.max_parallel)
        # Requests wait for the pacer, whose limit adapts to how the server copes, up to
        # `workers`; without batching it also bounds the items in flight.
        pacer = caller.pace(workers)
    lanes = _batch_lanes(caller, work, parallel, spec.prompt_format)
    if lanes > 1:
        pacer = None  # batched: items take answers made ahead, `workers` at a time
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"eval-{spec.id}")
    pending: set[Future[dict[str, Any]]] = set()
    queue = iter(work)
    ahead: list[tuple[int, Item]] = []  # items whose answers were generated in one batch

    def take() -> tuple[int, Item] | None:
        """The next item; with batching, every item comes through a batch."""
        nonlocal ahead
        if lanes == 1:
            return next(queue, None)
        if not ahead:
            ahead = _prefetch_batch(caller, queue, lanes, spec.prompt_format)
        return ahead.pop(0) if ahead else None

    try:
        # Keep at most `workers` items in flight, so an interrupt loses little queued work.
        while True:
            bound = workers if pacer is None else min(workers, pacer.limit)
            while len(pending) < bound and (nxt := take()) is not None:
                pending.add(
                    pool.submit(_run_item, nxt[1], nxt[0], caller, spec.prompt_format, shared)
                )
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                rec = fut.result()
                shared.store.save_item(run_id, spec.id, rec)
                pending.discard(fut)
                n_done += 1
                if progress:
                    progress(
                        ProgressEvent(
                            spec.id,
                            n_done,
                            total,
                            rec["item_id"],
                            rec["answer_cached"],
                        )
                    )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        # Interrupted: keep what the items already in flight finished, so it is not redone.
        for fut in pending:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                shared.store.save_item(run_id, spec.id, fut.result())
    return caller


def _batch_lanes(
    caller: Caller, work: list[tuple[int, Item]], parallel: int | None, fmt: str
) -> int:
    """How many generation items to answer in one batch: >1 only for engines that decode
    several sequences at once and only when some answers are not cached yet."""
    if not work or all(_cached(caller, item, fmt) for _, item in work):
        return 1
    if not isinstance(caller.engine, BatchGenerator) or parallel == 1:
        return 1
    return max(1, parallel or caller.engine.capabilities.batch_lanes)


# Items per batch call, in multiples of the lanes: with several rounds queued a finished
# lane takes the next item at once instead of idling until the longest answer of its
# round is done. Answers are cached when their batch returns, so more rounds would mean
# more work lost to a kill during a batch, and a progress bar moving in bigger steps.
PREFETCH_ROUNDS = 4


def _prefetch_batch(
    caller: Caller, queue: Iterator[tuple[int, Item]], lanes: int, fmt: str
) -> list[tuple[int, Item]]:
    """Take up to PREFETCH_ROUNDS x `lanes` items and generate the answers of the
    generation items together."""
    chunk: list[tuple[int, Item]] = []
    while len(chunk) < lanes * PREFETCH_ROUNDS and (nxt := next(queue, None)) is not None:
        chunk.append(nxt)
    reqs = [build_request(item, fmt) for _, item in chunk if not _scored_by_loglik(caller, item)]  # type: ignore[arg-type]
    if reqs:
        # On failure each item calls the engine itself and records its own error.
        with contextlib.suppress(OpenscoutError):
            caller.prefetch(reqs)
    return chunk


def _scored_by_loglik(caller: Caller, item: Item) -> bool:
    return item.kind == "choice" and can_score(caller.engine)


EARLY_STOP_CHUNK = 10


def _run_until_settled(
    run_id: str,
    specs: list[ModelSpec],
    suite: LoadedSuite,
    shared: _Shared,
    progress: Progress | None,
    parallel: int | None,
    alpha: float,
    seed: int,
    calls: dict[str, Invocation],
) -> dict[str, Any]:
    """Evaluate every model on the same items, a chunk at a time in a seeded random order,
    until the sequential test (evals/sequential.py) settles the order of every pair."""
    from openscout.evals.sequential import RankingMonitor

    order = list(range(len(suite.items)))
    random.Random(seed).shuffle(order)
    monitor = RankingMonitor([s.id for s in specs], alpha)
    callers = {s.id: shared.caller(s) for s in specs}
    seconds = dict.fromkeys(callers, 0.0)
    used = 0
    for start in range(0, len(order), EARLY_STOP_CHUNK):
        chunk = order[start : start + EARLY_STOP_CHUNK]
        for spec in specs:
            t0 = time.perf_counter()
            _run_model(
                run_id, spec, suite, shared, progress, parallel, callers[spec.id], set(chunk)
            )
            seconds[spec.id] += time.perf_counter() - t0
        records = {s.id: shared.store.all_items(run_id, s.id) for s in specs}
        scores = {
            m: {r["index"]: float(r["score"] or 0.0) for r in rs if not r["error"]}
            for m, rs in records.items()
        }
        failed = {m: sum(1 for r in rs if r["error"]) for m, rs in records.items()}
        for i in chunk:
            # An item some model failed on says nothing about the ranking: left out.
            if all(i in scores[m] for m in scores):
                monitor.update({m: scores[m][i] for m in scores})
        used += len(chunk)
        # and while any is left out, nothing is settled: the items a model fails are the
        # ones it cannot lose on (one failing exactly its misses "settled" first: 37th probe)
        if monitor.settled and not any(failed.values()):
            break
    for m, c in callers.items():
        calls[m] = invocation(c, seconds[m])
    result = monitor.result(len(order)).as_dict()
    result["settled"] = result["settled"] and not any(failed.values())
    return result | {"items_used": used, "failed_items": {m: k for m, k in failed.items() if k}}


def invocation(caller: Caller, seconds: float) -> Invocation:
    """What this invocation did with one model: calls, retries, concurrency, scoring basis."""
    pacer = caller.current_pacer
    basis = caller.engine.capabilities.loglikelihood_basis if caller.opened else ""
    return Invocation(
        caller.engine_calls,
        caller.cached_calls,
        seconds,
        retries=caller.retries,
        retry_causes=dict(caller.retry_causes),
        concurrency=pacer.summary() if pacer is not None else None,
        loglikelihood_basis=basis,
    )


def fingerprint(
    suite: LoadedSuite,
    seed: int,
    limit: int | None,
    models: list[tuple[str, str, str]],
    judges: list[tuple[str, str, str]] | None = None,
) -> str:
    """What a run resumes only when it is the same: the suite, its items and the models,
    and the judges of its rubrics (a judge replaced mid-run gave one score from two judges:
    37th probe). A suite without judges keeps the fingerprint it had."""
    fields: dict[str, Any] = {
        "format": RUN_FORMAT,
        "suite": suite.name,
        "version": suite.version,
        "source": suite.source,
        "items": suite.digest,
        "seed": seed,
        "limit": limit,
        "models": models,
    }
    if judges:
        fields["judges"] = judges
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def run_eval(
    settings: Settings,
    suite_name_or_path: str,
    model_ids: list[str],
    limit: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    use_cache: bool = True,
    resume: bool = True,
    parallel: int | None = None,
    early_stop: float | None = None,
    trust_python: bool = False,
    refresh: bool = False,
) -> EvalRun:
    """Run one suite on each model; see openscout.evals for the whole contract. `refresh`:
    ask every item again, the answers replacing the cached ones (compare --no-cache)."""
    if early_stop is not None and not 0 < early_stop < 1:
        raise OpenscoutError("--early-stop takes an error rate between 0 and 1, e.g. 0.05")
    if early_stop is not None and len(model_ids) < 2:
        raise OpenscoutError("early stopping settles a ranking: give at least two models")
    if not model_ids:
        raise OpenscoutError("no models to evaluate", hint="pass at least one -m MODEL")
    if len(set(model_ids)) != len(model_ids):
        raise OpenscoutError("a model is listed twice", hint="give each -m once")
    suite = load_suite(suite_name_or_path, seed=seed, limit=limit, trust_python=trust_python)
    if not suite.items:
        raise OpenscoutError(f"the suite {suite.name!r} has no items")
    specs = [get_model(settings, m) for m in model_ids]
    judges = [get_model(settings, j) for j in sorted(suite.judges)]  # unknown: fail first
    store = EvalStore(settings.ensure())
    try:
        with store.lock:
            keys = [model_key(store.conn, s, settings) for s in specs]
            judge_keys = [
                (j.id, model_key(store.conn, j, settings), j.prompt_format) for j in judges
            ]
        fp = fingerprint(
            suite,
            seed,
            limit,
            [(s.id, k, s.prompt_format) for s, k in zip(specs, keys, strict=True)],
            judge_keys,
        )
        run_id = store.resumable(fp) if resume else None
        resumed = run_id is not None
        if run_id:
            store.claim(run_id)
        else:
            run_id = store.create_run(
                suite=suite.name,
                version=suite.version,
                source=suite.source,
                seed=seed,
                limit=limit,
                models=model_ids,
                fingerprint=fp,
                config={
                    "use_cache": use_cache,
                    "items": len(suite.items),
                    "judges": suite.judges,
                    # which model each id was: one registered again under the same id later
                    # (another file or server) is not shown with these scores (38th probe)
                    "model_keys": dict(zip(model_ids, keys, strict=True)),
                },
            )
        shared = _Shared(settings, store, use_cache, refresh)
        calls: dict[str, Invocation] = {}
        stop_info = None
        if early_stop is None:
            for spec in specs:
                t0 = time.perf_counter()
                caller = _run_model(run_id, spec, suite, shared, progress, parallel)
                calls[spec.id] = invocation(caller, time.perf_counter() - t0)
        else:
            stop_info = _run_until_settled(
                run_id, specs, suite, shared, progress, parallel, early_stop, seed, calls
            )
        run = build_run(run_id, suite, seed, limit, store, model_ids, calls, resumed)
        run.suite_notes += self_judged_notes(self_judged(judges, specs, settings))
        run.early_stop = stop_info
        # With failed items the run stays open: the same command resumes it and asks them again.
        run.status = "incomplete" if any(r.errors for r in run.results.values()) else "done"
        store.finish(run_id, run.status, run.summary())
        return run
    finally:
        store.close()
