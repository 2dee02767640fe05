"""A server too busy to take an arena answer is not the model failing its battle (41st probe):
a server-wide 503 `queue_full` was counted beside the model's rating, so anyone able to
flood the server could raise any model's failure count."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from openscout.engines.mock import MockEngine
from openscout.errors import ContextLengthError, EngineError
from openscout.server.app import create_app
from openscout.server.limits import Limits
from tests.server.live import live_server


def test_a_busy_server_refusing_an_arena_answer_is_no_failure(settings) -> None:  # type: ignore[no-untyped-def]
    words = " ".join(f"w{i}" for i in range(40))
    engines = {n: MockEngine(n, default=words, delay_s=0.05, max_parallel=1) for n in "ab"}
    # nobody may wait server-wide: a request that finds its model busy is refused with 503
    app = create_app(
        settings, engines=engines, arena_models=list(engines), limits=Limits(queue_total=0)
    )
    body = {"messages": [{"role": "user", "content": "go"}], "max_tokens": 100}
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        holders = [
            threading.Thread(
                target=lambda m=m: httpx.post(
                    url + "/v1/chat/completions", json={**body, "model": m}, timeout=60
                )
            )
            for m in engines
        ]
        for t in holders:  # each takes its model's only slot for ~2 s
            t.start()
        while not all(e.calls for e in engines.values()):
            time.sleep(0.01)
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go"}).json()["id"]
        answers = [c.post(f"/ui/api/arena/battles/{bid}/answer/{side}") for side in "ab"]
        for t in holders:
            t.join(timeout=60)
        ratings = c.get("/ui/api/arena/ratings").json()["ratings"]
    for r in answers:
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        err = r.json()["error"]
        assert err["code"] == "queue_full"
        assert err["message"] == "the server is busy; try again shortly"
    assert {r["model"]: r["failed"] for r in ratings} == {"a": 0, "b": 0}


class _ShortContext(MockEngine):
    """A model whose context holds 10 words: a longer prompt is refused as llama.cpp does."""

    def _stream(self, prompt, params):  # type: ignore[no-untyped-def]
        if len(prompt.split()) > 10:
            raise ContextLengthError(f"{self.model_id}: the prompt has too many tokens")
        return super()._stream(prompt, params)


@pytest.mark.parametrize(("words", "counted"), [(500, False), (20, True)])
def test_a_prompt_too_long_for_the_context_counts_only_where_it_surely_fits(
    settings, words: int, counted: bool
) -> None:  # type: ignore[no-untyped-def]
    """A prompt no model's context holds failed both models' battles (42nd probe, low): its
    length is the user's choice, said plainly and counted against neither. But a model that
    says "too long" to a prompt that surely fits its registered context (a token a byte,
    a template, the answer: 60 bytes against 2,048) has failed: an upstream saying it to
    every prompt kept a clean record (44th probe, low)."""
    engines = {n: _ShortContext(n) for n in "ab"}
    app = create_app(settings, engines=engines, arena_models=list(engines))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go " * words}).json()["id"]
        answers = [c.post(f"/ui/api/arena/battles/{bid}/answer/{side}") for side in "ab"]
        ratings = c.get("/ui/api/arena/ratings").json()["ratings"]
    said = (
        "the model failed to answer"
        if counted
        else "the prompt is too long for this model; try a shorter one"
    )
    for r in answers:
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "context_length_exceeded"
        assert r.json()["error"]["message"] == said
    assert {r["model"]: r["failed"] for r in ratings} == {"a": int(counted), "b": int(counted)}


class _FailsOnce(MockEngine):
    """Fails its first answer, then answers: a flaky upstream."""

    def _stream(self, prompt, params):  # type: ignore[no-untyped-def]
        if self.calls == 0:
            self.calls += 1
            raise EngineError("upstream hiccup")
        return super()._stream(prompt, params)


def test_a_side_that_failed_is_final_for_its_battle(settings) -> None:  # type: ignore[no-untyped-def]
    """A failed side could be asked again and, answered, voted on, while the ratings showed
    the failure at once: one hiccup named the side's model before the vote (45th probe, low).
    A failed side takes no answer, so its battle takes no vote."""
    engines = {"a": _FailsOnce("a", default="hi"), "b": _FailsOnce("b", default="hi")}
    app = create_app(settings, engines=engines, arena_models=list(engines))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go"}).json()["id"]
        first = [c.post(f"/ui/api/arena/battles/{bid}/answer/{side}") for side in "ab"]
        again = [c.post(f"/ui/api/arena/battles/{bid}/answer/{side}") for side in "ab"]
        vote = c.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "a"})
    assert [r.status_code for r in first] == [502, 502]
    assert [r.status_code for r in again] == [409, 409]
    assert "start a new battle" in again[0].json()["error"]["message"]
    assert vote.status_code == 400 and "failed to answer" in vote.json()["error"]["message"]


class _AnswersOnce(MockEngine):
    """Answers its first request, then fails: a flaky upstream the other way round."""

    def _stream(self, prompt, params):  # type: ignore[no-untyped-def]
        if self.calls >= 1:
            self.calls += 1
            raise EngineError("upstream hiccup")
        return super()._stream(prompt, params)


def test_a_battle_with_a_side_that_failed_takes_no_vote(settings) -> None:  # type: ignore[no-untyped-def]
    """A side that answered could be asked again until it failed, its failure counted in
    sight, and the battle still took the vote (46th probe, low)."""
    engines = {"a": _AnswersOnce("a", default="hi"), "b": _AnswersOnce("b", default="hi")}
    app = create_app(settings, engines=engines, arena_models=list(engines))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        bid = c.post("/ui/api/arena/battles", json={"prompt": "go"}).json()["id"]
        first = [c.post(f"/ui/api/arena/battles/{bid}/answer/{side}") for side in "ab"]
        again = c.post(f"/ui/api/arena/battles/{bid}/answer/a")
        vote = c.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "a"})
    assert [r.status_code for r in first] == [200, 200] and again.status_code == 502
    assert vote.status_code == 400 and "failed to answer" in vote.json()["error"]["message"]
