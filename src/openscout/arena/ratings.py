"""Bradley-Terry ratings from pairwise votes, by maximum likelihood, with bootstrap intervals.

Model: P(i beats j) = p_i / (p_i + p_j) = 1 / (1 + 10 ** (r_j - r_i)), with r = log10(p).
Ratings are shown on the Elo-like scale 400 * r + 1000, r centred to mean zero, so a
difference of 400 points means 10:1 odds. A tie (and a "both bad" vote) counts as half a
win for each side, as in LMSYS Chatbot Arena.

The maximum is found by damped Newton steps on the (concave) log-likelihood. The prior is
`prior` virtual ties between every two rated models (models with a vote), one by default:
pseudo-counts, as Coulom's Whole-History Rating adds virtual draws. A thousandth of a tie
(before the 41st probe) left one vote at 2000:1 odds, a 1,320-point gap; one tie makes it 3:1
(191 points), 20 one-way votes 41:1, and it joins models never compared. `prior=0` gives the
exact MLE (infinite where one model won every comparison).

95% intervals: each bound the further of a bootstrap over battles (percentiles) and the
normal approximation at the fit (the inverse curvature of the log-posterior). The bootstrap
alone had zero width while every vote went one way, whatever the count: the page claimed
certainty from one vote. A model without votes has no interval (None).
Pure: no I/O, no globals; randomness only from the seed passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTCOMES = ("a", "b", "tie", "both_bad")
SCALE = 400.0
BASE_RATING = 1000.0
DEFAULT_PRIOR = 1.0  # virtual ties between every two rated models
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Battle:
    model_a: str
    model_b: str
    winner: str  # "a", "b", "tie" or "both_bad"


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    lower: float | None  # 95% interval (see the module's docstring); None without votes
    upper: float | None
    votes: int  # battles this model took part in
    wins: int
    losses: int
    ties: int
    failed: int = 0  # battles it failed to answer: no vote, so no loss, but counted

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "rating": self.rating,
            "lower": self.lower,
            "upper": self.upper,
            "votes": self.votes,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "failed": self.failed,
        }


def _rated(battles: Sequence[Battle], index: dict[str, int]) -> np.ndarray:
    """Which models took part in a vote: the prior joins these, and only these."""
    rated = np.zeros(len(index), dtype=bool)
    for b in battles:
        rated[index[b.model_a]] = rated[index[b.model_b]] = True
    return rated


def _win_matrix(
    battles: Sequence[Battle], index: dict[str, int], prior: float, rated: np.ndarray
) -> np.ndarray:
    """w[i, j] = wins of i over j, ties counting half, plus `prior` ties between rated models.

    `rated` comes from all the votes, so a bootstrap resample that misses a model's votes still
    holds it, at the prior, rather than letting it fall out of the fit."""
    n = len(index)
    w = np.zeros((n, n))
    for b in battles:
        i, j = index[b.model_a], index[b.model_b]
        if b.winner == "a":
            w[i, j] += 1.0
        elif b.winner == "b":
            w[j, i] += 1.0
        elif b.winner in ("tie", "both_bad"):
            w[i, j] += 0.5
            w[j, i] += 0.5
        else:
            raise ValueError(f"unknown outcome {b.winner!r}; expected one of {OUTCOMES}")
    if prior > 0:
        pairs = np.outer(rated, rated)
        np.fill_diagonal(pairs, False)
        w = w + pairs * (prior / 2.0)
    return w


def _loglik(theta: np.ndarray, w: np.ndarray) -> float:
    diff = theta[:, None] - theta[None, :]
    return float(-(w * np.logaddexp(0.0, -diff)).sum())  # sum w_ij log sigmoid(t_i - t_j)


def fit_strengths(w: np.ndarray, max_iter: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Maximum likelihood log10 strengths (centred at 0) by damped Newton steps.

    The log-likelihood is concave in the natural-log strengths; each step solves the Newton
    system by least squares (the Hessian is singular along "add a constant to every model")
    and halves the step until the likelihood does not fall, so it converges from anywhere."""
    n = w.shape[0]
    if n == 0:
        return np.zeros(0)
    games = w + w.T
    wins = w.sum(axis=1)
    active = games.sum(axis=1) > 0
    theta = np.zeros(n)
    current = _loglik(theta, w)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))  # P(i beats j)
        grad = wins - (games * p).sum(axis=1)
        if np.max(np.abs(grad)) < tol:
            break
        curv = games * p * (1.0 - p)
        hess = curv - np.diag(curv.sum(axis=1))  # negative semi-definite
        step = np.linalg.lstsq(-hess, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-8:
            trial = theta + t * step
            value = _loglik(trial, w)
            if value >= current - 1e-12:
                break
            t /= 2.0
        theta, current = trial, value
        if np.max(np.abs(t * step)) < tol:
            break
    r = theta / np.log(10.0)
    if active.any():
        r = r - r[active].mean()
    r[~active] = 0.0
    return r


def point_ratings(
    battles: Sequence[Battle], models: Sequence[str] | None = None, prior: float = DEFAULT_PRIOR
) -> dict[str, float]:
    """Ratings on the 400*r + 1000 scale, no intervals (cheap: used to choose pairs)."""
    names = _names(battles, models)
    index = {m: i for i, m in enumerate(names)}
    r = fit_strengths(_win_matrix(battles, index, prior, _rated(battles, index)))
    return {m: float(SCALE * r[index[m]] + BASE_RATING) for m in names}


def _names(battles: Sequence[Battle], models: Sequence[str] | None) -> list[str]:
    names = list(dict.fromkeys(models or []))
    for b in battles:
        for m in (b.model_a, b.model_b):
            if m not in names:
                names.append(m)
    return names


def normal_sd(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Each rating's standard deviation in points under the normal approximation at the fit
    `r` (log10 strengths) of win matrix `w`: the pseudo-inverse of the log-posterior's
    curvature among the rated models (the ratings are centred). inf for a model without any."""
    theta = r * np.log(10.0)
    games = w + w.T
    p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
    curv = games * p * (1.0 - p)
    active = games.sum(axis=1) > 0
    sd = np.full(len(r), np.inf)
    if active.any():
        info = np.diag(curv.sum(axis=1)) - curv
        cov = np.linalg.pinv(info[np.ix_(active, active)])
        sd[active] = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * SCALE / np.log(10.0)
    return sd


def _bootstrap(
    battles: Sequence[Battle],
    index: dict[str, int],
    prior: float,
    rated: np.ndarray,
    rounds: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles of the ratings over battles resampled with replacement."""
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(index)))
    for k in range(rounds):
        pick = rng.integers(0, len(battles), len(battles))
        sample = [battles[i] for i in pick]
        samples[k] = fit_strengths(_win_matrix(sample, index, prior, rated)) * SCALE + BASE_RATING
    return np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)


def compute_ratings(
    battles: Sequence[Battle],
    models: Sequence[str] | None = None,
    *,
    rounds: int = 200,
    seed: int = 0,
    prior: float = DEFAULT_PRIOR,
) -> list[Rating]:
    """Ratings with 95% intervals (the module's docstring says how), best first."""
    names = _names(battles, models)
    # only models with a vote are fitted: the others sit at the base rating whatever the fit,
    # and 19,000 registered models made one N x N fit of 85 s and 13 GB (57th probe)
    played = {m for b in battles for m in (b.model_a, b.model_b)}
    index = {m: i for i, m in enumerate(m for m in names if m in played)}
    rated = _rated(battles, index)
    w = _win_matrix(battles, index, prior, rated)
    r = fit_strengths(w)
    point = r * SCALE + BASE_RATING
    half = Z95 * normal_sd(w, r)
    lower, upper = point - half, point + half
    if battles and rounds > 0:
        boot_lower, boot_upper = _bootstrap(battles, index, prior, rated, rounds, seed)
        lower, upper = np.minimum(lower, boot_lower), np.maximum(upper, boot_upper)
    out = []
    for m in names:
        if m not in index:
            out.append(Rating(m, BASE_RATING, None, None, 0, 0, 0, 0))
            continue
        i = index[m]
        mine = [b for b in battles if m in (b.model_a, b.model_b)]
        wins = sum(
            1 for b in mine if (b.winner == "a") == (b.model_a == m) and b.winner in ("a", "b")
        )
        ties = sum(1 for b in mine if b.winner in ("tie", "both_bad"))
        interval = (float(lower[i]), float(upper[i])) if rated[i] else (None, None)
        out.append(
            Rating(
                m,
                float(point[i]),
                *interval,
                len(mine),
                wins,
                len(mine) - wins - ties,
                ties,
            )
        )
    return sorted(out, key=lambda x: -x.rating)


def win_probability(rating_i: float, rating_j: float) -> float:
    """P(i beats j) implied by two ratings on the 400-point scale."""
    return 1.0 / (1.0 + 10 ** ((rating_j - rating_i) / SCALE))
