"""Decode tokens/s through openscout's layers vs a plain llama-cpp-python loop (issue 8).

Both run on the same loaded `Llama` object in the same process, generating the same greedy
tokens from the same prompt: the plain loop calls `Llama.generate` and times each token; the
openscout path goes through everything a user's request goes through (`generation.
stream_generate`: the Engine protocol, UTF-8 and stop-string handling, timing, and the SQLite
log). Rounds alternate which goes first; the figure is the median of the per-round ratios, so
machine drift hits both sides of each ratio alike.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def plain(llm: object, tokens: list[int], n: int) -> float:
    times = []
    gen = llm.generate(tokens, temp=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0)  # type: ignore[attr-defined]
    for _ in gen:
        times.append(time.perf_counter())
        if len(times) >= n:
            break
    gen.close()
    return (len(times) - 1) / (times[-1] - times[0])


def main(rounds: int = 12, n: int = 64) -> dict[str, object]:
    os.environ.setdefault("OPENSCOUT_HOME", tempfile.mkdtemp())
    from openscout.config import Settings
    from openscout.engines.base import SamplingParams
    from openscout.engines.bundled import smollm2_path
    from openscout.engines.llamacpp import LlamaCppEngine
    from openscout.generation import generate

    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path(), n_ctx=2048)
    prompt = (
        "Once upon a time, in a small village by the sea, there lived an old lighthouse keeper who"
    )
    tokens = engine.tokenize(prompt)
    # a long answer: no early end-of-text, so both sides time exactly n tokens
    params = SamplingParams(max_tokens=n)
    settings = Settings()
    ratios, ours_all, plain_all = [], [], []
    for r in range(rounds + 1):
        first_ours = r % 2 == 0
        results = {}
        for side in ("ours", "plain") if first_ours else ("plain", "ours"):
            if side == "ours":
                g = generate(
                    engine, prompt=prompt, params=params, settings=settings, engine_name="llamacpp"
                )
                assert g.completion_tokens == n, g.completion_tokens
                results[side] = g.output_tps
            else:
                results[side] = plain(engine.llm, tokens, n)
        if r == 0:
            continue  # warm-up round
        ratios.append(results["ours"] / results["plain"])
        ours_all.append(results["ours"])
        plain_all.append(results["plain"])
    out = {
        "rounds": rounds,
        "tokens": n,
        "openscout_tps_median": round(statistics.median(ours_all), 1),
        "plain_tps_median": round(statistics.median(plain_all), 1),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
    }
    print(
        f"openscout {out['openscout_tps_median']} tok/s, plain llama-cpp-python {out['plain_tps_median']} tok/s; "
        f"median per-round ratio {out['ratio_median']} (range {out['ratio_min']}-{out['ratio_max']}, {rounds} rounds)"
    )
    engine.close()
    return out


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:]))
