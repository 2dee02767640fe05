"""Generation-suite items/s with parallel sequences vs one item at a time, on SmolLM2 (issue 8).

The workload is the built-in `arithmetic` suite (the model writes its working, so answers run
to tens of tokens), run through the evaluation runner as `openscout eval` runs it: once with
`parallel=1` (one item at a time through the engine's streaming call) and once at the default,
where the runner hands the engine batches of items to decode as parallel sequences. Both
runs skip the answer cache, use one loaded model and alternate (sequential, parallel, parallel,
sequential), so drift on a shared machine falls on both sides.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from openscout.config import Settings
from openscout.evals import run_eval

MODEL = "smollm2-135m-instruct"


def one_run(settings: Settings, n: int, parallel: int | None) -> tuple[float, list[str], float]:
    t0 = time.perf_counter()
    run = run_eval(
        settings, "arithmetic", [MODEL], limit=n, parallel=parallel, use_cache=False, resume=False
    )
    secs = time.perf_counter() - t0
    result = run.results[MODEL]
    return secs, [rec["output"] for rec in result.items], result.score


def main(n: int = 50) -> dict[str, object]:
    """n items of the suite (50: all of it; it sets max_tokens 96); the engine decodes 8 lanes."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        one_run(settings, 2, 1)  # load the model and warm both paths
        one_run(settings, 2, None)
        seq_s, par_s = 0.0, 0.0
        seq_out: list[str] = []
        par_out: list[str] = []
        seq_score = par_score = 0.0
        for parallel in (1, None, None, 1):
            secs, outputs, score = one_run(settings, n, parallel)
            if parallel == 1:
                seq_s, seq_out, seq_score = seq_s + secs, outputs, score
            else:
                par_s, par_out, par_score = par_s + secs, outputs, score
    same = sum(a == b for a, b in zip(seq_out, par_out, strict=True))
    out = {
        "items": n,
        "sequential_items_per_s": round(2 * n / seq_s, 2),
        "parallel_items_per_s": round(2 * n / par_s, 2),
        "speedup": round(seq_s / par_s, 2),
        "score_sequential": round(seq_score, 3),
        "score_parallel": round(par_score, 3),
        "identical_outputs": same,  # and the scores: the last run of each kind
    }
    print(
        f"`arithmetic` suite, {n} items, two runs each: one at a time {2 * n / seq_s:5.2f} items/s, "
        f"parallel sequences {2 * n / par_s:5.2f} items/s, speed-up {seq_s / par_s:.2f}x; "
        f"score {seq_score:.3f} vs {par_score:.3f}; identical answers {same}/{n}",
        flush=True,
    )
    return out


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:]))
