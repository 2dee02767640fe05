"""The adaptive concurrency limit and the retry policy, on their own."""

from __future__ import annotations

import random
import threading
import time
from contextlib import ExitStack

import pytest

from openscout.errors import EngineError, EngineResponseError
from openscout.evals.pacing import AdaptiveLimit, RetryPolicy

BROKEN = EngineError("stream cut", transient=True, cause="stream cut")


def _round(limit: AdaptiveLimit, n: int, error: EngineError | None = None) -> None:
    """n requests in flight together, all answered (or all failing with `error`)."""
    with ExitStack() as stack:
        slots = [stack.enter_context(limit.slot()) for _ in range(n)]
        for s in slots:
            s.failed(error) if error else s.succeeded()


def test_slow_start_doubles_up_to_the_cap() -> None:
    limit = AdaptiveLimit(cap=8)
    assert limit.limit == 2
    _round(limit, 2)
    assert limit.limit == 4
    _round(limit, 4)
    assert limit.limit == 8
    _round(limit, 8)
    assert limit.limit == 8 and limit.summary()["peak_in_flight"] == 8


def test_one_cut_per_window_however_many_requests_fail() -> None:
    limit = AdaptiveLimit(cap=8, start=8)
    _round(limit, 8, BROKEN)  # eight failures of one window: halved once, not to 1
    assert limit.limit == 4 and limit.cuts == 1
    _round(limit, 4, BROKEN)
    assert limit.limit == 2 and limit.cuts == 2


def test_after_trouble_raises_are_additive_and_rarer() -> None:
    limit = AdaptiveLimit(cap=8, start=4)
    _round(limit, 4, BROKEN)  # -> 2, patience 2
    assert limit.limit == 2
    _round(limit, 2)
    assert limit.limit == 2  # one window is not enough any more
    _round(limit, 2)
    assert limit.limit == 3  # +1, not doubled
    _round(limit, 3, BROKEN)  # -> 1, patience 4
    for _ in range(3):
        _round(limit, 1)
    assert limit.limit == 1
    _round(limit, 1)
    assert limit.limit == 2
    reasons = [h[2] for h in limit.summary()["history"]]
    assert reasons == ["start", "stream cut", "raise", "stream cut", "raise"]


def test_a_limit_never_reached_is_not_raised() -> None:
    limit = AdaptiveLimit(cap=8)
    for _ in range(10):
        _round(limit, 1)  # one at a time: the limit of 2 was never tested
    assert limit.limit == 2


def test_client_errors_do_not_lower_the_limit() -> None:
    limit = AdaptiveLimit(cap=8, start=4)
    _round(limit, 4, EngineResponseError("bad request", status=400))
    assert limit.limit == 4 and limit.cuts == 0


def test_retry_after_holds_every_new_request() -> None:
    limit = AdaptiveLimit(cap=4, start=4)
    with limit.slot() as s:
        s.failed(EngineError("429", transient=True, retry_after=0.3, cause="HTTP 429"))
    t0 = time.monotonic()
    started: list[float] = []

    def one() -> None:
        with limit.slot() as s:
            started.append(time.monotonic() - t0)
            s.succeeded()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert len(started) == 2 and min(started) >= 0.28
    assert limit.summary()["paused_s"] >= 0.28


def test_a_lowered_limit_makes_new_requests_wait() -> None:
    limit = AdaptiveLimit(cap=4, start=4)
    first, second = ExitStack(), ExitStack()
    b = first.enter_context(limit.slot())
    c = second.enter_context(limit.slot())
    with limit.slot() as a:
        a.failed(BROKEN)
    assert limit.limit == 2  # b and c are still in flight: no room for another
    started = threading.Event()

    def d() -> None:
        with limit.slot() as s:
            started.set()
            s.succeeded()

    t = threading.Thread(target=d)
    t.start()
    assert not started.wait(0.2)
    b.succeeded()
    first.close()
    assert started.wait(5)
    c.succeeded()
    second.close()
    t.join(timeout=5)


def test_retry_delays_grow_and_honour_the_server() -> None:
    policy, rng = RetryPolicy(base_s=0.5, cap_s=8.0), random.Random(1)
    delays = [policy.delay(a, None, rng) for a in (1, 2, 3, 4, 5, 6)]
    assert 0.25 <= delays[0] <= 0.5 and 4.0 <= delays[5] <= 8.0
    assert policy.delay(1, 5.0, rng) == 5.0


def test_an_item_stops_retrying_when_its_time_budget_is_spent() -> None:
    """A server whose failures each take the whole engine deadline (an error body trickled a
    byte a second: 120 s) held an item for five attempts, ten minutes (sixth probe, low)."""
    from openscout.evals.calls import Caller, Tally

    def run(seconds_per_failure: float) -> tuple[int, str]:
        caller = Caller(object(), "remote", "key", store=None, settings=None)  # type: ignore[arg-type]
        caller.pace(1)
        caller.policy = RetryPolicy(base_s=0.0, cap_s=0.0)
        now = [0.0]
        caller._clock = lambda: now[0]
        attempts: list[float] = []

        def failing() -> None:
            attempts.append(now[0])
            now[0] += seconds_per_failure
            raise EngineError("HTTP 500", transient=True, cause="HTTP 500")

        with pytest.raises(EngineError) as e:
            caller._call(failing, Tally())
        return len(attempts), str(e.value)

    assert run(120.0) == (
        2,
        "HTTP 500: HTTP 500 (gave up after 2 attempts in 240 s; earlier failures: HTTP 500 x1)",
    )
    n, message = run(0.5)  # quick failures still get every attempt
    assert n == 5 and "gave up after 5 attempts" in message
