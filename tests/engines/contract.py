"""The Engine protocol contract, run against every engine (mock, llama.cpp, OpenAI-compatible)."""

from __future__ import annotations

import time

from openscout.engines.base import (
    BatchGenerator,
    BatchRequest,
    ChoiceScorer,
    Chunk,
    Engine,
    Final,
    SamplingParams,
    Tokenizer,
    TokenLogprobEngine,
    collect,
)


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
    check_optional_paths(engine)


def check_optional_paths(engine: Engine) -> None:
    """Each optional path an engine has answers as its one-at-a-time counterpart does."""
    if isinstance(engine, ChoiceScorer):
        options = [" Paris", " Rome", " a city"]
        together = engine.loglikelihood_choices("The capital of France is", options)
        alone = [engine.loglikelihood("The capital of France is", o) for o in options]
        assert [r.n_tokens for r in together] == [r.n_tokens for r in alone]
        # llama.cpp rounds a batch of rows differently from one row (DESIGN.md)
        assert all(abs(a.logprob - b.logprob) < 0.3 for a, b in zip(together, alone, strict=True))
    if isinstance(engine, BatchGenerator):
        reqs = [BatchRequest(prompt="Once upon a time"), BatchRequest(prompt="The sea is")]
        results = engine.generate_batch(reqs, SamplingParams(max_tokens=4))
        assert len(results) == 2
        assert all(1 <= r.final.completion_tokens <= 4 for r in results)
        assert all(r.text for r in results)
    if isinstance(engine, Tokenizer):
        toks = engine.tokenize("Hello there, world")
        assert toks and all(isinstance(t, int) for t in toks)
    if isinstance(engine, TokenLogprobEngine):
        lp = engine.token_logprobs("The capital of France is Paris", 2)
        n = len(lp.tokens)
        assert n >= 2 and len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == n
        assert all(x is None or x <= 0.0 for x in lp.token_logprobs)
        assert lp.text_offset == sorted(lp.text_offset)
