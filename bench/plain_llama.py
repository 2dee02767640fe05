"""The outside reference for speed: a plain llama-cpp-python loop, nothing of openscout.

Run in its own process with the environment a user has (no OpenMP settings), it prints one
JSON object: decode tok/s (tokens after the first / time from the first to the last token,
greedy, from a short prompt) and prefill tok/s (prompt tokens / time to the first token, from
an empty cache), the median of --repeats runs each after one warm-up run.

    python bench/plain_llama.py MODEL.gguf --long-prompt-file F [--n-out 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# the text of openscout.perf.measure.SHORT_PROMPT, written out: the reference imports nothing of ours
SHORT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def first_and_rest(llm: object, tokens: list[int], n_out: int) -> tuple[float, list[float]]:
    """Time to the first token and the times of all tokens, from an empty cache."""
    llm.reset()  # type: ignore[attr-defined]
    times: list[float] = []
    t0 = time.perf_counter()
    gen = llm.generate(tokens, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0)  # type: ignore[attr-defined]
    for _ in gen:
        times.append(time.perf_counter())
        if len(times) >= n_out:
            break
    gen.close()
    return times[0] - t0, times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--long-prompt-file", required=True)
    ap.add_argument("--n-out", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args()

    from llama_cpp import Llama

    llm = Llama(
        model_path=args.model,
        n_ctx=2048,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_batch=512,
        verbose=False,
    )
    short = llm.tokenize(SHORT.encode())
    with open(args.long_prompt_file, encoding="utf-8") as f:
        long = llm.tokenize(f.read().encode())
    first_and_rest(llm, short, args.n_out)  # warm-up
    decode, prefill = [], []
    for _ in range(args.repeats):
        _, times = first_and_rest(llm, short, args.n_out)
        decode.append((len(times) - 1) / (times[-1] - times[0]))
        ttft, _ = first_and_rest(llm, long, 1)
        prefill.append(len(long) / ttft)
    llm.close()
    print(
        json.dumps(
            {
                "decode_tps": statistics.median(decode),
                "prefill_tps": statistics.median(prefill),
                "prompt_tokens": len(long),
                "threads": args.threads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
