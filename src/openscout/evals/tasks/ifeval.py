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


# Base models see two worked examples first, so they know what a response looks like.
# (tests/evals/test_tasks.py checks that each follows its own instruction.)
SHOTS = (
    (
        "Write a short note about tea. Write only in lowercase letters; no capital letters.",
        "tea is a warm drink made from leaves. many people enjoy a cup in the morning.",
        [{"kind": "lowercase"}],
    ),
    (
        "Describe rain for a child. Your answer must be exactly 2 bullet points, each line "
        "starting with '* '.",
        "* rain is water that falls from the clouds.\n* it helps the plants and trees grow.",
        [{"kind": "bullet_count", "n": 2}],
    ),
)
SHOT_PREFIX = "".join(f"Instruction: {q}\nResponse:\n{a}\n\n" for q, a, _ in SHOTS)


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
                completion_prompt=f"{SHOT_PREFIX}Instruction: {prompt}\nResponse:\n",
                completion_stop=("\nInstruction:",),
                max_tokens=128,
                check_data={"instructions": instructions},
                meta={"task": "+".join(chosen)},
            )
        )
    return items
