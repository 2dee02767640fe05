"""Built-in suites, generated from a seed: no download, no contamination, answers checked by code.

Each suite has a name, a version (bumped whenever its generator changes, so stored results
stay comparable) and a default size; `generate(seed, size)` returns the same items for the
same seed on every machine (random.Random seeded with a string is platform independent).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from openscout.errors import ConfigError
from openscout.evals.items import Item


@dataclass(frozen=True)
class BuiltinSuite:
    name: str
    version: str
    description: str
    default_size: int
    make: Callable[[random.Random, int], list[Item]]
    max_size: int | None = None  # what its generator can make well (default: MAX_ITEMS)

    def generate(self, seed: int = 0, size: int | None = None) -> list[Item]:
        n = self.default_size if size is None else size
        from openscout.evals.suite import MAX_ITEMS

        most = min(self.max_size or MAX_ITEMS, MAX_ITEMS)
        if n > most:  # 10**8 arithmetic items took 2.3 GB; city-json never ended (17th probe)
            raise ConfigError(f"{self.name} holds at most {most:,} items; asked for {n:,}")
        rng = random.Random(f"{self.name}:{self.version}:{seed}")
        return self.make(rng, n)


def _registry() -> dict[str, BuiltinSuite]:
    from openscout.evals.tasks import arithmetic, choice, cityjson, ifeval, logic

    suites = [
        BuiltinSuite(
            "arithmetic",
            "1",
            "arithmetic and multi-step word problems with distractors",
            50,
            arithmetic.make,
        ),
        BuiltinSuite(
            "logic",
            "2",
            "boolean expressions, ordering and reachability, levels 1-3 mixed",
            60,
            logic.make,
        ),
        *[
            BuiltinSuite(
                f"logic-{name}",
                "2",
                f"logic items at difficulty level {lvl} ({name})",
                40,
                logic.maker(lvl),
            )
            for lvl, name in ((1, "easy"), (2, "medium"), (3, "hard"))
        ],
        BuiltinSuite(
            "ifeval",
            "3",
            "verifiable instruction following (IFEval-style, 16 checkers)",
            50,
            ifeval.make,
        ),
        BuiltinSuite(
            "mc",
            "4",
            "multiple choice, scored by log-likelihood where the engine can",
            60,
            choice.make,
        ),
    ]
    suites.append(
        BuiltinSuite(
            "city-json",
            "1",
            'a city and its country as JSON {"city", "country"}: held-out cities (the demo '
            "task of `openscout tune`; `openscout tune-demo-data` writes the training split)",
            40,
            cityjson.make,
            max_size=cityjson.MAX_SUITE_SIZE,
        )
    )
    parts = [s for s in suites if s.name in ("arithmetic", "logic", "ifeval", "mc")]
    suites.append(
        BuiltinSuite(
            "quick",
            "6",
            "a quick mix of arithmetic, logic, instructions and multiple choice",
            20,
            _mix(parts),
        )
    )
    return {s.name: s for s in suites}


def _mix(parts: list[BuiltinSuite]) -> Callable[[random.Random, int], list[Item]]:
    """Round-robin over the parts, so any prefix of the suite is a balanced mix."""

    def make(rng: random.Random, n: int) -> list[Item]:
        per = -(-n // len(parts))
        pools = [p.make(random.Random(f"{p.name}:{rng.random()}"), per) for p in parts]
        out: list[Item] = []
        for i in range(per):
            for p, pool in zip(parts, pools, strict=True):
                if i < len(pool) and len(out) < n:
                    it = pool[i]
                    out.append(Item.from_dict({**it.to_dict(), "id": f"{p.name}/{it.id}"}))
        return out

    return make


_SUITES: dict[str, BuiltinSuite] | None = None


def builtin_suites() -> dict[str, BuiltinSuite]:
    global _SUITES
    if _SUITES is None:
        _SUITES = _registry()
    return _SUITES
