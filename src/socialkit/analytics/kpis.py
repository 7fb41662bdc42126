"""KPI formulas: one function per indicator, exact arithmetic, ``None`` for "cannot say".

Every function returns a :class:`~decimal.Decimal` (or a :class:`~socialkit.Money` for
amounts of money) and never a float, so a report compares exactly with a
:class:`~socialkit.KpiTarget` and ``0.1 + 0.2`` problems cannot appear in a budget.

A result is ``None`` — not ``0`` — when an input was not reported (``None``) or when the
denominator is zero: "this post had no impressions, so it has no engagement rate" is
different from "this post had impressions and nobody engaged". Rates are fractions, not
percentages: ``Decimal("0.042")`` is 4.2 %.
"""

from __future__ import annotations

from decimal import Decimal

from socialkit.models.campaign import Money

__all__ = [
    "click_through_rate",
    "cost_per_engagement",
    "engagement_rate_by_followers",
    "engagement_rate_by_impressions",
    "engagement_rate_by_reach",
    "follower_growth_rate",
    "negative_feedback_rate",
    "roas",
    "roi",
]

Count = int | Decimal


def _count(value: Count | None, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"{name} must be an int or Decimal, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a finite count of at least 0 (got {value})")
    return number


def _ratio(
    numerator: Count | None, denominator: Count | None, names: tuple[str, str]
) -> Decimal | None:
    top = _count(numerator, names[0])
    bottom = _count(denominator, names[1])
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def _check_cost(cost: Money | None) -> None:
    # A negative cost made ROI look better than a free campaign and a CPE negative;
    # revenue may be negative (refunds), a cost may not.
    if cost is not None and cost.amount < 0:
        raise ValueError(f"cost must be at least 0 (got {cost})")


def _same_currency(first: Money, second: Money, names: tuple[str, str]) -> None:
    if first.currency != second.currency:
        raise ValueError(
            f"{names[0]} is in {first.currency} and {names[1]} in {second.currency}; "
            "convert one of them first"
        )


def engagement_rate_by_impressions(
    engagements: Count | None, impressions: Count | None
) -> Decimal | None:
    """Engagement rate by impressions.

    Formula: ``engagements / impressions``.

    Args:
        engagements: likes + comments + shares + quotes + saves + clicks.
        impressions: times the post was shown (one person may see it several times).

    Returns:
        The rate as a fraction, or ``None`` when either count was not reported or
        ``impressions`` is 0.

    Raises:
        ValueError: when a count is negative.
    """
    return _ratio(engagements, impressions, ("engagements", "impressions"))


def engagement_rate_by_reach(engagements: Count | None, reach: Count | None) -> Decimal | None:
    """Engagement rate by reach.

    Formula: ``engagements / reach``.

    Args:
        engagements: likes + comments + shares + quotes + saves + clicks.
        reach: distinct accounts the post was shown to.

    Returns:
        The rate as a fraction, or ``None`` when either count was not reported or
        ``reach`` is 0.
    """
    return _ratio(engagements, reach, ("engagements", "reach"))


def engagement_rate_by_followers(
    engagements: Count | None, followers: Count | None
) -> Decimal | None:
    """Engagement rate by followers.

    Formula: ``engagements / followers``.

    Works where a platform reports neither impressions nor reach (Mastodon, Bluesky).

    Args:
        engagements: likes + comments + shares + quotes + saves + clicks.
        followers: the account's followers (for a group of posts, the followers of the
            accounts whose posts are counted; see :mod:`socialkit.analytics.coverage`).

    Returns:
        The rate as a fraction, or ``None`` when either count was not reported or
        ``followers`` is 0.
    """
    return _ratio(engagements, followers, ("engagements", "followers"))


def negative_feedback_rate(
    negative_feedback: Count | None, impressions: Count | None
) -> Decimal | None:
    """Negative feedback rate: how often a post was pushed away per time it was shown.

    Formula: ``negative_feedback / impressions``.

    Args:
        negative_feedback: hides, reports, "see less" and unfollows the platform counts
            against the post.
        impressions: times the post was shown.

    Returns:
        The rate as a fraction, or ``None`` when either count was not reported or
        ``impressions`` is 0.
    """
    return _ratio(negative_feedback, impressions, ("negative_feedback", "impressions"))


def click_through_rate(clicks: Count | None, impressions: Count | None) -> Decimal | None:
    """Click-through rate (CTR).

    Formula: ``clicks / impressions``.

    Returns:
        The rate as a fraction, or ``None`` when either count was not reported or
        ``impressions`` is 0.
    """
    return _ratio(clicks, impressions, ("clicks", "impressions"))


def follower_growth_rate(
    followers_start: Count | None, followers_end: Count | None
) -> Decimal | None:
    """Follower growth rate over a period.

    Formula: ``(followers_end - followers_start) / followers_start``.

    Negative when the account lost followers (the only rate here that can be; ROI can
    too); never below ``-1``.

    Returns:
        The growth as a fraction, or ``None`` when either count was not reported or
        ``followers_start`` is 0.
    """
    start = _count(followers_start, "followers_start")
    end = _count(followers_end, "followers_end")
    if start is None or end is None or start == 0:
        return None
    return (end - start) / start


def cost_per_engagement(cost: Money | None, engagements: Count | None) -> Money | None:
    """Cost per engagement (CPE).

    Formula: ``cost / engagements``, in the currency of ``cost``.

    The amount is exact (not rounded); quantize it for display, for example
    ``cpe.amount.quantize(Decimal("0.01"))``.

    Returns:
        The cost of one engagement, or ``None`` when ``cost`` or ``engagements`` is
        unknown or ``engagements`` is 0.

    Raises:
        ValueError: when ``cost`` is negative or ``engagements`` is a negative count.
    """
    _check_cost(cost)
    count = _count(engagements, "engagements")
    if cost is None or count is None or count == 0:
        return None
    return Money(amount=cost.amount / count, currency=cost.currency)


def roi(revenue: Money | None, cost: Money | None) -> Decimal | None:
    """Return on investment (ROI).

    Formula: ``(revenue - cost) / cost``.

    ``Decimal("0.5")`` means the campaign returned its cost and half as much again;
    a negative ROI means it lost money.

    Returns:
        ROI as a fraction, or ``None`` when either amount is unknown or ``cost`` is 0.

    Raises:
        ValueError: when ``cost`` is negative (``revenue`` may be), or ``revenue`` and
            ``cost`` are in different currencies.
    """
    _check_cost(cost)
    if revenue is None or cost is None:
        return None
    _same_currency(revenue, cost, ("revenue", "cost"))
    if cost.amount == 0:
        return None
    return (revenue.amount - cost.amount) / cost.amount


def roas(revenue: Money | None, cost: Money | None) -> Decimal | None:
    """Return on ad spend (ROAS).

    Formula: ``revenue / cost``.

    ``Decimal("3")`` means every unit of currency spent brought three back.

    Returns:
        ROAS as a ratio, or ``None`` when either amount is unknown or ``cost`` is 0.

    Raises:
        ValueError: when ``cost`` is negative (``revenue`` may be), or ``revenue`` and
            ``cost`` are in different currencies.
    """
    _check_cost(cost)
    if revenue is None or cost is None:
        return None
    _same_currency(revenue, cost, ("revenue", "cost"))
    if cost.amount == 0:
        return None
    return revenue.amount / cost.amount
