"""Instruction-following items: a small writing task plus one to three verifiable instructions."""

from __future__ import annotations

import random
from typing import Any

from openscout.evals.items import Item
from openscout.evals.tasks.ifcheck import CHECKERS, CONFLICTS
from openscout.evals.tasks.words import TOPICS

TASKS = (
    "Write a short note about {t}.",
    "Describe {t} for a child.",
    "Write a brief blog post about {t}.",
    "Explain why someone might enjoy {t}.",
    "Write a short poem about {t}.",
)


def _pick(rng: random.Random, k: int) -> list[str]:
    chosen: list[str] = []
    kinds = sorted(CHECKERS)
    while len(chosen) < k:
        kind = rng.choice(kinds)
        if kind in chosen or any(frozenset((kind, c)) in CONFLICTS for c in chosen):
            continue
        chosen.append(kind)
    return chosen


def make(rng: random.Random, n: int) -> list[Item]:
    kinds = sorted(CHECKERS)
    items = []
    for i in range(n):
        # The first instruction walks through every kind, so a small suite still covers all.
        first = kinds[i % len(kinds)]
        extra = [k for k in _pick(rng, 3) if frozenset((k, first)) not in CONFLICTS and k != first]
        chosen = [first, *extra[: rng.randint(0, 1)]]
        instructions: list[dict[str, Any]] = [
            {"kind": k, **CHECKERS[k].params(rng)} for k in chosen
        ]
        text = " ".join(
            CHECKERS[ins["kind"]].describe(**{k: v for k, v in ins.items() if k != "kind"})
            for ins in instructions
        )
        task = rng.choice(TASKS).format(t=rng.choice(TOPICS))
        prompt = f"{task} {text}"
        items.append(
            Item(
                id=f"if-{i:04d}",
                kind="generate",
                prompt=prompt,
                check="ifeval",
                completion_prompt=f"Instruction: {prompt}\nResponse:\n",
                completion_stop=("\nInstruction:",),
                max_tokens=128,
                spec={"instructions": instructions},
                meta={"task": "+".join(chosen)},
            )
        )
    return items
