"""The server's pool of models: their specs, loaded engines, load state and request queues,
and the bridge that runs a (blocking) engine stream in a worker thread for async handlers.

A stream runs in its own thread, which alone touches the engine generator. The handler reads
events from an asyncio queue; when the handler goes away (client disconnected) it sets a flag,
and the thread closes the generator at the next token, which releases the engine at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from openscout.config import Settings
from openscout.engines.base import Chunk, Engine, LaneServing, Message, SamplingParams
from openscout.engines.cancel import stoppable
from openscout.errors import (
    ClientGoneError,
    EngineError,
    ModelNotFoundError,
    ModelNotPreparedError,
    OpenscoutError,
)
from openscout.generation import GenerationResult, stream_generate
from openscout.models import ModelSpec, get_model, list_models
from openscout.server.limits import DEFAULT_LANE_CTX, Limits
from openscout.server.queue import FairQueue, WaitCounter

GONE_POLL_S = 0.5  # how often a waiting request checks that its client is still there
MAX_UNREAD_CHUNKS = 256  # chunks a stream may hold that its client has not read yet

log = logging.getLogger("openscout.server")
_END = object()


@dataclass
class LoadState:
    state: str = "not_loaded"  # not_loaded | loading | ready | error
    error: str | None = None


class ModelPool:
    def __init__(
        self,
        settings: Settings,
        limits: Limits,
        engines: dict[str, Engine] | None = None,
        arena_ids: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.arena_ids = list(arena_ids) if arena_ids else None
        self.limits = limits
        self._injected = dict(engines or {})
        self._states: dict[str, LoadState] = {}
        self._queues: dict[str, FairQueue] = {}
        self._total = WaitCounter(limits.queue_total)
        self._load_locks: dict[str, asyncio.Lock] = {}
        # model id -> (engine, the engine as streams use it: its lanes, where it has them)
        self._serving: dict[str, tuple[Engine, Engine]] = {}
        self._serving_lock = threading.Lock()  # openings in several threads store lanes
        self._openers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="open-model")

    # -- specs -----------------------------------------------------------------------------

    def specs(self) -> list[ModelSpec]:
        injected = [
            ModelSpec(id=mid, engine="mock", description="engine supplied by the application")
            for mid in self._injected
        ]
        names = set(self._injected)
        return injected + [s for s in list_models(self.settings) if s.id not in names]

    def spec(self, model_id: str) -> ModelSpec:
        if model_id in self._injected:
            return next(s for s in self.specs() if s.id == model_id)
        return get_model(self.settings, model_id)

    def state(self, model_id: str) -> LoadState:
        if model_id in self._injected:
            return LoadState("ready")
        st = self._states.get(model_id, LoadState())
        if st.state == "ready" and not self._still_serving(model_id):
            return LoadState()  # evicted by the engine cache: it opens again when asked
        return st

    def has_loaded(self, model_id: str) -> bool:
        """Opened without error, resident now or evicted since (it opens again when asked):
        what /health's `ready` asks of the preloaded models. An eviction made a working server
        not ready (30th probe, low)."""
        return (
            model_id in self._injected or self._states.get(model_id, LoadState()).state == "ready"
        )

    def _still_serving(self, model_id: str) -> bool:
        """/health said "ready" for models the cache had evicted (twenty-sixth probe)."""
        from openscout.engines.loader import still_open

        made = self._serving.get(model_id)
        return made is not None and still_open(made[0])

    # -- engines ---------------------------------------------------------------------------

    async def engine(self, model_id: str, hold: bool = False) -> Engine:
        """The model's engine, loaded if need be. With `hold` it stays open for one request
        until `_let_go`: the cache closes an engine it evicts only when its last request
        lets go (queued requests used a closed model: SIGSEGV; twenty-third probe)."""
        if model_id in self._injected:
            return self._injected[model_id]
        spec = self.spec(model_id)  # raises ModelNotFoundError
        ready = self._ready(spec, hold)
        if ready is not None:
            return ready
        lock = self._load_locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            st = self._states.setdefault(model_id, LoadState())
            if st.state != "ready":
                st.state, st.error = "loading", None
            # threads of their own: openings waiting on each other filled asyncio's shared
            # executor, and a ready model's lookup queued behind them (twenty-fourth probe)
            # with the request's context: a GET makes no model file (bundled.only_if_assembled)
            ctx = contextvars.copy_context()
            opening = asyncio.ensure_future(
                asyncio.get_running_loop().run_in_executor(
                    self._openers, ctx.run, self._open, spec, hold
                )
            )
            try:
                engine = await asyncio.shield(opening)
            except asyncio.CancelledError:
                # the thread goes on: its outcome is the model's state (it said "loading" for
                # ever), and a hold it takes is given back (twenty-fourth probe)
                opening.add_done_callback(lambda done: self._opened(model_id, st, hold, done))
                raise
            except ModelNotPreparedError:  # asked by a GET before its first use: no fault
                st.state, st.error = "not_loaded", None
                raise
            except OpenscoutError as e:
                st.state, st.error = "error", e.message
                raise
            except Exception as e:
                st.state, st.error = "error", e.__class__.__name__
                raise
            st.state = "ready"
            return engine

    def _ready(self, spec: ModelSpec, hold: bool) -> Engine | None:
        """A loaded engine whose lanes are made, looked up here on the event loop (a dict
        lookup): loaded models never wait on other models' openings."""
        from openscout.engines.loader import loaded_engine, release_engine

        engine = loaded_engine(spec, hold=True)
        if engine is None:
            return None
        made = self._serving.get(spec.id)
        if made is None or made[0] is not engine:  # its lanes are not made yet: the thread
            release_engine(engine)
            return None
        if not hold:
            release_engine(engine)
        st = self._states.setdefault(spec.id, LoadState())
        st.state, st.error = "ready", None
        return engine

    def _open(self, spec: ModelSpec, hold: bool) -> Engine:
        from openscout.engines.loader import open_engine, release_engine

        engine = open_engine(spec, self.settings, hold=True)  # held under its lanes' making too
        try:
            self._lanes_of(spec, engine)
        except BaseException:
            release_engine(engine)
            raise
        if not hold:
            release_engine(engine)
        return engine

    def _opened(
        self, model_id: str, st: LoadState, hold: bool, opening: asyncio.Future[Engine]
    ) -> None:
        """An opening whose request went away: its state, and its hold given back."""
        error = None if opening.cancelled() else opening.exception()
        if error is None and not opening.cancelled():
            st.state = "ready"
            if hold:
                self._let_go(model_id, opening.result())
        elif error is not None:
            message = error.message if isinstance(error, OpenscoutError) else None
            st.state, st.error = "error", message or error.__class__.__name__

    def _let_go(self, model_id: str, engine: Engine) -> None:
        from openscout.engines.loader import release_engine

        if model_id not in self._injected:
            release_engine(engine)

    def _lanes_of(self, spec: ModelSpec, engine: Engine) -> Engine:
        """The engine as streams use it: one continuous batch of lanes where it has them."""
        held = self._serving.get(spec.id)
        if held is not None and held[0] is engine:
            return held[1]
        view = engine
        if self.limits.lanes > 1 and isinstance(engine, LaneServing):
            ctx = self.limits.lane_ctx or min(spec.n_ctx, DEFAULT_LANE_CTX)
            view = engine.serve_lanes(self.limits.lanes, ctx)
        with self._serving_lock:
            self._forget_closed()
            self._serving[spec.id] = (engine, view)
        return view

    def _forget_closed(self) -> None:
        """Drop the lanes of engines the cache has closed: each kept a closed model's buffers
        (hundreds of MB of address space) until that model was opened again."""
        from openscout.engines.loader import still_open

        for model_id, (engine, _) in list(self._serving.items()):
            if not still_open(engine):
                del self._serving[model_id]

    def serving(self, model_id: str, engine: Engine) -> Engine:
        held = self._serving.get(model_id)
        return held[1] if held is not None and held[0] is engine else engine

    async def preload(self, model_ids: Sequence[str]) -> None:
        for mid in model_ids:
            try:
                await self.engine(mid)
            except Exception as e:  # reported by /health; the server keeps serving
                log.warning("could not preload %s: %s", mid, e)

    def queue(self, model_id: str, engine: Engine) -> FairQueue:
        q = self._queues.get(model_id)
        if q is None:
            q = FairQueue(
                model_id, engine.capabilities.max_parallel, self.limits.queue_per_model, self._total
            )
            self._queues[model_id] = q
        return q

    # -- running ---------------------------------------------------------------------------

    async def run_exclusive(
        self,
        model_id: str,
        client: str,
        fn: Any,
        *args: Any,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> Any:
        """Run fn(engine, *args) in a thread while holding one of the model's queue slots.
        With `gone` (is the client still there?), a client that hangs up leaves the queue at
        once, or stops the engine at its next token (engines/cancel.py): ClientGoneError."""
        engine = await self.engine(model_id, hold=True)
        started = False

        def then_let_go(*call: Any) -> Any:  # in the thread: let go when the work ends
            try:
                return fn(*call)
            finally:
                self._let_go(model_id, engine)

        try:
            q = self.queue(model_id, self.serving(model_id, engine))
            await unless_gone(q.acquire(client), gone, None)
            stop = threading.Event()
            try:
                with stoppable(stop):
                    work = in_own_thread(then_let_go, engine, *args)
                started = True
                return await unless_gone(work, gone, stop)
            finally:
                q.release()
        finally:
            if not started:
                self._let_go(model_id, engine)

    async def stream(
        self,
        model_id: str,
        client: str,
        *,
        params: SamplingParams,
        messages: Sequence[Message] | None = None,
        prompt: str | None = None,
        source: str = "api",
    ) -> AsyncIterator[Chunk | GenerationResult]:
        """Queue for the model, then yield its chunks and one GenerationResult."""
        if model_id not in self._injected and not any(s.id == model_id for s in self.specs()):
            raise ModelNotFoundError(f"no model {model_id!r}", hint="GET /v1/models lists them")
        spec = self.spec(model_id)
        held = await self.engine(model_id, hold=True)
        engine = self.serving(model_id, held)
        q = self.queue(model_id, engine)
        try:
            await q.acquire(client)
        except BaseException:
            self._let_go(model_id, held)
            raise
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        # back-pressure: the engine's thread waits while this many chunks are unread, so an
        # upstream faster than its client cannot pile chunks up in memory (seventh probe)
        room = threading.Semaphore(MAX_UNREAD_CHUNKS)

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, item)
            except RuntimeError:  # the loop is gone (server shutting down)
                cancel.set()

        def put_chunk(item: Any) -> None:
            while not room.acquire(timeout=GONE_POLL_S):
                if cancel.is_set():
                    return
            put(item)

        def work() -> None:
            # the engine reads `cancel` (cancel.check_stop) between prompt chunks and tokens: a
            # client gone during a long prompt's prefill held the model to its end (41st probe)
            with stoppable(cancel):
                run()

        def run() -> None:
            outcome: Any = _END
            try:
                gen = stream_generate(
                    engine,
                    messages=messages,
                    prompt=prompt,
                    params=params,
                    settings=self.settings,
                    engine_name=spec.engine,
                    source=source,
                )
                try:
                    for ev in gen:
                        if cancel.is_set():
                            break
                        put_chunk(ev)
                finally:
                    gen.close()  # stops the engine (logged as cancelled when cut short)
            except BaseException as e:
                outcome = e
            finally:
                # the slot goes back before the handler hears the outcome: a handler that
                # answered an error at once could see its loop close first (a test client runs
                # a loop per request), the release was lost and the next request waited for ever
                q.release_threadsafe()
                self._let_go(model_id, held)
                put(outcome)

        try:
            threading.Thread(target=work, name=f"gen-{model_id}", daemon=True).start()
        except BaseException as e:  # no thread (out of threads or memory): give the place back
            q.release_threadsafe()
            self._let_go(model_id, held)
            if isinstance(e, RuntimeError):  # "can't start new thread": worth asking again
                raise EngineError(f"the generation could not start: {e}", transient=True) from e
            raise
        try:
            while True:
                item = await events.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                room.release()
                yield item
        finally:
            cancel.set()


async def unless_gone(
    waiting: Awaitable[Any],
    gone: Callable[[], Awaitable[bool]] | None,
    stop: threading.Event | None,
) -> Any:
    """Await `waiting`, checking every GONE_POLL_S that the client is still there. When it is
    not: set `stop` (a thread's work ends at its next check) and wait for the thread, or
    cancel the wait (a queue place is given up); then raise ClientGoneError."""
    task = asyncio.ensure_future(waiting)
    if gone is None:
        return await task
    while True:
        done, _ = await asyncio.wait({task}, timeout=GONE_POLL_S)
        if done:
            return task.result()
        if await gone():
            if task.done():  # it finished as the client left: hand it over (and its slot)
                return task.result()
            if stop is not None:
                stop.set()  # a thread cannot be cancelled: it stops itself and we wait
            else:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OpenscoutError):
                await task
            raise ClientGoneError("the client went away before its answer began")


def in_own_thread(fn: Any, *args: Any) -> asyncio.Future[Any]:
    """fn(*args) in a thread of its own, with the caller's context (engines/cancel.py reads
    it). Not asyncio's shared pool: a few calls blocked on a slow upstream would take all of
    its threads, and with them every other model's loading (independent probe: six stalled
    forwarded requests froze the whole server). The queue slot held bounds these threads."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    ctx = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if not done.done():
            (done.set_result if ok else done.set_exception)(value)

    def work() -> None:
        try:
            result = ctx.run(fn, *args)
        except BaseException as e:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(settle, False, e)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, True, result)

    threading.Thread(target=work, name="exclusive", daemon=True).start()
    return done
