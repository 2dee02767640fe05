"""The fair bounded queue: round-robin between clients, 429/503 with Retry-After when full."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from openscout.server.limits import Limits
from openscout.server.queue import FairQueue, QueueFullError, WaitCounter
from tests.server.live import live_server


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_round_robin_between_clients() -> None:
    async def main() -> list[str]:
        q = FairQueue("m", slots=1, max_waiting=10, total=WaitCounter(100))
        order: list[str] = []
        await q.acquire("hog")  # the first request holds the only slot

        async def req(client: str, tag: str) -> None:
            await q.acquire(client)
            order.append(tag)
            await asyncio.sleep(0)
            q.release()

        tasks = [asyncio.create_task(req("hog", f"hog{i}")) for i in range(3)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(req("other", "other")))
        await asyncio.sleep(0)
        q.release()
        await asyncio.gather(*tasks)
        return order

    order = run(main())
    # FIFO would serve the newcomer last; round-robin serves it right after hog's first
    assert order == ["hog0", "other", "hog1", "hog2"]


def test_bounds_raise_429_then_503() -> None:
    async def main() -> None:
        total = WaitCounter(3)
        q1 = FairQueue("a", slots=1, max_waiting=2, total=total)
        q2 = FairQueue("b", slots=1, max_waiting=5, total=total)
        await q1.acquire("c")
        await q2.acquire("c")
        waiters = [asyncio.create_task(q1.acquire("c")) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError) as e:
            await q1.acquire("c")
        assert e.value.status == 429
        waiters.append(asyncio.create_task(q2.acquire("c")))
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError) as e:
            await q2.acquire("c")
        assert e.value.status == 503  # model b has room, the server as a whole does not
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        assert total.waiting == 0 and q1.n_waiting == 0

    run(main())


def test_a_cancelled_waiter_gives_its_place_up() -> None:
    async def main() -> None:
        q = FairQueue("m", slots=1, max_waiting=1, total=WaitCounter(10))
        await q.acquire("a")
        w = asyncio.create_task(q.acquire("b"))
        await asyncio.sleep(0)
        w.cancel()
        await asyncio.gather(w, return_exceptions=True)
        assert q.n_waiting == 0
        later = asyncio.create_task(q.acquire("c"))  # room again
        await asyncio.sleep(0)
        q.release()
        await asyncio.wait_for(later, 1)
        assert q.active == 1

    run(main())


def test_full_queue_answers_429_with_retry_after(settings) -> None:  # type: ignore[no-untyped-def]
    slow = MockEngine("slow", default=" ".join(["w"] * 40), delay_s=0.05, max_parallel=1)
    app = create_app(
        settings, engines={"slow": slow}, limits=Limits(queue_per_model=1, retry_after_s=3)
    )
    body = {"model": "slow", "messages": [{"role": "user", "content": "go"}], "stream": True}

    async def main(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:

            async def stream() -> int:
                async with c.stream("POST", "/v1/chat/completions", json=body) as r:
                    await r.aread()
                    return r.status_code

            first = asyncio.create_task(stream())  # runs
            while slow.calls == 0:
                await asyncio.sleep(0.01)
            second = asyncio.create_task(stream())  # waits
            queue = app.state.pool.queue("slow", slow)
            while queue.n_waiting == 0:  # until the second one is really in the queue
                await asyncio.sleep(0.01)
            r = await c.post("/v1/chat/completions", json=body)  # no room
            assert r.status_code == 429
            assert r.headers["retry-after"] == "3"
            err = r.json()["error"]
            assert err["type"] == "rate_limit_error" and err["code"] == "queue_full"
            return [await first, await second]

    with live_server(app) as url:
        assert asyncio.run(main(url)) == [200, 200]  # the queued ones still complete


def test_a_stream_faster_than_its_client_waits_for_it(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The engine's thread handed chunks to the handler through an unbounded queue: an
    upstream sending 95,000 chunks at once held them all in memory (seventh probe). It now
    waits while MAX_UNREAD_CHUNKS are unread, and stops when the reader leaves."""
    from openscout.engines.base import SamplingParams
    from openscout.server import pool as pool_module

    monkeypatch.setattr(pool_module, "MAX_UNREAD_CHUNKS", 8)

    class Counting(MockEngine):
        produced = 0

        def _stream(self, prompt, params):  # type: ignore[no-untyped-def]
            for event in super()._stream(prompt, params):
                Counting.produced += 1
                yield event

    engine = Counting("fast", default=" ".join(["w"] * 5000))
    app = create_app(settings, engines={"fast": engine})

    async def main() -> tuple[int, int]:
        chunks = app.state.pool.stream(
            "fast", "client", params=SamplingParams(max_tokens=5000), prompt="go"
        )
        await chunks.__anext__()
        await asyncio.sleep(1.0)  # the client reads no more for a while
        produced_while_waiting = Counting.produced
        await chunks.aclose()
        await asyncio.sleep(1.5)  # the thread sees the reader gone at its next wait
        return produced_while_waiting, Counting.produced

    waiting, after = asyncio.run(main())
    assert waiting <= 8 + 2, waiting
    assert after <= waiting + 1, (waiting, after)


def test_a_stream_whose_thread_cannot_start_gives_its_place_back(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`Thread.start()` failing (out of threads or memory) kept the queue place for ever, and
    answered 500 "internal error" rather than an error worth asking again (sixteenth probe)."""
    import threading

    from openscout.engines.base import SamplingParams
    from openscout.errors import EngineError

    engine = MockEngine("m", default="hi")
    app = create_app(settings, engines={"m": engine})
    real_start = threading.Thread.start

    def no_thread(self):  # type: ignore[no-untyped-def]
        if self.name.startswith("gen-"):
            raise RuntimeError("can't start new thread")
        return real_start(self)

    async def main() -> int:
        monkeypatch.setattr(threading.Thread, "start", no_thread)
        with pytest.raises(EngineError) as e:
            async for _ in app.state.pool.stream(
                "m", "client", params=SamplingParams(max_tokens=4), prompt="go"
            ):
                pass
        assert e.value.transient and "could not start" in e.value.message
        await asyncio.sleep(0)  # the release is scheduled on the loop
        return app.state.pool.queue("m", engine).active

    assert asyncio.run(main()) == 0


def test_a_stream_that_fails_at_once_frees_its_place_before_the_error_is_heard(
    settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The handler heard a failed stream's error before the thread gave the queue place back.
    With a loop per request (a test client), that loop could close first: the release was
    lost and the next request waited for ever (CI hang in test_attack_cases at 93a9292)."""
    import time

    from openscout.engines.base import SamplingParams
    from openscout.errors import EngineError

    engine = MockEngine("m", fail_with="refused", max_parallel=1)
    app = create_app(settings, engines={"m": engine})
    real_release = FairQueue.release_threadsafe

    def slow_release(self: FairQueue) -> None:  # a worker thread a little behind the handler
        time.sleep(0.3)
        real_release(self)

    monkeypatch.setattr(FairQueue, "release_threadsafe", slow_release)

    async def ask() -> None:
        with pytest.raises(EngineError):
            async for _ in app.state.pool.stream(
                "m", "client", params=SamplingParams(max_tokens=2), prompt="go"
            ):
                pass

    for _ in range(2):  # each on a loop of its own, closed when it answers
        asyncio.run(asyncio.wait_for(ask(), timeout=10))
        time.sleep(0.5)  # the thread finishes between the two requests
