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
