"""Every speed measurement, side by side in one run (`make bench`).

1. decode and prefill tok/s of `openscout bench` (a subprocess, as a user runs it) against a
   plain llama-cpp-python loop and llama.cpp's own llama-bench, each in its own process, for
   both embedded models; a short request quiet and with one core busy (speed_vs_reference.py)
2. five-shot multiple-choice items/s: no prefix reuse, prefix reuse, options as parallel
   sequences (mc_prefix.py)
3. generation-suite items/s: parallel sequences vs one at a time (parallel_gen.py)
4. early stopping: items needed vs the full suite, simulated and on the real models
   (early_stop.py)
5. two five-shot tasks (numeric options, word options) run by openscout and by
   lm-evaluation-harness (vs_lmeval.py; needs the `lmeval` extra and torch; skipped with a
   note where they are missing)
Results go to stdout and, as JSON, to bench/results.json. Run it on a quiet machine: the
figures are ratios measured in one process or back to back, but a busy neighbour still
adds noise.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def machine() -> dict[str, object]:
    import os

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> int:
    import early_stop
    import mc_prefix
    import parallel_gen

    results: dict[str, object] = {"machine": machine()}
    print(results["machine"])

    section("1. speed through openscout vs a plain llama-cpp-python loop and llama-bench")
    import speed_vs_reference

    results["speed"] = speed_vs_reference.run(rounds=3, repeats=3, requests=3)

    section("2. five-shot multiple choice, 200 items")
    results["mc_prefix"] = mc_prefix.main(200)

    section("3. generation suite: parallel sequences vs one at a time")
    results["parallel_generation"] = parallel_gen.main(50)

    section("4. early stopping")
    results["early_stop_simulated"] = early_stop.simulated()
    correct = {}
    from openscout.config import Settings
    from openscout.engines.bundled import gemma3_path, smollm2_path
    from openscout.engines.llamacpp import LlamaCppEngine

    train, test = mc_prefix.load(200)
    for name, path in (
        ("smollm2-135m-instruct", smollm2_path()),
        ("gemma-3-270m", gemma3_path(Settings().models_dir)),
    ):
        engine = LlamaCppEngine(name, path, n_ctx=2048)
        _, preds, _ = mc_prefix.score_items(engine, train, test, "batched")
        correct[name] = [int(p == d["label"]) for p, d in zip(preds, test, strict=True)]
        engine.close()
    results["early_stop_real"] = early_stop.real(correct)

    section("5. openscout vs lm-evaluation-harness on the same five-shot tasks")
    try:
        import lm_eval  # noqa: F401
        import torch  # noqa: F401
        import vs_lmeval

        results["vs_lmeval"] = vs_lmeval.main(200, "16", "arith_mc")
        results["vs_lmeval_words"] = vs_lmeval.main(200, "16", "words_mc")
    except ImportError as e:
        print(
            f"skipped: {e} (install the test extras: make test, or pip install -e '.[lmeval]' torch==2.13.0)"
        )
        results["vs_lmeval"] = results["vs_lmeval_words"] = None

    (HERE / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {HERE / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
