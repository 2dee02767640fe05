"""Every way a server can fail is an error that says whether to ask again, never an empty
answer: real misbehaving servers on 127.0.0.1 (tests/engines/fake_openai.py)."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from openscout.engines.base import SamplingParams, can_score, collect
from openscout.engines.logprob_probe import judge_alignment
from openscout.engines.openai_http import OpenAIEngine, retry_after_s
from openscout.errors import CapabilityError, EngineError
from tests.engines.fake_openai import FakeServer, counting_logprobs, serve

MSGS = [{"role": "user", "content": "Item 1: say w1"}]
P = SamplingParams(max_tokens=8)


@pytest.mark.parametrize(
    "behaviour, cause",
    [
        ("truncated", "no finish event"),
        ("cut", "stream cut"),
        ("empty", "empty body"),
        ("unavailable", "HTTP 503"),
    ],
)
@pytest.mark.parametrize("chat", [True, False])
def test_broken_answers_are_transient_errors(behaviour: str, cause: str, chat: bool) -> None:
    with serve(FakeServer(behaviour)) as fake:
        engine = OpenAIEngine("x", fake.url)
        stream = (
            engine.stream_chat(MSGS, P) if chat else engine.stream_completion("Item 1: say w1", P)
        )
        with pytest.raises(EngineError) as info:
            collect(stream)
    assert info.value.transient and info.value.cause == cause
    assert fake.outcomes() == [behaviour if behaviour != "unavailable" else "503"]


def test_a_whole_stream_is_an_answer() -> None:
    with serve(FakeServer("ok")) as fake:
        text, final, _ = collect(OpenAIEngine("x", fake.url).stream_chat(MSGS, P))
    assert text == "ok w1" and final.finish_reason == "stop" and final.completion_tokens == 2


def test_an_interrupted_stream_is_not_taken_for_an_empty_answer() -> None:
    """llama-cpp-python's server, when a second request arrives, ends the running stream with
    [DONE] and no finish_reason, then closes mid-body: that is an error, not an answer."""
    fake = FakeServer("cut_concurrent", reply=lambda p: "one two three four five six seven")
    fake.chunk_delay_s = 0.05
    with serve(fake):
        engine = OpenAIEngine("x", fake.url)
        first = engine.stream_chat(MSGS, P)
        next(first)  # the first stream is running
        second = OpenAIEngine("y", fake.url).stream_chat(MSGS, P)
        import threading

        got: dict[str, Any] = {}
        t = threading.Thread(target=lambda: got.update(second=collect(second)))
        t.start()
        with pytest.raises(EngineError) as info:
            collect(first)
        t.join(timeout=20)
    assert info.value.transient and info.value.cause in ("no finish event", "stream cut")
    assert got["second"][0] == "one two three four five six seven"
    assert fake.outcomes() == ["interrupted", "ok"]


def test_429_carries_retry_after() -> None:
    fake = FakeServer("rate_limit", retry_after=7, concurrent_ok=0)
    with serve(fake), pytest.raises(EngineError) as info:
        collect(OpenAIEngine("x", fake.url).stream_chat(MSGS, P))
    e = info.value
    assert e.transient and e.cause == "HTTP 429" and e.retry_after == 7.0
    assert "too many requests" in e.message


def test_client_errors_are_not_transient(bad_status_server: str) -> None:
    with pytest.raises(EngineError) as info:
        collect(OpenAIEngine("x", bad_status_server).stream_chat(MSGS, P))
    assert not info.value.transient and info.value.cause == "HTTP 400"


@pytest.fixture
def bad_status_server() -> Any:
    import threading
    from http.server import ThreadingHTTPServer

    from tests.engines.test_openai_engine import _Misbehaving

    handler = type("H", (_Misbehaving,), {"status": 400, "body": b'{"error": "bad"}'})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after_s("3") == 3.0 and retry_after_s(" 0.5 ") == 0.5
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (retry_after_s(date, now=now) or 0) <= 31
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    # year 99999999999: an OverflowError, a 500 on every route (twelfth probe)
    assert retry_after_s("Mon, 01 Jan 99999999999 00:00:00 GMT") is None


# -- the prompt log-prob probe ---------------------------------------------------------------


def test_probe_tells_aligned_from_shifted() -> None:
    aligned = judge_alignment(counting_logprobs(0))
    shifted = judge_alignment(counting_logprobs(1))
    assert aligned.trusted and aligned.verdict == "aligned"
    assert not shifted.trusted and shifted.verdict == "shifted by one token"
    no_tops = {**counting_logprobs(1), "top_logprobs": None}
    assert judge_alignment(no_tops).verdict == "shifted by one token"
    assert judge_alignment({"tokens": []}).verdict == "failed"


def test_probe_over_http_decides_the_capability() -> None:
    for shift, trusted in ((0, True), (1, False)):
        fake = FakeServer("ok", echo_fn=lambda _p, s=shift: counting_logprobs(s))
        with serve(fake):
            engine = OpenAIEngine("x", fake.url, loglikelihood=None)
            assert engine.capabilities.loglikelihood_pending
            collect(engine.stream_chat(MSGS, P))  # chatting does not pay for a probe
            assert fake.outcomes() == ["ok"]
            assert can_score(engine) is trusted
            assert engine.capabilities.loglikelihood_basis.startswith("probe: ")
            assert can_score(engine) is trusted and not engine.capabilities.loglikelihood_pending
        assert fake.outcomes() == ["ok", "echo"]  # probed once


def test_a_server_without_echo_is_not_trusted(bad_status_server: str) -> None:
    engine = OpenAIEngine("x", bad_status_server, loglikelihood=None)
    assert not can_score(engine)
    assert "failed" in engine.capabilities.loglikelihood_basis
    with pytest.raises(CapabilityError):
        engine.loglikelihood("The capital of France is", " Paris")
    stated = OpenAIEngine("x", "http://127.0.0.1:9/v1", loglikelihood=True)
    assert stated.capabilities.loglikelihood_basis == "stated by the user"


def test_echo_log_probs_of_unequal_lengths_are_a_failed_probe() -> None:
    """12 offsets and log-probs but one top entry (or one token) was an IndexError out of
    `eval` (twelfth probe)."""
    from openscout.engines.openai_wire import is_number

    good = counting_logprobs(0)
    for cut in ("top_logprobs", "tokens"):
        odd = {**good, cut: good[cut][:1]}
        assert judge_alignment(odd).verdict == "failed"
    assert (
        judge_alignment({**good, "top_logprobs": [{"1": "x", "2": 1.0}] * 40}).verdict == "failed"
    )
    assert not is_number(float("-inf")) and not is_number(float("nan")) and is_number(-1.5)
