"""Generation-suite items/s with parallel sequences vs one item at a time, on SmolLM2 (issue 8).

The workload is the built-in `arithmetic` suite's chat requests (the model writes its working,
so answers run to tens of tokens). Both paths generate greedily with the same max_tokens; the sequential
path is the engine's ordinary streaming call, the parallel one `generate_many`, which the
eval runner uses for engines that declare batch_generate.
"""

from __future__ import annotations

import sys
import time

from openscout.engines.base import BatchRequest, SamplingParams, collect, generate_many


def suite_requests(n: int) -> list[BatchRequest]:
    """The chat requests of the built-in `arithmetic` generation suite, as the runner sends them."""
    from openscout.evals.items import build_request
    from openscout.evals.loading import load_suite

    suite = load_suite("arithmetic", seed=0, limit=n)
    return [BatchRequest(messages=build_request(it, "chat").messages) for it in suite.items]


def main(n: int = 32, max_tokens: int = 64, lanes: int = 8) -> dict[str, object]:
    from openscout.engines.bundled import smollm2_path
    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path(), n_ctx=2048, batch_lanes=lanes)
    params = SamplingParams(max_tokens=max_tokens)
    items = suite_requests(n)
    collect(engine.stream_chat(items[0].messages, params))  # warm-up
    generate_many(engine, items[:2], params)

    t0 = time.perf_counter()
    seq = [collect(engine.stream_chat(r.messages, params)) for r in items]
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    par = generate_many(engine, items, params)
    t_par = time.perf_counter() - t0

    tok_seq = sum(f.completion_tokens for _, f, _ in seq)
    tok_par = sum(r.final.completion_tokens for r in par)
    same = sum(a[0] == b.text for a, b in zip(seq, par, strict=True))
    out = {
        "items": n,
        "max_tokens": max_tokens,
        "lanes": lanes,
        "sequential_items_per_s": round(n / t_seq, 2),
        "parallel_items_per_s": round(n / t_par, 2),
        "speedup": round(t_seq / t_par, 2),
        "tokens_sequential": tok_seq,
        "tokens_parallel": tok_par,
        "identical_outputs": same,
    }
    print(
        f"sequential {n / t_seq:6.2f} items/s ({tok_seq} tokens)  parallel x{lanes} {n / t_par:6.2f} items/s "
        f"({tok_par} tokens)  speed-up {t_seq / t_par:.2f}x  identical outputs {same}/{n}",
        flush=True,
    )
    engine.close()
    return out


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:]))
