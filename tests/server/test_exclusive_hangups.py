"""Requests served whole in a worker thread (token ids, logprobs, max_tokens 0, the tokenizer
routes) give up their queue place, or stop their engine, when the client hangs up
(independent probe: they held the model until served, whoever was still listening)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from openscout.engines.base import Message, SamplingParams, TokenCompletion
from openscout.engines.cancel import check_stop, stoppable
from openscout.engines.mock import MockEngine
from openscout.errors import ClientGoneError
from openscout.server.app import create_app
from openscout.server.limits import Limits
from tests.server.live import live_server


class SlowTokenEngine(MockEngine):
    """Generates one id every `delay_s` on the token-id path, checking for a stop each time."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("slow-ids", max_parallel=1)
        self.token_delay_s = delay_s
        self.generated: list[int] = []  # ids generated per complete_tokens call

    def encode(
        self, text: str, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        return [ord(c) % 100 for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(chr(97 + i % 26) for i in ids)

    def tokenizer_info(self) -> dict[str, object]:
        return {"vocab_size": 100}

    def chat_tokens(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> tuple[list[int], tuple[str, ...]]:
        return self.encode(" ".join(m["content"] for m in messages)), ()

    def complete_tokens(
        self, prompt: Sequence[int], params: SamplingParams, top_n: int | None, echo: bool
    ) -> TokenCompletion:
        out: list[int] = []
        try:
            for i in range(params.max_tokens):
                check_stop()
                time.sleep(self.token_delay_s)
                out.append(i % 100)
        finally:
            self.generated.append(len(out))
        return TokenCompletion(len(prompt), out, self.decode(out), "length")


def _ask(url: str, max_tokens: int, timeout: float) -> httpx.Response:
    return httpx.post(
        url + "/v1/completions",
        json={"model": "slow-ids", "prompt": [1, 2, 3], "max_tokens": max_tokens},
        timeout=timeout,
    )


def test_a_client_that_hangs_up_stops_its_running_token_completion(settings) -> None:  # type: ignore[no-untyped-def]
    engine = SlowTokenEngine(delay_s=0.05)
    app = create_app(settings, engines={"slow-ids": engine})
    with live_server(app) as url:
        with contextlib.suppress(httpx.TimeoutException):
            _ask(url, 400, timeout=1.0)  # 400 ids at 50 ms: 20 s if nobody stopped it
        late = _ask(url, 2, timeout=15)
    assert late.status_code == 200, late.text
    assert late.json()["choices"][0]["text"] == "ab"
    assert engine.generated[0] < 200, engine.generated  # stopped well before its 400


def test_queued_token_requests_that_hang_up_free_their_places(settings) -> None:  # type: ignore[no-untyped-def]
    engine = SlowTokenEngine(delay_s=0.05)
    app = create_app(settings, engines={"slow-ids": engine}, limits=Limits(queue_per_model=2))
    with live_server(app) as url:
        holder = threading.Thread(target=lambda: _ask(url, 60, timeout=60))
        holder.start()  # holds the one slot for ~3 s
        time.sleep(0.5)
        for _ in range(2):  # fill the queue, then hang up
            with contextlib.suppress(httpx.TimeoutException):
                _ask(url, 60, timeout=0.5)
        time.sleep(1.5)  # the server notices within its poll interval
        late = _ask(url, 2, timeout=60)
        holder.join(timeout=60)
    assert late.status_code == 200, late.text  # not 429: the gone waiters left the queue
    assert len(engine.generated) == 2  # the holder and the late one; the gone ones never ran


def test_the_tokenizer_routes_take_the_same_path(settings) -> None:  # type: ignore[no-untyped-def]
    engine = SlowTokenEngine(delay_s=0.05)
    app = create_app(settings, engines={"slow-ids": engine})
    with live_server(app) as url:
        r = httpx.post(url + "/tokenize", json={"model": "slow-ids", "prompt": "hi"}, timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.real_model
def test_the_llamacpp_token_loop_stops_when_asked(smollm2_engine: Any) -> None:
    stop = threading.Event()
    stop.set()
    ids = smollm2_engine.encode("Once upon a time")
    with stoppable(stop), pytest.raises(ClientGoneError):
        smollm2_engine.complete_tokens(ids, SamplingParams(max_tokens=50), None, False)
    # and the engine serves the next call as usual
    c = smollm2_engine.complete_tokens(ids, SamplingParams(max_tokens=3), None, False)
    assert len(c.ids) >= 1
