"""Stop an evaluation early once the ranking between models is settled (pure, no I/O).

The test: for two models scored on the same items, d_i = score_A(i) - score_B(i) in [-1, 1].
For each betting fraction lam in (0, 1), prod_i (1 + lam * d_i) is a nonnegative martingale
when E[d] = 0 (and a supermartingale when E[d] <= 0). An equal-weight mixture over a grid of
lam is still one, so by Ville's inequality it reaches 2/alpha with probability <= alpha/2 under
the null, at any stopping time. We run it both ways (A better, B better): the chance of
declaring any order between two equally good models, however long we watch, is <= alpha,
and so is the chance of declaring the wrong order. With k models, every pair is tested at
alpha / (number of pairs) (Bonferroni), so the whole ranking is wrong with probability <= alpha.
Ties (d = 0) leave the wealth unchanged: only items where the models differ move the test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

LAMBDAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass
class PairTest:
    """Anytime-valid two-sided test of E[score_A - score_B] = 0."""

    alpha: float
    log_wealth_a: list[float] = field(default_factory=lambda: [0.0] * len(LAMBDAS))
    log_wealth_b: list[float] = field(default_factory=lambda: [0.0] * len(LAMBDAS))
    n: int = 0
    decided: int = 0  # +1: A better, -1: B better, 0: not yet
    decided_at: int | None = None

    def update(self, d: float) -> None:
        if not -1.0 <= d <= 1.0:
            raise ValueError(f"score differences must lie in [-1, 1], got {d}")
        self.n += 1
        if self.decided:
            return
        for j, lam in enumerate(LAMBDAS):
            self.log_wealth_a[j] += math.log1p(lam * d)
            self.log_wealth_b[j] += math.log1p(-lam * d)
        threshold = math.log(2.0 / self.alpha)
        if _log_mean_exp(self.log_wealth_a) >= threshold:
            self.decided, self.decided_at = 1, self.n
        elif _log_mean_exp(self.log_wealth_b) >= threshold:
            self.decided, self.decided_at = -1, self.n


def _log_mean_exp(xs: Sequence[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs) / len(xs))


@dataclass
class RankingResult:
    settled: bool
    items_used: int
    items_available: int
    order: list[str]  # best first, by mean score over the items used
    alpha: float
    pairs: dict[str, int]  # "A>B" style decisions per pair: +1, -1, 0

    def as_dict(self) -> dict[str, object]:
        return {
            "settled": self.settled,
            "items_used": self.items_used,
            "items_available": self.items_available,
            "order": self.order,
            "alpha": self.alpha,
            "pairs": self.pairs,
        }


class RankingMonitor:
    """Feed per-item scores for every model; says when every pair's order is settled."""

    def __init__(self, models: Sequence[str], alpha: float = 0.05) -> None:
        if len(models) < 2:
            raise ValueError("early stopping compares at least two models")
        if not 0 < alpha < 1:
            raise ValueError("alpha must lie in (0, 1)")
        self.models = list(models)
        self.alpha = alpha
        n_pairs = len(models) * (len(models) - 1) // 2
        self.tests = {pair: PairTest(alpha / n_pairs) for pair in combinations(self.models, 2)}
        self.totals = dict.fromkeys(self.models, 0.0)
        self.n = 0

    def update(self, scores: Mapping[str, float]) -> bool:
        """Add one item's scores (each in [0, 1]); return True once the ranking is settled."""
        self.n += 1
        for m in self.models:
            self.totals[m] += scores[m]
        for (a, b), test in self.tests.items():
            test.update(scores[a] - scores[b])
        return self.settled

    @property
    def settled(self) -> bool:
        return all(t.decided for t in self.tests.values())

    def result(self, items_available: int) -> RankingResult:
        order = sorted(self.models, key=lambda m: -self.totals[m])
        return RankingResult(
            self.settled,
            self.n,
            items_available,
            order,
            self.alpha,
            {f"{a}>{b}": t.decided for (a, b), t in self.tests.items()},
        )


def run_until_settled(
    item_scores: Iterable[Mapping[str, float]],
    models: Sequence[str],
    alpha: float = 0.05,
    items_available: int | None = None,
    min_items: int = 10,
) -> RankingResult:
    """Consume per-item scores lazily (so unneeded items are never evaluated) and stop early."""
    monitor = RankingMonitor(models, alpha)
    count = 0
    for scores in item_scores:
        count += 1
        if monitor.update(scores) and count >= min_items:
            break
    return monitor.result(items_available if items_available is not None else count)
