"""Many concurrent streaming clients on loopback: all complete, none sees another's text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from openscout.server.limits import Limits
from tests.server.live import live_server


async def stream_chat(
    c: httpx.AsyncClient, model: str, prompt: str, max_tokens: int = 64, temperature: float = 0.0
) -> dict[str, Any]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream_options": {"include_usage": True},
    }
    ids, text, usage, done = set(), "", None, False
    async with c.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200, await r.aread()
        async for line in r.aiter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                continue
            chunk = json.loads(line[6:])
            ids.add(chunk["id"])
            for ch in chunk["choices"]:
                text += ch["delta"].get("content", "") or ""
            usage = chunk.get("usage") or usage
    return {"ids": ids, "text": text, "usage": usage, "done": done}


def test_eight_concurrent_streams_against_one_mock_model(settings) -> None:  # type: ignore[no-untyped-def]
    engine = MockEngine("mock", delay_s=0.01, max_parallel=4)
    app = create_app(settings, engines={"mock": engine})
    prompts = [" ".join(f"c{k}w{i}" for i in range(12)) for k in range(8)]

    async def main(url: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            return await asyncio.gather(*(stream_chat(c, "mock", p) for p in prompts))

    with live_server(app) as url:
        results = asyncio.run(main(url))
    for p, res in zip(prompts, results, strict=True):
        assert res["done"] and len(res["ids"]) == 1
        assert res["text"] == " ".join(reversed(p.split()))  # exactly its own answer, in order
        assert res["usage"]["completion_tokens"] == 12
    assert len({next(iter(r["ids"])) for r in results}) == 8
    assert engine.calls == 8


def test_load_beyond_parallelism_queues_without_failures(settings) -> None:  # type: ignore[no-untyped-def]
    engine = MockEngine("mock", delay_s=0.002, max_parallel=2)
    app = create_app(settings, engines={"mock": engine}, limits=Limits(queue_per_model=64))
    prompts = [f"client {k} says " + " ".join(str(i) for i in range(k % 7 + 3)) for k in range(48)]

    async def main(url: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(
            base_url=url, timeout=120, limits=httpx.Limits(max_connections=64)
        ) as c:
            return await asyncio.gather(*(stream_chat(c, "mock", p) for p in prompts))

    with live_server(app) as url:
        results = asyncio.run(main(url))
    assert all(r["done"] for r in results)
    assert [r["text"] for r in results] == [" ".join(reversed(p.split())) for p in prompts]


@pytest.mark.real_model
def test_eight_concurrent_streams_against_the_real_model(settings, smollm2_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    prompts = [
        "What is the capital of France?",
        "Name a colour.",
        "Count to three.",
        "Say hello.",
        "What is 2+2?",
        "Name an animal.",
        "What day follows Monday?",
        "Spell cat.",
    ]

    async def main(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=url, timeout=300) as c:
            together = await asyncio.gather(
                *(stream_chat(c, "smollm2-135m-instruct", p, 16) for p in prompts)
            )
            alone = [await stream_chat(c, "smollm2-135m-instruct", p, 16) for p in prompts]
            return together, alone

    with live_server(app) as url:
        together, alone = asyncio.run(main(url))
    assert len({next(iter(t["ids"])) for t in together}) == 8
    for t, a in zip(together, alone, strict=True):
        assert t["done"] and len(t["ids"]) == 1 and t["text"].strip()
        assert t["text"] == a["text"]  # greedy: each queued client got exactly its own answer


# -- many clients, bounded queues, overload ----------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_64_concurrent_streams_all_complete_with_a_bounded_queue(settings) -> None:  # type: ignore[no-untyped-def]
    engine = MockEngine("mock", delay_s=0.002, max_parallel=4)
    limits = Limits(queue_per_model=64, queue_total=64)
    app = create_app(settings, engines={"mock": engine}, limits=limits)
    prompts = [f"client {k} asks " + " ".join(f"w{i}" for i in range(k % 9 + 4)) for k in range(64)]
    peak = {"waiting": 0, "active": 0}

    async def main(url: str) -> list[dict[str, Any]]:
        queue = app.state.pool.queue("mock", engine)
        done = asyncio.Event()

        async def watch() -> None:  # sampled from the client side of the same process
            while not done.is_set():
                peak["waiting"] = max(peak["waiting"], queue.n_waiting)
                peak["active"] = max(peak["active"], queue.active)
                await asyncio.sleep(0.001)

        async with httpx.AsyncClient(
            base_url=url, timeout=120, limits=httpx.Limits(max_connections=100)
        ) as c:
            watcher = asyncio.create_task(watch())
            out = await asyncio.gather(*(stream_chat(c, "mock", p) for p in prompts))
            done.set()
            await watcher
            return out

    with live_server(app) as url:
        results = asyncio.run(main(url))
    assert all(r["done"] for r in results)  # zero failed requests
    assert [r["text"] for r in results] == [" ".join(reversed(p.split())) for p in prompts]
    assert len({next(iter(r["ids"])) for r in results}) == 64
    # never more running than the engine's slots, never more waiting than the bound
    assert 1 <= peak["active"] <= 4
    assert peak["waiting"] <= limits.queue_per_model - 4
    assert peak["waiting"] > 0  # the load did queue (else the bound was never tested)
    assert app.state.pool.queue("mock", engine).n_waiting == 0


@pytest.mark.slow
def test_overload_gets_429_and_503_with_retry_after_and_memory_stays_flat(settings) -> None:  # type: ignore[no-untyped-def]
    a = MockEngine("a", default=" ".join(["tok"] * 20), delay_s=0.004, max_parallel=1)
    b = MockEngine("b", default=" ".join(["tok"] * 20), delay_s=0.004, max_parallel=1)
    limits = Limits(queue_per_model=6, queue_total=8, retry_after_s=3)
    app = create_app(settings, engines={"a": a, "b": b}, limits=limits)
    pool = app.state.pool
    queues = [pool.queue("a", a), pool.queue("b", b)]
    peak = {"model": 0, "total": 0}

    async def one(c: httpx.AsyncClient, model: str) -> tuple[int, str | None]:
        body = {"model": model, "messages": [{"role": "user", "content": "go"}], "stream": True}
        async with c.stream("POST", "/v1/chat/completions", json=body) as r:
            text = (await r.aread()).decode()
            if r.status_code == 200:
                assert text.rstrip().endswith("data: [DONE]") and '"error"' not in text
            return r.status_code, r.headers.get("retry-after")

    async def wave(url: str, n: int) -> list[tuple[int, str | None]]:
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set():
                peak["model"] = max([peak["model"], *(q.n_waiting for q in queues)])
                peak["total"] = max(peak["total"], pool._total.waiting)
                await asyncio.sleep(0.001)

        async with httpx.AsyncClient(
            base_url=url, timeout=60, limits=httpx.Limits(max_connections=n)
        ) as c:
            watcher = asyncio.create_task(watch())
            # three in four for model a: its own queue fills (429), then the server's (503)
            got = await asyncio.gather(*(one(c, "aaab"[i % 4]) for i in range(n)))
            done.set()
            await watcher
            return got

    rss, seen = [], []
    with live_server(app) as url:
        for _ in range(4):
            got = asyncio.run(wave(url, 120))
            seen += [s for s, _ in got]
            assert {s for s, _ in got} <= {200, 429, 503}, got  # refused at once, never failed
            assert all(ra == "3" for s, ra in got if s in (429, 503))
            assert pool._total.waiting == 0  # nothing left behind by the refused requests
            rss.append(_rss_bytes())
    assert seen.count(200) >= 8 and 429 in seen and 503 in seen, sorted(set(seen))
    # the queues never held more than their bounds, however many clients came
    assert peak["model"] <= limits.queue_per_model and peak["total"] <= limits.queue_total
    assert peak["total"] > 0
    # 360 requests after the first wave (which warms caches), the process has not grown
    assert rss[-1] - rss[0] < 16 * 2**20, [r // 2**20 for r in rss]


@pytest.mark.real_model
def test_three_real_model_streams_beside_32_mock_streams(settings, smollm2_path) -> None:  # type: ignore[no-untyped-def]
    """Per-model queues: the real model's slow queue does not hold up the mock's clients."""
    engine = MockEngine("mock", delay_s=0.002, max_parallel=4)
    app = create_app(settings, engines={"mock": engine}, limits=Limits(queue_per_model=32))
    real = ["Name a colour.", "Say hello.", "What is 2+2?"]
    fast = [f"mock client {k} " + " ".join(str(i) for i in range(6)) for k in range(32)]

    async def main(url: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(
            base_url=url, timeout=300, limits=httpx.Limits(max_connections=64)
        ) as c:
            return await asyncio.gather(
                *(stream_chat(c, "smollm2-135m-instruct", p, 12) for p in real),
                *(stream_chat(c, "mock", p) for p in fast),
            )

    with live_server(app) as url:
        results = asyncio.run(main(url))
    assert all(r["done"] and len(r["ids"]) == 1 for r in results)  # zero failed requests
    for r in results[:3]:
        assert r["text"].strip() and r["usage"]["completion_tokens"] <= 12
    assert [r["text"] for r in results[3:]] == [" ".join(reversed(p.split())) for p in fast]
