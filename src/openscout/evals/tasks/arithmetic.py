"""Arithmetic expressions and multi-step word problems; names, numbers and distractors vary."""

from __future__ import annotations

import random

from openscout.evals.items import Item
from openscout.evals.tasks.words import NAMES, OTHER_THINGS, THINGS, WEEKDAYS

ASK = "\nGive the final answer as a number on the last line, in the form 'Answer: <number>'."


def _distractor(rng: random.Random, name: str) -> str:
    other = rng.choice([n for n in NAMES if n != name])
    return rng.choice(
        (
            f"{other} is {rng.randint(8, 70)} years old.",
            f"It was a {rng.choice(WEEKDAYS)} and {rng.randint(2, 9)} friends were watching.",
            f"{other} has {rng.randint(2, 30)} {rng.choice(OTHER_THINGS)}.",
            f"The shop opens at {rng.randint(7, 10)} o'clock.",
        )
    )


def _expression(rng: random.Random) -> tuple[str, int]:
    a, b, c = rng.randint(2, 99), rng.randint(2, 30), rng.randint(2, 12)
    form = rng.randrange(4)
    if form == 0:
        return f"What is {a} + {b} * {c}?", a + b * c
    if form == 1:
        return f"What is ({a} + {b}) * {c}?", (a + b) * c
    if form == 2:
        return f"What is {a * c} / {c} - {b}?", a - b
    return f"What is {a} * {c} - {b}?", a * c - b


def _word_problem(rng: random.Random) -> tuple[str, int]:
    a, b = rng.sample(NAMES, 2)
    thing = rng.choice(THINGS)
    noise = _distractor(rng, a) if rng.random() < 0.7 else ""
    form = rng.randrange(5)
    if form == 0:
        x, y = rng.randint(10, 60), rng.randint(3, 40)
        z = rng.randint(1, x + y - 1)
        text = (
            f"{a} has {x} {thing}. {b} gives {a} {y} more, and then {a} gives away {z}. "
            f"{noise} How many {thing} does {a} have now?"
        )
        return text, x + y - z
    if form == 1:
        per, n, y = rng.randint(3, 15), rng.randint(2, 9), rng.randint(1, 20)
        text = (
            f"A box holds {per} {thing}. {a} buys {n} boxes and already had {y} {thing}. "
            f"{noise} How many {thing} does {a} have in total?"
        )
        return text, per * n + y
    if form == 2:
        p, h, d = rng.randint(8, 25), rng.randint(2, 8), rng.randint(2, 6)
        text = (
            f"{a} earns {p} dollars per hour and works {h} hours a day for {d} days. "
            f"{noise} How many dollars does {a} earn in total?"
        )
        return text, p * h * d
    if form == 3:
        p, d, r = rng.randint(5, 30), rng.randint(2, 12), rng.randint(10, 90)
        text = (
            f"A book has {r + p * d} pages. {a} has already read {r} pages and reads {p} "
            f"pages a day. {noise} How many more days does {a} need to finish the book?"
        )
        return text, d
    k, q = rng.randint(2, 8), rng.randint(2, 15)
    text = (
        f"{a} has {k * q} {thing} and shares them equally among {k} friends, keeping none. "
        f"{noise} How many {thing} does each friend get?"
    )
    return text, q


def _one(rng: random.Random, i: int) -> tuple[str, int, str]:
    if i % 3 == 0:
        q, ans = _expression(rng)
        return q, ans, "expression"
    q, ans = _word_problem(rng)
    return " ".join(q.split()), ans, "word_problem"


def make(rng: random.Random, n: int) -> list[Item]:
    shots = [_one(rng, i) for i in range(3)]
    prefix = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a, _ in shots)
    items = []
    for i in range(n):
        q, ans, kind = _one(rng, i)
        items.append(
            Item(
                id=f"arith-{i:04d}",
                kind="generate",
                prompt=q + ASK,
                check="number",
                target=ans,
                completion_prompt=f"{prefix}Question: {q}\nAnswer:",
                completion_stop=("\n",),
                max_tokens=96,
                meta={"task": kind},
            )
        )
    return items
