"""Kendall tau between a public benchmark and the user's suite, on synthetic data."""

from __future__ import annotations

import random

import pytest

from openscout.catalog.rank_agreement import bootstrap_tau, kendall_tau_b, rank_agreement


def test_identical_rankings_have_tau_one() -> None:
    pairs = {f"m{i}": (float(i), i / 10) for i in range(8)}
    r = rank_agreement("IFEval", "LB", "quick", pairs)
    assert r is not None and r.tau == pytest.approx(1.0)
    assert r.ci_low is not None and r.ci_low > 0.5
    assert "predicts the order" in r.sentence


def test_reversed_rankings_have_tau_minus_one() -> None:
    assert kendall_tau_b([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_unrelated_rankings_have_tau_near_zero() -> None:
    rng = random.Random(7)
    x = list(range(400))
    y = [rng.random() for _ in x]
    assert abs(kendall_tau_b(x, y) or 1.0) < 0.1
    r = rank_agreement("BBH", "LB", "mine", {f"m{i}": (float(i), y[i]) for i in range(12)}, seed=1)
    assert r is not None and r.ci_low is not None and r.ci_high is not None
    assert r.ci_low < 0 < r.ci_high  # no agreement shown
    assert "cannot tell" in r.sentence


def test_ties_follow_tau_b() -> None:
    # x ties one pair: tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) = 5 / sqrt(5 * 6)
    assert kendall_tau_b([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / (5 * 6) ** 0.5)
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None


def test_fewer_than_three_models_give_no_correlation() -> None:
    assert rank_agreement("GPQA", "LB", "s", {"a": (1, 1), "b": (2, 2)}) is None


def test_three_models_say_the_evidence_is_thin() -> None:
    r = rank_agreement("MuSR", "LB", "s", {"a": (1, 3), "b": (2, 1), "c": (3, 2)})
    assert r is not None and r.n == 3
    assert "too few models" in r.sentence


def test_bootstrap_is_seeded() -> None:
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert bootstrap_tau(x, y, seed=3) == bootstrap_tau(x, y, seed=3)
