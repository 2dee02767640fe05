"""The measurement loop: what it runs, what it summarises, memory and the concurrency sweep.

Timing figures are never asserted here; counts, structure and hand-computed summaries are.
"""

from __future__ import annotations

import pytest

from openscout.engines.base import Capabilities
from openscout.engines.mock import MockEngine
from openscout.errors import ConstraintError
from openscout.perf.measure import (
    BenchConfig,
    Footprint,
    RunSample,
    Stat,
    measure,
    summarise,
)
from openscout.perf.memory_probe import MemoryProbe
from tests.report.test_compare_json import DEPTH

REPLY = " ".join(f"w{i}" for i in range(40))


class Counter:
    def __init__(self) -> None:
        self.planned = 0
        self.done = 0
        self.labels: list[str] = []

    def plan(self, units: int) -> None:
        self.planned += units

    def advance(self, description: str) -> None:
        self.done += 1
        self.labels.append(description)


def test_stat_of_values() -> None:
    s = Stat.of([3.0, None, 1.0, 2.0, 10.0])
    assert (s.median, s.min, s.max, s.n) == (2.5, 1.0, 10.0, 4)
    assert Stat.of([None]) == Stat(None, None, None, 0)


def test_summarise_hand_computed() -> None:
    samples = [
        RunSample(100, 11, 0.5, 20.0, 200.0, 1.0, [0.05] * 10),
        RunSample(100, 11, 0.7, 10.0, 142.0, 1.6, [0.1] * 10),
        RunSample(100, 9, 0.6, 30.0, 166.0, 1.2, [0.01] * 8),
    ]
    fp = Footprint(weight_bytes=10**9, kv_bytes_per_token=1000)
    p = summarise("short", samples, fp, bandwidth_gbs=100.0)
    assert p.runs == 3 and p.prompt_tokens == 100 and p.completion_tokens == 11
    assert (p.ttft_s.median, p.output_tps.median, p.e2e_s.median) == (0.6, 20.0, 1.2)
    assert p.itl_p50_s == pytest.approx(0.05)
    assert p.itl_p99_s == pytest.approx(0.1)
    # bytes/token = 1e9 + 1000 * (100 + 11/2); MBU = that * 20 tok/s / 100e9 B/s
    assert p.mbu == pytest.approx((1e9 + 1000 * 105.5) * 20 / 100e9)


def test_measure_runs_warmup_repeats_and_sweep() -> None:
    engine = MockEngine("mock", default=REPLY, max_parallel=4)
    cfg = BenchConfig(repeats=2, warmup=1, max_tokens=16, concurrency=(1, 2, 4, 8))
    bar = Counter()
    r = measure(lambda: engine, "mock", "chat", cfg, progress=bar)
    # 1 warm-up + 2 prompts x 2 timed + sweep at 1, 2 and 4 clients (8 > max_parallel) x 2 rounds
    assert engine.calls == 1 + 2 * 2 + (1 + 2 + 4) * 2 == cfg.runs(engine)
    assert bar.planned == bar.done == engine.calls
    assert set(r.prompts) == {"short", "long"}
    for p in r.prompts.values():
        assert p.runs == 2 and p.completion_tokens == 16 and p.output_tps.n == 2
        assert p.itl_p50_s is not None and p.itl_p99_s is not None
    assert [s.concurrency for s in r.sweep] == [1, 2, 4]
    assert [s.requests for s in r.sweep] == [2, 4, 8]
    assert r.memory_bytes is None  # not an in-process engine
    d = r.as_dict()
    assert d["output_tps"] == r.prompts["short"].output_tps.median
    assert d["prefill_tps"] == r.prompts["long"].prefill_tps.median
    assert r.throughput_at(4) == (r.sweep[2].aggregate_input_tps, r.sweep[2].aggregate_output_tps)
    assert r.throughput_at(1) == (r.prefill_tps, r.output_tps)


def test_no_sweep_for_one_request_at_a_time() -> None:
    engine = MockEngine("mock", default=REPLY, max_parallel=1)
    r = measure(
        lambda: engine, "mock", "completion", BenchConfig(repeats=1, warmup=0, prompts=("short",))
    )
    assert r.sweep == [] and engine.calls == 1


class _Hungry(MockEngine):
    """A mock that holds 64 MiB while loaded, to check the memory probe sees it."""

    def __init__(self) -> None:
        super().__init__("hungry", default=REPLY)
        self.capabilities = Capabilities(max_parallel=1)
        self.block = bytearray(64 * 2**20)
        for i in range(0, len(self.block), 4096):
            self.block[i] = 1  # touch every page so it is resident


def test_memory_probe_sees_what_the_model_holds() -> None:
    r = measure(
        _Hungry,
        "hungry",
        "chat",
        BenchConfig(repeats=1, warmup=0, prompts=("short",)),
        in_process=True,
    )
    assert r.memory_method in ("peak-rss-delta", "rss-delta")
    assert r.memory_bytes is not None and r.memory_bytes >= 60 * 2**20


def test_memory_probe_without_start_reports_nothing() -> None:
    assert MemoryProbe().stop() is None


def test_engine_is_closed_even_when_a_run_fails() -> None:
    closed = []

    class Failing(MockEngine):
        def close(self) -> None:
            closed.append(True)

    from openscout.errors import EngineError

    with pytest.raises(EngineError):
        measure(lambda: Failing("f", fail_with="boom"), "f", "chat", BenchConfig(repeats=1))
    assert closed == [True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"repeats": 0},
        {"warmup": -1},
        {"max_tokens": 1},
        {"prompts": ("huge",)},
        {"prompts": ()},
        {"concurrency": (0,)},
        {"depths": (-1,)},
        {"depths": (10**7,)},
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConstraintError):
        BenchConfig(**kwargs)  # type: ignore[arg-type]


def test_depths_are_measured_with_their_context_in_the_prompt() -> None:
    engine = MockEngine("mock", default=REPLY, max_parallel=1)
    cfg = BenchConfig(repeats=2, warmup=0, max_tokens=8, depths=(0, 300, 1200))
    bar = Counter()
    r = measure(lambda: engine, "mock", "completion", cfg, progress=bar)
    # 2 prompts x 2 timed, one untimed run to size the context, then 2 timed per depth
    assert engine.calls == 2 * 2 + 1 + 2 * 2 == cfg.runs(engine) == bar.done
    assert [p.depth for p in r.depths] == [0, 300, 1200]
    zero, mid, deep = r.depths
    # depth 0 is the short prompt itself; deeper prompts carry their context
    assert zero.prompt_tokens == r.prompts["short"].prompt_tokens
    assert zero.output_tps == r.prompts["short"].output_tps
    assert zero.prompt_tokens < mid.prompt_tokens < deep.prompt_tokens
    for p in (mid, deep):
        assert p.ttft_s.n == p.output_tps.n == p.prefill_tps.n == 2
    d = r.as_dict()
    assert [x["depth"] for x in d["depths"]] == [0, 300, 1200]
    assert list(d["depths"][1]) == DEPTH  # the keys compare --json pins
    assert r.at_depth(300) is mid and r.at_depth(7) is None
    # the engine needs room for the deepest prompt, its question and its answer
    assert cfg.context_needed() >= 1200 + 8


def test_depths_without_the_short_prompt_size_the_question_first() -> None:
    engine = MockEngine("mock", default=REPLY, max_parallel=1)
    cfg = BenchConfig(repeats=1, warmup=0, max_tokens=8, prompts=("long",), depths=(0, 200))
    r = measure(lambda: engine, "mock", "completion", cfg)
    assert engine.calls == 1 + 1 + 1 + 1 == cfg.runs(engine)
    assert [p.depth for p in r.depths] == [200]  # depth 0 is the short prompt, not run here


def test_depth_prompt_comes_close_to_its_size() -> None:
    from openscout.perf.measure import depth_prompt

    text = depth_prompt(1000, chars_per_token=4.0)
    assert 3900 < len(text) < 4200 and text.endswith("message in a bottle.")
