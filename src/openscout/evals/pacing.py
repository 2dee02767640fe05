"""How hard to push a model: retries with backoff, and a concurrency limit that adapts.

`AdaptiveLimit` is the number of requests allowed in flight to one model. It starts low and
doubles after each window of clean answers (slow start) until the first sign of trouble,
then grows by one at a time; a transient failure (a cut stream, a timeout, HTTP 429 or 5xx)
halves it, once per window: failures of requests sent under an older limit do not count
again. A Retry-After holds every new request until it has passed; one longer than
MAX_RETRY_AFTER_S fails them at once instead, without asking the server. Each failure also
makes the next raise wait twice as long, so a server that cannot take two requests at once
(llama-cpp-python's server cuts a running stream when a second request arrives) is probed
rarely instead of on every window. The user's `--parallel` (or the engine's declared
`max_parallel`) caps it.

`RetryPolicy` says how often and how long to wait before asking again. Only transient
EngineErrors are retried; a request is an item's answer only once it arrived whole, so
asking again is always safe here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from openscout.errors import EngineError

START_LIMIT = 2
# The longest Retry-After we honour by waiting; a server asking for more fails the item.
MAX_RETRY_AFTER_S = 120.0
# Raises are at most this many windows apart, however often the server failed before.
MAX_PATIENCE = 16
HISTORY_KEEP = 50


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first one included
    base_s: float = 0.5
    cap_s: float = 8.0
    # No attempt starts this long after the item's first: a server whose failures take the
    # whole engine deadline (120 s, e.g. an error body trickled a byte a second) costs an
    # item two attempts, not five.
    budget_s: float = 240.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): exponential with
        full jitter, and never less than what the server asked for."""
        backoff = rng.uniform(0.5, 1.0) * min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return max(backoff, retry_after or 0.0)


class AdaptiveLimit:
    def __init__(
        self, cap: int, start: int = START_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cap = max(1, cap)
        self.start = min(self.cap, max(1, start))
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = self.start
        self._in_flight = 0
        self._epoch = 0  # bumped on every change: a failure lowers the limit once per epoch
        self._ok = 0  # clean answers since the last change
        self._filled = False  # in-flight reached the limit since the last change
        self._slow_start = True
        self._patience = 1  # windows of clean answers a raise needs
        self._paused_until = 0.0
        # A server asking for a longer wait than we honour: refuse requests until then.
        self._closed_until = 0.0
        self._closed_by: EngineError | None = None
        self._t0 = clock()
        self.peak_limit = self._limit
        self.peak_in_flight = 0
        self.raises = 0
        self.cuts = 0
        self.paused_s = 0.0
        self.history: list[tuple[float, int, str]] = [(0.0, self._limit, "start")]

    @property
    def limit(self) -> int:
        with self._cond:
            return self._limit

    def set_cap(self, cap: int) -> None:
        with self._cond:
            self.cap = max(1, cap)
            if self._limit > self.cap:
                self._change(self.cap, "cap")
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[_Slot]:
        """Wait for a free slot (and for any Retry-After to pass); report how it went."""
        epoch = self._acquire()
        s = _Slot()
        try:
            yield s
        finally:
            self._release(epoch, s.error, s.ok)

    def _acquire(self) -> int:
        with self._cond:
            if self._closed_by is not None and self._clock() < self._closed_until:
                e = self._closed_by
                raise EngineError(
                    f"{e.cause}: not asked: the server asked to wait {e.retry_after:.0f} s "
                    f"({e.message})",
                    transient=True,
                    retry_after=e.retry_after,
                    cause=e.cause,
                )
            while True:
                wait = self._paused_until - self._clock()
                if wait <= 0 and self._in_flight < self._limit:
                    break
                self._cond.wait(timeout=max(0.01, wait) if wait > 0 else None)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            if self._in_flight >= self._limit:
                self._filled = True
            return self._epoch

    def _release(self, epoch: int, error: EngineError | None, ok: bool) -> None:
        with self._cond:
            self._in_flight -= 1
            if error is not None and error.transient:
                self._on_trouble(epoch, error)
            elif ok:
                self._on_success()
            self._cond.notify_all()

    def _on_success(self) -> None:
        self._ok += 1
        if self._limit >= self.cap or not self._filled:
            return  # a limit never reached was not tested: no reason to raise it
        if self._ok >= self._limit * self._patience:
            new = self._limit * 2 if self._slow_start else self._limit + 1
            self.raises += 1
            self._change(min(self.cap, new), "raise")

    def _on_trouble(self, epoch: int, error: EngineError) -> None:
        if error.retry_after and error.retry_after > MAX_RETRY_AFTER_S:
            self._closed_until = self._clock() + error.retry_after
            self._closed_by = error
        elif error.retry_after:
            until = self._clock() + min(error.retry_after, MAX_RETRY_AFTER_S)
            if until > self._paused_until:
                self.paused_s += until - max(self._paused_until, self._clock())
                self._paused_until = until
        if epoch != self._epoch:
            return  # sent under an older limit: this trouble was already answered
        self._slow_start = False
        self._patience = min(MAX_PATIENCE, self._patience * 2)
        self.cuts += 1
        self._change(max(1, self._limit // 2), error.cause or "error")

    def _change(self, new: int, reason: str) -> None:
        self._limit = new
        self._epoch += 1
        self._ok = 0
        self._filled = self._in_flight >= new
        self.peak_limit = max(self.peak_limit, new)
        self.history.append((round(self._clock() - self._t0, 3), new, reason))
        del self.history[:-HISTORY_KEEP]

    def summary(self) -> dict[str, Any]:
        """What concurrency was used, for the run's results."""
        with self._cond:
            return {
                "cap": self.cap,
                "start": self.start,
                "final": self._limit,
                "peak_limit": self.peak_limit,
                "peak_in_flight": self.peak_in_flight,
                "raises": self.raises,
                "cuts": self.cuts,
                "paused_s": round(self.paused_s, 3),
                "history": [list(h) for h in self.history],
            }


class _Slot:
    """What the holder of a slot reports: a clean answer, or the error it got."""

    def __init__(self) -> None:
        self.ok = False
        self.error: EngineError | None = None

    def succeeded(self) -> None:
        self.ok = True

    def failed(self, error: EngineError) -> None:
        self.error = error
