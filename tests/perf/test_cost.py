"""Cost follows the formula exactly: hand-computed cases."""

from __future__ import annotations

import pytest

from openscout.errors import ConstraintError
from openscout.perf import cost


def test_per_million_hand_computed() -> None:
    # $3.60/h at 1000 tok/s: 3.6 / (1000 * 3600) * 1e6 = 1.0
    assert cost.per_million(3.6, 1000) == pytest.approx(1.0, rel=1e-12)
    # $0.0816/h at 100 tok/s: 0.0816 / 360000 * 1e6 = 0.226666...
    assert cost.per_million(0.0816, 100) == pytest.approx(0.22666666666, rel=1e-9)
    # $2.86/h at 55 tok/s: 2.86 / 198000 * 1e6 = 14.444...
    assert cost.per_million(2.86, 55) == pytest.approx(14.444444444, rel=1e-9)


def test_blended_is_three_to_one() -> None:
    assert cost.blended(1.0, 5.0) == pytest.approx(2.0)
    assert cost.blended(0.15, 0.60) == pytest.approx(0.2625)


def test_token_cost_uses_prefill_for_input_and_decode_for_output() -> None:
    c = cost.token_cost(3.6, prefill_tps=2000, output_tps=500)
    assert c.input_per_m == pytest.approx(0.5)
    assert c.output_per_m == pytest.approx(2.0)
    assert c.blended_per_m == pytest.approx((3 * 0.5 + 2.0) / 4)  # 0.875
    assert c.as_dict()["price_per_hour"] == 3.6


def test_unknown_speed_gives_unknown_cost() -> None:
    assert cost.per_million(1.0, None) is None
    assert cost.per_million(1.0, 0.0) is None
    c = cost.token_cost(1.0, None, 100.0)
    assert c.input_per_m is None and c.blended_per_m is None
    assert c.output_per_m == pytest.approx(1.0 / 0.36)


def test_free_machine_costs_nothing() -> None:
    assert cost.per_million(0.0, 50) == 0.0


def test_negative_price_is_refused() -> None:
    with pytest.raises(ConstraintError):
        cost.per_million(-1.0, 10)


def test_price_tables_cite_sources_and_dates() -> None:
    for p in cost.INSTANCE_PRICES:
        assert p.price_per_hour > 0 and p.source.startswith("https://") and p.date[:4].isdigit()
    for a in cost.API_PRICES:
        assert a.input_per_m > 0 and a.output_per_m >= a.input_per_m
        assert a.source.startswith("https://") and a.date[:4].isdigit()
    assert cost.default_machine_price().name == cost.DEFAULT_MACHINE
    assert cost.API_PRICES[0].blended_per_m == pytest.approx(cost.blended(0.15, 0.60))


def test_unknown_instance_names_the_known_ones() -> None:
    with pytest.raises(ConstraintError) as e:
        cost.instance_price("nope")
    assert "aws-m7g.large" in (e.value.hint or "")


@pytest.mark.parametrize("text", ["x", "x=1", "=1/2", "x=a/b", "x=1/2/3", "x=-1/2"])
def test_bad_api_price_is_refused(text: str) -> None:
    with pytest.raises(ConstraintError):
        cost.parse_api_price(text)


def test_api_price_entered_by_user() -> None:
    p = cost.parse_api_price("my-endpoint=0.2/0.8")
    assert (p.name, p.input_per_m, p.output_per_m) == ("my-endpoint", 0.2, 0.8)
    assert p.blended_per_m == pytest.approx(0.35)
