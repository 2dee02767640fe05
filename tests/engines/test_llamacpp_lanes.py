"""Concurrent streams sharing one continuous batch of lanes, on the real SmolLM2 model."""

from __future__ import annotations

import threading
import time

import pytest

from openscout.engines.base import Chunk, Engine, Final, LaneServing, SamplingParams, collect

pytestmark = pytest.mark.real_model

PROMPTS = [
    "Write a haiku about the sea.",
    "List three fruits.",
    "What is 2+2? Explain.",
    "Name a famous painter and one of their works.",
]


def _chat(text: str) -> list:
    return [{"role": "user", "content": text}]


@pytest.fixture
def lanes(smollm2_engine) -> Engine:
    assert isinstance(smollm2_engine, LaneServing)
    view = smollm2_engine.serve_lanes(4, 512)
    assert view.capabilities.max_parallel == 4
    return view


def test_concurrent_streams_interleave_and_match_their_answers_alone(lanes: Engine) -> None:
    p = SamplingParams(max_tokens=48)
    alone = [collect(lanes.stream_chat(_chat(q), p))[0] for q in PROMPTS]
    got: list[str | None] = [None] * len(PROMPTS)
    first_at: list[float] = [0.0] * len(PROMPTS)
    end_at: list[float] = [0.0] * len(PROMPTS)

    def client(i: int) -> None:
        parts = []
        for ev in lanes.stream_chat(_chat(PROMPTS[i]), p):
            if isinstance(ev, Chunk):
                first_at[i] = first_at[i] or time.perf_counter()
                parts.append(ev.text)
        end_at[i] = time.perf_counter()
        got[i] = "".join(parts)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(g for g in got)
    # every request had its first token before any other request finished: decoded together
    assert max(first_at) < min(end_at)
    # llama.cpp rounds a batch of rows differently from one row (DESIGN.md): near ties may
    # flip, so most answers, not necessarily all, are equal to the answer alone
    assert sum(a == g for a, g in zip(alone, got, strict=True)) >= 3


def test_a_reader_that_leaves_frees_its_lane(lanes: Engine) -> None:
    long = SamplingParams(max_tokens=400)
    streams = [lanes.stream_completion(f"Count slowly: {i},", long) for i in range(4)]
    for s in streams:
        assert isinstance(next(s), Chunk)  # all four lanes are taken
    for s in streams:
        s.close()  # the clients disconnect
    t0 = time.perf_counter()
    text, final, _ = collect(lanes.stream_completion("One, two,", SamplingParams(max_tokens=4)))
    assert final.completion_tokens >= 1 and text
    assert time.perf_counter() - t0 < 20  # did not wait for 4 x 400 tokens


def test_seeds_and_stops_stay_per_request(lanes: Engine) -> None:
    seeded = SamplingParams(temperature=1.0, max_tokens=16, seed=7)
    a = collect(lanes.stream_completion("My favourite food is", seeded))[0]
    b = collect(lanes.stream_completion("My favourite food is", seeded))[0]
    assert a == b
    stopped = collect(
        lanes.stream_completion("1, 2, 3,", SamplingParams(max_tokens=24, stop=(" 6",)))
    )
    assert " 6" not in stopped[0] and stopped[1].finish_reason == "stop"


def test_a_prompt_too_long_for_a_lane_is_answered_on_the_main_context(lanes: Engine) -> None:
    prompt = "word " * 600  # more than a 512-token lane
    events = list(lanes.stream_completion(prompt, SamplingParams(max_tokens=4)))
    assert isinstance(events[-1], Final) and events[-1].prompt_tokens > 512


def test_memory_stays_flat_over_many_requests(lanes: Engine) -> None:
    """Lanes are reused, not grown: RSS after 80 more requests is within a few MB."""
    import resource

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    def burst(n: int) -> None:
        threads = [
            threading.Thread(
                target=lambda i=i: collect(
                    lanes.stream_completion(f"Item {i}: one, two,", SamplingParams(max_tokens=6))
                )
            )
            for i in range(n)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    for _ in range(3):
        burst(4)  # warm: every lane used once
    before = rss_mb()
    for _ in range(20):
        burst(4)
    assert rss_mb() - before < 16


def test_an_empty_prompt_is_refused_not_left_in_a_lane(lanes: Engine) -> None:
    from openscout.errors import EngineError

    with pytest.raises(EngineError, match="empty"):
        collect(lanes.stream_completion("", SamplingParams(max_tokens=4)))
    _, final, _ = collect(lanes.stream_completion("One, two,", SamplingParams(max_tokens=3)))
    assert final.completion_tokens >= 1


def test_a_closed_engine_with_lanes_is_freed_without_waiting_for_the_collector(
    smollm2_path,
) -> None:
    """The lane server held its engine (its lock guard was the engine's bound method), and the
    engine held the lane server: a cycle. A closed model's Python-side buffers (llama-cpp's
    logits array, 96 MB of address space for SmolLM2) stayed until a full garbage collection,
    and a server under `ulimit -v` that evicted models in turn ran out of address space."""
    import gc
    import weakref

    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path, n_ctx=2048)
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        view = engine.serve_lanes(2, 256)
        _, final, _ = collect(view.stream_completion("Hello", SamplingParams(max_tokens=3)))
        assert isinstance(final, Final) and final.completion_tokens > 0
        freed = weakref.ref(engine)
        llm = weakref.ref(engine.llm)
        engine.close()
        del engine, view
        assert freed() is None and llm() is None
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("temperature", [1e-310, 5e-324, 1e-7])
def test_a_temperature_too_small_to_divide_by_is_greedy(lanes: Engine, temperature: float) -> None:
    """Scores over a denormal temperature overflowed to inf, and sampling answered 500
    "internal error" (twenty-sixth probe). Below the floor the limit applies: greedy."""
    greedy = collect(lanes.stream_chat(_chat(PROMPTS[1]), SamplingParams(max_tokens=12)))[0]
    tiny = SamplingParams(temperature=temperature, max_tokens=12, seed=3)
    assert tiny.greedy
    assert collect(lanes.stream_chat(_chat(PROMPTS[1]), tiny))[0] == greedy
