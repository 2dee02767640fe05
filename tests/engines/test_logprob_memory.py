"""Echoed log-probs of a long prompt keep a few numbers a position, not the whole row: a row
is n_vocab float64s (SmolLM2: 393 KB), and 1,950 of them kept took 1 GB of the server for
good; a second prompt in the request a 500, and the server then stopped answering (fifteenth
probe). The log-probs themselves must not change: lm-evaluation-harness reads them."""

from __future__ import annotations

import tracemalloc

import numpy as np

from openscout.engines.base import SamplingParams
from openscout.engines.llamacpp_logprobs import complete_tokens, token_logprobs

TEXT = "apple banana cherry " * 150


def test_long_echoed_log_probs_keep_little_memory(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    ids = smollm2_engine.llm.tokenize(TEXT.encode())
    assert len(ids) > 400  # rows of the whole prompt: 160 MB if kept whole
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        done = complete_tokens(smollm2_engine, ids, SamplingParams(max_tokens=0), 5, True)
        token_logprobs(smollm2_engine, TEXT, 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(done.logprobs.tokens) == len(ids)
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_kept_log_probs_are_those_of_the_whole_row(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    ids = smollm2_engine.llm.tokenize(b"The capital of France is Paris")
    whole = smollm2_engine.next_token_rows(ids)  # every row, as before
    done = complete_tokens(smollm2_engine, ids, SamplingParams(max_tokens=0), 3, True)
    lps = done.logprobs.token_logprobs
    for p in range(1, len(ids)):
        assert lps[p] == float(whole[p - 1][ids[p]])
        best = np.argsort(whole[p - 1])[::-1][:3]
        top = done.logprobs.top_logprobs[p]
        assert list(top.values()) == [float(whole[p - 1][b]) for b in best]
    # and the greedy next token, read off the last row of the scoring pass
    one = complete_tokens(smollm2_engine, ids, SamplingParams(max_tokens=1), 1, False)
    last = smollm2_engine.next_token_rows(ids, last=True)[-1]
    assert one.ids == [int(np.argmax(last))]
    assert one.logprobs.token_logprobs == [float(last[one.ids[0]])]
