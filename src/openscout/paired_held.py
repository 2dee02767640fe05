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

    @property
    def p_value(self) -> float:
        return max(t.p_value for t in self.tests)

    @property
    def least_p(self) -> float:
        """The smallest p-value the test could give on its items."""
        t = self.tests[0]
        if t.method == "mcnemar-exact" and t.discordant is not None:
            return mcnemar_exact(t.discordant, 0)
        return 0.0


def with_paired(cands: list[Candidate], paired: list[PairedTest]) -> list[Candidate]:
    """Each model's significant wins of the paired test on the same items, as held (the
    intervals alone called 0 of 20 right and 6 of 20 tied, and junk was recommended: 50th)."""
    beats: dict[str, dict[str, float]] = {c.id: {} for c in cands}
    held, _ = held_tests(paired)
    for t in paired:
        if id(t) in held:
            win, lose = (t.model_a, t.model_b) if t.diff > 0 else (t.model_b, t.model_a)
            beats.setdefault(win, {})[lose] = t.p_value
    return [c.model_copy(update={"quality_beats": beats[c.id]}) for c in cands]


def holm_notes(paired: list[PairedTest]) -> list[str]:
    """Where a paired test printed as significant is not held: the printed line and the
    recommendation's "tied" disagreed unsaid (52nd probe)."""
    held, counted = held_tests(paired)
    return [
        f"{t.model_a} against {t.model_b}: p={t.p_value:.3g} is significant alone, not held to"
        f" Holm's correction over the {counted} pairs of models that can be the pick and be"
        " told apart; the recommendation reads their quality as tied"
        for t in paired
        if t.significant and t.diff and id(t) not in held
    ]


def held_tests(paired: list[PairedTest]) -> tuple[set[int], int]:
    """The tests (by id) significant under Tarone-Holm's step-down over the distinct tests
    of `paired`, and how many tests the bound was divided among where the step-down stopped."""
    arms = sorted(_distinct(paired), key=lambda a: a.p_value)
    held: set[int] = set()
    while arms:
        k = _tarone_count(arms)
        if arms[0].p_value >= PAIRED_ALPHA / k:
            return held, k  # the first p-value over its bound, and all after it, decide nothing
        held |= {id(t) for t in arms.pop(0).tests if t.significant and t.diff}
    return held, 0


def _tarone_count(arms: list[_Arm]) -> int:
    """The smallest K with at most K tests able to go under PAIRED_ALPHA / K."""
    for k in range(1, len(arms) + 1):
        if sum(1 for a in arms if a.least_p < PAIRED_ALPHA / k) <= k:
            return k
    return len(arms)


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
