"""Kendall tau between a public benchmark and the user's suite, on synthetic data."""

from __future__ import annotations

import random

import pytest

from openscout.catalog.rank_agreement import (
    MIN_SHOWABLE,
    RankAgreement,
    bootstrap_tau,
    kendall_tau_b,
    permutation_p,
    rank_agreement,
)


def _agreeing(n: int, sign: float = 1.0) -> dict[str, tuple[float, float]]:
    return {f"m{i}": (float(i), sign * i / 10) for i in range(n)}


def test_identical_rankings_have_tau_one() -> None:
    r = rank_agreement("IFEval", "LB", "quick", _agreeing(8))
    assert r is not None and r.tau == pytest.approx(1.0)
    assert r.ci_low is not None and 0.3 < r.ci_low < 0.5 and r.ci_high == 1.0
    assert r.p_value == pytest.approx(2 / 40320)
    assert "the leaderboard predicts the order" in r.sentence  # shown, not how closely
    r = rank_agreement("IFEval", "LB", "quick", _agreeing(12))
    assert r is not None and r.ci_low is not None and r.ci_low >= 0.5
    assert "closely predicts the order" in r.sentence


@pytest.mark.parametrize(("n", "p"), [(3, 1 / 3), (4, 1 / 12)])
def test_a_few_agreeing_models_show_nothing(n: int, p: float) -> None:
    """Three models that happen to agree (1 time in 6 with no relation at all) had the
    interval [+1.00, +1.00] and "closely predicts": any bootstrap of perfectly concordant
    models is perfectly concordant (40th probe). No order of fewer than five models passes
    an exact two-sided test at 5%."""
    assert MIN_SHOWABLE == 5
    for sign in (1.0, -1.0):
        r = rank_agreement("IFEval", "LB", "quick", _agreeing(n, sign))
        assert r is not None and r.tau == pytest.approx(sign)
        assert r.p_value == pytest.approx(p)
        assert r.ci_low is not None and r.ci_high is not None
        assert r.ci_low < 0 < r.ci_high
        assert "predicts the order" not in r.sentence and "against" not in r.sentence
        assert f"too few models: no order of {n} could show it, it takes 5" in r.sentence


def test_five_agreeing_models_can_show_agreement_and_disagreement() -> None:
    r = rank_agreement("IFEval", "LB", "quick", _agreeing(5))
    assert r is not None and r.p_value == pytest.approx(2 / 120)
    assert r.ci_low is not None and r.ci_low > 0 and "the leaderboard predicts" in r.sentence
    r = rank_agreement("IFEval", "LB", "quick", _agreeing(5, -1.0))
    assert r is not None and "against your task" in r.sentence


def test_your_scores_intervals_widen_the_interval() -> None:
    """Six models a few points apart on a 20-item suite are not six settled ranks: each
    user score is redrawn within its interval."""
    pairs = {f"m{i}": (float(i), 0.30 + 0.02 * i) for i in range(6)}
    sure = rank_agreement("IFEval", "LB", "quick", pairs)
    assert sure is not None and "predicts the order" in sure.sentence
    se = {m: 0.10 for m in pairs}  # about a 20-item suite's
    unsure = rank_agreement("IFEval", "LB", "quick", pairs, your_se=se)
    assert unsure is not None and unsure.ci_low is not None and sure.ci_low is not None
    assert unsure.ci_low < 0 < sure.ci_low
    assert "cannot tell" in unsure.sentence


def test_permutation_p_is_exact_and_counts_ties_as_tau_b() -> None:
    assert permutation_p([1, 2, 3], [3, 1, 2]) == pytest.approx(1.0)  # tau -1/3: |S| >= 1
    assert permutation_p([1, 2, 3, 4, 5], [1, 2, 3, 5, 4]) == pytest.approx(2 * 5 / 120)
    # a tie in x: no order is more extreme than the observed one but its mirror and the
    # two orders of the tied pair
    assert permutation_p([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(4 / 24)
    # sampled beyond eight models, seeded
    x = list(range(10))
    assert permutation_p(x, x, seed=1) == permutation_p(x, x, seed=1) < 0.001


def test_a_report_written_before_the_p_value_still_reads() -> None:
    from pydantic import TypeAdapter

    r = rank_agreement("B", "LB", "s", _agreeing(3))
    assert r is not None
    stored = {k: v for k, v in r.as_dict().items() if k != "p_value"}
    assert TypeAdapter(RankAgreement).validate_python(stored).p_value is None


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
