"""`usage` counts a prompt once however many choices share it, and sums the completion tokens
over the choices (OpenAI's convention), on every /v1 path: the same chat request reported 31
prompt tokens unstreamed and 124 streamed with n=4, and completions counted the prompt n times
(41st probe)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openscout.config import Settings
from openscout.server.app import create_app
from tests.server.conftest import BASE, sse_events

STREAMED = {"stream": True, "stream_options": {"include_usage": True}}


def _usage(c: TestClient, path: str, body: dict[str, Any]) -> dict[str, int]:
    r = c.post(path, json=body)
    assert r.status_code == 200, r.text
    if body.get("stream"):
        return sse_events(r.text)[-2]["usage"]  # type: ignore[no-any-return]
    return r.json()["usage"]  # type: ignore[no-any-return]


def test_chat_counts_its_prompt_once_streamed_or_not(client: TestClient) -> None:
    chat = {"model": "mock-a", "messages": [{"role": "user", "content": "hello"}], "n": 3}
    once = _usage(client, "/v1/chat/completions", {**chat, "n": 1})
    for body in (chat, {**chat, **STREAMED}):
        u = _usage(client, "/v1/chat/completions", body)
        assert u["prompt_tokens"] == once["prompt_tokens"], body
        assert u["completion_tokens"] == 3 * once["completion_tokens"]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


@pytest.mark.parametrize("extra", [{}, STREAMED, {"max_tokens": 0}, {"max_tokens": 0, **STREAMED}])
def test_completions_count_each_prompt_once(client: TestClient, extra: dict[str, Any]) -> None:
    # the mock counts words: 3 + 2 prompt tokens, whatever n is
    body = {"model": "mock-a", "prompt": ["one two three", "four five"], "n": 3, **extra}
    u = _usage(client, "/v1/completions", body)
    assert u["prompt_tokens"] == 5
    single = _usage(client, "/v1/completions", {**body, "prompt": "one two three", "n": 1})
    assert single["prompt_tokens"] == 3
    if body.get("max_tokens") != 0:  # every choice's completion counts
        assert u["completion_tokens"] > 3 * single["completion_tokens"] > 0


MODEL = "smollm2-135m-instruct"


@pytest.fixture
def real(settings: Settings, smollm2_path: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings, preload=[MODEL]), base_url=BASE) as c:
        yield c


@pytest.mark.real_model
def test_token_id_paths_count_each_prompt_once(real: TestClient) -> None:
    """The paths that work from token ids (id prompts, echo/logprobs, chat logprobs)."""
    ids = [1, 2, 3, 4]
    base = {"model": MODEL, "max_tokens": 2, "temperature": 0}
    u = _usage(real, "/v1/completions", {**base, "prompt": [ids], "n": 4})
    assert u["prompt_tokens"] == 4 and u["completion_tokens"] == 8
    u = _usage(real, "/v1/completions", {**base, "prompt": [ids, ids[:2]], "n": 2, "logprobs": 1})
    assert u["prompt_tokens"] == 6
    chat = {**base, "messages": [{"role": "user", "content": "hi"}]}
    one = _usage(real, "/v1/chat/completions", {**chat, "logprobs": True})
    u = _usage(real, "/v1/chat/completions", {**chat, "logprobs": True, "n": 3})
    assert u["prompt_tokens"] == one["prompt_tokens"] and u["completion_tokens"] == 6
    u = _usage(real, "/v1/chat/completions", {**chat, "n": 3, **STREAMED})
    assert u["prompt_tokens"] == one["prompt_tokens"]
