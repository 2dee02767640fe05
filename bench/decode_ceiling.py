"""How much llama.cpp's batched decode can give on this machine (the ceiling for issue 15's lanes):
the time of one `llama_decode` step of 1, 2, 4 and 8 rows in a split-KV context like the
server's lanes, no sampling, no HTTP. Tokens/s = rows / step time.

    .venv/bin/python bench/decode_ceiling.py [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import llama_cpp

from openscout.engines.bundled import smollm2_path
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.engines.llamacpp_multi import MultiSeqContext


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    engine = LlamaCppEngine("smollm2", smollm2_path(), n_ctx=2048)
    lanes_max = 8
    ctx = MultiSeqContext(
        engine.llm, llama_cpp, n_ctx=lanes_max * 1024, n_seq=lanes_max, unified=False,
        threads=engine.threads,
    )  # fmt: skip
    prompt = engine.tokenize("Write a short story about a lighthouse keeper and the sea.")
    single = None
    for rows in (1, 2, 4, 8):
        for seq in range(lanes_max):
            llama_cpp.llama_memory_seq_rm(ctx.mem, seq, -1, -1)
        fill = [(s, p, t, p == len(prompt) - 1) for s in range(rows) for p, t in enumerate(prompt)]
        ctx.decoder.decode(fill, raw=True)
        t0 = time.perf_counter()
        for k in range(args.steps):
            ctx.decoder.decode([(s, len(prompt) + k, 42, True) for s in range(rows)], raw=True)
        step = (time.perf_counter() - t0) / args.steps
        single = single or rows / step
        print(
            f"{rows} rows: {1000 * step:5.1f} ms a step, {rows / step:5.0f} tok/s"
            f" ({rows / step / single:.2f}x one row)"
        )
    ctx.close()
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
