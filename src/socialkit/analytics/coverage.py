"""Which posts a group's rate covers: numerator and denominator paired post by post.

Platforms report different counts: X reports impressions, Mastodon and Bluesky do not.
Dividing the engagements of every post by the impressions of only the posts that reported
them would give a campaign on all three a rate higher than any of its platforms. So a
group's rate counts a post only when the post has a rate of its own — it reported both
counts and its denominator is above zero — and adds up the numerators and denominators of
those posts alone::

    rate = sum(numerator of counted posts) / sum(denominator of counted posts)

which is the mean of the counted posts' own rates weighted by their denominators: it
always lies between the lowest and the highest of them.

Followers belong to accounts, not posts. For the rate by followers a post is counted when
it reported an engagement count and its account reported followers (above zero); the
post's denominator is its account's follower count **when the post was first measured**
(the account's last count observed at or before the post's earliest snapshot, or its
first count when none was observed before — observed by the account's snapshots or the
post's own, never by another post's, exactly as the post's own report counts it), so an account with ten counted posts adds its
followers ten times, each post with the audience it had. A post from January divided by
the followers the account has in December would look worse than it did. Counting the
followers once per account would add up the engagements of every post over one audience:
ten posts that each reached 1 % of the followers would make a 10 % group rate, above
every post's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from socialkit.analytics.aggregate import (
    account_key,
    follower_observations,
    latest_per_post,
    post_keyer,
)
from socialkit.models._base import SocialModel

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from socialkit.analytics.aggregate import PostKey
    from socialkit.models.metrics import MetricSnapshot

__all__ = ["KpiCoverage", "RateCoverage", "kpi_coverage"]


class RateCoverage(SocialModel):
    """The posts one group rate counts and the sums it divides.

    Attributes:
        numerator: the counted posts' engagements (clicks for the click-through rate).
        denominator: the counted posts' impressions or reach; for the rate by followers,
            the sum over the counted posts of each one's account's follower count when
            the post was first measured.
        posts_counted: posts that have a rate of their own: they reported both counts
            and the denominator is above zero.
        posts_left_out: the group's other posts, whose counts the rate does not use.
    """

    numerator: int = Field(default=0, ge=0)
    denominator: int = Field(default=0, ge=0)
    posts_counted: int = Field(default=0, ge=0)
    posts_left_out: int = Field(default=0, ge=0)

    @property
    def posts(self) -> int:
        """Every post of the group, counted or left out."""
        return self.posts_counted + self.posts_left_out

    @property
    def complete(self) -> bool:
        """True when no post was left out."""
        return self.posts_left_out == 0

    def __str__(self) -> str:
        return f"{self.posts_counted} of {self.posts} post{'' if self.posts == 1 else 's'}"


class KpiCoverage(SocialModel):
    """One :class:`RateCoverage` per rate a report computes over a group of posts."""

    engagement_rate_by_impressions: RateCoverage = RateCoverage()
    engagement_rate_by_reach: RateCoverage = RateCoverage()
    engagement_rate_by_followers: RateCoverage = RateCoverage()
    click_through_rate: RateCoverage = RateCoverage()
    negative_feedback_rate: RateCoverage = RateCoverage()


def _per_post(posts: list[MetricSnapshot], numerator: str, denominator: str) -> RateCoverage:
    top = bottom = counted = 0
    for post in posts:
        value = getattr(post, numerator)
        base = getattr(post, denominator)
        if value is None or base is None or base == 0:
            continue
        top += value
        bottom += base
        counted += 1
    return RateCoverage(
        numerator=top,
        denominator=bottom,
        posts_counted=counted,
        posts_left_out=len(posts) - counted,
    )


def _followers_at(observations: list[MetricSnapshot], moment: datetime) -> int | None:
    # The last count at or before the moment; the first one when none was before it.
    before = [s for s in observations if s.collected_at <= moment]
    chosen = before[-1] if before else observations[0]
    return chosen.followers


def _by_followers(posts: list[MetricSnapshot], series: list[MetricSnapshot]) -> RateCoverage:
    # A post's audience is worked out as its own report does (post_reports): from its
    # account's snapshots and its own, never from another post's. A follower count that
    # came with another post's snapshot would give this post that post's audience, and
    # the group rate could then beat every post's own.
    key_of = post_keyer(series)
    accounts = follower_observations(s for s in series if s.subject == "account")
    own: dict[PostKey, list[MetricSnapshot]] = {}
    for snapshot in series:
        if snapshot.subject == "post":
            own.setdefault(key_of(snapshot), []).append(snapshot)
    top = bottom = counted = 0
    for post in posts:
        key, account = key_of(post), account_key(post)
        engagements = post.engagements
        observations = accounts.get(account)
        with_own = [s for s in own[key] if s.followers is not None]
        if with_own:
            # in the order post_reports sees them: the post's, then its account's
            seen = follower_observations([*with_own, *(observations or [])])
            observations = seen[account]
        first_seen = min(s.collected_at for s in own[key])
        audience = _followers_at(observations, first_seen) if observations else None
        if engagements is None or not audience:
            continue
        # Once per post, as impressions are: the rate is then the followers-weighted
        # mean of the posts' own rates, not a sum of rates that grows with every post.
        top += engagements
        bottom += audience
        counted += 1
    return RateCoverage(
        numerator=top,
        denominator=bottom,
        posts_counted=counted,
        posts_left_out=len(posts) - counted,
    )


def kpi_coverage(snapshots: Iterable[MetricSnapshot]) -> KpiCoverage:
    """The paired sums behind a group's rates, from each post's latest counts.

    Args:
        snapshots: post snapshots of the group's posts and account snapshots of its
            accounts (as for :func:`~socialkit.analytics.totals`).

    Returns:
        What each rate counts; a rate is ``numerator / denominator``, and ``None`` when
        no post was counted.
    """
    series = list(snapshots)
    posts = latest_per_post(series)
    return KpiCoverage(
        engagement_rate_by_impressions=_per_post(posts, "engagements", "impressions"),
        engagement_rate_by_reach=_per_post(posts, "engagements", "reach"),
        engagement_rate_by_followers=_by_followers(posts, series),
        click_through_rate=_per_post(posts, "clicks", "impressions"),
        negative_feedback_rate=_per_post(posts, "negative_feedback", "impressions"),
    )
