"""A remote model (openai engine) passes token-id prompts, echo + logprobs, chat logprobs and
the tokenizer routes on to its server, and says clearly when that server refuses them.

The upstream here is a real `openscout serve` app on the bundled SmolLM2, over real HTTP, so
the answers through the remote model must equal the upstream's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.engines.openai_http import OpenAIEngine
from openscout.server.app import create_app
from tests.server.conftest import BASE
from tests.server.live import live_server

MODEL = "smollm2-135m-instruct"


@pytest.fixture
def both(settings: Settings, smollm2_path: Any) -> Iterator[tuple[httpx.Client, TestClient]]:
    with live_server(create_app(settings, preload=[MODEL])) as url:
        remote = OpenAIEngine("remote", url + "/v1", model=MODEL, loglikelihood=False)
        with (
            httpx.Client(base_url=url, timeout=60) as upstream,
            TestClient(create_app(settings, engines={"remote": remote}), base_url=BASE) as ours,
        ):
            yield upstream, ours


def _same(upstream: httpx.Client, ours: TestClient, path: str, body: dict[str, Any]) -> Any:
    direct = upstream.post(path, json={**body, "model": MODEL})
    through = ours.post(path, json={**body, "model": "remote"})
    assert direct.status_code == through.status_code == 200, through.text
    d, t = direct.json(), through.json()
    assert t.get("model", "remote") == "remote"
    for key in ("choices", "tokens", "prompt", "count"):
        assert t.get(key) == d.get(key), key
    return t


@pytest.mark.real_model
def test_scoring_requests_reach_the_remote_server(both: Any) -> None:
    upstream, ours = both
    scoring = {"max_tokens": 0, "echo": True, "logprobs": 2}
    _same(upstream, ours, "/v1/completions", {"prompt": [[1, 2, 3], [9, 10]], **scoring})
    body = _same(upstream, ours, "/v1/completions", {"prompt": "Question: hi", **scoring})
    lp = body["choices"][0]["logprobs"]
    assert lp["tokens"][:3] == ["Question", ":", " hi"]
    _same(
        upstream,
        ours,
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "Say hi"}],
            "max_tokens": 3,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 2,
        },
    )
    ids = _same(upstream, ours, "/tokenize", {"prompt": "Hello there"})["tokens"]
    assert _same(upstream, ours, "/detokenize", {"tokens": ids})["prompt"] == "Hello there"
    assert (
        ours.get("/tokenizer_info", params={"model": "remote"}).json()
        == upstream.get("/tokenizer_info").json()
    )


@pytest.mark.real_model
def test_token_ids_stream_back_as_one_answer(both: Any) -> None:
    _, ours = both
    r = ours.post(
        "/v1/completions",
        json={"model": "remote", "prompt": [1, 2, 3], "max_tokens": 2, "stream": True},
    )
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]"), r.text


def test_an_upstream_that_refuses_says_so(settings: Settings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"message": "no such route"}})

    remote = OpenAIEngine(
        "remote",
        "http://upstream.example/v1",
        loglikelihood=False,
        transport=httpx.MockTransport(handler),
    )
    with TestClient(create_app(settings, engines={"remote": remote}), base_url=BASE) as c:
        r = c.post("/tokenize", json={"model": "remote", "prompt": "hi"})
        s = c.post(
            "/v1/completions",
            json={"model": "remote", "prompt": "hi", "max_tokens": 1, "logprobs": 1},
        )
    for resp in (r, s):
        assert resp.status_code == 400, resp.text
        err = resp.json()["error"]
        assert err["code"] == "unsupported"
        assert "upstream server refused" in err["message"] and "upstream.example" in err["message"]
    assert "upstream.example/tokenize" in r.json()["error"]["message"]  # the root, not /v1
