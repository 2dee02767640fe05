"""/v1/completions' prompt forms, max_tokens 0, echo and logprobs from token ids, chat logprobs
and the tokenizer routes, on the bundled SmolLM2 (and their clear errors on the mock)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.server.app import create_app
from tests.server.conftest import BASE

MODEL = "smollm2-135m-instruct"


@pytest.fixture
def real(settings: Settings, smollm2_path: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings, preload=[MODEL]), base_url=BASE) as c:
        yield c


def _post(c: TestClient, path: str, **body: Any) -> dict[str, Any]:
    r = c.post(path, json={"model": MODEL, "temperature": 0, **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.real_model
def test_a_generated_token_never_merges_into_the_prompt(real: TestClient) -> None:
    """ " hi" then a generated "king": four tokens, not the three of re-tokenized " hiking"."""
    body = _post(
        real, "/v1/completions", prompt="Question: hi", max_tokens=1, echo=True, logprobs=1
    )
    lp = body["choices"][0]["logprobs"]
    assert lp["tokens"][:3] == ["Question", ":", " hi"] and len(lp["tokens"]) == 4
    assert len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == 4
    assert lp["text_offset"] == [0, 8, 9, 12]
    assert body["choices"][0]["text"] == "Question: hi" + lp["tokens"][3]
    assert lp["token_logprobs"][0] is None and all(x < 0 for x in lp["token_logprobs"][1:])
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


@pytest.mark.real_model
def test_every_prompt_form_gives_the_same_scores(real: TestClient) -> None:
    texts = ["The capital of France is Paris", "One, two, three"]
    ids = [real.post("/tokenize", json={"prompt": t}).json()["tokens"] for t in texts]
    common = {"max_tokens": 0, "echo": True, "logprobs": 2}
    forms = [
        [_post(real, "/v1/completions", prompt=texts[0], **common)["choices"][0]],
        _post(real, "/v1/completions", prompt=texts, **common)["choices"],
        [_post(real, "/v1/completions", prompt=ids[0], **common)["choices"][0]],
        _post(real, "/v1/completions", prompt=ids, **common)["choices"],
    ]
    assert [c["index"] for c in forms[1]] == [c["index"] for c in forms[3]] == [0, 1]
    for choices in forms:
        for c, text in zip(choices, texts, strict=False):
            assert c["text"] == text and c["finish_reason"] == "length"
            assert "".join(c["logprobs"]["tokens"]) == text
            assert c["logprobs"] == forms[1][c["index"]]["logprobs"]
    # max_tokens 0 without echo: nothing generated, nothing reported, the prompt counted
    body = _post(real, "/v1/completions", prompt=ids[1], max_tokens=0, logprobs=0)
    assert body["choices"][0]["text"] == "" and body["choices"][0]["logprobs"]["tokens"] == []
    assert body["usage"]["prompt_tokens"] == len(ids[1])


@pytest.mark.real_model
def test_generated_tokens_and_token_id_generation(real: TestClient) -> None:
    ids = real.post("/tokenize", json={"prompt": "1, 2, 3,"}).json()["tokens"]
    by_text = _post(real, "/v1/completions", prompt="1, 2, 3,", max_tokens=6, logprobs=1)
    by_ids = _post(real, "/v1/completions", prompt=ids, max_tokens=6)  # no logprobs, ids
    plain = _post(real, "/v1/completions", prompt="1, 2, 3,", max_tokens=6)  # the stream path
    text = by_text["choices"][0]["text"]
    assert text == by_ids["choices"][0]["text"] == plain["choices"][0]["text"]
    lp = by_text["choices"][0]["logprobs"]
    assert "".join(lp["tokens"]) == text and lp["text_offset"][0] == len("1, 2, 3,")
    for tok, x, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], strict=True):
        assert top == {tok: x}  # greedy: each generated token is the most likely one
    stopped = _post(real, "/v1/completions", prompt=ids, max_tokens=12, stop=[" 5"], logprobs=0)
    choice = stopped["choices"][0]
    assert choice["finish_reason"] == "stop" and " 5" not in choice["text"]
    assert choice["text"] == " 4,"


@pytest.mark.real_model
def test_chat_logprobs_of_the_generated_tokens(real: TestClient) -> None:
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    plain = _post(real, "/v1/chat/completions", messages=msgs, max_tokens=8)
    body = _post(
        real, "/v1/chat/completions", messages=msgs, max_tokens=8, logprobs=True, top_logprobs=2
    )
    choice = body["choices"][0]
    assert choice["message"]["content"] == plain["choices"][0]["message"]["content"]
    content = choice["logprobs"]["content"]
    assert "".join(t["token"] for t in content).startswith(choice["message"]["content"])
    for t in content:
        assert len(t["top_logprobs"]) == 2 and t["top_logprobs"][0]["logprob"] == t["logprob"]
        assert bytes(t["bytes"]).decode() == t["token"]
    assert body["usage"]["completion_tokens"] == len(content)
    r = real.post(
        "/v1/chat/completions",
        json={"model": MODEL, "messages": msgs, "logprobs": True, "top_logprobs": 99},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "top_logprobs"


@pytest.mark.real_model
def test_tokenizer_routes_in_vllms_shape(real: TestClient) -> None:
    info = real.get("/tokenizer_info").json()
    assert info["eos_token"] == "<|im_end|>" and info["model_max_length"] == 2048
    assert "im_start" in info["chat_template"] and info["pad_token"]
    assert real.get("/tokenizer_info", params={"model": MODEL}).json() == info
    tok = real.post("/tokenize", json={"prompt": "Question: hiking", "add_special_tokens": False})
    body = tok.json()
    assert body["count"] == len(body["tokens"]) == 3 and body["max_model_len"] == 2048
    back = real.post("/detokenize", json={"tokens": body["tokens"]}).json()
    assert back == {"prompt": "Question: hiking"}
    # 1.0 is the integer 1, as the schema and /v1/completions read it (59th probe)
    floats = [float(t) for t in body["tokens"]]
    assert real.post("/detokenize", json={"tokens": floats}).json() == back
    assert real.post("/detokenize", json={"tokens": [1.5]}).status_code == 400
    # special-token text stays text, as in a text prompt: both evaluate the same ids
    eos = real.post("/tokenize", json={"prompt": "<|im_end|>"}).json()["tokens"]
    assert len(eos) > 1
    scored = _post(
        real, "/v1/completions", prompt="<|im_end|>", max_tokens=0, echo=True, logprobs=0
    )
    assert len(scored["choices"][0]["logprobs"]["tokens"]) == len(eos)
    chat = real.post(
        "/tokenize",
        json={"messages": [{"role": "user", "content": "hi"}], "return_token_strs": True},
    ).json()
    # the ids the model evaluates for this chat, the rendered template's words among them
    assert "user" in chat["token_strs"] and chat["count"] == len(chat["tokens"]) > 3
    for path, body, param in [
        ("/detokenize", {"tokens": [10**9]}, "tokens"),  # it said prompt (29th probe, low)
        ("/tokenize", {}, "prompt"),
        ("/tokenize", {"prompt": "x", "messages": [{"role": "user", "content": "y"}]}, "prompt"),
        ("/v1/completions", {"model": MODEL, "prompt": [10**9], "max_tokens": 0}, "prompt"),
    ]:
        r = real.post(path, json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (path, r.text)
    assert real.post("/tokenize", json={"model": "nope", "prompt": "x"}).status_code == 404


def test_engines_that_cannot_tokenize_say_so(client: TestClient) -> None:
    for path, body in [
        ("/tokenize", {"model": "mock-a", "prompt": "hello"}),
        ("/detokenize", {"model": "mock-a", "tokens": [1, 2]}),
        ("/v1/completions", {"model": "mock-a", "prompt": [[1, 2], [3]]}),
    ]:
        r = client.post(path, json=body)
        assert r.status_code == 400, r.text
        assert (
            r.json()["error"]["code"] == "unsupported" and "cannot" in r.json()["error"]["message"]
        )
    r = client.get("/tokenizer_info")  # two mocks, none preloaded: which one?
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    # text prompts as a list: one choice each, `index` in order (the mock reverses words)
    r = client.post("/v1/completions", json={"model": "mock-a", "prompt": ["a b", "c d"]})
    assert [(c["index"], c["text"]) for c in r.json()["choices"]] == [(0, "b a"), (1, "d c")]
    for bad in ([], [[]], [-1], [[1], "x"], [1.5]):
        r = client.post("/v1/completions", json={"model": "mock-a", "prompt": bad})
        assert r.status_code == 400, bad


@pytest.mark.real_model
def test_a_base_models_chat_is_counted_as_it_is_sent(settings: Settings, smollm2_path: Any) -> None:
    """A base model's chat goes to /v1 as a Q/A prompt, but /tokenize counted it through a
    chat template it never uses: 25 tokens for a request of 7 (47th probe, low)."""
    from openscout.models import ModelSpec, add_model

    base = ModelSpec(
        id="smol-base", engine="llamacpp", path=str(smollm2_path), prompt_format="completion"
    )
    add_model(settings, base)
    msgs = [{"role": "user", "content": "hi"}]
    with TestClient(create_app(settings, preload=[base.id]), base_url=BASE) as c:
        counted = c.post("/tokenize", json={"model": base.id, "messages": msgs}).json()["count"]
        sent = c.post(
            "/v1/chat/completions", json={"model": base.id, "messages": msgs, "max_tokens": 1}
        ).json()["usage"]["prompt_tokens"]
    assert counted == sent
