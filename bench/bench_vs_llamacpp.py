"""Does `openscout bench` report the speed llama.cpp really runs at?

Prints the output tokens/s that `openscout bench` (openscout.perf) reports for the embedded
SmolLM2 and that of a plain llama-cpp-python loop generating the same tokens in the same
process (same prompt tokens, greedy, same number of tokens, same definition: tokens after
the first / time from the first to the last token), then their ratio. Issue 5 asks for the
two to agree within 10%. Rounds alternate between the two so that drift hits both alike.

    .venv/bin/python bench/bench_vs_llamacpp.py [--rounds 5] [--repeats 3] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def plain_loop(llm: object, tokens: list[int], n_out: int) -> tuple[float, list[int]]:
    """Greedy generation straight from Llama.generate; returns (output tok/s, token ids)."""
    times: list[float] = []
    out: list[int] = []
    gen = llm.generate(tokens, temp=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0)  # type: ignore[attr-defined]
    for tok in gen:
        times.append(time.perf_counter())
        out.append(tok)
        if len(out) >= n_out:
            break
    gen.close()
    return (len(out) - 1) / (times[-1] - times[0]), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.environ.setdefault("OPENSCOUT_HOME", tempfile.mkdtemp(prefix="openscout-bench-"))
    os.environ["OPENSCOUT_THREADS"] = str(args.threads)

    import llama_cpp

    from openscout.config import Settings
    from openscout.engines.base import SamplingParams
    from openscout.engines.bundled import SMOLLM2_ID, smollm2_path
    from openscout.engines.llamacpp import LlamaCppEngine
    from openscout.generation import as_messages, generate
    from openscout.models import get_model
    from openscout.perf.bench import bench_one
    from openscout.perf.measure import SHORT_PROMPT, BenchConfig

    settings = Settings()
    spec = get_model(settings, SMOLLM2_ID)
    config = BenchConfig(
        repeats=args.repeats, warmup=1, max_tokens=args.max_tokens, prompts=("short",)
    )

    # The exact prompt tokens bench sends: the chat template rendered by our engine.
    probe = LlamaCppEngine(SMOLLM2_ID, smollm2_path(), n_ctx=spec.n_ctx, n_threads=args.threads)
    tokens = probe.tokenize(probe.render(as_messages(SHORT_PROMPT)), special=True)
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    engine_text = generate(probe, messages=as_messages(SHORT_PROMPT), params=params).text
    probe.close()

    llm = llama_cpp.Llama(
        model_path=str(smollm2_path()),
        n_ctx=spec.n_ctx,
        n_threads=args.threads,
        n_batch=512,
        verbose=False,
    )
    ours: list[float] = []
    plain: list[float] = []
    for r in range(args.rounds):
        b = bench_one(spec, settings, config, bandwidth_gbs=None).result
        ours.append(b.output_tps or 0.0)
        n_out = int(b.prompts["short"].completion_tokens)
        _, ids = plain_loop(llm, tokens, n_out)  # warm-up, as bench does
        if r == 0:
            plain_text = llm.detokenize(ids).decode("utf-8", "replace")
            same = plain_text.rstrip() == engine_text.rstrip()
            print(f"same tokens as the engine: {'yes' if same else 'NO'} ({len(ids)} tokens)")
        rates = [plain_loop(llm, tokens, n_out)[0] for _ in range(args.repeats)]
        plain.append(statistics.median(rates))
        print(
            f"round {r + 1}: bench {ours[-1]:.1f} tok/s, "
            f"plain llama-cpp-python {plain[-1]:.1f} tok/s "
            f"({n_out} tokens)"
        )
    llm.close()
    a, b2 = statistics.median(ours), statistics.median(plain)
    ratio = a / b2
    print(f"openscout bench output speed:      {a:.1f} tok/s (median of {args.rounds} rounds)")
    print(f"plain llama-cpp-python loop speed: {b2:.1f} tok/s")
    print(
        f"ratio bench / plain: {ratio:.3f} -> "
        f"{'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10%"
    )
    return 0 if abs(ratio - 1) <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
