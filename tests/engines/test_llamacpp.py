"""The llama.cpp engine on the real bundled models."""

from __future__ import annotations

import pytest

from openscout.engines.base import SamplingParams, collect
from openscout.engines.stops import cut_at_stop as _split_stop
from openscout.engines.stops import safe_prefix as _safe_prefix
from openscout.errors import EngineError
from tests.engines.contract import check_engine_contract

pytestmark = pytest.mark.real_model


def test_contract_smollm2(smollm2_engine) -> None:
    check_engine_contract(smollm2_engine)
    check_engine_contract(smollm2_engine, chat=False)


def test_greedy_generation_is_deterministic(smollm2_engine) -> None:
    msgs = [{"role": "user", "content": "Name three colours."}]
    p = SamplingParams(max_tokens=24)
    a = collect(smollm2_engine.stream_chat(msgs, p))
    b = collect(smollm2_engine.stream_chat(msgs, p))
    assert a[0] == b[0] and a[0].strip()
    assert a[1].completion_tokens == b[1].completion_tokens


def test_seeded_sampling_repeats(smollm2_engine) -> None:
    p = SamplingParams(temperature=1.0, max_tokens=16, seed=1234)
    a = collect(smollm2_engine.stream_completion("My favourite food is", p))[0]
    b = collect(smollm2_engine.stream_completion("My favourite food is", p))[0]
    assert a == b


def test_loglikelihood_prefers_paris(smollm2_engine) -> None:
    paris = smollm2_engine.loglikelihood("The capital of France is", " Paris")
    banana = smollm2_engine.loglikelihood("The capital of France is", " banana")
    assert paris.logprob > banana.logprob
    assert paris.n_tokens == 1


def test_loglikelihood_matches_full_recompute(smollm2_engine, smollm2_path) -> None:
    """Prefix reuse must not change the numbers: score cold, then after a shared prefix."""
    ctx = "Question: what is two plus two?\nAnswer:"
    warm_other = smollm2_engine.loglikelihood(ctx, " five")
    warm = smollm2_engine.loglikelihood(ctx, " four")
    smollm2_engine.loglikelihood("Unrelated text to flush the cache", " x")
    cold = smollm2_engine.loglikelihood(ctx, " four")
    assert warm.logprob == pytest.approx(cold.logprob, abs=1e-3)
    assert warm_other.logprob != pytest.approx(warm.logprob, abs=1e-3)


def test_loglikelihood_equals_hand_computation(smollm2_engine, smollm2_path) -> None:
    """Same numbers as scoring by hand with llama-cpp-python's own full-logits mode."""
    import llama_cpp
    import numpy as np

    ref = llama_cpp.Llama(str(smollm2_path), n_ctx=256, n_threads=2, logits_all=True, verbose=False)
    try:
        for ctx, cont in [("The capital of France is", " Paris"), ("2 + 2 =", " 4, and 3 + 3 = 6")]:
            ctx_toks, cont_toks = smollm2_engine.split_tokens(ctx, cont)
            ref.reset()
            ref.eval(ctx_toks + cont_toks)
            logits = np.array(ref.scores[: len(ctx_toks) + len(cont_toks)], dtype=np.float64)
            expected = 0.0
            for i, tok in enumerate(cont_toks):
                row = logits[len(ctx_toks) + i - 1]
                expected += row[tok] - (row.max() + np.log(np.exp(row - row.max()).sum()))
            got = smollm2_engine.loglikelihood(ctx, cont)
            assert got.logprob == pytest.approx(expected, abs=2e-3)
            assert got.n_tokens == len(cont_toks)
    finally:
        ref.close()


def test_choices_fast_path_agrees_with_one_by_one(smollm2_engine) -> None:
    ctx = "Question: Which is a fruit?\nAnswer:"
    options = [" apple", " a hammer", " the colour blue", " seven"]
    batched = smollm2_engine.loglikelihood_choices(ctx, options)
    single = [smollm2_engine.loglikelihood(ctx, o) for o in options]
    for b, s in zip(batched, single, strict=True):
        assert b.logprob == pytest.approx(s.logprob, abs=2e-2)
        assert b.n_tokens == s.n_tokens


def test_generate_batch_matches_single_greedy(smollm2_engine) -> None:
    from openscout.engines.base import BatchRequest, generate_many

    prompts = ["1, 2, 3,", "The capital of France is", "Red, green,"]
    p = SamplingParams(max_tokens=10)
    batched = generate_many(smollm2_engine, [BatchRequest(prompt=x) for x in prompts], p)
    single = [collect(smollm2_engine.stream_completion(x, p))[0] for x in prompts]
    # each lane has its own KV cells: greedy text agrees with one-at-a-time decoding
    agree = sum(b.text == s for b, s in zip(batched, single, strict=True))
    assert agree >= 2, [(b.text, s) for b, s in zip(batched, single, strict=True)]
    assert all(b.final.completion_tokens >= 1 for b in batched)


NOTES = (
    "Notes. The password for the blue door is 'walrus'. The password for the red door is "
    "'tulip'. The password for the green door is 'anchor'.\n"
)
DOOR_QUESTIONS = [
    f"Q: What is the password for the {door} door?\nA: The password for the {door} door is '"
    for door in ("blue", "red", "green")
] + [
    f"Question: which password opens the {door} door?\nAnswer: the {door} door opens with '"
    for door in ("blue", "red", "green")
]


@pytest.fixture
def two_lane_engine(smollm2_path):
    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path, n_ctx=2048, batch_lanes=2)
    yield engine
    engine.close()


def test_batched_lanes_share_the_prompt_prefix(two_lane_engine) -> None:
    """The prompts' common prefix is decoded once, kept between calls and copied into each
    lane, also into lanes that a finished prompt handed on: the answers need facts only the
    prefix holds, and follow one-at-a-time decoding."""
    from openscout.engines.base import BatchRequest, generate_many

    engine = two_lane_engine
    reqs = [BatchRequest(prompt=NOTES + q) for q in DOOR_QUESTIONS]  # 6 prompts on 2 lanes
    p = SamplingParams(max_tokens=6)
    batched = generate_many(engine, reqs, p)
    held = engine._gen._gen_prefix
    assert len(held) >= 30 and engine.tokenize(NOTES + DOOR_QUESTIONS[0])[: len(held)] == held
    single = [collect(engine.stream_completion(r.prompt, p))[0] for r in reqs]
    texts = [b.text for b in batched]
    # batch rounding may flip a rare near tie (docs/DESIGN.md), so a rate, not every string
    assert sum(a == b for a, b in zip(texts, single, strict=True)) >= 5, (texts, single)
    assert texts[0].startswith("walrus") and texts[3].startswith("walrus"), texts

    prefix_rows = []
    decode = engine._gen.decoder.decode
    seq = engine._gen.n_seq - 1

    def spy(rows, raw=False):
        prefix_rows.extend(r for r in rows if r[0] == seq)
        return decode(rows, raw=raw)

    engine._gen.decoder.decode = spy
    again = generate_many(engine, reqs, p)
    assert prefix_rows == [], "the held prefix is decoded again"
    assert [b.text for b in again] == texts


def test_failed_batch_decode_leaves_a_clean_cache(two_lane_engine) -> None:
    from openscout.engines.base import BatchRequest, generate_many

    engine = two_lane_engine
    reqs = [BatchRequest(prompt=NOTES + q) for q in DOOR_QUESTIONS[:3]]
    p = SamplingParams(max_tokens=4)
    first = generate_many(engine, reqs, p)
    decode, calls = engine._gen.decoder.decode, []

    def failing(rows, raw=False):
        calls.append(len(rows))
        if len(calls) == 3:
            raise EngineError("injected decode failure")
        return decode(rows, raw=raw)

    engine._gen.decoder.decode = failing
    with pytest.raises(EngineError, match="injected"):
        generate_many(engine, reqs, p)
    assert engine._gen._gen_prefix == []  # the cache was cleared, not trusted
    engine._gen.decoder.decode = decode
    assert [b.text for b in generate_many(engine, reqs, p)] == [b.text for b in first]


def test_chat_template_is_used(smollm2_engine) -> None:
    assert smollm2_engine.capabilities.chat_template
    prompt = smollm2_engine.render([{"role": "user", "content": "hi"}])
    assert prompt.endswith("<|im_start|>assistant\n") and "<|im_start|>user\nhi<|im_end|>" in prompt


def test_stop_string_is_cut_and_never_streamed(smollm2_engine) -> None:
    p = SamplingParams(max_tokens=40)
    full = collect(smollm2_engine.stream_completion("1, 2, 3, 4,", p))[0]
    assert " 6" in full
    text, final, _ = collect(
        smollm2_engine.stream_completion("1, 2, 3, 4,", SamplingParams(max_tokens=40, stop=(" 6",)))
    )
    assert " 6" not in text and final.finish_reason == "stop"
    assert full.startswith(text)


def test_prompt_longer_than_context_is_refused(smollm2_path) -> None:
    from openscout.engines.llamacpp import LlamaCppEngine

    e = LlamaCppEngine("tiny", smollm2_path, n_ctx=128, n_threads=2)
    try:
        with pytest.raises(EngineError, match=r"context holds \d+"):
            collect(e.stream_completion("word " * 400, SamplingParams(max_tokens=4)))
    finally:
        e.close()


def test_gemma_completion(gemma_engine) -> None:
    text, final, _ = collect(
        gemma_engine.stream_completion("The capital of France is", SamplingParams(max_tokens=8))
    )
    assert text.strip() and final.completion_tokens >= 1
    assert (
        gemma_engine.loglikelihood("The capital of France is", " Paris").logprob
        > gemma_engine.loglikelihood("The capital of France is", " banana").logprob
    )


def test_stop_helpers() -> None:
    assert _split_stop("abc STOP def", (" STOP",)) == ("abc", True)
    assert _split_stop("abc", ("x",)) == ("abc", False)
    assert _safe_prefix("hello ST", (" STOP",)) == "hello"
    assert _safe_prefix("hello", (" STOP",)) == "hello"


def test_a_chat_prompt_keeps_the_templates_first_token(smollm2_engine) -> None:
    """SmolLM2's BOS text is <|im_start|>, which its tokenizer does not add: the rendered
    prompt must keep it (it was stripped, so every chat prompt lost its first token)."""
    assert not smollm2_engine.adds_bos
    text = smollm2_engine.render([{"role": "user", "content": "hi"}])
    assert text.startswith("<|im_start|>system")
    toks = smollm2_engine.tokenize(text, special=True)
    assert toks[0] == smollm2_engine.llm.token_bos()


PAD_INFO = """
import sys
from pathlib import Path
from openscout.engines.llamacpp import LlamaCppEngine
engine = LlamaCppEngine("pad", Path(sys.argv[1]), n_ctx=256)
print("pad:", engine.tokenizer_info()["pad_token"])
engine.close()
"""


@pytest.mark.parametrize("pad", [1_000_000, 2**32 - 1])
def test_a_pad_id_outside_the_vocabulary_is_no_pad_token(smollm2_path, tmp_path, pad) -> None:
    """The file's `tokenizer.ggml.padding_token_id` went to llama_token_to_piece unchecked:
    `GET /tokenizer_info` and every `/tokenize` aborted `serve` (std::out_of_range; twenty-sixth
    probe). It runs in a child so that the abort it was fails this test, not the run."""
    from tests.engines.child import run_in_child
    from tests.gguf_factory import copy_with_metadata

    path = copy_with_metadata(
        smollm2_path, tmp_path / "pad.gguf", {"tokenizer.ggml.padding_token_id": pad}
    )
    done = run_in_child(PAD_INFO, path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pad: None" in done.stdout


def test_the_pad_token_is_the_vocabularys_own(smollm2_engine) -> None:
    assert smollm2_engine.tokenizer_info()["pad_token"] == "<|im_end|>"  # id 2 in SmolLM2


def test_an_empty_context_is_scored_after_the_prefix_token(smollm2_engine) -> None:
    """SmolLM2 adds no BOS: with an empty context nothing predicted the first token, and an
    lm-eval task whose question rendered empty stopped `eval` with "unexpected error:
    ValueError" on every resume (37th probe, medium). As the harness, the BOS comes first."""
    bos = smollm2_engine.llm.token_bos()
    ctx, cont = smollm2_engine.split_tokens("", " Paris")
    assert ctx == [bos] and cont == smollm2_engine.tokenize(" Paris")
    alone = smollm2_engine.loglikelihood("", " Paris")
    assert alone.n_tokens == len(cont) and alone.logprob < 0
    choices = smollm2_engine.loglikelihood_choices("", [" Paris", " London"])
    assert choices[0].logprob == pytest.approx(alone.logprob, abs=1e-3)
    from openscout.evals.lmeval_adapter import rolling_loglikelihoods

    (rolling,) = rolling_loglikelihoods(smollm2_engine, ["hello world"])  # every text failed
    assert rolling < 0


def test_a_context_beyond_what_the_model_was_trained_on_is_refused_before_loading(
    smollm2_path,
) -> None:  # type: ignore[no-untyped-def]
    """SmolLM2 (trained on 8,192) registered with n_ctx 262,144 allocated 6.1 GB to answer
    "hi" (38th probe, medium): llama.cpp takes the whole KV cache at load."""
    from openscout.engines.llamacpp import LlamaCppEngine
    from openscout.errors import ConfigError

    with pytest.raises(ConfigError, match="beyond the 8,192 the model was trained on"):
        LlamaCppEngine("big", smollm2_path, n_ctx=262_144)
