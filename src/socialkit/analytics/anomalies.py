"""Anomaly alerts: posts whose KPI is far from what their account usually gets.

Each post is compared with the other posts of its account by a **robust z-score**, which
a single viral post cannot drag along the way a mean and a standard deviation would::

    z = 0.6745 × (value − median) / MAD          MAD = median(|value − median|)

(Iglewicz and Hoaglin's modified z-score; 0.6745 makes it comparable to a normal z.)
When more than half of the values are equal the MAD is 0; the mean absolute deviation
stands in (``z = (value − median) / (1.2533 × meanAD)``). A post is an anomaly when
``|z|`` exceeds the threshold, 3.5 by default.

Negative feedback spikes are rare events over impressions and are judged as counts
instead, against the exposure of each post (:mod:`socialkit.analytics.spikes`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, get_args

from socialkit.analytics.best_time import (
    ScoreKpi,
    at_age,
    check_age,
    check_whole,
    published_at,
)
from socialkit.analytics.report import KpiReport, check_kpi, post_reports
from socialkit.models._base import SocialModel

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt

__all__ = ["Anomaly", "find_anomalies", "robust_z_scores"]

_MAD_SCALE = Decimal("0.6745")
_MEAN_AD_SCALE = Decimal("1.253314")


class Anomaly(SocialModel):
    """A post whose KPI stands out from its account's other posts.

    Attributes:
        platform, account_id, post_id: the post.
        kpi: the KPI compared.
        value: the post's value.
        median: the account's median over the compared posts.
        score: how strongly it stands out, the ranking's key. From
            :func:`find_anomalies`, the robust z-score (positive: above the usual,
            negative: below); from :func:`~socialkit.analytics.negative_feedback_spikes`,
            ``−log10 p`` (3 means one chance in a thousand).
        direction: ``high`` or ``low``.
        expected: for a negative feedback spike, the count the post would have had at
            its account's usual rate (``None`` from :func:`find_anomalies`).
        p_value: for a negative feedback spike, the chance of at least the post's
            count at that rate, ``P(X ≥ count)`` for ``X ~ Poisson(expected)``
            (``None`` from :func:`find_anomalies`).
    """

    platform: str
    account_id: str
    post_id: str
    kpi: str
    value: Decimal
    median: Decimal
    score: Decimal
    direction: Literal["high", "low"]
    expected: Decimal | None = None
    p_value: Decimal | None = None


def median(values: Sequence[Decimal]) -> Decimal:
    """The median of non-empty ``values``."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def robust_z_scores(values: Sequence[Decimal]) -> list[Decimal | None]:
    """The modified z-score of each value; ``None`` for all when the values do not vary.

    Formula: ``0.6745 × (value − median) / MAD``, or
    ``(value − median) / (1.253314 × mean absolute deviation)`` when the MAD is 0.
    """
    if not values:
        return []
    middle = median(values)
    deviations = [abs(value - middle) for value in values]
    mad = median(deviations)
    if mad > 0:
        return [_MAD_SCALE * (value - middle) / mad for value in values]
    mean_ad = sum(deviations, Decimal(0)) / len(deviations)
    if mean_ad > 0:
        return [(value - middle) / (_MEAN_AD_SCALE * mean_ad) for value in values]
    return [None for _ in values]


def find_anomalies(
    snapshots: Iterable[MetricSnapshot],
    *,
    kpi: ScoreKpi = "engagement_rate_by_impressions",
    threshold: Decimal | int | str = Decimal("3.5"),
    min_posts: int = 5,
    receipts: Iterable[Receipt] | None = None,
    age: dt.timedelta = dt.timedelta(hours=24),
) -> list[Anomaly]:
    """Posts whose ``kpi`` is unusually high or low for their account, strongest first.

    Args:
        snapshots: post snapshots and account snapshots.
        kpi: the KPI to compare; posts without it are left out.
        threshold: the ``|z|`` above which a post is an anomaly.
        min_posts: accounts with fewer scored posts are not judged (too little history).
        receipts: the posts' receipts. With them, posts are compared at the same
            ``age`` after publication, as in
            :func:`~socialkit.analytics.best_posting_times` (posts without a receipt,
            too young, or without a snapshot within ``age / 4`` of that age are left
            out); without them, by each post's latest snapshot, so a post published an
            hour ago looks like a flop next to month-old ones.
        age: how long after publication posts are compared, when ``receipts`` are given.

    Raises:
        ValueError: for an unknown ``kpi``, a threshold that is not a positive finite
            number (``True`` neither), ``min_posts`` below 3 or an ``age`` that is not
            positive.
        TypeError: ``min_posts`` is not a whole number.
    """
    check_kpi(kpi, get_args(ScoreKpi))
    limit = _check(threshold, min_posts, age)
    return _scored(compared(snapshots, receipts, age), kpi, limit, min_posts)


def _check(threshold: Decimal | int | str, min_posts: int, age: dt.timedelta) -> Decimal:
    """The threshold as a Decimal, once the arguments are known to be usable."""
    check_age(age)
    try:
        # True is an int to Python, but no threshold anyone meant
        limit = threshold if isinstance(threshold, Decimal) else Decimal(threshold)
        usable = not isinstance(threshold, bool) and limit.is_finite() and limit > 0
    except (InvalidOperation, TypeError, ValueError):
        usable = False
    if not usable:
        raise ValueError(f"threshold must be a positive finite number (got {threshold!r})")
    check_min_posts(min_posts)
    return limit


def check_min_posts(min_posts: int) -> None:
    """Refuse a ``min_posts`` that is not a whole number of at least 3."""
    check_whole(min_posts, "min_posts", 3, "to have a usual value")


def compared(
    snapshots: Iterable[MetricSnapshot],
    receipts: Iterable[Receipt] | None,
    age: dt.timedelta | None,
) -> list[KpiReport]:
    """One report per post: at ``age`` with receipts and an age, else by its latest snapshot."""
    series = list(snapshots)
    if receipts is not None and age is not None:
        series = at_age(series, published_at(receipts), age)
    return post_reports(series)


def _scored(
    reports: list[KpiReport], kpi: ScoreKpi, limit: Decimal, min_posts: int
) -> list[Anomaly]:
    accounts: dict[tuple[str, str], list[tuple[str, Decimal]]] = {}
    for post in reports:
        value = post.value(kpi)
        if value is None:
            continue
        account = (post.platform or "", post.account_id or "")  # always set on post reports
        accounts.setdefault(account, []).append((post.key, value))

    found = []
    for (platform, account_id), posts in accounts.items():
        if len(posts) < min_posts:
            continue
        values = [value for _, value in posts]
        usual = median(values)
        for (post_id, value), score in zip(posts, robust_z_scores(values), strict=True):
            if score is None or abs(score) <= limit:
                continue
            found.append(
                Anomaly(
                    platform=platform,
                    account_id=account_id,
                    post_id=post_id,
                    kpi=kpi,
                    value=value,
                    median=usual,
                    score=score,
                    direction="high" if score > 0 else "low",
                )
            )
    found.sort(key=lambda a: (-abs(a.score), a.platform, a.account_id, a.post_id))
    return found
