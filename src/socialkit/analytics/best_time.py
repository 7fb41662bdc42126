"""Best time to post: which weekly hours, in the audience's zone, did best so far.

The model is deliberately simple and explainable. Each published post is placed in its
hour of the week (weekday × hour, local time in the account's zone) and scored by one
KPI. An hour's score is the mean of its posts *shrunk toward the overall mean*::

    score = (sum of the hour's KPIs + prior_posts × overall mean) / (posts in the hour + prior_posts)

so an hour with one lucky post does not outrank an hour that has been good ten times
(empirical Bayes with a fixed prior weight). Posts are compared at the same age: each is
scored by its snapshot at ``age`` after publication (24 hours by default), and posts not
yet that old are left out — a post published an hour ago has not had its day yet, and a
month-old post has had thirty. The best hours convert straight into
:class:`~socialkit.PostingSlot` values for an account's queue.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import Field

from socialkit.analytics.aggregate import post_keyer
from socialkit.analytics.report import check_kpi, post_reports
from socialkit.models._base import SocialModel
from socialkit.models.account import PostingSlot, Weekday, check_zone

if TYPE_CHECKING:
    from collections.abc import Iterable

    from socialkit.analytics.aggregate import PostKey
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import Receipt

__all__ = ["PostingTime", "ScoreKpi", "best_posting_times", "check_age", "check_whole"]

ScoreKpi = Literal[
    "engagement_rate_by_impressions",
    "engagement_rate_by_reach",
    "engagement_rate_by_followers",
    "click_through_rate",
    "negative_feedback_rate",
    "engagements",
    "impressions",
    "clicks",
]
"""The KPIs a post can be scored by (a rate, or a total of the post)."""


class PostingTime(SocialModel):
    """One hour of the week and how posts published in it did.

    Attributes:
        weekday, hour: the local hour of the week (hour 0–23 in the account's zone).
        posts: posts published in that hour that had the KPI.
        average: their plain mean KPI.
        score: the mean shrunk toward the overall mean (what the ranking uses).
    """

    weekday: Weekday
    hour: int = Field(ge=0, le=23)
    posts: int = Field(ge=1)
    average: Decimal
    score: Decimal

    def as_slot(self, minute: int = 0) -> PostingSlot:
        """This hour as a posting slot (at ``minute`` past the hour)."""
        return PostingSlot(weekday=self.weekday, time=dt.time(self.hour, minute))


def best_posting_times(
    snapshots: Iterable[MetricSnapshot],
    receipts: Iterable[Receipt],
    *,
    timezone: str,
    kpi: ScoreKpi = "engagement_rate_by_impressions",
    prior_posts: int = 3,
    age: dt.timedelta | None = dt.timedelta(hours=24),
) -> list[PostingTime]:
    """Hours of the week ranked by how posts published in them did, best first.

    Args:
        snapshots: metric snapshots of the posts (and accounts, for follower rates).
        receipts: the posts' receipts; ``published_at`` places a post in its hour and
            ``(platform, account_id, parts[0].id)`` matches it to its snapshots.
        timezone: the IANA zone the hours are read in (the account's audience).
        kpi: what a post is scored by; posts without it are left out.
        prior_posts: how many posts' worth of weight the overall mean gets in each
            hour's score (0 ranks by plain averages).
        age: how long after publication a post is scored: by the snapshot collected
            for that age (the first within ``age / 4`` after ``published_at + age``: the
            engine collects at the due time, so a little after it), else its last one
            before then. Posts with no snapshot that late are too young and left out.
            ``None`` scores every post by its latest snapshot, whatever its age.

    Returns:
        Every hour that had at least one scored post, by score (ties: more posts first,
        then earlier in the week). Empty when no post could be scored.

    Raises:
        ValueError: for an unknown zone or ``kpi``, a negative ``prior_posts`` or an
            ``age`` that is not positive.
    """
    check_kpi(kpi, get_args(ScoreKpi))
    zone = ZoneInfo(check_zone(timezone))
    if prior_posts < 0:
        raise ValueError(f"prior_posts must be at least 0 (got {prior_posts})")
    check_age(age)
    published = published_at(receipts)
    series = list(snapshots)
    if age is not None:
        series = at_age(series, published, age)
    hours: dict[tuple[int, int], list[Decimal]] = {}
    for post in post_reports(series):
        # platform and account_id are always set on post reports
        at = published.get((post.platform or "", post.account_id or "", post.key))
        when = None if at is None else at.astimezone(zone)
        value = post.value(kpi)
        if when is None or value is None:
            continue
        hours.setdefault((when.weekday(), when.hour), []).append(value)
    values = [value for scored in hours.values() for value in scored]
    if not values:
        return []
    overall = sum(values, Decimal(0)) / len(values)
    ranked = [
        PostingTime(
            weekday=Weekday(weekday),
            hour=hour,
            posts=len(scored),
            average=sum(scored, Decimal(0)) / len(scored),
            score=(sum(scored, Decimal(0)) + prior_posts * overall) / (len(scored) + prior_posts),
        )
        for (weekday, hour), scored in hours.items()
    ]
    ranked.sort(key=lambda t: (-t.score, -t.posts, t.weekday, t.hour))
    return ranked


def published_at(receipts: Iterable[Receipt]) -> dict[PostKey, dt.datetime]:
    """When each post was published, by ``(platform, account_id, parts[0].id)``."""
    return {(r.platform, r.account_id, r.ref.id): r.published_at for r in receipts}


def check_whole(value: int, name: str, minimum: int, unit: str = "") -> None:
    """Refuse an argument that is not a whole number (``True`` and ``1.5`` neither) of at
    least ``minimum``; the message names it, the limit and the value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number (got {value!r})")
    if value < minimum:
        raise ValueError(
            f"{name} must be at least {minimum}{' ' + unit if unit else ''} (got {value})"
        )


def check_age(age: dt.timedelta | None) -> None:
    """Refuse an age that is not positive."""
    if age is not None and age <= dt.timedelta(0):
        raise ValueError(f"age must be a positive duration or None (got {age})")


def at_age(
    series: list[MetricSnapshot],
    published: dict[PostKey, dt.datetime],
    age: dt.timedelta,
) -> list[MetricSnapshot]:
    """Each published post's snapshot at ``age`` (see ``best_posting_times``), and the
    account snapshots; posts without a receipt or too young for ``age`` are left out."""
    key_of = post_keyer(series)
    by_post: dict[PostKey, list[MetricSnapshot]] = {}
    kept: list[MetricSnapshot] = []
    for snapshot in series:
        if snapshot.subject == "post":
            by_post.setdefault(key_of(snapshot), []).append(snapshot)
        else:
            kept.append(snapshot)
    for key, own in by_post.items():
        at = published.get(key)
        if at is None:
            continue
        due = at + age
        # sorted() is stable: of equal instants the later snapshot in the series stays last
        ordered = sorted(own, key=lambda s: s.collected_at)
        if ordered[-1].collected_at < due:
            continue  # too young: not yet measured at that age
        # The snapshot taken for that age: the engine asks the platform at the due time,
        # so it is collected a little after it. The first one within a quarter of the age
        # after it, else the last one before it.
        soon = [s for s in ordered if due <= s.collected_at <= due + age / 4]
        by_then = [s for s in ordered if s.collected_at <= due]
        chosen = soon[0] if soon else by_then[-1] if by_then else ordered[0]
        # The first snapshot stays too (it is older, so the chosen one is still the
        # post's latest): the rate by followers uses the followers of that moment.
        kept.extend([ordered[0], chosen] if chosen is not ordered[0] else [chosen])
    return kept
