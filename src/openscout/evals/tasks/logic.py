"""Logic items from small random structures: boolean expressions, orderings, reachability.

Difficulty levels 1-3 grow the structure (more operands, more people, more places), so the
answer needs more steps; the answer is computed from the structure itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from openscout.evals.items import Item
from openscout.evals.tasks.words import CITIES, NAMES

ASK = "\nAnswer on the last line in the form 'Answer: <answer>'."


def _bool_expr(rng: random.Random, depth: int) -> tuple[str, bool]:
    """A random expression; every composite part is parenthesised, so no precedence rule matters."""
    if depth == 0:
        v = rng.random() < 0.5
        return str(v), v
    left, lv = _bool_expr(rng, depth - 1 if rng.random() < 0.8 else 0)
    right, rv = _bool_expr(rng, depth - 1 if rng.random() < 0.5 else 0)
    op = rng.choice(("and", "or"))
    val = (lv and rv) if op == "and" else (lv or rv)
    text = f"({left} {op} {right})"
    if rng.random() < 0.3:
        text, val = f"not {text}", not val
    return text, val


def boolean(rng: random.Random, level: int) -> tuple[str, str, list[str]]:
    expr, val = _bool_expr(rng, level)
    if expr.startswith("(") and expr.endswith(")") and expr.count("(") == 1:
        expr = expr[1:-1]
    q = f"Evaluate the boolean expression: {expr}. Is it True or False?"
    return q, str(val), ["True", "False"]


def ordering(rng: random.Random, level: int) -> tuple[str, str, list[str]]:
    people = rng.sample(NAMES, level + 2)  # people[0] is tallest
    facts = [f"{people[i]} is taller than {people[i + 1]}." for i in range(len(people) - 1)]
    rng.shuffle(facts)
    if rng.random() < 0.5:
        q, ans = "Who is the tallest?", people[0]
    else:
        q, ans = "Who is the shortest?", people[-1]
    return " ".join(facts) + " " + q, ans, sorted(people)


def reachability(rng: random.Random, level: int) -> tuple[str, str, list[str]]:
    nodes = rng.sample(CITIES, 2 + 2 * level)
    edges = set()
    for _ in range(len(nodes) + level):
        a, b = rng.sample(nodes, 2)
        edges.add((a, b))
    src, dst = rng.sample(nodes, 2)
    seen, todo = {src}, [src]
    while todo:
        cur = todo.pop()
        for a, b in edges:
            if a == cur and b not in seen:
                seen.add(b)
                todo.append(b)
    roads = " ".join(f"There is a one-way road from {a} to {b}." for a, b in sorted(edges))
    q = f"{roads} Can you travel from {src} to {dst} using these roads? Answer yes or no."
    return q, "yes" if dst in seen else "no", ["yes", "no"]


KINDS: dict[str, Callable[[random.Random, int], tuple[str, str, list[str]]]] = {
    "boolean": boolean,
    "ordering": ordering,
    "reachability": reachability,
}


def _items(rng: random.Random, n: int, levels: list[int]) -> list[Item]:
    kinds = list(KINDS)
    shots: dict[tuple[str, int], tuple[str, str]] = {}  # the base model's example: (q, a)
    for k in kinds:
        for lvl in sorted(set(levels)):
            q, a, _ = KINDS[k](rng, lvl)
            shots[(k, lvl)] = (q, a)
    out = []
    for i in range(n):
        kind, level = kinds[i % len(kinds)], levels[(i // len(kinds)) % len(levels)]
        q, ans, labels = KINDS[kind](rng, level)
        while q == shots[(kind, level)][0]:  # never the example itself, answer above it:
            q, ans, labels = KINDS[kind](rng, level)  # 11 of 400 easy items were (37th probe)
        shot_q, shot_a = shots[(kind, level)]
        out.append(
            Item(
                id=f"logic-{i:04d}",
                kind="generate",
                prompt=q + ASK,
                check="label",
                target=ans,
                completion_prompt=f"Question: {shot_q}\nAnswer: {shot_a}\n\nQuestion: {q}\nAnswer:",
                completion_stop=("\n",),
                max_tokens=64,
                check_data={"labels": labels},
                meta={"task": kind, "level": level},
            )
        )
    return out


def make(rng: random.Random, n: int) -> list[Item]:
    return _items(rng, n, [1, 2, 3])


def maker(level: int) -> Callable[[random.Random, int], list[Item]]:
    def make_level(rng: random.Random, n: int) -> list[Item]:
        return _items(rng, n, [level])

    return make_level
