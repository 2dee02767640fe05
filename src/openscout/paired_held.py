"""Which of compare's paired quality tests hold when every pair of models is read together.

A difference significant alone (p < 0.05) is held to Holm's correction over the pairs of
models that can be the pick: ten equal models make 45 pairs, about two of them under 0.05 by
chance, each able to set a model aside (50th probe). Counting every pair cost power where it
bought nothing, and a second deployment of the honest model handed the pick to junk right on
none (53rd probe). Two refinements, each keeping the family-wise error at 5%:

- Models scored alike on every item (two deployments of one model) are one arm: a test
  against either is the same test on the same data, counted once.
- A pair too few items apart to reach the bound (an exact McNemar test on d differing items
  cannot go under 2 * 0.5^d) cannot be significant there and takes no share of it: Tarone's
  refinement of Holm's step-down for discrete tests (Roth, 1999).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openscout.evals.stats import mcnemar_exact

if TYPE_CHECKING:
    from openscout.comparison import PairedTest
    from openscout.recommend import Candidate

PAIRED_ALPHA = 0.05


@dataclass
class _Arm:
    """Tests that are one test: between the same two arms of alike-scored models."""

    tests: list[PairedTest]
    p_value: float = 0.0
    least_p: float = 0.0  # the smallest p-value the test could give on its items

    def __post_init__(self) -> None:
        self.p_value = max(t.p_value for t in self.tests)
        t = self.tests[0]
        exact = t.method == "mcnemar-exact" and t.discordant is not None
        self.least_p = mcnemar_exact(t.discordant, 0) if exact else 0.0  # type: ignore[arg-type]


@dataclass(frozen=True)
class Held:
    """The tests (by id) significant over all the pairs, and how many tests the bound was
    divided among where the step-down stopped (0: it held every one)."""

    tests: frozenset[int]
    counted: int


def with_paired(
    cands: list[Candidate], paired: list[PairedTest], held: Held | None = None
) -> list[Candidate]:
    """Each model's significant wins of the paired test on the same items, as held (the
    intervals alone called 0 of 20 right and 6 of 20 tied, and junk was recommended: 50th)."""
    held = held or held_tests(paired)
    beats: dict[str, dict[str, float]] = {c.id: {} for c in cands}
    alone: dict[str, dict[str, float]] = {c.id: {} for c in cands}
    met: dict[str, list[str]] = {c.id: [] for c in cands}
    for t in paired:
        met.setdefault(t.model_a, []).append(t.model_b)
        met.setdefault(t.model_b, []).append(t.model_a)
        if t.significant and t.diff:
            win, lose = (t.model_a, t.model_b) if t.diff > 0 else (t.model_b, t.model_a)
            (beats if id(t) in held.tests else alone).setdefault(win, {})[lose] = t.p_value
    return [
        c.model_copy(
            update={
                "quality_beats": beats[c.id],
                "quality_beats_alone": alone[c.id],
                "quality_paired": met[c.id],
            }
        )
        for c in cands
    ]


def holm_notes(paired: list[PairedTest], held: Held | None = None) -> list[str]:
    """Where a paired test printed as significant is not held: the printed line and the
    recommendation's "tied" disagreed unsaid (52nd probe)."""
    held = held or held_tests(paired)
    return [
        f"{t.model_a} against {t.model_b}: p={t.p_value:.3g} is significant alone, not held to"
        f" Holm's correction over the {held.counted} pairs that could still be significant"
        " among the models that can be the pick; the recommendation reads their quality as"
        " tied"
        for t in paired
        if t.significant and t.diff and id(t) not in held.tests
    ]


def held_tests(paired: list[PairedTest]) -> Held:
    """Tarone-Holm's step-down over the distinct tests of `paired`: the smallest p-value
    against PAIRED_ALPHA / K, K the tests still able to go under that bound (`_tarone_count`),
    until one misses it. Sorted once: models^6 steps took a minute at 30 models."""
    arms = sorted(_distinct(paired), key=lambda a: a.p_value)
    least = sorted(a.least_p for a in arms)  # the arms not yet held
    held: set[int] = set()
    for arm in arms:
        k = _tarone_count(least)
        if arm.p_value >= PAIRED_ALPHA / k:
            return Held(frozenset(held), k)  # this one, and all after it, decide nothing
        held |= {id(t) for t in arm.tests if t.significant and t.diff}
        del least[bisect.bisect_left(least, arm.least_p)]
    return Held(frozenset(held), 0)


def _tarone_count(least: list[float]) -> int:
    """The smallest K with at most K tests able to go under PAIRED_ALPHA / K (`least`:
    each test's smallest possible p-value, sorted)."""
    for k in range(1, len(least) + 1):
        if bisect.bisect_left(least, PAIRED_ALPHA / k) <= k:
            return k
    return len(least)


def _distinct(paired: list[PairedTest]) -> list[_Arm]:
    """The tests grouped where they are one test: models that scored alike on every item
    (no item apart, none failed) are one arm, and tests between the same two arms agree."""
    root = {m: m for t in paired for m in (t.model_a, t.model_b)}

    def find(m: str) -> str:
        while root[m] != m:
            m = root[m]
        return m

    for t in paired:
        if t.discordant == 0 and not (t.failed_a or t.failed_b):
            root[find(t.model_a)] = find(t.model_b)
    groups: dict[frozenset[str], list[PairedTest]] = {}
    for t in paired:
        ends = frozenset((find(t.model_a), find(t.model_b)))
        if len(ends) == 2:  # a test within one arm is no difference at all
            groups.setdefault(ends, []).append(t)
    return [_Arm(tests) for tests in groups.values()]
