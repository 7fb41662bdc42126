"""Anomaly alerts: posts whose KPI is far from what their account usually gets.

Each post is compared with the other posts of its account by a **robust z-score**, which
a single viral post cannot drag along the way a mean and a standard deviation would::

    z = 0.6745 × (value − median) / MAD          MAD = median(|value − median|)

(Iglewicz and Hoaglin's modified z-score; 0.6745 makes it comparable to a normal z.)
When more than half of the values are equal the MAD is 0; the mean absolute deviation
stands in (``z = (value − median) / (1.2533 × meanAD)``). A post is an anomaly when
``|z|`` exceeds the threshold, 3.5 by default.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, get_args

from socialkit.analytics.best_time import ScoreKpi, at_age, check_age, published_at
from socialkit.analytics.report import KpiReport, check_kpi, post_reports
from socialkit.models._base import SocialModel

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt

__all__ = ["Anomaly", "find_anomalies", "negative_feedback_spikes", "robust_z_scores"]

_MAD_SCALE = Decimal("0.6745")
_MEAN_AD_SCALE = Decimal("1.253314")


class Anomaly(SocialModel):
    """A post whose KPI stands out from its account's other posts.

    Attributes:
        platform, account_id, post_id: the post.
        kpi: the KPI compared.
        value: the post's value.
        median: the account's median over the compared posts.
        score: the robust z-score (positive: above the usual, negative: below).
        direction: ``high`` or ``low``.
    """

    platform: str
    account_id: str
    post_id: str
    kpi: str
    value: Decimal
    median: Decimal
    score: Decimal
    direction: Literal["high", "low"]


def _median(values: Sequence[Decimal]) -> Decimal:
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
    median = _median(values)
    deviations = [abs(value - median) for value in values]
    mad = _median(deviations)
    if mad > 0:
        return [_MAD_SCALE * (value - median) / mad for value in values]
    mean_ad = sum(deviations, Decimal(0)) / len(deviations)
    if mean_ad > 0:
        return [(value - median) / (_MEAN_AD_SCALE * mean_ad) for value in values]
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
            :func:`~socialkit.analytics.best_posting_times` (posts without a receipt
            or too young are left out); without them, by each post's latest snapshot,
            so a post published an hour ago looks like a flop next to month-old ones.
        age: how long after publication posts are compared, when ``receipts`` are given.

    Raises:
        ValueError: for an unknown ``kpi``, a threshold that is not a positive finite
            number, ``min_posts`` below 3 or an ``age`` that is not positive.
    """
    check_kpi(kpi, get_args(ScoreKpi))
    limit = _check(threshold, min_posts, age)
    return _scored(_compared(snapshots, receipts, age), kpi, limit, min_posts)


def _check(threshold: Decimal | int | str, min_posts: int, age: dt.timedelta) -> Decimal:
    """The threshold as a Decimal, once the arguments are known to be usable."""
    check_age(age)
    try:
        limit = threshold if isinstance(threshold, Decimal) else Decimal(threshold)
        usable = limit.is_finite() and limit > 0
    except (InvalidOperation, TypeError, ValueError):
        usable = False
    if not usable:
        raise ValueError(f"threshold must be a positive finite number (got {threshold!r})")
    if min_posts < 3:
        raise ValueError(f"min_posts must be at least 3 to have a usual value (got {min_posts})")
    return limit


def _compared(
    snapshots: Iterable[MetricSnapshot], receipts: Iterable[Receipt] | None, age: dt.timedelta
) -> list[KpiReport]:
    """One report per post: at ``age`` with receipts, else by its latest snapshot."""
    series = list(snapshots)
    if receipts is not None:
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
        median = _median(values)
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
                    median=median,
                    score=score,
                    direction="high" if score > 0 else "low",
                )
            )
    found.sort(key=lambda a: (-abs(a.score), a.platform, a.account_id, a.post_id))
    return found


def negative_feedback_spikes(
    snapshots: Iterable[MetricSnapshot],
    *,
    threshold: Decimal | int | str = Decimal("3.5"),
    min_posts: int = 5,
    min_count: int = 5,
    receipts: Iterable[Receipt] | None = None,
    age: dt.timedelta = dt.timedelta(hours=24),
) -> list[Anomaly]:
    """Posts whose negative feedback rate (hides, reports, "see less", unfollows per
    impression) is unusually high for their account, strongest first: the alert a team
    wants before a post turns into a crisis.

    :func:`find_anomalies` with ``kpi="negative_feedback_rate"``, its ``high`` ones only
    (an unusually quiet post is no alarm), and only posts with at least ``min_count``
    negative feedback events: most posts get none, and beside them a single hide would
    score as high as a backlash. Only platforms that report ``negative_feedback`` and
    ``impressions`` take part; the other arguments are :func:`find_anomalies`'.

    Raises:
        ValueError: as :func:`find_anomalies`, or ``min_count`` below 1.
    """
    limit = _check(threshold, min_posts, age)
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1 event (got {min_count})")
    reports = _compared(snapshots, receipts, age)
    found = _scored(reports, "negative_feedback_rate", limit, min_posts)
    counts = {
        (post.platform, post.account_id, post.key): post.totals.negative_feedback or 0
        for post in reports
    }
    return [
        anomaly
        for anomaly in found
        if anomaly.direction == "high"
        and counts.get((anomaly.platform, anomaly.account_id, anomaly.post_id), 0) >= min_count
    ]
