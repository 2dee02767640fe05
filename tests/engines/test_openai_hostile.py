"""Upstream answers that are hostile rather than broken: a stream that never ends, values of
the wrong type, JSON nested past Python's stack. Each is a bounded answer or a clear
EngineError, never a crash or an endless relay (independent probe, issue 17)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import pytest

from openscout.engines.base import SamplingParams, collect
from openscout.engines.openai_http import OpenAIEngine
from openscout.errors import EngineError

SSE = {"content-type": "text/event-stream"}


def _engine(handler) -> OpenAIEngine:  # type: ignore[no-untyped-def]
    return OpenAIEngine("u", "http://upstream.test/v1", transport=httpx.MockTransport(handler))


def _event(delta: object) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": delta}}]}).encode() + b"\n\n"


def test_a_stream_that_ignores_max_tokens_is_cut_near_it() -> None:
    sent = itertools.count()

    def endless() -> Iterator[bytes]:
        for _ in sent:
            yield _event("tok ")

    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=endless()))
    _, final, chunks = collect(
        engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=50))
    )
    assert final.finish_reason == "length"
    assert 50 <= len(chunks) <= 2 * 50 + 16
    assert next(sent) < 1000  # the relay stopped reading, too


@pytest.mark.parametrize(
    "body",
    [
        {"choices": [{"message": {"content": 42}, "finish_reason": "stop"}]},
        {"choices": "not a list"},
        {
            "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": "many", "completion_tokens": 2},
        },
    ],
)
def test_wrong_types_in_a_whole_answer_are_engine_errors_or_ignored(body: dict) -> None:
    engine = _engine(lambda request: httpx.Response(200, json=body))
    engine.stream = False
    try:
        text, final, _ = collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )
    except EngineError as e:
        assert "malformed" in e.message
    else:  # only the bad usage is survivable: it is ignored, not trusted
        assert text == "ok" and final.extra.get("usage_estimated")


def test_a_number_as_streamed_content_is_an_engine_error() -> None:
    def body() -> Iterator[bytes]:
        yield _event(7)
        yield b"data: [DONE]\n\n"

    engine = _engine(lambda request: httpx.Response(200, headers=SSE, content=body()))
    with pytest.raises(EngineError, match="malformed"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )


def test_json_nested_past_the_stack_is_an_engine_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    engine = _engine(
        lambda request: httpx.Response(
            200, headers={"content-type": "application/json"}, content=deep
        )
    )
    engine.stream = False
    with pytest.raises(EngineError, match="not JSON"):
        collect(
            engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=8))
        )


def test_a_stream_that_trickles_bytes_but_no_lines_is_stopped() -> None:
    """One byte at a time never trips the per-read timeout; no whole line for the timeout is
    a transient 'stalled stream' (the probe held a model's lanes this way until restart)."""
    import time

    sent = itertools.count()

    def trickle() -> Iterator[bytes]:
        for _ in sent:
            time.sleep(0.02)
            yield b"x"

    engine = OpenAIEngine(
        "u",
        "http://upstream.test/v1",
        timeout_s=0.3,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, headers=SSE, content=trickle())
        ),
    )
    with pytest.raises(EngineError) as info:
        collect(engine.stream_chat([{"role": "user", "content": "hi"}], SamplingParams()))
    assert info.value.transient and info.value.cause == "stalled stream"
    assert next(sent) < 200


def test_a_compressed_answer_is_refused_before_it_is_unpacked() -> None:
    """1 KB of gzip-on-gzip unpacked to 512 MiB inside httpx, before any bound of ours
    (fourth probe). We ask for plain answers and refuse any other."""
    import gzip

    bomb = gzip.compress(gzip.compress(b"{" + b" " * (64 * 2**20)))
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("accept-encoding", ""))
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip, gzip"})

    engine = OpenAIEngine(
        "u", "http://upstream.test/v1", transport=httpx.MockTransport(handler), loglikelihood=True
    )
    params = SamplingParams(max_tokens=4)
    with pytest.raises(EngineError, match="compressed"):
        collect(engine.stream_completion("hi", params))
    with pytest.raises(EngineError, match="compressed"):
        engine.loglikelihood("a", " b")
    assert asked and set(asked) == {"identity"}
    assert len(bomb) < 200_000


def test_a_scoring_answer_is_read_within_the_deadline() -> None:
    """Log-likelihood requests read their body whole with no deadline (fourth probe: a byte
    every 2 s ran past 200 s)."""
    import time

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            time.sleep(0.2)
            yield b" "

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    engine = OpenAIEngine(
        "u",
        "http://upstream.test/v1",
        transport=httpx.MockTransport(handler),
        timeout_s=1,
        loglikelihood=True,
    )
    start = time.monotonic()
    with pytest.raises(EngineError, match="in time"):
        engine.loglikelihood("a", " b")
    assert time.monotonic() - start < 10


def test_an_error_body_that_trickles_ends_at_the_deadline() -> None:
    """A 500 whose body came a byte a second was read for as long as it lasted (fifth probe)."""
    import time

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            time.sleep(0.2)
            yield b" "

    engine = OpenAIEngine(
        "u",
        "http://upstream.test/v1",
        transport=httpx.MockTransport(lambda request: httpx.Response(500, content=trickle())),
        timeout_s=1,
    )
    start = time.monotonic()
    with pytest.raises(EngineError, match="HTTP 500"):
        collect(engine.stream_completion("hi", SamplingParams(max_tokens=2)))
    assert time.monotonic() - start < 10
