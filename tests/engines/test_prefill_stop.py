"""A caller that hangs up during a long prompt stops the engine at the next n_batch chunk of
the prompt, not after all of it (41st probe: a gone client held the model 117 s for a
5,000-token prompt). Main context, scoring and lanes, on the real SmolLM2."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from openscout.engines.base import SamplingParams, collect
from openscout.engines.cancel import stoppable
from openscout.errors import ClientGoneError

pytestmark = pytest.mark.real_model

# about 600 tokens, 5 chunks of a 128-token batch: chunks as many as at n_batch 512 with
# 2,400 tokens, in a quarter of the prefill (scoring reads every position's logits)
LONG = "The quick brown fox jumps over the lazy dog. " * 60


@pytest.fixture(scope="module")
def engine(smollm2_path: Any) -> Iterator[Any]:
    from openscout.engines.llamacpp import LlamaCppEngine

    e = LlamaCppEngine("smol-4k", smollm2_path, n_ctx=4096, n_batch=128)
    assert len(e.tokenize(LONG)) > 3 * e.llm.n_batch
    yield e
    e.close()


@pytest.fixture
def hang_up_after_one_decode(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list]:
    """The caller leaves as soon as the first decode of the prompt is done; `decodes` holds,
    for each decode, whether the caller had already left."""
    import llama_cpp
    import llama_cpp.llama_cpp

    stop, decodes = threading.Event(), []
    real = llama_cpp.llama_decode

    def spy(ctx: Any, batch: Any) -> int:
        decodes.append(stop.is_set())
        rc = real(ctx, batch)
        stop.set()
        return int(rc)

    monkeypatch.setattr(llama_cpp, "llama_decode", spy)  # as the engine calls it
    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_decode", spy)  # as Llama.eval does
    return stop, decodes


def test_a_stream_stops_between_prompt_chunks(engine: Any, hang_up_after_one_decode) -> None:  # type: ignore[no-untyped-def]
    stop, decodes = hang_up_after_one_decode
    with stoppable(stop), pytest.raises(ClientGoneError):
        collect(engine.stream_completion(LONG, SamplingParams(max_tokens=4, temperature=0)))
    assert decodes == [False]  # one chunk, then nothing for the gone caller


def test_scoring_stops_between_prompt_chunks(engine: Any, hang_up_after_one_decode) -> None:  # type: ignore[no-untyped-def]
    stop, decodes = hang_up_after_one_decode
    with stoppable(stop), pytest.raises(ClientGoneError):
        engine.token_logprobs(LONG)
    assert decodes == [False]


def test_a_chunked_prompt_gives_the_answer_and_scores_it_gave_whole(engine: Any) -> None:
    """The chunks are those llama.cpp's own eval decodes, so nothing changes for a caller
    that stays, and a scoring call cut short leaves no stale cache behind."""
    p = SamplingParams(max_tokens=12, temperature=0)
    chunked = collect(engine.stream_completion(LONG, p))[0]
    engine._prefill = lambda tokens: None  # the old way: llama.cpp decodes the prompt whole
    try:
        whole = collect(engine.stream_completion(LONG, p))[0]
    finally:
        del engine._prefill
    assert chunked == whole and chunked
    before = engine.loglikelihood(LONG, " The end.")
    stop = threading.Event()
    stop.set()
    with stoppable(stop), pytest.raises(ClientGoneError):
        engine.loglikelihood(LONG[:-20] + "cat.", " The end.")
    assert engine.loglikelihood(LONG, " The end.") == before


def test_a_lane_lets_go_of_a_gone_caller_within_a_chunk(
    engine: Any, hang_up_after_one_decode
) -> None:  # type: ignore[no-untyped-def]
    stop, decodes = hang_up_after_one_decode
    lanes = engine.serve_lanes(2, 2048)
    with stoppable(stop), contextlib.suppress(ClientGoneError):  # or its lane ended it
        final = collect(lanes.stream_completion(LONG, SamplingParams(max_tokens=4)))[1]
        assert final.finish_reason == "cancelled"
    assert decodes == [False]
    text = collect(lanes.stream_completion("Hello", SamplingParams(max_tokens=3)))[0]
    assert text  # the lane is free again
