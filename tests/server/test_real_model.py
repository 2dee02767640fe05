"""The bundled SmolLM2 behind the API: the official `openai` package, and echo+logprobs that
score prompt token i from the distribution after tokens 0..i-1."""

from __future__ import annotations

import math

import pytest

from openscout.server.app import create_app
from tests.server.live import live_server

pytestmark = pytest.mark.real_model
MODEL = "smollm2-135m-instruct"


@pytest.fixture
def live_url(settings, smollm2_path):  # type: ignore[no-untyped-def]
    app = create_app(settings, api_key="test-key")
    with live_server(app) as url:
        yield url


def test_openai_package_streams_and_lists(live_url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=live_url + "/v1", api_key="test-key", max_retries=0)
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids and "gemma-3-270m" in ids
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, ids_seen = "", None, set()
    for chunk in stream:
        ids_seen.add(chunk.id)
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text.strip() and len(ids_seen) == 1
    assert usage is not None and 0 < usage.completion_tokens <= 24 and usage.prompt_tokens > 5
    full = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0,
    )
    assert full.choices[0].message.content == text  # greedy: streamed and whole agree
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    bad = openai.OpenAI(base_url=live_url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10**6
        )


def test_echo_logprobs_match_the_engine_loglikelihood(live_url: str, smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=live_url + "/v1", api_key="test-key", max_retries=0)
    context, continuation = "The capital of France is", " Paris"
    r = client.completions.create(
        model=MODEL,
        prompt=context + continuation,
        echo=True,
        logprobs=2,
        max_tokens=0,
        temperature=0,
    )
    lp = r.choices[0].logprobs
    assert r.choices[0].text == context + continuation
    assert "".join(lp.tokens) == context + continuation
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    # SmolLM2 adds no BOS: the first token has no context and, as in OpenAI's API, no log-prob
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(x is not None and x <= 0 for x in lp.token_logprobs[1:])
    # the last token is " Paris" (one token here); its log-prob must equal log p(" Paris" | context)
    expected = smollm2_engine.loglikelihood(context, continuation)
    assert expected.n_tokens == 1
    assert lp.token_logprobs[-1] == pytest.approx(expected.logprob, abs=1e-3)
    # and it is the best guess there, so it appears first among the top alternatives
    top = lp.top_logprobs[-1]
    assert len(top) == 2 and max(top.values()) == pytest.approx(lp.token_logprobs[-1], abs=1e-6)
    # an off-by-one scorer would give the *next* position's value: it must differ clearly
    assert not math.isclose(lp.token_logprobs[-2], expected.logprob, abs_tol=1e-3)
    assert r.usage.prompt_tokens == len(lp.tokens)


def test_every_prompt_token_matches_the_engine(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    from openscout.engines.llamacpp_logprobs import token_logprobs

    text = "One, two, three, four, five."
    out = token_logprobs(smollm2_engine, text)
    prefix, compared = "", 0
    for tok, lp in zip(out.tokens, out.token_logprobs, strict=True):
        ll = smollm2_engine.loglikelihood(prefix, tok) if prefix else None
        if ll is not None and ll.n_tokens == 1:  # the same single token scored both ways
            assert lp == pytest.approx(ll.logprob, abs=1e-3)
            compared += 1
        prefix += tok
    assert prefix == text and compared >= len(out.tokens) // 2


def test_logprobs_of_generated_tokens(live_url: str) -> None:
    import httpx

    r = httpx.post(
        live_url + "/v1/completions",
        timeout=60,
        headers={"Authorization": "Bearer test-key"},
        json={
            "model": MODEL,
            "prompt": "1, 2, 3,",
            "max_tokens": 4,
            "temperature": 0,
            "logprobs": 1,
        },
    )
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    lp = choice["logprobs"]
    assert "".join(lp["tokens"]).strip() == choice["text"].strip()
    assert all(
        min(t.values()) <= x + 1e-6
        for t, x in zip(lp["top_logprobs"], lp["token_logprobs"], strict=True)
    )


def test_a_prompt_longer_than_the_context_is_a_400(live_url: str) -> None:
    import httpx

    long = "word " * 3000  # about 3000 tokens; the model is registered with 2048
    r = httpx.post(
        live_url + "/v1/chat/completions",
        timeout=60,
        headers={"Authorization": "Bearer test-key"},
        json={"model": MODEL, "messages": [{"role": "user", "content": long}], "max_tokens": 4},
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "context_length_exceeded" and "2048" in err["message"]
    r = httpx.post(
        live_url + "/v1/chat/completions",
        timeout=60,
        headers={"Authorization": "Bearer test-key"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3000},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"


def test_arena_with_the_two_bundled_models(settings, gemma_path) -> None:  # type: ignore[no-untyped-def]
    """A fresh install has one chat and one base model: the arena pits them against each other
    (the base model gets a Question/Answer prompt)."""
    from fastapi.testclient import TestClient

    from tests.server.conftest import sse_events

    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    bid = c.post("/ui/api/arena/battles", json={"prompt": "What is the capital of France?"}).json()[
        "id"
    ]
    for side in ("a", "b"):
        events = sse_events(c.post(f"/ui/api/arena/battles/{bid}/answer/{side}", json={}).text)
        assert events[-1] == "[DONE]" and not any("error" in e for e in events[:-1])
        assert "".join(e.get("text", "") for e in events[:-1]).strip()
    voted = c.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "tie"}).json()
    assert {voted["model_a"], voted["model_b"]} == {MODEL, "gemma-3-270m"}
