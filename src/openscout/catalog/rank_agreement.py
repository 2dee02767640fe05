"""How far a public benchmark's ranking agrees with the user's own: Kendall's tau-b between
published scores and the user's suite scores over the same models, with a bootstrap 95%
interval over models and a plain sentence. Pure: no I/O, randomness only from a seed.

Tau-b counts concordant minus discordant pairs, corrected for ties (a tie in either ranking
counts for neither). With few models the interval is wide, and the sentence says so: three
models can never show more than weak evidence.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

MIN_MODELS = 3


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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bootstrap_tau(
    x: Sequence[float], y: Sequence[float], *, rounds: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile 95% interval of tau-b over resampled models (resamples where tau is
    undefined, e.g. one model drawn every time, are skipped)."""
    rng = random.Random(seed)
    n = len(x)
    taus = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        t = kendall_tau_b([x[i] for i in idx], [y[i] for i in idx])
        if t is not None:
            taus.append(t)
    if len(taus) < rounds // 10:
        return None
    taus.sort()
    return taus[int(0.025 * (len(taus) - 1))], taus[int(0.975 * (len(taus) - 1))]


def explain(
    benchmark: str, suite: str, n: int, tau: float | None, ci: tuple[float, float] | None
) -> str:
    """One plain sentence on what the correlation means for choosing a model."""
    if tau is None:
        return f"{benchmark} and your suite {suite!r} cannot be compared: the scores are all tied."
    interval = f" (95% interval {ci[0]:+.2f} to {ci[1]:+.2f})" if ci else ""
    head = (
        f"Over {n} models, {benchmark}'s ranking and yours have Kendall tau {tau:+.2f}{interval}: "
    )
    if ci and ci[0] > 0:
        strength = "closely" if tau >= 0.7 else "partly"
        return head + (
            f"the leaderboard {strength} predicts the order on your task, so it is a fair first "
            "filter; still check the top few on your own prompts."
        )
    if ci and ci[1] < 0:
        return head + (
            "the leaderboard orders these models against your task: do not choose by it."
        )
    return head + (
        "the data cannot tell whether the leaderboard predicts your task"
        + (" (too few models for a firm answer)" if n < 6 else "")
        + "; choose by your own measurements."
    )


def rank_agreement(
    benchmark: str,
    publisher: str,
    suite: str,
    pairs: dict[str, tuple[float, float]],
    *,
    seed: int = 0,
) -> RankAgreement | None:
    """pairs: model -> (published score, your score). None below MIN_MODELS models."""
    if len(pairs) < MIN_MODELS:
        return None
    models = sorted(pairs)
    x = [pairs[m][0] for m in models]
    y = [pairs[m][1] for m in models]
    tau = kendall_tau_b(x, y)
    ci = bootstrap_tau(x, y, seed=seed) if tau is not None else None
    return RankAgreement(
        benchmark=benchmark,
        publisher=publisher,
        suite=suite,
        models=models,
        n=len(models),
        tau=None if tau is None else round(tau, 4),
        ci_low=None if ci is None else round(ci[0], 4),
        ci_high=None if ci is None else round(ci[1], 4),
        sentence=explain(benchmark, suite, len(models), tau, ci),
    )
