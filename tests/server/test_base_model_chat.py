"""Chatting with the bundled base model (gemma-3-270m) through the API: a Q/A prompt with stop
strings, so the reply carries no chat-template tokens and stops instead of repeating a line."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from openscout.server.app import create_app
from tests.server.conftest import BASE, sse_events

pytestmark = pytest.mark.real_model
GEMMA = "gemma-3-270m"
TEMPLATE_TOKENS = ("<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>")
ASK = {
    "model": GEMMA,
    "messages": [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "What is the capital of Italy?"},
    ],
    "max_tokens": 48,
    "temperature": 0,
}


@pytest.fixture
def client(settings, gemma_path) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(settings), base_url=BASE)


def clean(text: str) -> None:
    assert text.strip()
    assert not any(t in text for t in TEMPLATE_TOKENS), text
    assert "\n\n" not in text and "Question:" not in text, text  # stopped at the answer's end


def test_a_base_model_answers_a_chat_without_template_tokens(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=ASK)
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    clean(choice["message"]["content"])
    assert choice["finish_reason"] == "stop"


def test_a_streamed_base_model_chat_is_clean_too(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json={**ASK, "stream": True})
    assert r.status_code == 200, r.text
    events = [e for e in sse_events(r.text) if e != "[DONE]"]
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    clean(text)


def test_the_chat_page_marks_the_base_model(client: TestClient) -> None:
    page = client.get("/chat").text
    assert f'data-base="1">{GEMMA} (base model)</option>' in page
    assert 'id="base-note"' in page


def test_chat_logprobs_take_the_same_q_a_prompt(client: TestClient) -> None:
    """With logprobs the answer comes from the token-id path; it must be asked the same way."""
    plain = client.post("/v1/chat/completions", json=ASK)
    scored = client.post("/v1/chat/completions", json={**ASK, "logprobs": True, "top_logprobs": 1})
    assert plain.status_code == scored.status_code == 200, scored.text
    text = scored.json()["choices"][0]["message"]["content"]
    clean(text)
    assert text == plain.json()["choices"][0]["message"]["content"]
    assert scored.json()["choices"][0]["logprobs"]["content"]
