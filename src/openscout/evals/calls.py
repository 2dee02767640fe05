"""Engine calls as the runner makes them: through the Engine protocol, cached, counted,
paced and retried.

A cached value is keyed by (model identity, call kind, request with its parameters). Only
successful greedy generations and log-likelihoods are stored: errors and sampled outputs
(temperature > 0) never are. Every engine request waits for a slot of the model's
AdaptiveLimit; a transient failure is asked again with backoff (evals/pacing.py) and counted
in the item's Tally; when the retries run out the error says why, and nothing is cached.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openscout.config import Settings
from openscout.engines.base import BatchRequest, ChoiceScorer, Engine, generate_many
from openscout.errors import EngineError
from openscout.evals.items import Request
from openscout.evals.pacing import MAX_RETRY_AFTER_S, AdaptiveLimit, RetryPolicy
from openscout.evals.store import EvalStore, cache_key
from openscout.generation import GenerationResult, generate, log_generation

T = TypeVar("T")

# Key of a batch-generated answer's share of its batch's wall time (seconds), which the
# runner adds to the item's own time; it never reaches the cache or the stored answer.
# How answers are read before they are cached; a cached answer of another reading is asked
# again. 2: remote finish reasons other than those of a whole answer fail the request (47th)
ANSWER_READ = 2
BATCH_SHARE = "batch_share_s"


def worth_keeping(text: str) -> bool:
    """Whether an answer goes to the cache: a blank one does not. A one-off blank reply of
    a server (or of a judge) was a miss on every later run of the same command, which asks
    everything else that failed once again (54th probe)."""
    return bool(text.strip())


@dataclass
class Tally:
    """Calls one item made: to an engine, and answered from the cache; requests asked again
    and why."""

    engine: int = 0
    cached: int = 0
    retries: int = 0
    causes: list[str] = field(default_factory=list)


class Caller:
    """Calls to one model. `engine` may be a function that opens it (from the engine cache,
    `hold=True` keeping it open until released): then the model is loaded only when a call
    misses the answer cache, so a repeated run does not even load it."""

    def __init__(
        self,
        engine: Engine | Callable[..., Engine],
        engine_name: str,
        model_key: str,
        store: EvalStore,
        settings: Settings,
        use_cache: bool = True,
        refresh: bool = False,
    ) -> None:
        self._engine: Engine | None = None if callable(engine) else engine
        self._open = engine if callable(engine) else None
        self._open_lock = threading.Lock()
        self.engine_name = engine_name
        self.model_key = model_key
        self.store = store
        self.settings = settings
        self.use_cache = use_cache
        self.refresh = refresh  # read nothing cached, cache what is asked now
        self._lock = threading.Lock()
        self.engine_calls = 0
        self.cached_calls = 0
        self.retries = 0
        self.retry_causes: dict[str, int] = {}
        self.policy = RetryPolicy()
        self._pacer: AdaptiveLimit | None = None
        self._rng = random.Random()
        self._clock: Callable[[], float] = time.monotonic
        # Answers generated ahead in one batch (parallel sequences), waiting for their item.
        self._prefetched: dict[str, dict[str, Any]] = {}

    @property
    def engine(self) -> Engine:
        """The engine, for what it declares; calls to it go through `_held`. Opened from the
        engine cache at each use: the cache may have closed it to open another model (the
        next chunk of an early-stopping run, a judge), and a kept one was freed memory."""
        if self._open is None:
            assert self._engine is not None
            return self._engine
        with self._open_lock:
            self._engine = self._open()
            return self._engine

    @contextmanager
    def _held(self) -> Iterator[Engine]:
        """The engine for one request, which the cache will not close under it."""
        if self._open is None:
            assert self._engine is not None
            yield self._engine
            return
        from openscout.engines.loader import release_engine

        with self._open_lock:
            engine = self._engine = self._open(hold=True)
        try:
            yield engine
        finally:
            release_engine(engine)

    @property
    def opened(self) -> bool:
        return self._engine is not None

    @property
    def current_pacer(self) -> AdaptiveLimit | None:
        """The pacer if any request went through one (None when everything was cached)."""
        return self._pacer

    @property
    def pacer(self) -> AdaptiveLimit:
        """The model's concurrency limit (capped by what the engine declares, by default)."""
        if self._pacer is None:
            cap = self.engine.capabilities.max_parallel
            with self._lock:
                if self._pacer is None:
                    self._pacer = AdaptiveLimit(cap)
        return self._pacer

    def pace(self, cap: int) -> AdaptiveLimit:
        """Cap the concurrency (the runner's --parallel or the engine's max_parallel)."""
        with self._lock:
            if self._pacer is None:
                self._pacer = AdaptiveLimit(cap)
            else:
                self._pacer.set_cap(cap)
            return self._pacer

    def _call(self, request: Callable[[], T], tally: Tally) -> T:
        """One engine request in a slot of the pacer, asked again while the failure is
        transient and attempts are left."""
        attempt, started = 0, self._clock()
        while True:
            attempt += 1
            with self.pacer.slot() as slot:
                try:
                    value = request()
                except EngineError as e:
                    slot.failed(e)
                    error = e
                else:
                    slot.succeeded()
                    return value
            if not error.transient:
                raise error
            too_long = (error.retry_after or 0.0) > MAX_RETRY_AFTER_S
            wait = self.policy.delay(attempt, error.retry_after, self._rng)
            spent = self._clock() - started
            out_of_time = spent + wait >= self.policy.budget_s
            if attempt >= self.policy.attempts or too_long or out_of_time:
                why = (
                    f"the server asked to wait {error.retry_after:.0f} s"
                    if too_long
                    else f"gave up after {attempt} attempts in {spent:.0f} s"
                )
                earlier = ", ".join(f"{c} x{n}" for c, n in Counter(tally.causes).items())
                # The cause first: it is what a narrow table column shows.
                raise EngineError(
                    f"{error.cause}: {error.message} ({why}; earlier failures: "
                    f"{earlier or 'none'})",
                    error.hint,
                    transient=True,
                    retry_after=error.retry_after,
                    cause=error.cause,
                ) from error
            with self._lock:
                tally.retries += 1
                tally.causes.append(error.cause)
                self.retries += 1
                self.retry_causes[error.cause] = self.retry_causes.get(error.cause, 0) + 1
            time.sleep(wait)

    def _gen_key(self, req: Request) -> str | None:
        if not (self.use_cache and req.params.greedy):
            return None
        return cache_key(self.model_key, "generate", req.key_data())

    def _ll_keys(self, context: str, continuations: list[str]) -> list[str]:
        return [
            cache_key(self.model_key, "loglikelihood", {"context": context, "continuation": c})
            for c in continuations
        ]

    def has_generation(self, req: Request) -> bool:
        return self._cached_answer(self._gen_key(req)) is not None

    def _cached_answer(self, key: str | None) -> dict[str, Any] | None:
        """A cached answer read as this version reads answers (ANSWER_READ): one cached
        before is asked again. Without whether its prompt opened thinking, a local model's
        cut-off thought kept scoring as its answer (44th probe); a remote answer ended by
        "error", read as whole before, kept its score after the fix (48th)."""
        hit = self.store.cache_get(key) if key is not None and not self.refresh else None
        if isinstance(hit, dict) and hit.get("read") == ANSWER_READ and "thinking_open" in hit:
            return hit
        return None

    def has_loglikelihoods(self, context: str, continuations: list[str]) -> bool:
        return (
            self.use_cache
            and not self.refresh
            and all(
                self.store.cache_get(k) is not None for k in self._ll_keys(context, continuations)
            )
        )

    def _count(self, tally: Tally, cached: bool) -> None:
        with self._lock:
            if cached:
                tally.cached += 1
                self.cached_calls += 1
            else:
                tally.engine += 1
                self.engine_calls += 1

    @staticmethod
    def _req_id(req: Request) -> str:
        return cache_key("", "prefetch", req.key_data())

    def prefetch(self, reqs: list[Request]) -> int:
        """Generate the uncached requests together, as parallel sequences, where the engine
        can (a BatchGenerator). Each answer waits for its item's `generate` call,
        which then counts it as that item's engine call. Returns how many were generated."""
        todo = [
            r
            for r in reqs
            if not self.has_generation(r) and self._req_id(r) not in self._prefetched
        ]
        groups: dict[str, list[Request]] = {}
        for r in todo:  # one batch shares its sampling parameters
            groups.setdefault(repr(r.params), []).append(r)
        for group in groups.values():
            batch = [BatchRequest(messages=r.messages, prompt=r.prompt) for r in group]
            t0 = time.perf_counter()
            with self._held() as engine:
                results = generate_many(engine, batch, group[0].params)
            elapsed = time.perf_counter() - t0
            for r, res in zip(group, results, strict=True):
                value = {
                    "text": res.text,
                    "prompt_tokens": res.final.prompt_tokens,
                    "completion_tokens": res.final.completion_tokens,
                    "finish_reason": res.final.finish_reason,
                    "ttft_s": res.ttft_s,
                    "thinking_open": res.final.thinking_open,
                    "read": ANSWER_READ,
                }
                # the item's own time: its share of the batch (the answers came together)
                self._prefetched[self._req_id(r)] = {**value, BATCH_SHARE: elapsed / len(group)}
                # Cached now, not when its item comes: a run killed before then keeps it.
                self._keep(self._gen_key(r), value)
                log_generation(
                    self.settings,
                    GenerationResult(
                        self.engine.model_id,
                        res.text,
                        res.final.prompt_tokens,
                        res.final.completion_tokens,
                        res.final.finish_reason,
                        res.ttft_s,
                        None,
                        None,
                        elapsed,
                        r.mode,
                        res.final.thinking_open,
                    ),
                    self.engine_name,
                    "eval",
                    r.params,
                    [dict(m) for m in r.messages] if r.messages is not None else r.prompt,
                )
        return len(todo)

    def generate(self, req: Request, tally: Tally, fresh: bool = False) -> dict[str, Any]:
        """The answer, from the cache unless `fresh` (asked now: a check that the model
        answers at this moment, which a cached answer cannot tell)."""
        key = self._gen_key(req)
        if (ahead := self._prefetched.pop(self._req_id(req), None)) is not None:
            self._count(tally, False)  # generated by this run, in a batch (and cached then)
            return ahead
        if not fresh and (hit := self._cached_answer(key)) is not None:
            self._count(tally, True)
            return dict(hit)
        self._count(tally, False)
        kwargs: dict[str, Any] = (
            {"messages": list(req.messages or ())} if req.mode == "chat" else {"prompt": req.prompt}
        )
        with self._held() as engine:
            r = self._call(
                lambda: generate(
                    engine,
                    params=req.params,
                    settings=self.settings,
                    engine_name=self.engine_name,
                    source="eval",
                    **kwargs,
                ),
                tally,
            )
        value = {
            "text": r.text,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "finish_reason": r.finish_reason,
            "ttft_s": r.ttft_s,
            "thinking_open": r.thinking_open,
            "read": ANSWER_READ,
        }
        self._keep(key, value)
        return value

    def _keep(self, key: str | None, value: dict[str, Any]) -> None:
        """A whole answer cached: not one ended by an error, nor a blank one (worth_keeping)."""
        if key is None or value["finish_reason"] in ("error", "cancelled"):
            return
        if worth_keeping(str(value["text"])):
            self.store.cache_put(key, self.model_key, "generate", value)

    def loglikelihoods(self, context: str, continuations: list[str], tally: Tally) -> list[float]:
        """Summed log-prob of each continuation after one context (one cached value each).

        A ChoiceScorer scores the missing options in one call (the context is processed
        once); others get one `loglikelihood` call per option, each its own paced and
        retried request (so not base.score_choices, which would make them one request).
        """
        keys = self._ll_keys(context, continuations)
        values: list[dict[str, Any] | None] = [
            self.store.cache_get(k) if self.use_cache and not self.refresh else None for k in keys
        ]
        missing = [i for i, v in enumerate(values) if v is None]
        for _ in range(len(continuations) - len(missing)):
            self._count(tally, True)
        for _ in missing:
            self._count(tally, False)
        if missing:
            todo = [continuations[i] for i in missing]
            with self._held() as engine:
                if isinstance(engine, ChoiceScorer):
                    results = self._call(lambda: engine.loglikelihood_choices(context, todo), tally)
                else:
                    results = [
                        self._call(lambda c=c: engine.loglikelihood(context, c), tally)
                        for c in todo
                    ]
            for i, r in zip(missing, results, strict=True):
                values[i] = {"logprob": r.logprob, "is_greedy": r.is_greedy, "n_tokens": r.n_tokens}
                if self.use_cache:
                    self.store.cache_put(keys[i], self.model_key, "loglikelihood", values[i])
        return [float(v["logprob"]) for v in values if v is not None]
