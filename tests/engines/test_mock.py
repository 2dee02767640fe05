from openscout.engines.base import BatchGenerator, SamplingParams, collect
from openscout.engines.mock import BatchingMockEngine, MockEngine
from tests.engines.contract import check_engine_contract


def test_mock_meets_contract() -> None:
    check_engine_contract(MockEngine())
    check_engine_contract(MockEngine(), chat=False)
    check_engine_contract(BatchingMockEngine())


def test_only_the_batching_mock_has_the_batch_path() -> None:
    assert not isinstance(MockEngine(), BatchGenerator)
    assert isinstance(BatchingMockEngine(), BatchGenerator)


def test_mock_is_scripted_and_counts_calls() -> None:
    e = MockEngine(script={"hi": "hello there friend"})
    text, final, _ = collect(e.stream_completion("hi", SamplingParams(max_tokens=2)))
    assert text == "hello there" and final.finish_reason == "length"
    assert e.calls == 1
    a = e.loglikelihood("ctx", " a")
    assert a == e.loglikelihood("ctx", " a") and e.calls == 3


def test_mock_honours_stop() -> None:
    e = MockEngine(default="one two three four")
    text, final, _ = collect(e.stream_completion("x", SamplingParams(stop=(" three",))))
    assert text == "one two" and final.finish_reason == "stop"
