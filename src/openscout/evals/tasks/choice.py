"""Multiple-choice items with four options; the right option is computed, distractors are near.

Scored like lm-evaluation-harness scores ARC-style tasks: context 'Question: ...\\nAnswer:',
each option a continuation ' <option>'; acc is the argmax of summed log-probabilities,
acc_norm the argmax after dividing by the option's length in bytes.
"""

from __future__ import annotations

import random

from openscout.evals.items import Item
from openscout.evals.tasks.words import WEEKDAYS, WORDS


def _around(rng: random.Random, right: int, spread: int) -> list[int]:
    """The right value and three others within `spread` of it, at a uniform rank among
    them: distractors on both sides at random left it one of the two middle values 80% of
    the time, and "the second smallest" scored 0.378 against chance's 0.25 (38th probe)."""
    below = rng.randrange(4)  # how many options are smaller than the right one
    lows = rng.sample(range(max(0, right - spread), right), below)
    highs = rng.sample(range(right + 1, right + spread + 1), 3 - below)
    return sorted([right, *lows, *highs])


def multiply(rng: random.Random) -> tuple[str, list[str], str]:
    a, b = rng.randint(3, 19), rng.randint(3, 12)
    return f"What is {a} times {b}?", [str(x) for x in _around(rng, a * b, 12)], str(a * b)


def sequence(rng: random.Random) -> tuple[str, list[str], str]:
    start, step = rng.randint(1, 20), rng.randint(2, 9)
    seq = [start + step * i for i in range(4)]
    nxt = start + step * 4
    q = f"What number comes next in the sequence {', '.join(map(str, seq))}?"
    return q, [str(x) for x in _around(rng, nxt, max(3, step - 1))], str(nxt)


def weekday(rng: random.Random) -> tuple[str, list[str], str]:
    today, later = rng.randrange(7), rng.randint(2, 20)
    right = WEEKDAYS[(today + later) % 7]
    opts = {right}
    while len(opts) < 4:
        opts.add(rng.choice(WEEKDAYS))
    q = f"If today is {WEEKDAYS[today]}, what day of the week will it be in {later} days?"
    return q, sorted(opts, key=WEEKDAYS.index), right


def largest(rng: random.Random) -> tuple[str, list[str], str]:
    digits = rng.sample("123456789", 3)
    nums = set()
    while len(nums) < 4:
        rng.shuffle(digits)
        nums.add(int("".join(digits)))
    opts = sorted(nums, key=lambda _: rng.random())
    q = f"Which of these numbers is the largest: {', '.join(map(str, opts))}?"
    return q, [str(x) for x in opts], str(max(nums))


def minutes(rng: random.Random) -> tuple[str, list[str], str]:
    """The usual slips (30 or 100 minutes an hour, an hour off) on both sides of the right
    value, at a uniform rank: it was always the second smallest (38th probe)."""
    h = rng.randint(2, 9)
    right = h * 60
    below = rng.randrange(4)
    lows = rng.sample(sorted({h * 30, (h - 1) * 60, h * 45, h * 50} - {right}), below)
    highs = rng.sample(sorted({h * 100, (h + 1) * 60, h * 75, h * 90} - {right}), 3 - below)
    opts = sorted([right, *lows, *highs])
    return f"How many minutes are there in {h} hours?", [str(x) for x in opts], str(right)


def alphabet(rng: random.Random) -> tuple[str, list[str], str]:
    """The words in the question, as `largest` lists its numbers: scored by log-likelihood,
    a model sees only the context, and every item asked the same words-less question, so it
    chose among words it was never shown (fortieth probe)."""
    words = rng.sample(WORDS, 4)
    q = f"Which of these words comes first in alphabetical order: {', '.join(words)}?"
    return q, words, min(words)


KINDS = (multiply, sequence, weekday, largest, minutes, alphabet)


def make(rng: random.Random, n: int) -> list[Item]:
    items = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        q, opts, right = kind(rng)
        # the right option at a uniform place: sorted, it was always B in `minutes` and B or
        # C three times in four elsewhere, and answering "B" to everything scored 0.46
        # against chance's 0.25 (37th probe)
        rng.shuffle(opts)
        items.append(
            Item(
                id=f"mc-{i:04d}",
                kind="choice",
                prompt=q,
                check="choice",
                target=opts.index(right),
                choices=tuple(opts),
                context=f"Question: {q}\nAnswer:",
                max_tokens=24,
                completion_stop=("\n",),
                meta={"task": kind.__name__},
            )
        )
    return items
