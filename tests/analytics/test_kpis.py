"""The KPI formulas: exact values, None for "cannot say", and their properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialkit import Money
from socialkit.analytics import (
    click_through_rate,
    cost_per_engagement,
    engagement_rate_by_followers,
    engagement_rate_by_impressions,
    engagement_rate_by_reach,
    follower_growth_rate,
    report,
    roas,
    roi,
)

RATES = [
    engagement_rate_by_impressions,
    engagement_rate_by_reach,
    engagement_rate_by_followers,
    click_through_rate,
]
counts = st.integers(min_value=0, max_value=10**12)
maybe_counts = st.none() | counts
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


def eur(amount: str | int | Decimal) -> Money:
    return Money(amount=amount, currency="EUR")


def test_each_rate_divides_by_its_denominator() -> None:
    assert engagement_rate_by_impressions(42, 1000) == Decimal("0.042")
    assert engagement_rate_by_reach(30, 600) == Decimal("0.05")
    assert engagement_rate_by_followers(5, 2000) == Decimal("0.0025")
    assert click_through_rate(7, 350) == Decimal("0.02")


def test_rates_are_decimal_not_float() -> None:
    assert type(engagement_rate_by_impressions(1, 3)) is Decimal


@pytest.mark.parametrize("rate", RATES)
def test_zero_denominator_is_none_not_zero(rate) -> None:  # type: ignore[no-untyped-def]
    assert rate(0, 0) is None
    assert rate(5, 0) is None
    # a reported zero numerator is a real zero
    assert rate(0, 10) == 0


@pytest.mark.parametrize("rate", RATES)
def test_unreported_input_is_none(rate) -> None:  # type: ignore[no-untyped-def]
    assert rate(None, 10) is None
    assert rate(10, None) is None


def test_negative_count_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"impressions must be .* at least 0 \(got -1\)"):
        engagement_rate_by_impressions(1, -1)
    with pytest.raises(ValueError, match="engagements"):
        engagement_rate_by_reach(-3, 10)


def test_float_count_is_refused() -> None:
    with pytest.raises(TypeError, match="clicks must be an int or Decimal, not float"):
        click_through_rate(1.5, 10)  # type: ignore[arg-type]


def test_follower_growth_rate_can_be_negative_but_not_below_minus_one() -> None:
    assert follower_growth_rate(1000, 1100) == Decimal("0.1")
    assert follower_growth_rate(1000, 900) == Decimal("-0.1")
    assert follower_growth_rate(1000, 0) == Decimal(-1)
    assert follower_growth_rate(0, 50) is None
    assert follower_growth_rate(None, 50) is None


def test_cost_per_engagement_keeps_money_exact() -> None:
    cpe = cost_per_engagement(eur("100.00"), 3)
    assert cpe is not None
    assert cpe.currency == "EUR"
    assert type(cpe.amount) is Decimal
    assert cpe.amount.quantize(Decimal("0.01")) == Decimal("33.33")
    assert cost_per_engagement(eur("100.00"), 0) is None
    assert cost_per_engagement(None, 10) is None
    assert cost_per_engagement(eur(10), None) is None


def test_roi_and_roas() -> None:
    assert roi(eur("1500"), eur("1000")) == Decimal("0.5")
    assert roi(eur("500"), eur("1000")) == Decimal("-0.5")
    assert roas(eur("3000"), eur("1000")) == Decimal(3)
    assert roi(eur(10), eur(0)) is None
    assert roas(eur(10), eur(0)) is None
    assert roi(None, eur(1)) is None
    assert roas(eur(1), None) is None


def test_roi_refuses_mixed_currencies() -> None:
    with pytest.raises(ValueError, match="revenue is in USD and cost in EUR"):
        roi(Money(amount=1, currency="USD"), eur(1))
    with pytest.raises(ValueError, match="USD"):
        roas(Money(amount=1, currency="USD"), eur(1))


@given(numerator=maybe_counts, denominator=maybe_counts)
def test_rates_are_none_exactly_when_they_cannot_be_said(
    numerator: int | None, denominator: int | None
) -> None:
    for rate in RATES:
        value = rate(numerator, denominator)
        if numerator is None or denominator is None or denominator == 0:
            assert value is None
        else:
            assert value is not None
            assert value >= 0
            # the rate times its denominator gives the numerator back (28 digits)
            assert abs(value * denominator - numerator) <= Decimal(numerator) * Decimal("1e-26")


@given(engagements=counts, impressions=counts)
def test_engagements_never_exceeding_impressions_give_a_rate_at_most_one(
    engagements: int, impressions: int
) -> None:
    rate = engagement_rate_by_impressions(min(engagements, impressions), impressions)
    assert rate is None or 0 <= rate <= 1


@given(start=counts, end=counts)
def test_growth_is_at_least_minus_one(start: int, end: int) -> None:
    growth = follower_growth_rate(start, end)
    assert (growth is None) == (start == 0)
    if growth is not None:
        assert growth >= -1
        assert (growth > 0) == (end > start)


@given(revenue=amounts, cost=amounts)
def test_roas_is_roi_plus_one(revenue: Decimal, cost: Decimal) -> None:
    r_o_i = roi(eur(revenue), eur(cost))
    r_o_a_s = roas(eur(revenue), eur(cost))
    assert (r_o_i is None) == (r_o_a_s is None) == (cost == 0)
    if r_o_i is not None and r_o_a_s is not None:
        assert abs((r_o_i + 1) - r_o_a_s) <= Decimal("1e-20")


@given(cost=amounts, engagements=st.integers(min_value=1, max_value=10**9))
def test_cost_per_engagement_times_engagements_is_the_cost(cost: Decimal, engagements: int) -> None:
    cpe = cost_per_engagement(eur(cost), engagements)
    assert cpe is not None
    assert abs(cpe.amount * engagements - cost) <= Decimal("1e-15")


def test_a_negative_cost_is_refused_and_a_negative_revenue_is_not() -> None:
    # A cost of -100 EUR gave an ROI of -1.5 and a cost per engagement of -10 EUR.
    refund = eur("-100")
    for call in (
        lambda: roi(eur("50"), refund),
        lambda: roas(eur("50"), refund),
        lambda: cost_per_engagement(refund, 10),
        lambda: report([], cost=refund),
    ):
        with pytest.raises(ValueError, match=r"^cost must be at least 0 \(got -100 EUR\)$"):
            call()
    assert roi(eur("-50"), eur("100")) == Decimal("-1.5")  # revenue may be negative
    assert roas(eur("-50"), eur("100")) == Decimal("-0.5")
    assert cost_per_engagement(eur("0"), 10) == eur("0")
