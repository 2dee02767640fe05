"""Serving concurrent requests from one model: each request joins a lane of one continuous
batch (issue 15), the way llama.cpp's server with parallel slots and vLLM do.

A `LaneServer` owns a llama.cpp context with a split KV cache (each lane its own cells, as in
batched generation) and one thread that decodes: at every step it admits waiting requests
into free lanes (their prompt rows ride in the same decode as the other lanes' next tokens,
n_batch prompt rows a step at most),
samples one token per active lane with that request's own parameters, seed and stop strings,
and hands each request its text as soon as it is decoded. A request leaves its lane when it
finishes or when its reader stops reading (a client that disconnects): the lane is free for
the next one at the following step.

Each decode step runs under the engine's guard, so scoring and one-at-a-time generation on
the main context interleave with the lanes step by step instead of running over them.
"""

from __future__ import annotations

import codecs
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from openscout.engines.base import (
    Capabilities,
    Chunk,
    Final,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
)
from openscout.engines.cancel import check_stop, current_stop
from openscout.engines.cpu_threads import ThreadChooser
from openscout.engines.llamacpp_multi import MultiSeqContext, SeqState, sample
from openscout.engines.stops import safe_prefix
from openscout.engines.thinking import marked_thinking_open
from openscout.errors import EngineError

if TYPE_CHECKING:
    from openscout.engines.llamacpp import LlamaCppEngine

_DONE = object()
GONE_POLL_S = 0.1  # how often a reader waiting for its text checks that its caller is there


@dataclass
class _Request:
    state: SeqState
    params: SamplingParams
    rng: np.random.Generator
    events: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)
    left: threading.Event = field(default_factory=threading.Event)  # the reader went away
    # the caller's stop (cancel.py), read by the decode loop before each step: the reader
    # hears it only at its next poll, by when the loop may have begun another prompt chunk
    stop: threading.Event | None = field(default_factory=current_stop)
    lane: int = -1
    sent: int = 0  # characters of state.text already handed out
    fed: int = 0  # prompt tokens already sent to a decode

    def gone(self) -> bool:
        return self.left.is_set() or (self.stop is not None and self.stop.is_set())

    def emit_text(self, now: float) -> None:
        """Hand out what is decoded, holding back what may begin a stop string."""
        text = self.state.text if self.state.done else safe_prefix(self.state.text, self.state.stop)
        if len(text) > self.sent:
            self.events.put(Chunk(text[self.sent :], now))
            self.sent = len(text)


Row = tuple[int, int, int, _Request | None]  # lane, position, token, whose next token it yields


class LaneServer:
    def __init__(
        self,
        llm: Any,
        llama_cpp: Any,
        lanes: int,
        ctx_per_lane: int,
        threads: ThreadChooser,
        guard: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self.lanes = lanes
        self.ctx_per_lane = ctx_per_lane
        self._ctx = MultiSeqContext(
            llm, llama_cpp, n_ctx=lanes * ctx_per_lane, n_seq=lanes, unified=False, threads=threads
        )
        self._lib = llama_cpp
        self._guard = guard
        self._waiting: deque[_Request] = deque()
        self._active: list[_Request] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def fits(self, n_prompt: int) -> bool:
        """Whether a prompt leaves room in a lane for at least one new token."""
        return n_prompt < self.ctx_per_lane

    def stream(
        self, prompt: list[int], params: SamplingParams, stop: tuple[str, ...]
    ) -> Iterator[StreamEvent]:
        if not prompt:  # a lane starts from the prompt's last token: it needs one
            raise EngineError("the prompt is empty after tokenization", hint="send some text")
        budget = min(params.max_tokens, self.ctx_per_lane - len(prompt))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        req = _Request(
            SeqState(list(prompt), stop, budget, decoder=decoder),
            params,
            np.random.default_rng(params.seed),
        )
        with self._cond:
            if self._closed:
                raise EngineError("the model is closing", transient=True)
            self._start()  # before queueing: a loop that cannot start must not hold a request
            self._waiting.append(req)
            self._cond.notify()
        return self._events(req)

    def _events(self, req: _Request) -> Iterator[StreamEvent]:
        try:
            while True:
                try:
                    ev = req.events.get(timeout=GONE_POLL_S)
                except queue.Empty:
                    check_stop()  # a caller that hung up leaves its lane at the next step
                    continue
                if ev is _DONE:
                    return
                if isinstance(ev, BaseException):
                    raise ev
                yield ev
        finally:
            req.left.set()  # a reader that stops early frees its lane at the next step
            with self._cond:
                self._cond.notify()

    def _start(self) -> None:
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="llama-lanes", daemon=True)
            try:
                thread.start()
            except RuntimeError as e:  # "can't start new thread": out of threads or memory
                raise EngineError(f"the decode loop could not start: {e}", transient=True) from e
            self._thread = thread  # only a loop that runs counts as started

    # -- the decode loop (one thread) --------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._waiting and not self._active:
                    self._cond.wait()
                if self._closed:
                    break
                self._admit()
            self._drop_left()
            # every active request has rows: the next part of its prompt, or its last token
            rows = self._prompt_rows()
            rows += [self._next_row(r) for r in self._active if r.state.out]
            if not rows:
                continue
            try:
                self._step(rows)
            except BaseException as e:  # a failed decode: every request in flight gets it
                self._fail_all(e)
        self._fail_all(EngineError("the model was closed", transient=True))

    def _admit(self) -> None:
        """Move waiting requests into free lanes (lowest first: llama.cpp batches only runs of
        consecutive sequence ids together)."""
        used = {r.lane for r in self._active}
        while self._waiting and len(self._active) < self.lanes:
            req = self._waiting.popleft()
            if req.gone():
                req.events.put(_DONE)
                continue
            req.lane = min(set(range(self.lanes)) - used)
            used.add(req.lane)
            self._lib.llama_memory_seq_rm(self._ctx.mem, req.lane, -1, -1)
            self._active.append(req)

    def _prompt_rows(self) -> list[Row]:
        """The next part of each admitted prompt, n_batch rows a step in all. A prompt was
        decoded whole in one step: a client that hung up during a 1,700-token prompt held
        every lane until it was all decoded (41st probe); now it leaves after one part, and
        the other lanes sample between the parts."""
        rows: list[Row] = []
        room = self._ctx.decoder.n_batch
        for req in self._active:
            prompt = req.state.prompt
            end = min(len(prompt), req.fed + room)
            last = len(prompt) - 1  # its row yields the first token
            rows += [
                (req.lane, pos, prompt[pos], req if pos == last else None)
                for pos in range(req.fed, end)
            ]
            room -= max(end - req.fed, 0)
            req.fed = max(req.fed, end)
        return rows

    def _next_row(self, req: _Request) -> Row:
        st = req.state
        return (req.lane, len(st.prompt) + len(st.out) - 1, st.out[-1], req)

    def _step(self, rows: list[Row]) -> None:
        rows.sort(key=lambda r: (r[0], r[1]))
        with self._guard():
            dists = self._ctx.decoder.decode(
                [(lane, pos, tok, owner is not None) for lane, pos, tok, owner in rows], raw=True
            )
        owners = [owner for *_, owner in rows if owner is not None]
        for req, dist in zip(owners, dists, strict=True):
            self._ctx.accept(req.state, sample(dist, req.params, req.rng))
            now = time.perf_counter()
            req.emit_text(now)
            if req.state.done:
                self._finish(req)

    def _finish(self, req: _Request, reason: str | None = None) -> None:
        st = req.state
        self._lib.llama_memory_seq_rm(self._ctx.mem, req.lane, -1, -1)
        self._active.remove(req)
        req.events.put(Final(len(st.prompt), len(st.out), reason or st.reason))  # type: ignore[arg-type]
        req.events.put(_DONE)

    def _drop_left(self) -> None:
        for req in [r for r in self._active if r.gone()]:
            self._finish(req, "cancelled")

    def _fail_all(self, error: BaseException) -> None:
        with self._cond:
            waiting, self._waiting = list(self._waiting), deque()
        for req in [*self._active, *waiting]:
            req.events.put(error)
        self._active = []
        self._lib.llama_memory_clear(self._ctx.mem, True)  # a failed decode leaves it unknown

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._ctx.close()


class LaneView:
    """The engine as the server sees it: streams share the lanes; a prompt too long for a
    lane, and everything that is not a stream, go to the engine itself."""

    def __init__(self, engine: LlamaCppEngine, server: LaneServer) -> None:
        self.engine = engine
        self.server = server
        self.model_id = engine.model_id
        self.capabilities: Capabilities = replace(engine.capabilities, max_parallel=server.lanes)

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        tokens, stop = self.engine.chat_tokens(messages, params)
        if self.server.fits(len(tokens)):
            stream = self.server.stream(tokens, params, stop)
            return marked_thinking_open(stream, self.engine.opens_thinking(tokens))
        return self.engine.stream_chat(messages, params)

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        tokens = self.engine.tokenize(prompt)
        if self.server.fits(len(tokens)):
            stream = self.server.stream(tokens, params, tuple(params.stop))
            return marked_thinking_open(stream, self.engine.opens_thinking(tokens))
        return self.engine.stream_completion(prompt, params)

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        return self.engine.loglikelihood(context, continuation)

    def close(self) -> None:
        pass  # the lanes belong to the engine, which closes them with itself
