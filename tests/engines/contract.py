"""The Engine protocol contract, run against every engine (mock, llama.cpp, OpenAI-compatible)."""

from __future__ import annotations

import time

from openscout.engines.base import Chunk, Engine, Final, SamplingParams, collect


def check_engine_contract(engine: Engine, chat: bool = True) -> None:
    assert isinstance(engine, Engine)
    params = SamplingParams(max_tokens=8)
    if chat:
        events = list(engine.stream_chat([{"role": "user", "content": "Say hello."}], params))
    else:
        events = list(engine.stream_completion("Once upon a time", params))
    assert events and isinstance(events[-1], Final), "a stream ends with exactly one Final"
    assert sum(isinstance(e, Final) for e in events) == 1
    chunks = [e for e in events if isinstance(e, Chunk)]
    assert chunks, "some text was produced"
    times = [c.t for c in chunks]
    assert times == sorted(times), "chunk timestamps are monotonic"
    assert all(t <= time.perf_counter() for t in times)
    final = events[-1]
    assert isinstance(final, Final)
    assert 1 <= final.completion_tokens <= 8
    assert final.finish_reason in ("stop", "length")
    text, final2, _ = collect(iter(events))
    assert text == "".join(c.text for c in chunks) and final2 is final
    if engine.capabilities.loglikelihood:
        r = engine.loglikelihood("The capital of France is", " Paris")
        assert r.logprob <= 0.0 and r.n_tokens >= 1
