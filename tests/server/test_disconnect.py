"""A client that disconnects stops its generation, and the model is free for the next one."""

from __future__ import annotations

import contextlib
import time

import httpx

from openscout.engines.mock import MockEngine
from openscout.generation import recent_generations
from openscout.server.app import create_app
from tests.server.live import live_server


def test_disconnect_stops_generation(settings) -> None:  # type: ignore[no-untyped-def]
    engine = MockEngine(
        "slow", default=" ".join(f"w{i}" for i in range(200)), delay_s=0.05, max_parallel=1
    )
    app = create_app(settings, engines={"slow": engine})
    body = {
        "model": "slow",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "max_tokens": 200,
    }
    with live_server(app) as url:
        with (
            httpx.Client(base_url=url, timeout=30) as c,
            c.stream("POST", "/v1/chat/completions", json=body) as r,
        ):
            seen = 0
            for line in r.iter_lines():
                if '"content"' in line:
                    seen += 1
                if seen >= 4:
                    break  # leave mid-stream: closing the response drops the connection
        deadline = time.monotonic() + 10
        rows: list = []
        while time.monotonic() < deadline:
            rows = recent_generations(settings, 5, "slow")
            if rows:
                break
            time.sleep(0.05)
        assert rows, "the cut-short generation was not logged"
        row = rows[0]
        assert row["finish_reason"] == "cancelled"
        assert row["completion_tokens"] < 60  # 200 words at 50 ms would take 10 s
        assert row["source"] == "api"
        # the single slot is free again: had the generation gone on, this would wait ~8 s more
        r = httpx.post(
            url + "/v1/chat/completions",
            timeout=5,
            json={
                "model": "slow",
                "messages": [{"role": "user", "content": "go"}],
                "max_tokens": 2,
            },
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "w0 w1"


def test_disconnect_stops_a_non_streaming_request_too(settings) -> None:  # type: ignore[no-untyped-def]
    engine = MockEngine(
        "slow", default=" ".join(f"w{i}" for i in range(200)), delay_s=0.05, max_parallel=1
    )
    app = create_app(settings, engines={"slow": engine})
    with live_server(app) as url:
        with contextlib.suppress(httpx.TimeoutException):  # the client gives up after 1 s
            httpx.post(
                url + "/v1/completions",
                timeout=1.0,
                json={"model": "slow", "prompt": "go", "max_tokens": 200},
            )
        deadline = time.monotonic() + 10
        rows: list = []
        while time.monotonic() < deadline and not rows:
            rows = recent_generations(settings, 5, "slow")
            time.sleep(0.05)
        assert rows and rows[0]["finish_reason"] == "cancelled"
        assert rows[0]["completion_tokens"] < 100


def test_clients_that_leave_the_queue_free_their_places(settings) -> None:  # type: ignore[no-untyped-def]
    """Waiting clients that hang up leave the model's queue at once (independent probe: with
    a stalled upstream, gone clients kept a model's queue full, so new ones got 429)."""
    import threading

    from openscout.server.limits import Limits

    engine = MockEngine(
        "slow", default=" ".join(f"w{i}" for i in range(60)), delay_s=0.05, max_parallel=1
    )
    app = create_app(settings, engines={"slow": engine}, limits=Limits(queue_per_model=2))
    body = {"model": "slow", "messages": [{"role": "user", "content": "go"}], "max_tokens": 200}
    with live_server(app) as url:
        holder = threading.Thread(
            target=lambda: httpx.post(url + "/v1/chat/completions", json=body, timeout=60)
        )
        holder.start()  # takes the one slot for ~10 s
        time.sleep(0.5)
        for _ in range(2):  # fill the queue, then hang up
            with contextlib.suppress(httpx.TimeoutException):
                httpx.post(url + "/v1/chat/completions", json=body, timeout=0.5)
        time.sleep(1.5)  # the server notices within its poll interval
        late = httpx.post(url + "/v1/chat/completions", json=body, timeout=60)
        holder.join(timeout=60)
    assert late.status_code == 200, late.text


def test_an_arena_client_leaving_before_the_first_token_is_no_failure(settings) -> None:  # type: ignore[no-untyped-def]
    """A user closing the arena tab before either model has said a word is not the model
    failing: the 39th probe found such a hang-up counted against the model's rating."""
    engines = {name: MockEngine(name, default="slow words", delay_s=2.0) for name in ("a", "b")}
    app = create_app(settings, engines=engines, arena_models=list(engines))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go"}).json()["id"]
        for side in "ab":  # the first token comes after 2 s; the client gives up after 0.3 s
            with contextlib.suppress(httpx.TimeoutException):
                httpx.post(f"{url}/ui/api/arena/battles/{bid}/answer/{side}", timeout=0.3)
        time.sleep(2.5)  # the server notices each hang-up and the engine stops
        ratings = c.get("/ui/api/arena/ratings").json()["ratings"]
        assert {r["model"]: r["failed"] for r in ratings} == {"a": 0, "b": 0}
        # and a model that does fail is counted, so the check above can see a count
        engines["b"].fail_with = "broken"
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go"}).json()["id"]
        for side in "ab":
            with contextlib.suppress(httpx.TimeoutException):
                httpx.post(f"{url}/ui/api/arena/battles/{bid}/answer/{side}", timeout=0.3)
        time.sleep(0.5)
        ratings = c.get("/ui/api/arena/ratings").json()["ratings"]
        assert {r["model"]: r["failed"] for r in ratings} == {"a": 0, "b": 1}
