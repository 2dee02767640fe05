"""How far a public benchmark's ranking agrees with the user's own: Kendall's tau-b between
published scores and the user's suite scores over the same models, with a 95% interval, a
permutation p-value and a plain sentence. Pure: no I/O, randomness only from a seed.

Tau-b counts concordant minus discordant pairs, corrected for ties (a tie in either ranking
counts for neither). A few models that happen to agree were "closely predicts" with an
interval of [+1, +1]: a bootstrap of perfectly concordant models is perfectly concordant,
and three unrelated rankings agree so 1 time in 6 (40th probe). So a verdict needs an exact
permutation test (below 5 models none can pass it), and the interval is at least as wide
as one that does not collapse (see `interval`); the bootstrap also redraws each user score
within its own interval, since scores a few items apart do not settle an order.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

MIN_MODELS = 3
ALPHA = 0.05
Z95 = 1.959963984540054
EXACT_UP_TO = 8  # models whose every order is enumerated (8! = 40,320); beyond, sampled
PERMUTATIONS = 20_000
# the fewest models whose full agreement an exact two-sided test can show: 2 / n! < ALPHA
MIN_SHOWABLE = next(n for n in itertools.count(MIN_MODELS) if 2 / math.factorial(n) < ALPHA)
CLOSE = 0.5  # "closely": the interval's low end at least this (3 pairs in 4 in one order)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b of two paired sequences; None when either has no two distinct values."""
    if len(x) != len(y):
        raise ValueError("x and y must be paired (same length)")
    concordant = discordant = ties_x = ties_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue  # tied in both: neither a pair for x nor for y
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else None


@dataclass(frozen=True)
class RankAgreement:
    benchmark: str
    publisher: str
    suite: str
    models: list[str]
    n: int
    tau: float | None
    ci_low: float | None
    ci_high: float | None
    sentence: str
    # two-sided exact permutation p-value (None: all tied; absent in reports written before)
    p_value: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bootstrap_tau(
    x: Sequence[float],
    y: Sequence[float],
    *,
    y_se: Sequence[float] | None = None,
    rounds: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile 95% interval of tau-b over resampled models, each drawn model's user score
    redrawn from a normal with its standard error `y_se` where given (resamples where tau
    is undefined, e.g. one model drawn every time, are skipped)."""
    rng = random.Random(seed)
    n = len(x)
    se = list(y_se) if y_se is not None else [0.0] * n
    taus = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        ys = [y[i] + (rng.gauss(0.0, se[i]) if se[i] > 0 else 0.0) for i in idx]
        t = kendall_tau_b([x[i] for i in idx], ys)
        if t is not None:
            taus.append(t)
    if len(taus) < rounds // 10:
        return None
    taus.sort()
    return taus[int(0.025 * (len(taus) - 1))], taus[int(0.975 * (len(taus) - 1))]


def _pair_signs(v: np.ndarray) -> np.ndarray:
    """sign(v[..., i] - v[..., j]) for every pair i < j, along the last axis."""
    i, j = np.triu_indices(v.shape[-1], k=1)
    return np.sign(v[..., i] - v[..., j])


def permutation_p(x: Sequence[float], y: Sequence[float], *, seed: int = 0) -> float:
    """Two-sided p-value of tau-b: the share of orders of `y` against `x` with |C - D| at
    least the observed (tau-b's denominator is the same for every order). Every order up to
    EXACT_UP_TO models, else PERMUTATIONS sampled ones (counting the observed)."""
    xs = _pair_signs(np.asarray(x, dtype=float))
    ya = np.asarray(y, dtype=float)
    observed = abs(float(_pair_signs(ya) @ xs))
    n = len(ya)
    if n <= EXACT_UP_TO:
        orders = np.array(list(itertools.permutations(range(n))))
        s = np.abs(_pair_signs(ya[orders]) @ xs)
        return float(np.mean(s >= observed - 1e-9))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(PERMUTATIONS // 1000):  # a thousand at a time: 40 models are 780 pairs
        orders = rng.permuted(np.tile(np.arange(n), (1000, 1)), axis=1)
        hits += int(np.sum(np.abs(_pair_signs(ya[orders]) @ xs) >= observed - 1e-9))
    return (hits + 1) / (PERMUTATIONS + 1)


def interval(tau: float, n: int) -> tuple[float, float]:
    """A 95% interval for tau that does not collapse at +/-1: Wilson's score interval with
    continuity correction for the share of concordant pairs, (1 + tau) / 2, over as many
    independent pairs as give tau its variance under no relation, 2(2n+5) / (9n(n-1)). It
    spans zero below MIN_SHOWABLE models, as the exact test does."""
    m = 9 * n * (n - 1) / (2 * (2 * n + 5))
    p, z2 = (1 + tau) / 2, Z95 * Z95

    def bound(sign: int) -> float:
        if (sign < 0 and p <= 0) or (sign > 0 and p >= 1):
            return float(sign > 0)
        root = math.sqrt(max(0.0, z2 + 2 * sign - 1 / m + 4 * p * (m * (1 - p) - sign)))
        return (2 * m * p + z2 + sign * (1 + Z95 * root)) / (2 * (m + z2))

    return 2 * max(0.0, bound(-1)) - 1, 2 * min(1.0, bound(1)) - 1


def explain(
    benchmark: str,
    suite: str,
    n: int,
    tau: float | None,
    ci: tuple[float, float] | None,
    p: float | None = None,
) -> str:
    """One plain sentence on what the correlation means for choosing a model. A verdict
    needs both the interval clear of zero and the exact test (p < ALPHA)."""
    if tau is None:
        return f"{benchmark} and your suite {suite!r} cannot be compared: the scores are all tied."
    shown = [f"95% interval {ci[0]:+.2f} to {ci[1]:+.2f}"] if ci else []
    shown += [] if p is None else ["p < 0.001" if p < 0.001 else f"p = {p:.2g}"]
    interval_text = f" ({', '.join(shown)})" if shown else ""
    head = (
        f"Over {n} models, {benchmark}'s ranking and yours have Kendall tau {tau:+.2f}"
        f"{interval_text}: "
    )
    settled = p is not None and p < ALPHA
    if settled and ci and ci[0] > 0:
        strength = "closely predicts" if ci[0] >= CLOSE else "predicts"
        return head + (
            f"the leaderboard {strength} the order on your task, so it is a fair first "
            "filter; still check the top few on your own prompts."
        )
    if settled and ci and ci[1] < 0:
        return head + (
            "the leaderboard orders these models against your task: do not choose by it."
        )
    if n < MIN_SHOWABLE:
        why = f" (too few models: no order of {n} could show it, it takes {MIN_SHOWABLE} or more)"
    else:
        why = " (too few models for a firm answer)" if n < 6 else ""
    return head + (
        "the data cannot tell whether the leaderboard predicts your task"
        + why
        + "; choose by your own measurements."
    )


def rank_agreement(
    benchmark: str,
    publisher: str,
    suite: str,
    pairs: dict[str, tuple[float, float]],
    *,
    your_se: dict[str, float] | None = None,
    seed: int = 0,
) -> RankAgreement | None:
    """pairs: model -> (published score, your score); your_se: model -> the standard error
    of your score, where known. None below MIN_MODELS models. The interval is the wider of
    the bootstrap and `interval`."""
    if len(pairs) < MIN_MODELS:
        return None
    models = sorted(pairs)
    x = [pairs[m][0] for m in models]
    y = [pairs[m][1] for m in models]
    tau = kendall_tau_b(x, y)
    ci: tuple[float, float] | None = None
    p: float | None = None
    if tau is not None:
        se = [(your_se or {}).get(m, 0.0) for m in models]
        boot = bootstrap_tau(x, y, y_se=se, seed=seed)
        lo, hi = interval(tau, len(models))
        ci = (min(lo, boot[0]), max(hi, boot[1])) if boot else (lo, hi)
        p = permutation_p(x, y, seed=seed)
    return RankAgreement(
        benchmark=benchmark,
        publisher=publisher,
        suite=suite,
        models=models,
        n=len(models),
        tau=None if tau is None else round(tau, 4),
        ci_low=None if ci is None else round(ci[0], 4),
        ci_high=None if ci is None else round(ci[1], 4),
        sentence=explain(benchmark, suite, len(models), tau, ci, p),
        p_value=p,
    )
