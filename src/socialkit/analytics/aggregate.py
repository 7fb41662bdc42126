"""From :class:`~socialkit.MetricSnapshot` series to totals over a group of posts.

A series holds many snapshots of the same post (collected hourly, then daily). Counts on a
platform only grow or get corrected, so a group's totals use the **latest count of each
post** and add those up: each count comes from the post's latest snapshot that reported
it, so a later snapshot that left a count out (``None``, "not reported") does not wipe out
the value an earlier one knew. Sums skip ``None``; a total is ``None`` only when no post in
the group reported that count.

Reach is not added up: two posts seen by the same 1,000 people reached 1,000, not 2,000.
A group of several posts has no ``reach`` (``None``, "cannot say"); ``post_reach_sum`` is
the sum of its posts' reach, an upper bound of it.

Followers belong to accounts, not posts: every snapshot that reports ``followers`` (an
account snapshot, or a post snapshot from a platform that reports the author's followers
with the post) is one observation of its account's follower count at ``collected_at``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from socialkit.models._base import SocialModel, require_aware
from socialkit.models.metrics import METRIC_FIELDS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from socialkit.models.metrics import MetricSnapshot

__all__ = [
    "POST_COUNT_FIELDS",
    "AccountKey",
    "MetricTotals",
    "PostKey",
    "account_key",
    "follower_observations",
    "latest_per_post",
    "post_key",
    "totals",
]

POST_COUNT_FIELDS: tuple[str, ...] = tuple(name for name in METRIC_FIELDS if name != "followers")
"""The counts a post reports of its own: every metric field but ``followers`` (per account).
All of them are summed over a group's posts but ``reach`` (see ``MetricTotals.reach``)."""

SUMMED_COUNT_FIELDS: tuple[str, ...] = tuple(name for name in POST_COUNT_FIELDS if name != "reach")
"""The post counts a group's totals add up: every one but ``reach``, which is not additive."""

PostKey = tuple[str, str, str]
"""``(platform, account_id, post)``: one post, whichever snapshot reports it."""
AccountKey = tuple[str, str]
"""``(platform, account_id)``."""


def post_key(snapshot: MetricSnapshot) -> PostKey:
    """The post a snapshot is about: its platform, account and post id.

    The publication id stands in when the platform's post id is unknown.

    Raises:
        ValueError: for a post snapshot with neither ``post_id`` nor ``publication_id``.
    """
    post = snapshot.post_id or snapshot.publication_id
    if post is None:
        raise ValueError(
            f"a post snapshot needs post_id or publication_id (platform {snapshot.platform!r}, "
            f"account {snapshot.account_id!r}, collected_at {snapshot.collected_at.isoformat()})"
        )
    return (snapshot.platform, snapshot.account_id, post)


def post_keyer(snapshots: Iterable[MetricSnapshot]) -> Callable[[MetricSnapshot], PostKey]:
    """A :func:`post_key` that knows which publication is which post in ``snapshots``.

    The engine may collect a post's first snapshots before the platform's id is known
    (``publication_id`` only) and later ones with both ids. Keyed apart, the two would be
    two posts and their cumulative counts would be added up twice; a snapshot that names
    both ids links them, so every snapshot of the post gets the platform's id.
    """
    aliases: dict[tuple[str, str, str], str] = {}
    for snapshot in snapshots:
        if snapshot.subject == "post" and snapshot.post_id and snapshot.publication_id:
            aliases.setdefault(
                (snapshot.platform, snapshot.account_id, snapshot.publication_id),
                snapshot.post_id,
            )

    def key(snapshot: MetricSnapshot) -> PostKey:
        if snapshot.post_id is None and snapshot.publication_id is not None:
            known = aliases.get((snapshot.platform, snapshot.account_id, snapshot.publication_id))
            if known is not None:
                return (snapshot.platform, snapshot.account_id, known)
        return post_key(snapshot)

    return key


def account_key(snapshot: MetricSnapshot) -> AccountKey:
    """The account a snapshot belongs to."""
    return (snapshot.platform, snapshot.account_id)


def latest_per_post(snapshots: Iterable[MetricSnapshot]) -> list[MetricSnapshot]:
    """The latest counts of each post, as one snapshot per post, in order of each post's
    first appearance.

    Each count (and each ``extra`` key, and each id) comes from the post's latest
    snapshot that reported it: a platform that leaves a count out of a later answer
    (``None``, "not reported") does not wipe out the value an earlier snapshot knew.
    ``collected_at`` is the post's latest snapshot's. Account snapshots are left out.
    Snapshots of one post with only its ``publication_id`` and with both ids are one post
    (see :func:`post_keyer`). Of two snapshots of one post collected at the same
    instant, the later one in ``snapshots`` counts as the later.
    """
    series = list(snapshots)
    key_of = post_keyer(series)
    by_post: dict[PostKey, list[MetricSnapshot]] = {}
    for snapshot in series:
        if snapshot.subject == "post":
            by_post.setdefault(key_of(snapshot), []).append(snapshot)
    return [_latest_counts(own) for own in by_post.values()]


_MERGED_FIELDS = ("post_id", "publication_id", *METRIC_FIELDS)


def _latest_counts(own: list[MetricSnapshot]) -> MetricSnapshot:
    # sorted() is stable: of equal instants the later snapshot in the series stays last
    ordered = sorted(own, key=lambda s: s.collected_at)
    latest = ordered[-1]
    if len(ordered) == 1:
        return latest
    update: dict[str, Any] = {}
    for name in _MERGED_FIELDS:
        if getattr(latest, name) is None:
            known = next(
                (v for s in reversed(ordered) if (v := getattr(s, name)) is not None), None
            )
            if known is not None:
                update[name] = known
    extra: dict[str, float] = {}
    for snapshot in ordered:
        extra.update(snapshot.extra)
    if extra != latest.extra:
        update["extra"] = extra
    return latest.model_copy(update=update) if update else latest


class MetricTotals(SocialModel):
    """Counts over a group of posts and their accounts.

    Attributes:
        posts: posts with at least one snapshot.
        accounts: accounts in the group.
        impressions, likes, comments, shares, quotes, saves, clicks, video_views,
        negative_feedback: the sum over posts of each post's latest count; ``None`` when
            no post reported it.
        reach: the distinct accounts reached, known for one post only: a post's latest
            reach, ``None`` for a group of several posts (people who saw two posts would
            be counted twice) or when it was not reported.
        post_reach_sum: the sum over posts of each post's latest reach, ``None`` when no
            post reported it: an upper bound of the group's reach, not its reach.
        engagements: the sum over posts of ``likes + comments + shares + quotes + saves +
            clicks`` (reported counts only); ``None`` when no post reported any of them.
        followers: the sum over accounts of each account's latest follower count (its
            last one at or before ``until``, when the period has an end); ``None`` when
            no account reported one (by then).
        followers_start, followers_end: the earliest and latest follower counts in the
            period, summed over the accounts observed at two different instants in it;
            ``None`` when there is no such account. Their ratio is the growth rate.
    """

    posts: int = Field(default=0, ge=0)
    accounts: int = Field(default=0, ge=0)
    impressions: int | None = None
    reach: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    quotes: int | None = None
    saves: int | None = None
    clicks: int | None = None
    video_views: int | None = None
    negative_feedback: int | None = None
    post_reach_sum: int | None = None
    engagements: int | None = None
    followers: int | None = None
    followers_start: int | None = None
    followers_end: int | None = None


def _sum(values: Iterable[int | None]) -> int | None:
    reported = [value for value in values if value is not None]
    return sum(reported) if reported else None


def totals(
    snapshots: Iterable[MetricSnapshot],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> MetricTotals:
    """Add up a group of snapshots (posts and accounts, in any order).

    Args:
        snapshots: every snapshot of the group: post snapshots of its posts and account
            snapshots of its accounts, any number per post or account.
        since, until: the period follower growth is measured over (inclusive, aware);
            open-ended when ``None``. ``followers`` is each account's count at ``until``
            (its last observation at or before it). Post counts always use each post's
            latest counts, whenever they were collected.

    Returns:
        The totals; see :class:`MetricTotals` for what each field adds up.

    Raises:
        ValueError: ``since`` or ``until`` is naive, or ``since`` is after ``until``.
    """
    check_period(since, until)
    series = list(snapshots)
    posts = latest_per_post(series)
    sums = {name: _sum(getattr(post, name) for post in posts) for name in SUMMED_COUNT_FIELDS}
    reach_sum = _sum(post.reach for post in posts)

    accounts = {account_key(snapshot) for snapshot in series}
    followers: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for ordered in follower_observations(series).values():
        by_then = [s for s in ordered if until is None or s.collected_at <= until]
        if by_then:
            followers.append(_followers(by_then[-1]))
        in_period = [
            s
            for s in ordered
            if (since is None or s.collected_at >= since)
            and (until is None or s.collected_at <= until)
        ]
        if len(in_period) >= 2 and in_period[0].collected_at < in_period[-1].collected_at:
            starts.append(_followers(in_period[0]))
            ends.append(_followers(in_period[-1]))

    return MetricTotals(
        posts=len(posts),
        accounts=len(accounts),
        engagements=_sum(post.engagements for post in posts),
        reach=reach_sum if len(posts) == 1 else None,
        post_reach_sum=reach_sum,
        followers=sum(followers) if followers else None,
        followers_start=sum(starts) if starts else None,
        followers_end=sum(ends) if ends else None,
        **sums,
    )


def check_period(since: datetime | None, until: datetime | None) -> None:
    """Refuse a naive or backwards period (it compared naive with aware, or was empty)."""
    require_aware(since, "since")
    require_aware(until, "until")
    if since is not None and until is not None and since > until:
        raise ValueError(
            f"since ({since.isoformat()}) is after until ({until.isoformat()}): an empty period"
        )


def follower_observations(
    snapshots: Iterable[MetricSnapshot],
) -> dict[AccountKey, list[MetricSnapshot]]:
    """Each account's snapshots that report ``followers``, oldest first.

    Of two observations at the same instant, the later one in ``snapshots`` stays last.
    Accounts with no follower count are left out.
    """
    observations: dict[AccountKey, list[MetricSnapshot]] = {}
    for snapshot in snapshots:
        if snapshot.followers is not None:
            observations.setdefault(account_key(snapshot), []).append(snapshot)
    # sorted() is stable: of equal instants the later observation stays last.
    return {key: sorted(seen, key=lambda s: s.collected_at) for key, seen in observations.items()}


def _followers(snapshot: MetricSnapshot) -> int:
    assert snapshot.followers is not None  # filtered by the caller
    return snapshot.followers
