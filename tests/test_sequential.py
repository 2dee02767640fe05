"""Early stopping: right order with fewer items, and a false-decision rate within alpha."""

import random

import pytest

from openscout.evals.sequential import PairTest, RankingMonitor, run_until_settled


def _simulate(ps: dict[str, float], n: int, rng: random.Random):
    for _ in range(n):
        yield {m: float(rng.random() < p) for m, p in ps.items()}


def test_clear_difference_settles_early_in_the_right_order() -> None:
    rng = random.Random(7)
    used = []
    for _ in range(50):
        r = run_until_settled(
            _simulate({"a": 0.85, "b": 0.55, "c": 0.25}, 1000, rng),
            ["a", "b", "c"],
            alpha=0.05,
            items_available=1000,
        )
        assert r.settled and r.order == ["a", "b", "c"]
        used.append(r.items_used)
    assert max(used) < 400 and sum(used) / len(used) < 200


def test_equal_models_rarely_get_an_order() -> None:
    rng = random.Random(11)
    trials, alpha = 400, 0.05
    false = 0
    for _ in range(trials):
        t = PairTest(alpha)
        for s in _simulate({"a": 0.6, "b": 0.6}, 300, rng):
            t.update(s["a"] - s["b"])
        false += t.decided != 0
    # Ville's inequality bounds this by alpha for any horizon; allow sampling noise above it.
    assert false / trials <= alpha + 0.03


def test_wrong_order_is_rare_when_close() -> None:
    rng = random.Random(3)
    wrong = 0
    for _ in range(300):
        t = PairTest(0.05)
        for s in _simulate({"a": 0.55, "b": 0.5}, 400, rng):
            t.update(s["a"] - s["b"])
        wrong += t.decided == -1
    assert wrong / 300 <= 0.05


def test_monitor_validates_inputs() -> None:
    with pytest.raises(ValueError):
        RankingMonitor(["only"])
    with pytest.raises(ValueError):
        PairTest(0.05).update(2.0)
