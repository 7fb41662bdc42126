"""Best time to post: which weekly hours, in the audience's zone, did best so far.

The model is deliberately simple and explainable. Each published post is placed in its
hour of the week (weekday × hour, local time in the account's zone) and scored by one
KPI. An hour is ranked by a **one-sided confidence bound** on the mean of its posts —
the lower bound where higher is better, the upper bound for ``negative_feedback_rate``
(where lower is better)::

    score = mean ∓ t(confidence, posts − 1) × standard deviation / √posts

(Student's t, the hour's own posts.) The variance is the hour's own, but never less than
the **pooled within-hour variance** (of every hour with two or more posts): a few posts
can agree by chance — two at exactly 4.4 % have a variance of 0, which would make their
mean its own bound and put them ahead of ten posts averaging 4.5 % — so an hour is not
taken to be steadier than hours usually are. An hour with one post has no spread to
measure, so it has no bound (``score`` is ``None``) and ranks after every hour with two
or more posts: one lucky post does not outrank an hour that has been good ten times. Of
two hours with the same mean, the one with more posts ranks first, and of two with as
many posts the steadier one (unless both are steadier than the pool). A
posterior mean shrunk toward the overall mean cannot promise that — ten posts at 5 %
and one at 20 % around an overall mean of 4.3 % leave the single post ahead whatever the
prior weight — so the ranking asks how sure it is, not only how good.

Posts are compared at the same age: each is scored by its snapshot at ``age`` after
publication (24 hours by default, within a quarter of the age), and posts not yet that
old, or without a snapshot near that age, are left out — a post published an hour ago
has not had its day yet, and a month-old post has had thirty. The best hours convert
straight into :class:`~socialkit.PostingSlot` values for an account's queue.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import Field

from socialkit.analytics._stats import student_t_quantile
from socialkit.analytics.aggregate import post_keyer
from socialkit.analytics.report import check_kpi, post_reports
from socialkit.models._base import SocialModel
from socialkit.models.account import PostingSlot, Weekday, check_zone
from socialkit.models.metrics import METRIC_FIELDS

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

LOWER_IS_BETTER: frozenset[str] = frozenset({"negative_feedback_rate"})
"""The KPIs of :data:`ScoreKpi` where a lower value is the better one."""


class PostingTime(SocialModel):
    """One hour of the week and how posts published in it did.

    Attributes:
        weekday, hour: the local hour of the week (hour 0–23 in the account's zone).
        posts: posts published in that hour that had the KPI.
        average: their plain mean KPI.
        score: the one-sided confidence bound on that mean the ranking uses (lower bound
            where higher is better, upper bound for ``negative_feedback_rate``; the
            hour's variance taken as at least the pooled within-hour variance); ``None``
            for an hour with one post, which has no spread to bound it with.
    """

    weekday: Weekday
    hour: int = Field(ge=0, le=23)
    posts: int = Field(ge=1)
    average: Decimal
    score: Decimal | None

    def as_slot(self, minute: int = 0) -> PostingSlot:
        """This hour as a posting slot (at ``minute`` past the hour)."""
        return PostingSlot(weekday=self.weekday, time=dt.time(self.hour, minute))


def best_posting_times(
    snapshots: Iterable[MetricSnapshot],
    receipts: Iterable[Receipt],
    *,
    timezone: str,
    kpi: ScoreKpi = "engagement_rate_by_impressions",
    confidence: Decimal | str | float = Decimal("0.9"),
    age: dt.timedelta | None = dt.timedelta(hours=24),
) -> list[PostingTime]:
    """Hours of the week ranked by how posts published in them did, best first.

    Args:
        snapshots: metric snapshots of the posts (and accounts, for follower rates).
        receipts: the posts' receipts; ``published_at`` places a post in its hour and
            ``(platform, account_id, parts[0].id)`` matches it to its snapshots.
        timezone: the IANA zone the hours are read in (the account's audience).
        kpi: what a post is scored by; posts without it are left out. Higher is better
            but for ``negative_feedback_rate``, where lower is.
        confidence: the one-sided confidence of each hour's bound (0.5 ranks by plain
            averages among hours with two or more posts; closer to 1 favours hours with
            more and steadier posts).
        age: how long after publication a post is scored: by the snapshot taken at
            that age, by when it was really taken — the first one within ``age / 4``
            after ``published_at + age`` (the engine collects at the due time, so a
            little after it), else the last one within ``age / 4`` before it, the
            engine's own collection for that age (``after == age``) first among them. A
            post with no snapshot in that window (its 24 h collection was missed, or
            came so late that it measured another age) is left out rather than scored
            at another age; a post with no snapshot that late is too young and left
            out. ``None`` scores every post by its latest snapshot, whatever its age.

    Returns:
        Every hour that had at least one scored post, best first: hours with two or more
        posts by ``score``, then hours with one post by ``average`` (ties: more posts
        first, then earlier in the week). Empty when no post could be scored.

    Raises:
        TypeError: ``timezone`` is not a string.
        ValueError: for an unknown zone or ``kpi``, a ``confidence`` outside
            ``[0.5, 1)`` or an ``age`` that is not positive.
    """
    check_kpi(kpi, get_args(ScoreKpi))
    if not isinstance(timezone, str):
        raise TypeError(
            f"timezone must be an IANA zone name such as 'Europe/Berlin' (got {timezone!r})"
        )
    zone = ZoneInfo(check_zone(timezone))
    level = _check_confidence(confidence)
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
    lower = kpi in LOWER_IS_BETTER
    floor = _pooled_variance(hours.values())
    ranked = [
        PostingTime(
            weekday=Weekday(weekday),
            hour=hour,
            posts=len(scored),
            average=sum(scored, Decimal(0)) / len(scored),
            score=_bound(scored, level, floor, upper=lower),
        )
        for (weekday, hour), scored in hours.items()
    ]
    sign = 1 if lower else -1  # sort keys ascend: negate where higher is better

    def rank(t: PostingTime) -> tuple[int, Decimal, int, int, int]:
        if t.score is None:
            return (1, sign * t.average, -t.posts, t.weekday, t.hour)
        return (0, sign * t.score, -t.posts, t.weekday, t.hour)

    ranked.sort(key=rank)
    return ranked


def _squares(values: list[Decimal]) -> Decimal:
    """The sum of squared deviations of ``values`` from their mean."""
    mean = sum(values, Decimal(0)) / len(values)
    return sum(((v - mean) ** 2 for v in values), Decimal(0))


def _pooled_variance(hours: Iterable[list[Decimal]]) -> Decimal:
    """The within-hour variance of every hour with two or more posts, pooled (their
    squared deviations from their own hour's mean over their degrees of freedom); 0
    when no hour has two posts."""
    spread = [values for values in hours if len(values) >= 2]
    freedom = sum(len(values) - 1 for values in spread)
    return sum(map(_squares, spread), Decimal(0)) / freedom if freedom else Decimal(0)


def _bound(
    values: list[Decimal], confidence: Decimal, floor: Decimal, *, upper: bool
) -> Decimal | None:
    """The one-sided Student-t bound on the mean of ``values``, their variance taken as
    at least ``floor``; ``None`` for one value."""
    count = len(values)
    if count < 2:
        return None
    mean = sum(values, Decimal(0)) / count
    variance = max(_squares(values) / (count - 1), floor)
    if confidence == Decimal("0.5") or variance == 0:
        return mean
    t = student_t_quantile(float(confidence), count - 1)
    margin = Decimal(repr(t)) * (variance / count).sqrt()
    return mean + margin if upper else mean - margin


def _check_confidence(confidence: Decimal | str | float) -> Decimal:
    try:
        # a float as written (0.9, not 0.90000000000000002220...); True is no confidence
        number = repr(confidence) if isinstance(confidence, float) else confidence
        level = None if isinstance(confidence, bool) else Decimal(number)
        usable = level is not None and level.is_finite() and Decimal("0.5") <= level < 1
    except (InvalidOperation, TypeError, ValueError):
        level, usable = None, False
    if level is None or not usable:
        raise ValueError(
            f"confidence must be a number from 0.5 up to (not including) 1 (got {confidence!r})"
        )
    return level


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


_NO_COUNTS: dict[str, object] = {
    **{name: None for name in METRIC_FIELDS if name != "followers"},
    "extra": {},
}


def at_age(
    series: list[MetricSnapshot],
    published: dict[PostKey, dt.datetime],
    age: dt.timedelta,
) -> list[MetricSnapshot]:
    """Each published post's snapshot at ``age`` (see ``best_posting_times``), and the
    account snapshots: by its real age (``collected_at`` after publication), the one
    collected nearest after ``age`` (within ``age / 4``, else the last within ``age / 4``
    before it), the engine's own collection for that age (``after == age``) first. Posts
    without a receipt, too young for ``age`` or without such a snapshot are left out."""
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
        # The snapshot taken at that age, by when it was really taken (a collection's
        # label says what was scheduled, not how old the post was: a +24 h collection a
        # rate limit put back to +32 h is a 32 h figure). The engine asks the platform
        # at the due time, so a little after it: the first one within a quarter of the
        # age after it, else the last one within a quarter of the age before it; the
        # engine's own collection for that age (MetricSnapshot.after) first, among those.
        # A snapshot further away measured another age (the 1 h one when the 24 h one
        # was missed, or a 24 h one collected a day late).
        window = age / 4
        near = [s for s in ordered if due <= s.collected_at <= due + window] + [
            s for s in reversed(ordered) if due - window <= s.collected_at < due
        ]
        if not near:
            continue
        chosen = next((s for s in near if s.after == age), near[0])
        if ordered[0] is not chosen:
            # The first snapshot stays, for when the post was first measured (the rate by
            # followers uses the followers of that moment), without counts of its own:
            # the chosen snapshot's counts are the post's at that age. It goes first, so
            # of two at the same instant the chosen one is the latest.
            kept.append(ordered[0].model_copy(update=_NO_COUNTS))
        kept.append(chosen)
    return kept
