"""Statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from openscout.evals import stats


def test_wilson_matches_the_textbook_value() -> None:
    # 8 of 10: Wilson 95% interval (0.4902, 0.9433), e.g. Newcombe (1998), method 3.
    lo, hi = stats.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == pytest.approx(1.0)


def test_estimate_picks_the_interval() -> None:
    e = stats.estimate([1.0, 0.0, 1.0, 1.0])
    assert e.method == "wilson" and e.score == 0.75 and e.n == 4
    t = stats.estimate([0.5, 0.7, 0.9])
    # mean 0.7, sd 0.2, t(2) = 4.303: half width 4.303 * 0.2 / sqrt(3)
    half = 4.303 * 0.2 / math.sqrt(3)
    assert t.method == "t" and t.ci_low == pytest.approx(max(0.0, 0.7 - half))
    assert t.ci_high == pytest.approx(min(1.0, 0.7 + half))
    assert stats.estimate([]).n == 0


def test_t_quantile_is_close_to_the_table_between_rows() -> None:
    assert stats._t_quantile_975(50) == pytest.approx(2.009, abs=0.003)
    assert stats._t_quantile_975(1000) == pytest.approx(1.962, abs=0.003)


def test_chance_normalisation() -> None:
    assert stats.chance_normalise(0.25, 4) == 0.0
    assert stats.chance_normalise(1.0, 4) == 1.0
    assert stats.chance_normalise(0.625, 4) == pytest.approx(0.5)
    e = stats.chance_normalised_estimate([1, 1, 0, 0], [4, 4, 4, 4])
    raw = stats.estimate([1, 1, 0, 0])
    assert e.score == pytest.approx((0.5 - 0.25) / 0.75)
    assert e.ci_low == pytest.approx((raw.ci_low - 0.25) / 0.75)
    mixed = stats.chance_normalised_estimate([1, 0], [2, 4])
    assert mixed.score == pytest.approx((1.0 + (-1 / 3)) / 2)
    with pytest.raises(ValueError):
        stats.chance_normalise(0.5, 1)


def test_mcnemar_exact() -> None:
    # b=10, c=2: 2 * P(X <= 2 | Binomial(12, 0.5)) = 2 * 79 / 4096
    assert stats.mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(3, 3) == 1.0


def test_paired_comparison_binary() -> None:
    a = [1.0] * 30 + [0.0] * 10
    b = [0.0] * 20 + [1.0] * 10 + [0.0] * 10
    c = stats.compare_paired("A", a, "B", b)
    assert c.method == "mcnemar-exact" and c.a_only == 20 and c.b_only == 0
    assert c.significant and c.diff == pytest.approx(0.5) and "A is better" in c.verdict()
    same = stats.compare_paired("A", a, "B", a)
    assert not same.significant and same.p_value == 1.0


def test_paired_comparison_continuous() -> None:
    a = [0.6 + 0.01 * (i % 5) for i in range(40)]
    b = [x - 0.2 for x in a]
    c = stats.compare_paired("A", a, "B", b)
    assert c.method == "paired-bootstrap" and c.significant
    noisy = [x + (0.05 if i % 2 else -0.05) for i, x in enumerate(a)]
    assert not stats.compare_paired("A", a, "B", noisy).significant
    with pytest.raises(ValueError):
        stats.compare_paired("A", [1.0], "B", [1.0, 0.0])


def test_mcnemar_matches_the_exact_sum() -> None:
    import math
    import random

    rng = random.Random(0)
    for _ in range(300):
        a = rng.randint(0, 1500)
        b = rng.randint(0, 1500)
        k, m = min(a, b), a + b
        exact = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2**m) if m else 1.0
        assert stats.mcnemar_exact(a, b) == pytest.approx(exact, rel=1e-9, abs=1e-300)


@pytest.mark.timeout(30)  # a hang guard: the exact big-integer sum took hours at this size
def test_comparisons_of_the_largest_suites_are_quick() -> None:
    """200,000 items (the suite bound) on which two models mostly disagree: `eval` and every
    `runs show` compare them (fifteenth probe: 16,000 discordant items took 20 s)."""
    assert stats.mcnemar_exact(100_000, 99_000) < 0.05
    a = [(i % 7) / 7 for i in range(200_000)]
    b = [(i % 5) / 5 for i in range(200_000)]
    assert 0 < stats.paired_bootstrap(a, b) <= 1
