"""A model evicted from the engine cache while requests hold it stays open until the last of
them lets go. The server closed it at once: streams running on it and requests queued for it
went on into freed llama.cpp memory, and `serve` died (SIGABRT, SIGSEGV; twenty-third probe)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from openscout.config import Settings
from openscout.engines import loader
from openscout.server.limits import Limits
from openscout.server.pool import ModelPool
from tests.evals.helpers import add_mock
from tests.reliability.helpers import serve

SMOLLM2, GEMMA = "smollm2-135m-instruct", "gemma-3-270m"


def _chat(
    url: str, model: str, max_tokens: int, out: dict[str, Any], key: str, started: Any = None
) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": f"Tell a long story, number {key}."}],
        "max_tokens": max_tokens,
        "stream": True,
    }
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=120) as r:
            events = []
            for line in r.iter_lines():
                if line.startswith("data:"):
                    events.append(line)
                    if started is not None:
                        started.set()
            out[key] = (r.status_code, events)
    except httpx.HTTPError as e:
        out[key] = ("failed", repr(e))


@pytest.mark.real_model
@pytest.mark.slow
def test_a_model_evicted_while_busy_serves_its_requests_to_the_end(
    tmp_path: Path, cli_env: dict[str, str], settings: Settings
) -> None:
    add_mock(settings, "mock")  # the server's preloaded model
    # room for one embedded model: opening Gemma evicts a busy SmolLM2, and back
    env = {**cli_env, "OPENSCOUT_MODEL_CACHE_MB": "150"}
    log = tmp_path / "serve.log"
    out: dict[str, Any] = {}
    with serve(env, log=log) as (url, proc):
        started = threading.Event()
        busy = [
            threading.Thread(target=_chat, args=(url, SMOLLM2, 60, out, f"busy{i}", started))
            for i in range(4)
        ]  # one answering, three queued behind it
        for t in busy:
            t.start()
        assert started.wait(120), log.read_text()[-3000:]
        late = [threading.Thread(target=_chat, args=(url, GEMMA, 8, out, "gemma"))]
        late += [
            threading.Thread(target=_chat, args=(url, SMOLLM2, 8, out, f"late{i}"))
            for i in range(2)
        ]
        for t in late:
            t.start()
        for t in busy + late:
            t.join(180)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert httpx.get(url + "/health", timeout=5).status_code == 200
    for key, (status, events) in out.items():
        assert status == 200, (key, events)
        joined = "".join(events)
        assert events[-1] == "data: [DONE]" and '"finish_reason":' in joined, key
        assert '"error"' not in joined and "closed" not in joined, (key, joined[-500:])
    assert len(out) == 7


def test_a_request_cancelled_while_its_model_opens_keeps_no_hold(settings: Settings) -> None:
    """The opening goes on in its thread and takes a hold: one the cancelled request never
    gave back would keep an evicted model open for the life of the server."""
    add_mock(settings, "m")
    pool = ModelPool(settings, Limits())

    async def cancel_while_opening() -> None:
        request = asyncio.ensure_future(pool.engine("m", hold=True))
        await asyncio.sleep(0)  # the opening has begun
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        await asyncio.sleep(0.5)  # the opening's thread ends, and its hold is given back

    asyncio.run(cancel_while_opening())
    engine = loader.open_engine(pool.spec("m"), settings)
    assert loader._cache._holders.get(id(engine), 0) == 0
    assert pool.state("m").state == "ready"  # it said "loading" for ever


@pytest.mark.real_model
def test_an_evicted_model_with_lanes_is_freed_at_once(
    settings: Settings, smollm2_path: Path
) -> None:
    """The pool kept each model's lanes until that model opened again, and the lanes held
    their engine in a cycle: every evicted model's buffers (96 MB of address space for
    SmolLM2) stayed, and a server under `ulimit -v` that swapped models failed to load."""
    from openscout.engines.spec import ModelSpec
    from openscout.models import add_model

    for model_id in ("a", "b"):
        spec = ModelSpec(id=model_id, engine="llamacpp", path=str(smollm2_path), n_ctx=512)
        add_model(settings, spec, replace=True)
    pool = ModelPool(replace(settings, model_cache_bytes=150 * 2**20), Limits())  # room for one
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:

        async def open_a_then_b() -> weakref.ref[Any]:
            first = weakref.ref(await pool.engine("a"))
            assert pool.serving("a", first()) is not first()  # it has lanes
            await pool.engine("b")
            return first

        first = asyncio.run(open_a_then_b())
        assert first() is None
        # /health and the pages said "ready" for an evicted model (twenty-sixth probe)
        assert pool.state("a").state == "not_loaded" and pool.state("b").state == "ready"
        # but it loaded: a server that preloaded it is still ready (30th probe, low)
        assert pool.has_loaded("a") and not pool.has_loaded("never-opened")
    finally:
        if was_enabled:
            gc.enable()
        loader.clear_cache()


@pytest.mark.real_model
def test_a_preloaded_model_evicted_since_leaves_the_server_ready(
    settings: Settings, smollm2_path: Path
) -> None:
    """`ready` turned false as soon as another model pushed the preloaded one out of the
    cache, though the server still answered it (30th probe, low): ready means preloaded."""
    from fastapi.testclient import TestClient

    from openscout.engines.spec import ModelSpec
    from openscout.models import add_model
    from openscout.server.app import create_app

    for model_id in ("a", "b"):
        spec = ModelSpec(id=model_id, engine="llamacpp", path=str(smollm2_path), n_ctx=512)
        add_model(settings, spec, replace=True)
    small = replace(settings, model_cache_bytes=150 * 2**20)  # room for one
    try:
        with TestClient(create_app(small, preload=["a"]), base_url="http://127.0.0.1") as c:
            for _ in range(100):  # preloading runs beside the app
                if c.get("/health").json()["ready"]:
                    break
                time.sleep(0.1)
            body = {"model": "b", "prompt": "Hi", "max_tokens": 1}
            assert c.post("/v1/completions", json=body).status_code == 200  # evicts a
            health = c.get("/health").json()
            states = {m["id"]: m["state"] for m in health["models"]}
            assert states["a"] == "not_loaded" and states["b"] == "ready", states
            assert health["ready"] is True
    finally:
        loader.clear_cache()
