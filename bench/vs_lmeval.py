"""The same five-shot multiple-choice task, run by openscout and by EleutherAI's
lm-evaluation-harness on the same GGUF weights (issue 8): whole-run wall time from command to
scores, items/s, and per-item agreement (disagreements checked for near ties).

lm-eval runs with its `hf` backend, which de-quantizes the GGUF file into torch
(`pretrained=<folder>,gguf_file=<file>`), on the CPU build of torch. Each tool runs as a
subprocess from a cold start, in a fresh data dir (no cache), one after the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import make_words_mc
from make_mc_data import HERE, write, write_task_yaml

BIN = Path(sys.executable).parent
NEAR_TIE = 0.5  # nats


def run_openscout(task: Path, n: int, home: Path) -> tuple[float, dict[int, list[float]]]:
    env = {**os.environ, "OPENSCOUT_HOME": str(home)}
    cmd = [
        str(BIN / "openscout"),
        "eval",
        "--suite",
        str(task),
        "-m",
        "smollm2-135m-instruct",
        "--limit",
        str(n),
        "--json",
        "--items",
        "--no-cache",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"openscout failed: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    (result,) = data["results"]
    lls = {rec["index"]: rec["detail"]["logprobs"] for rec in result["items"]}
    return secs, lls


def run_lmeval(
    task: Path, n: int, out: Path, batch_size: str
) -> tuple[float, dict[int, list[float]]]:
    """lm-eval on the task file (its task name is the file's stem)."""
    from openscout.engines.bundled import smollm2_path

    gguf = smollm2_path()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    cmd = [
        str(BIN / "lm_eval"),
        "--model",
        "hf",
        "--model_args",
        f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32",
        "--tasks",
        task.stem,
        "--include_path",
        str(task.parent),
        "--limit",
        str(n),
        "--batch_size",
        batch_size,
        "--device",
        "cpu",
        "--log_samples",
        "--output_path",
        str(out),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lm_eval failed: {proc.stderr[-3000:]}")
    samples = next(out.rglob(f"samples_{task.stem}*.jsonl"))
    lls = {}
    for line in samples.read_text().splitlines():
        s = json.loads(line)
        lls[int(s["doc_id"])] = [float(r[0]) for r in s["filtered_resps"]]
    return secs, lls


def compare(ours: dict[int, list[float]], theirs: dict[int, list[float]]) -> dict[str, object]:
    def pick(ll: list[float]) -> int:
        return max(range(len(ll)), key=ll.__getitem__)

    def margin(ll: list[float]) -> float:
        top = sorted(ll, reverse=True)
        return top[0] - top[1]

    same, disagreements = 0, []
    for i, ll in ours.items():
        if pick(ll) == pick(theirs[i]):
            same += 1
        else:
            disagreements.append(
                {
                    "item": i,
                    "openscout_margin": round(margin(ll), 3),
                    "lmeval_margin": round(margin(theirs[i]), 3),
                    "near_tie": min(margin(ll), margin(theirs[i])) <= NEAR_TIE,
                }
            )
    return {
        "items": len(ours),
        "same_prediction": same,
        "agreement": round(same / len(ours), 4),
        "disagreements": disagreements,
        "all_disagreements_near_ties": all(d["near_tie"] for d in disagreements),
    }


def main(n: int = 200, batch_size: str = "16", name: str = "arith_mc") -> dict[str, object]:
    """`name`: arith_mc (numeric options, many near ties for a 135M model) or words_mc."""
    if name not in ("arith_mc", "words_mc"):
        raise SystemExit(f"unknown task {name!r}: arith_mc or words_mc")
    if not (HERE / f"{name}_test.jsonl").exists():
        if name == "arith_mc":
            write()
        else:
            make_words_mc.write()
    with tempfile.TemporaryDirectory() as tmp:
        task = write_task_yaml(Path(tmp) / "task", name)
        t_ours, ours = run_openscout(task, n, Path(tmp) / "home")
        print(
            f"openscout: {t_ours:.1f} s for {n} items ({n / t_ours:.2f} items/s, whole run)",
            flush=True,
        )
        t_lm, theirs = run_lmeval(task, n, Path(tmp) / "lmeval", batch_size)
        print(
            f"lm-eval hf (batch {batch_size}): {t_lm:.1f} s ({n / t_lm:.2f} items/s, whole run)",
            flush=True,
        )
    agreement = compare(ours, theirs)
    result = {
        "task": name,
        "items": n,
        "openscout_s": round(t_ours, 1),
        "lmeval_s": round(t_lm, 1),
        "speedup": round(t_lm / t_ours, 2),
        "lmeval_batch_size": batch_size,
        **agreement,
    }
    print(
        f"speed-up openscout vs lm-eval: {t_lm / t_ours:.2f}x; same prediction on "
        f"{agreement['same_prediction']}/{n}; disagreements all near ties: "
        f"{agreement['all_disagreements_near_ties']}"
    )
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 200, *args[1:3])
