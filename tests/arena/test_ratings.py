"""Bradley-Terry: a hand-computed case, the score equations, recovery of known strengths."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from openscout.arena.ratings import Battle, compute_ratings, point_ratings, win_probability


def battles(a: str, b: str, wins_a: int, wins_b: int, ties: int = 0) -> list[Battle]:
    return (
        [Battle(a, b, "a")] * wins_a + [Battle(a, b, "b")] * wins_b + [Battle(a, b, "tie")] * ties
    )


def test_hand_computed_three_models() -> None:
    # Strengths p = (4, 2, 1) make the expected wins whole numbers, so these counts satisfy the
    # likelihood equations exactly: A-B 2:1 (3*4/6 = 2), B-C 2:1 (3*2/3 = 2), A-C 4:1 (5*4/5 = 4).
    # r = log10(p) centred: (log10 4 - log10 2, 0, -log10 2) -> 1000 + 400 r.
    data = battles("A", "B", 2, 1) + battles("B", "C", 2, 1) + battles("A", "C", 4, 1)
    r = point_ratings(data, prior=0.0)
    assert r["A"] == pytest.approx(1000 + 400 * math.log10(2), abs=1e-6)  # 1120.41
    assert r["B"] == pytest.approx(1000.0, abs=1e-6)
    assert r["C"] == pytest.approx(1000 - 400 * math.log10(2), abs=1e-6)  # 879.59


def test_ties_count_half() -> None:
    # 2 wins, 1 loss, 2 ties: A scores 3 of 5, B 2 of 5 -> odds 3:2 -> gap 400 log10(1.5) = 70.4
    r = point_ratings(battles("A", "B", 2, 1, ties=2), prior=0.0)
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(1.5), abs=1e-6)
    assert r["A"] + r["B"] == pytest.approx(2000.0)
    both_bad = [Battle("A", "B", "both_bad")] * 2 + battles("A", "B", 2, 1)
    assert point_ratings(both_bad, prior=0.0)["A"] == pytest.approx(r["A"])


def test_mle_satisfies_the_score_equations() -> None:
    rng = random.Random(3)
    names = ["m0", "m1", "m2", "m3"]
    data = []
    for _ in range(300):
        a, b = rng.sample(names, 2)
        data.append(Battle(a, b, rng.choice(["a", "a", "b", "tie"])))
    r = point_ratings(data, prior=0.0)
    for m in names:  # observed score = expected score under the fitted model
        observed = sum(
            (1.0 if (x.winner == "a") == (x.model_a == m) else 0.0) if x.winner in "ab" else 0.5
            for x in data
            if m in (x.model_a, x.model_b)
        )
        expected = sum(
            win_probability(r[m], r[x.model_b if x.model_a == m else x.model_a])
            for x in data
            if m in (x.model_a, x.model_b)
        )
        assert observed == pytest.approx(expected, abs=1e-6)


def test_unbeaten_model_stays_finite_with_the_prior() -> None:
    r = point_ratings(battles("A", "B", 5, 0))
    assert all(math.isfinite(v) for v in r.values()) and r["A"] > r["B"] + 400


def test_recovers_true_order_from_simulated_battles() -> None:
    true = {"m0": 1300.0, "m1": 1150.0, "m2": 1000.0, "m3": 900.0, "m4": 700.0}
    rng = random.Random(11)
    names = list(true)
    data = []
    for _ in range(3000):
        a, b = rng.sample(names, 2)
        p = win_probability(true[a], true[b])
        data.append(Battle(a, b, "a" if rng.random() < p else "b"))
    ratings = compute_ratings(data, rounds=100, seed=1)
    assert [x.model for x in ratings] == names  # best first
    centre = np.mean(list(true.values()))
    covered = 0
    for x in ratings:
        assert x.lower <= x.rating <= x.upper
        assert abs(x.rating - (true[x.model] - centre + 1000)) < 60
        covered += x.lower <= true[x.model] - centre + 1000 <= x.upper
    assert covered >= 4  # 95% intervals: all, or at worst one, cover the truth
    assert sum(x.votes for x in ratings) == 2 * len(data)


def test_counts_and_empty_input() -> None:
    out = compute_ratings(battles("A", "B", 3, 1, ties=1), rounds=20)
    a = next(x for x in out if x.model == "A")
    assert (a.wins, a.losses, a.ties, a.votes) == (3, 1, 1, 5)
    empty = compute_ratings([], ["x", "y"])
    assert [(x.rating, x.votes) for x in empty] == [(1000.0, 0), (1000.0, 0)]
    with pytest.raises(ValueError):
        point_ratings([Battle("A", "B", "draw")])


def test_one_vote_is_no_certainty() -> None:
    """One vote gave a 1,320-point gap (2000:1 odds) with a zero-width interval: the prior was
    a thousandth of a tie, and every bootstrap resample of one-way votes is the same (41st
    probe). One virtual tie per pair: 3:1 odds, and intervals that overlap."""
    x, y = compute_ratings([Battle("x", "y", "a")], ["x", "y"])
    assert (x.model, y.model) == ("x", "y")
    assert x.rating - y.rating == pytest.approx(400 * math.log10(3), abs=1e-6)  # 1.5 : 0.5
    assert x.lower is not None and y.upper is not None and y.lower is not None
    assert x.upper is not None and x.lower < y.upper  # overlapping: the order is not settled
    assert x.upper - x.lower > 400 and y.upper - y.lower > 400


def test_intervals_narrow_as_votes_come_in_even_when_all_go_one_way() -> None:
    widths = []
    for n in (1, 5, 20):
        top = compute_ratings([Battle("x", "y", "a")] * n, ["x", "y"])[0]
        assert top.model == "x" and top.lower is not None and top.upper is not None
        assert top.lower < top.rating < top.upper
        widths.append(top.upper - top.lower)
    assert widths[0] > widths[1] > widths[2] > 200  # twenty one-way votes: still no certainty
    mixed = battles("x", "y", 120, 80)
    many = next(r for r in compute_ratings(mixed, rounds=100) if r.model == "x")
    assert many.lower is not None and many.upper is not None
    assert many.upper - many.lower < 100 < widths[2]


def test_prior_joins_models_never_compared_and_leaves_out_those_without_votes() -> None:
    # A beat B and C beat D, never across: the virtual ties place both pairs on one scale
    out = {r.model: r for r in compute_ratings(battles("A", "B", 3, 0) + battles("C", "D", 3, 0))}
    assert out["A"].rating == pytest.approx(out["C"].rating, abs=1e-6)
    assert out["B"].rating == pytest.approx(out["D"].rating, abs=1e-6)
    lone = {r.model: r for r in compute_ratings(battles("A", "B", 1, 0), ["A", "B", "Z"])}
    z = lone["Z"]  # no votes: no interval, and its rating moves no one's
    assert (z.rating, z.lower, z.upper, z.votes) == (1000.0, None, None, 0)
    assert lone["A"].rating == pytest.approx(1000 + 200 * math.log10(3), abs=1e-6)
    assert z.as_dict()["lower"] is None  # null in the JSON, "no votes yet" on the page


def test_only_models_with_votes_are_fitted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every registered model was fitted, votes or not: 19,000 entries in models.yaml made
    one leaderboard view fit a 19,000 x 19,000 matrix, 85 s and 13 GB (57th probe). The
    others sit at the base rating, without an interval, as before."""
    from openscout.arena import ratings

    shapes: list[tuple[int, ...]] = []
    fit = ratings.fit_strengths
    monkeypatch.setattr(ratings, "fit_strengths", lambda w: shapes.append(w.shape) or fit(w))
    votes = [Battle("a", "b", "a"), Battle("a", "b", "a"), Battle("b", "c", "tie")]
    many = compute_ratings(votes, [f"m{i}" for i in range(500)] + ["a", "b", "c"], rounds=0)
    few = compute_ratings(votes, ["a", "b", "c"], rounds=0)
    assert set(shapes) == {(3, 3)}
    assert [r for r in many if r.votes] == few
    idle = [r for r in many if not r.votes]
    assert len(idle) == 500 and {(r.rating, r.lower, r.upper) for r in idle} == {
        (1000.0, None, None)
    }
