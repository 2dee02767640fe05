"""The OpenAI-compatible routes against scripted mock engines: shapes, streaming, usage, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import sse_events


def test_models_lists_every_registered_and_injected_model(client: TestClient) -> None:
    r = client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert {"mock-a", "mock-b", "smollm2-135m-instruct", "gemma-3-270m"} <= set(ids)
    for m in body["data"]:
        assert m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"]


def test_chat_completion_non_streaming(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "mock-a",
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 50,
            "some_future_field": {"ignored": True},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi there from a"}
    assert body["choices"][0]["finish_reason"] == "stop"
    u = body["usage"]
    assert u["completion_tokens"] == 4 and u["total_tokens"] == u["prompt_tokens"] + 4
    assert body["timings"]["predicted_n"] == 4


def test_chat_completion_streaming_shape_and_usage_chunk(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "mock-b",
            "messages": [{"role": "user", "content": "hello"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(ch["delta"].get("content", "") for c in chunks for ch in c["choices"])
    assert text == "greetings from b"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 3
    assert all(c["usage"] is None for c in chunks[:-1])
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finals) == 1 and finals[0]["choices"][0]["finish_reason"] == "stop"
    assert finals[0]["timings"]["predicted_n"] == 3


def test_stream_without_include_usage_has_no_usage_chunk(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "mock-a",
            "messages": [{"role": "user", "content": "hello"}],
            "stream": True,
        },
    )
    chunks = sse_events(r.text)[:-1]
    assert all(c["choices"] for c in chunks) and all("usage" not in c for c in chunks)


def test_max_tokens_gives_length_finish(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "mock-a",
            "messages": [{"role": "user", "content": "hello"}],
            "max_completion_tokens": 2,
        },
    )
    choice = r.json()["choices"][0]
    assert choice["message"]["content"] == "hi there" and choice["finish_reason"] == "length"


def test_n_choices(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "mock-a", "messages": [{"role": "user", "content": "hello"}], "n": 2},
    )
    choices = r.json()["choices"]
    assert [c["index"] for c in choices] == [0, 1]
    assert all(c["message"]["content"] == "hi there from a" for c in choices)


def test_completions_non_streaming_and_echo(client: TestClient) -> None:
    r = client.post(
        "/v1/completions", json={"model": "mock-a", "prompt": "one two three", "max_tokens": 10}
    )
    body = r.json()
    assert body["object"] == "text_completion"
    assert body["choices"][0]["text"] == "three two one"
    r = client.post("/v1/completions", json={"model": "mock-a", "prompt": "one two", "echo": True})
    assert r.json()["choices"][0]["text"] == "one twotwo one"


def test_completions_streaming(client: TestClient) -> None:
    r = client.post(
        "/v1/completions",
        json={
            "model": "mock-a",
            "prompt": "a b c",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    text = "".join(ch["text"] for c in events[:-1] for ch in c["choices"])
    assert text == "c b a"
    assert events[-2]["usage"]["completion_tokens"] == 3


def test_logprobs_on_a_mock_is_a_clear_400(client: TestClient) -> None:
    r = client.post(
        "/v1/completions",
        json={"model": "mock-a", "prompt": "x", "echo": True, "logprobs": 1, "max_tokens": 0},
    )
    assert r.status_code == 400
    assert "logprobs" in r.json()["error"]["message"]


def test_unknown_model_is_404_in_openai_shape(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "nope", "messages": [{"role": "user", "content": "x"}]},
    )
    assert r.status_code == 404
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == "model_not_found" and err["param"] == "model"


def test_engine_failure_mid_request_is_an_error_without_internals(make_client) -> None:  # type: ignore[no-untyped-def]
    from openscout.engines.mock import MockEngine

    class Broken(MockEngine):
        def stream_chat(self, messages, params):  # type: ignore[no-untyped-def]
            raise RuntimeError("/secret/path/model.gguf exploded")

    c = make_client(engines={"broken": Broken("broken")})
    c = TestClient(c.app, base_url=str(c.base_url), raise_server_exceptions=False)
    r = c.post(
        "/v1/chat/completions",
        json={"model": "broken", "messages": [{"role": "user", "content": "x"}]},
    )
    assert r.status_code == 500
    assert r.json()["error"]["message"] == "internal error"
    assert "/secret" not in r.text


def test_health_reports_models(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["ready"] is True
    states = {m["id"]: m["state"] for m in body["models"]}
    assert states["mock-a"] == "ready" and states["smollm2-135m-instruct"] == "not_loaded"


def test_engine_failure_mid_stream_ends_with_an_error_event(make_client) -> None:  # type: ignore[no-untyped-def]
    from openscout.engines.base import Chunk
    from openscout.engines.mock import MockEngine

    class Dies(MockEngine):
        def stream_chat(self, messages, params):  # type: ignore[no-untyped-def]
            yield Chunk("partial", 0.0)
            raise RuntimeError("/secret/path exploded")

    c = make_client(engines={"dies": Dies("dies")})
    r = c.post(
        "/v1/chat/completions",
        json={"model": "dies", "messages": [{"role": "user", "content": "x"}], "stream": True},
    )
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["message"] == "internal error"
    assert "/secret" not in r.text


def test_completion_max_tokens_zero_only_counts_the_prompt(client: TestClient) -> None:
    """max_tokens 0 generates nothing, streamed or not (the engine is never asked to generate)."""
    from tests.server.conftest import sse_events

    body = {"model": "mock-a", "prompt": "one two three", "max_tokens": 0}
    r = client.post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["choices"][0]["text"] == "" and data["usage"]["completion_tokens"] == 0
    assert data["usage"]["prompt_tokens"] == 3
    s = client.post(
        "/v1/completions",
        json={**body, "stream": True, "echo": True, "stream_options": {"include_usage": True}},
    )
    assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
    events = sse_events(s.text)
    assert events[-1] == "[DONE]"
    assert events[0]["choices"][0]["text"] == "one two three"  # echo, nothing generated
    assert events[0]["choices"][0]["finish_reason"] == "length"
    assert events[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}


def test_openapi_documents_the_real_error_statuses(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "422" not in chat and {"400", "404", "413", "429", "503"} <= set(chat)
    assert "Retry-After" in chat["429"]["headers"]
    assert "text/event-stream" in chat["200"]["content"]
    req = schema["components"]["schemas"]["ChatRequest"]["properties"]
    assert req["messages"]["maxItems"] == 256  # the configured Limits, not just the types
