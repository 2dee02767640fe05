"""Early stopping: items needed to settle the ranking vs the full suite (issue 8).

Simulated: models with known accuracies, many replications, reports the mean items used and
how often the ranking was wrong. Real: the per-item correctness of SmolLM2 and Gemma 3 on the
shared five-shot multiple-choice task, fed in a seeded random order.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from openscout.evals.sequential import run_until_settled

ALPHA = 0.05


def simulated(reps: int = 200, n: int = 500) -> dict[str, object]:
    rng = random.Random(5)
    truth = {"strong": 0.75, "middle": 0.6, "weak": 0.4}
    used, wrong, unsettled = [], 0, 0
    for _ in range(reps):
        stream = ({m: float(rng.random() < p) for m, p in truth.items()} for _ in range(n))
        r = run_until_settled(stream, list(truth), alpha=ALPHA, items_available=n)
        used.append(r.items_used)
        wrong += r.settled and r.order != ["strong", "middle", "weak"]
        unsettled += not r.settled
    out = {
        "reps": reps,
        "suite_items": n,
        "mean_items_used": round(sum(used) / reps, 1),
        "max_items_used": max(used),
        "wrong_rankings": wrong,
        "unsettled": unsettled,
        "alpha": ALPHA,
    }
    print(
        f"simulated: mean {out['mean_items_used']} of {n} items (max {out['max_items_used']}), "
        f"wrong rankings {wrong}/{reps}, unsettled {unsettled}/{reps}, alpha {ALPHA}"
    )
    return out


def real(correct: dict[str, list[int]], seed: int = 0) -> dict[str, object]:
    models = list(correct)
    n = len(next(iter(correct.values())))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    full = sorted(models, key=lambda m: -sum(correct[m]))
    stream = ({m: float(correct[m][i]) for m in models} for i in order)
    r = run_until_settled(stream, models, alpha=ALPHA, items_available=n)
    out = {
        **r.as_dict(),
        "full_suite_order": full,
        "full_suite_accuracy": {m: round(sum(v) / n, 3) for m, v in correct.items()},
    }
    print(
        f"real: settled={r.settled} after {r.items_used} of {n} items; order {r.order}; "
        f"full-suite order {full}; accuracies {out['full_suite_accuracy']}"
    )
    return out


if __name__ == "__main__":
    simulated()
    if len(sys.argv) > 1:
        real(json.loads(Path(sys.argv[1]).read_text()))
