"""Multiple-choice items/s on a five-shot task: without prefix reuse, with it, and with the
options of each item decoded as parallel sequences over the shared prefix (issue 8)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_mc_data import HERE, fewshot_context, write

from openscout.engines.base import score_choices


def load(n: int) -> tuple[list[dict], list[dict]]:
    if not (HERE / "arith_mc_test.jsonl").exists():
        write()
    train = [json.loads(x) for x in (HERE / "arith_mc_train.jsonl").read_text().splitlines()]
    test = [json.loads(x) for x in (HERE / "arith_mc_test.jsonl").read_text().splitlines()][:n]
    return train, test


def score_items(engine, train, test, mode: str) -> tuple[float, list[int], list[list[float]]]:
    """Return (seconds, predictions, per-option log-likelihoods)."""
    engine.reuse_prefix = mode != "naive"
    preds, lls = [], []
    t0 = time.perf_counter()
    for doc in test:
        ctx = fewshot_context(train, doc)
        conts = [" " + c for c in doc["choices"]]
        if mode == "batched":
            res = score_choices(engine, ctx, conts)
        else:
            res = [engine.loglikelihood(ctx, c) for c in conts]
        ll = [r.logprob for r in res]
        lls.append(ll)
        preds.append(max(range(len(ll)), key=ll.__getitem__))
    engine.reuse_prefix = True
    return time.perf_counter() - t0, preds, lls


def main(n: int = 100, naive_n: int = 40) -> dict[str, object]:
    """Items/s per mode. The naive mode re-reads the whole five-shot prompt for every option,
    so it runs on the first `naive_n` items only (a rate needs no more); predictions are
    compared on those items."""
    from openscout.engines.bundled import smollm2_path
    from openscout.engines.llamacpp import LlamaCppEngine

    train, test = load(n)
    engine = LlamaCppEngine("smollm2-135m-instruct", smollm2_path(), n_ctx=2048)
    out: dict[str, object] = {"items": len(test)}
    base_preds = None
    for mode in ("naive", "reuse", "batched"):
        docs = test[:naive_n] if mode == "naive" else test
        secs, preds, _ = score_items(engine, train, docs, mode)
        acc = sum(p == d["label"] for p, d in zip(preds, docs, strict=True)) / len(docs)
        same = (
            None
            if base_preds is None
            else sum(a == b for a, b in zip(preds, base_preds, strict=False))
        )
        base_preds = base_preds or preds
        out[mode] = {
            "items": len(docs),
            "seconds": round(secs, 2),
            "items_per_s": round(len(docs) / secs, 2),
            "accuracy": round(acc, 3),
            "same_prediction_as_naive": same,
        }
        print(
            f"{mode:8s} {len(docs):4d} items {len(docs) / secs:7.2f} items/s  acc {acc:.3f}  "
            f"same prediction as naive (first {naive_n}) {same}",
            flush=True,
        )
    naive = out["naive"]["items_per_s"]  # type: ignore[index]
    for mode in ("reuse", "batched"):
        print(f"speed-up {mode} / naive: {out[mode]['items_per_s'] / naive:.2f}x")  # type: ignore[index]
    engine.close()
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
