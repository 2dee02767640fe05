"""A new engine kind, registered here and nowhere else, runs through eval, bench, compare and
the API: what issue 13 asks of one place per engine kind."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from openscout.compare import CompareOptions, compare
from openscout.config import Settings
from openscout.engines.base import (
    Capabilities,
    Chunk,
    Engine,
    Final,
    LoglikelihoodResult,
    Message,
    SamplingParams,
    StreamEvent,
)
from openscout.engines.kind import EngineKind
from openscout.engines.kinds import known_kinds, register_kind, unregister_kind
from openscout.engines.spec import ModelSpec
from openscout.errors import ConfigError
from openscout.evals import run_eval
from openscout.models import add_model, get_model
from openscout.perf.bench import bench_one
from openscout.perf.measure import BenchConfig
from openscout.server.app import create_app
from tests.engines.contract import check_engine_contract


class ToyEngine:
    """Says its answer and a reason, a character at a time; prefers its answer when scoring."""

    def __init__(self, model_id: str, answer: str) -> None:
        self.model_id = model_id
        self.answer = answer
        self.capabilities = Capabilities(loglikelihood=True)
        self.calls = 0

    def _stream(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        self.calls += 1
        whole = self.answer + ", because it is so."
        text = whole[: params.max_tokens]
        for ch in text:
            yield Chunk(ch, time.perf_counter())
        reason = "length" if len(text) < len(whole) else "stop"
        yield Final(len(prompt), len(text), reason)

    def stream_chat(
        self, messages: Sequence[Message], params: SamplingParams
    ) -> Iterator[StreamEvent]:
        return self._stream(messages[-1]["content"], params)

    def stream_completion(self, prompt: str, params: SamplingParams) -> Iterator[StreamEvent]:
        return self._stream(prompt, params)

    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult:
        self.calls += 1
        best = continuation.strip() == self.answer.strip()
        return LoglikelihoodResult(-0.1 if best else -3.0, best, max(1, len(continuation)))

    def close(self) -> None:
        pass


class ToyKind(EngineKind):
    name = "toy"

    def create(self, spec: ModelSpec, settings: Settings) -> Engine:
        return ToyEngine(spec.id, spec.options["answer"])

    def validate(self, spec: ModelSpec) -> ModelSpec:
        if not isinstance(spec.options.get("answer"), str):
            raise ConfigError("a toy model needs an answer")
        return spec


@pytest.fixture
def toy(settings: Settings) -> Iterator[str]:
    register_kind(ToyKind())
    try:
        add_model(settings, ModelSpec(id="toy-1", engine="toy", options={"answer": "B"}))
        yield "toy-1"
    finally:
        unregister_kind("toy")


def test_the_toy_kind_is_known_and_validates_its_own_specs(settings: Settings, toy: str) -> None:
    assert "toy" in known_kinds()
    with pytest.raises(ConfigError, match="needs an answer"):
        add_model(settings, ModelSpec(id="toy-2", engine="toy"))
    check_engine_contract(ToyKind().create(get_model(settings, toy), settings))


def test_eval_bench_compare_and_the_api_run_on_the_toy_kind(settings: Settings, toy: str) -> None:
    run = run_eval(settings, "quick", [toy], limit=4)
    result = run.results[toy]
    assert result.n == 4 and result.errors == 0 and result.engine_calls > 0
    assert result.score is not None and result.engine_calls >= 4

    fast = BenchConfig(repeats=1, warmup=0, max_tokens=8, concurrency=())
    bench = bench_one(get_model(settings, toy), settings, fast)
    assert bench.result.output_tps and bench.result.output_tps > 0
    assert bench.result.memory_bytes is None  # not measured: it does not run here

    cmp = compare(settings, [toy], CompareOptions(limit=4, bench=fast))
    (row,) = cmp.models
    assert row.id == toy and row.errors == [] and row.fit is None  # it does not run here

    client = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    r = client.post(
        "/v1/chat/completions",
        json={"model": toy, "messages": [{"role": "user", "content": "pick one"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].startswith("B, because")


def test_an_unknown_kind_is_refused_clearly(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        ModelSpec(id="x", engine="nope")
