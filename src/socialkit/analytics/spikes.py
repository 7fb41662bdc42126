"""Negative feedback spikes: posts pushed away more often than their exposure explains.

A post's negative feedback (hides, reports, "see less", unfollows) is a count of rare
events over its impressions, so it is judged as a count, not as a rate: a post shown
2,000 times with 9 hides is not unusual for an account whose posts get 3 per 1,000, even
though its 0.45 % is well above the others' 0.3 % — 6 were expected, and 9 or more happen
about one time in six. For each post::

    baseline = Σ negative feedback / Σ impressions     over the account's other posts
    expected = baseline × the post's impressions
    p        = P(X ≥ the post's count)                 X ~ Poisson(expected)

and the post is a spike when ``p < alpha``. The baseline leaves the post out, so a
backlash does not raise the bar it is measured against; when the other posts had no
negative feedback at all, half an event stands in for their count (a rate of exactly zero
cannot be known from a finite history, and every hide would otherwise be infinitely
unlikely). The tail is summed exactly, in log space (:mod:`socialkit.analytics._stats`).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from socialkit.analytics._stats import poisson_upper_tail_log
from socialkit.analytics.anomalies import Anomaly, check_min_posts, compared, median
from socialkit.analytics.best_time import check_age, check_whole

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence

    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt

__all__ = ["negative_feedback_spikes"]

_NO_EVENTS = 0.5  # stands in for the others' count when they had none


def negative_feedback_spikes(
    snapshots: Iterable[MetricSnapshot],
    *,
    alpha: Decimal | str | float = Decimal("0.001"),
    min_posts: int = 5,
    min_count: int = 5,
    receipts: Iterable[Receipt] | None = None,
    age: dt.timedelta | None = None,
) -> list[Anomaly]:
    """Posts with more negative feedback (hides, reports, "see less", unfollows) than
    their impressions explain at their account's usual rate, most unlikely first: the
    alert a team wants before a post turns into a crisis.

    Each post's count is tested against ``expected = baseline × impressions``, the
    baseline being the pooled rate of the account's other posts; a post is a spike when
    ``P(X ≥ count) < alpha`` for ``X ~ Poisson(expected)`` (see
    :mod:`socialkit.analytics.spikes`). A post with few impressions is judged by what
    few impressions can show, so a small post with a normal count is no spike and a
    young post can be one as soon as it has counts. Only posts that reported
    ``negative_feedback`` and ``impressions`` (above 0) take part.

    Args:
        snapshots: post snapshots (account snapshots are ignored).
        alpha: how unlikely a post's count must be at its account's usual rate to be a
            spike, per post: under pure chance about one post in ``1 / alpha`` is
            flagged (fewer for small counts, which cannot reach every probability).
        min_posts: accounts with fewer posts taking part are not judged (too little
            history for a usual rate).
        min_count: posts with fewer negative feedback events are not flagged, however
            unlikely (one hide on a post is no crisis).
        receipts, age: with both, each post is judged by its snapshot ``age`` after
            publication, as in :func:`~socialkit.analytics.find_anomalies` (posts
            without a receipt or younger are left out). By default (``age=None``) each
            post is judged by its latest snapshot, whatever its age: the test weighs a
            post by its impressions, so a post an hour old is compared per impression
            with month-old ones, and the alert can fire at the post's first
            collection.

    Returns:
        One :class:`~socialkit.analytics.Anomaly` per spike (``direction="high"``,
        ``kpi="negative_feedback_rate"``, ``value`` the post's rate, ``median`` the
        median rate of the account's posts taking part, ``expected``, ``p_value`` and
        ``score = −log10 p_value``), by ``score``, highest first.

    Raises:
        ValueError: ``alpha`` is not a number between 0 and 1 (exclusive), ``min_posts``
            is below 3, ``min_count`` below 1, or ``age`` is not positive.
        TypeError: ``min_posts`` or ``min_count`` is not a whole number.
    """
    level = _check_alpha(alpha)
    check_min_posts(min_posts)
    check_whole(min_count, "min_count", 1, "event")
    check_age(age)
    accounts: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for post in compared(snapshots, receipts, age):
        count, shown = post.totals.negative_feedback, post.totals.impressions
        if count is None or not shown:
            continue
        account = (post.platform or "", post.account_id or "")  # always set on post reports
        accounts.setdefault(account, []).append((post.key, count, shown))

    found: list[Anomaly] = []
    for (platform, account_id), posts in accounts.items():
        if len(posts) < min_posts:
            continue
        found.extend(_spikes(platform, account_id, posts, math.log(level), min_count))
    found.sort(key=lambda a: (-a.score, a.platform, a.account_id, a.post_id))
    return found


def _spikes(
    platform: str,
    account_id: str,
    posts: Sequence[tuple[str, int, int]],
    log_alpha: float,
    min_count: int,
) -> list[Anomaly]:
    all_count = sum(count for _, count, _ in posts)
    all_shown = sum(shown for _, _, shown in posts)
    usual = median([Decimal(count) / Decimal(shown) for _, count, shown in posts])
    found = []
    for post_id, count, shown in posts:
        if count < min_count:
            continue
        others = (all_count - count) or _NO_EVENTS
        expected = others / (all_shown - shown) * shown  # the others have impressions
        log_p = poisson_upper_tail_log(count, expected)
        if log_p >= log_alpha:
            continue
        log10_p = log_p / math.log(10)
        found.append(
            Anomaly(
                platform=platform,
                account_id=account_id,
                post_id=post_id,
                kpi="negative_feedback_rate",
                value=Decimal(count) / Decimal(shown),
                median=usual,
                score=Decimal(f"{-log10_p:.6f}"),
                direction="high",
                expected=Decimal(f"{expected:.6g}"),
                p_value=_power_of_ten(log10_p),
            )
        )
    return found


def _power_of_ten(log10_p: float) -> Decimal:
    """``10 ** log10_p`` to three significant digits, however small (a float would be 0)."""
    exponent = math.floor(log10_p)
    mantissa = 10 ** (log10_p - exponent)
    return Decimal(f"{mantissa:.2f}e{exponent}")


def _check_alpha(alpha: Decimal | str | float) -> float:
    try:
        level = Decimal(alpha) if not isinstance(alpha, bool | Decimal) else alpha
        usable = isinstance(level, Decimal) and level.is_finite() and 0 < level < 1
    except (InvalidOperation, TypeError, ValueError):
        usable = False
    if not usable:
        raise ValueError(f"alpha must be a probability between 0 and 1, exclusive (got {alpha!r})")
    return float(alpha)
