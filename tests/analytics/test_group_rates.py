"""A group's rates pair numerator and denominator post by post, and say which posts count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from socialkit import Campaign, KpiTarget, MetricSnapshot
from socialkit.analytics import (
    POST_COUNT_FIELDS,
    KpiReport,
    campaign_report,
    latest_per_post,
    platform_reports,
    post_reports,
    report,
)
from socialkit.analytics.coverage import KpiCoverage, RateCoverage, kpi_coverage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def post(
    post_id: str, platform: str = "x", *, hours: int = 24, **counts: int | None
) -> MetricSnapshot:
    return MetricSnapshot(
        platform=platform,
        account_id=f"acme-{platform}",
        post_id=post_id,
        collected_at=T0 + timedelta(hours=hours),
        **counts,  # type: ignore[arg-type]
    )


def followers(platform: str, count: int, *, hours: int = 0) -> MetricSnapshot:
    return MetricSnapshot(
        platform=platform,
        account_id=f"acme-{platform}",
        subject="account",
        collected_at=T0 + timedelta(hours=hours),
        followers=count,
    )


# X reports impressions; Mastodon and Bluesky report none (the case the docs review found).
MIXED = [
    post("x-1", likes=95, shares=11, comments=6, impressions=4100, clicks=38),
    post("x-2", likes=40, shares=2, comments=3, impressions=2500, clicks=21),
    post("m-1", "mastodon", likes=64, shares=21, comments=9),
    post("b-1", "bluesky", likes=88, shares=7, comments=12),
]


def test_posts_without_impressions_add_no_engagements_to_the_rate() -> None:
    result = report(MIXED)
    assert result.totals.engagements == 417  # totals still add every post up
    assert result.totals.impressions == 6600
    # 216 engagements of the X posts over their 6600 impressions, not 417 / 6600
    assert result.kpis.engagement_rate_by_impressions == Decimal(216) / Decimal(6600)
    assert result.coverage.engagement_rate_by_impressions == RateCoverage(
        numerator=216, denominator=6600, posts_counted=2, posts_left_out=2
    )
    x = platform_reports(MIXED)[-1]
    assert x.key == "x"
    assert result.kpis.engagement_rate_by_impressions == x.kpis.engagement_rate_by_impressions


def test_a_campaign_target_is_not_met_by_posts_that_reported_no_impressions() -> None:
    campaign = Campaign(
        id="spring",
        name="Spring",
        kpi_targets=(KpiTarget(kpi="engagement_rate_by_impressions", value=Decimal("0.04")),),
    )
    result = campaign_report(campaign, MIXED)
    (target,) = result.targets
    # 417 / 6600 = 6.3 % would meet it; X alone, the only platform measured, is at 3.3 %
    assert target.actual is not None
    assert target.actual.quantize(Decimal("0.0001")) == Decimal("0.0327")
    assert target.met is False
    assert result.targets_met is False
    assert target.coverage is not None
    assert str(target.coverage) == "2 of 4 posts"
    assert not target.coverage.complete
    by_platform = {r.key: r.targets[0].met for r in result.by_platform}
    assert by_platform == {"bluesky": None, "mastodon": None, "x": False}


def test_a_post_with_impressions_and_no_engagement_lowers_the_rate() -> None:
    series = [post("p1", likes=10, impressions=100), post("p2", likes=0, impressions=100)]
    result = report(series)
    assert result.kpis.engagement_rate_by_impressions == Decimal("0.05")
    assert result.coverage.engagement_rate_by_impressions.posts_counted == 2
    assert result.coverage.engagement_rate_by_impressions.complete


def test_nobody_engaging_where_impressions_were_measured_is_a_rate_of_zero() -> None:
    series = [post("x-1", likes=0, impressions=1000), post("m-1", "mastodon", likes=50)]
    result = report(series)
    assert result.kpis.engagement_rate_by_impressions == 0  # not 50 / 1000
    assert result.kpis.engagement_rate_by_impressions is not None
    assert str(result.coverage.engagement_rate_by_impressions) == "1 of 2 posts"


def test_a_post_that_reported_no_engagement_count_adds_no_impressions() -> None:
    series = [post("p1", likes=10, impressions=100), post("p2", impressions=300)]
    result = report(series)
    assert result.totals.impressions == 400
    assert result.kpis.engagement_rate_by_impressions == Decimal("0.1")  # not 10 / 400
    assert str(result.coverage.engagement_rate_by_impressions) == "1 of 2 posts"


def test_a_post_with_zero_impressions_has_no_rate_and_is_left_out() -> None:
    series = [post("p1", likes=10, impressions=100), post("p2", likes=7, impressions=0)]
    result = report(series)
    assert result.kpis.engagement_rate_by_impressions == Decimal("0.1")
    assert result.coverage.engagement_rate_by_impressions.posts_left_out == 1


def test_no_post_reporting_the_denominator_gives_none() -> None:
    series = [post("m-1", "mastodon", likes=5), post("b-1", "bluesky", likes=3, comments=1)]
    result = report(series)
    assert result.kpis.engagement_rate_by_impressions is None
    assert result.kpis.engagement_rate_by_reach is None
    assert result.kpis.click_through_rate is None
    assert result.coverage.engagement_rate_by_impressions == RateCoverage(posts_left_out=2)
    assert report([]).coverage == KpiCoverage()


def test_reach_pairs_like_impressions() -> None:
    series = [post("i1", "instagram", likes=30, reach=600), post("m1", "mastodon", likes=90)]
    result = report(series)
    assert result.kpis.engagement_rate_by_reach == Decimal("0.05")  # not 120 / 600
    assert str(result.coverage.engagement_rate_by_reach) == "1 of 2 posts"


def test_click_through_rate_pairs_clicks_with_impressions() -> None:
    series = [
        post("p1", clicks=10, impressions=1000),
        post("p2", "linkedin", clicks=50),  # clicks, no impressions
        post("p3", "threads", impressions=4000),  # impressions, no clicks
    ]
    result = report(series)
    assert result.totals.clicks == 60
    assert result.totals.impressions == 5000
    assert result.kpis.click_through_rate == Decimal("0.01")  # not 60 / 5000
    assert result.coverage.click_through_rate == RateCoverage(
        numerator=10, denominator=1000, posts_counted=1, posts_left_out=2
    )


def test_rate_by_followers_counts_only_accounts_that_reported_followers() -> None:
    series = [
        post("x-1", likes=40),
        post("x-2", likes=10),
        post("b-1", "bluesky", likes=500),  # no follower count for that account
        followers("x", 900),  # the count when the posts were measured (hour 24)
        followers("x", 1000, hours=48),
        followers("mastodon", 7000),  # an account with no post in the group
    ]
    result = report(series)
    assert result.totals.followers == 8000  # totals: each account's latest count
    # each X post over the 900 followers it had: 40 / 900 and 10 / 900
    assert result.kpis.engagement_rate_by_followers == Decimal(50) / Decimal(1800)
    assert result.coverage.engagement_rate_by_followers == RateCoverage(
        numerator=50, denominator=1800, posts_counted=2, posts_left_out=1
    )


def test_rate_by_followers_uses_the_followers_when_the_post_was_first_measured() -> None:
    # The account grew from 1000 to 100,000 followers in a year. A post from the first
    # week engaged 1 % of the audience it had, not 0.01 % of today's.
    early = [post("m-old", "mastodon", hours=h, likes=n) for h, n in [(1, 4), (24, 10)]]
    late = post("m-new", "mastodon", hours=24 * 365, likes=2000)
    grown = [
        followers("mastodon", 1000),
        followers("mastodon", 1200, hours=12),  # after the old post's first snapshot
        followers("mastodon", 100_000, hours=24 * 360),
    ]
    old_report, new_report = post_reports([*early, late, *grown])
    assert old_report.kpis.engagement_rate_by_followers == Decimal("0.01")  # 10 / 1000
    assert new_report.kpis.engagement_rate_by_followers == Decimal("0.02")  # 2000 / 100,000
    both = report([*early, late, *grown])
    assert both.coverage.engagement_rate_by_followers.denominator == 101_000


def test_rate_by_followers_of_a_post_measured_before_any_follower_count() -> None:
    # No count before the post's first snapshot: the account's first count stands in.
    series = [post("m-1", "mastodon", hours=1, likes=30), followers("mastodon", 3000, hours=5)]
    assert report(series).kpis.engagement_rate_by_followers == Decimal("0.01")


def test_rate_by_followers_of_many_posts_is_not_their_sum() -> None:
    # Ten posts that each engaged 1 % of the account's 1000 followers: the group's rate
    # is 1 %, not 100 / 1000 = 10 % (the followers were counted once per account).
    series = [post(f"m-{i}", "mastodon", likes=10) for i in range(10)]
    series.append(followers("mastodon", 1000))
    result = report(series)
    assert result.kpis.engagement_rate_by_followers == Decimal("0.01")
    assert result.coverage.engagement_rate_by_followers == RateCoverage(
        numerator=100, denominator=10_000, posts_counted=10, posts_left_out=0
    )
    own = {p.kpis.engagement_rate_by_followers for p in post_reports(series)}
    assert own == {Decimal("0.01")}


def test_a_post_is_not_divided_by_the_followers_another_post_reported() -> None:
    """The review's case: Bluesky reports the author's followers with each post. Post a
    was first measured before any count; the group took post b's (100) for it where a's
    own report took a's (1000), and the group's rate (5.5 %) beat both posts' 1 %."""
    series = [
        post("a", "bluesky", hours=0, likes=10),
        post("a", "bluesky", hours=24, likes=10, followers=1000),
        post("b", "bluesky", hours=5, likes=1, followers=100),
    ]
    own = [p.kpis.engagement_rate_by_followers for p in post_reports(series)]
    assert own == [Decimal("0.01"), Decimal("0.01")]
    group = report(series)
    assert group.kpis.engagement_rate_by_followers == Decimal("0.01")
    assert group.coverage.engagement_rate_by_followers.denominator == 1100
    # an account snapshot is the account's for every post: a gets the 500 of hour 0, b
    # its own 100 of hour 5 (the last count at or before its first snapshot)
    shared = report([*series, followers("bluesky", 500, hours=0)])
    assert shared.coverage.engagement_rate_by_followers.denominator == 600
    assert [
        p.coverage.engagement_rate_by_followers.denominator
        for p in post_reports([*series, followers("bluesky", 500, hours=0)])
    ] == [500, 100]


def test_post_reports_cover_their_own_post() -> None:
    first, second = post_reports([*MIXED[:1], MIXED[2], followers("x", 2000)])
    assert str(first.coverage.engagement_rate_by_impressions) == "1 of 1 post"
    assert str(first.coverage.engagement_rate_by_followers) == "1 of 1 post"
    assert str(second.coverage.engagement_rate_by_impressions) == "0 of 1 post"


def test_targets_on_totals_carry_no_coverage() -> None:
    result = report(MIXED, targets=[KpiTarget(kpi="impressions", value=Decimal(1))])
    assert result.targets[0].coverage is None
    assert result.targets[0].met is True


def test_coverage_survives_json() -> None:
    result = report(MIXED)
    data = result.model_dump(mode="json")
    assert data["coverage"]["engagement_rate_by_impressions"]["posts_counted"] == 2
    assert KpiReport.model_validate_json(result.model_dump_json()) == result


# -- properties ---------------------------------------------------------------------------

counts = st.none() | st.integers(min_value=0, max_value=10**6)
post_snapshots = st.builds(
    lambda platform, account, post_id, minutes, values: MetricSnapshot(
        platform=platform,
        account_id=account,
        post_id=post_id,
        collected_at=T0 + timedelta(minutes=minutes),
        **dict(zip(POST_COUNT_FIELDS, values, strict=True)),
    ),
    st.sampled_from(["mastodon", "bluesky", "x"]),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
    st.integers(min_value=0, max_value=10_000),
    st.tuples(*[counts for _ in POST_COUNT_FIELDS]),
)
account_snapshots = st.builds(
    lambda platform, account, minutes, count: MetricSnapshot(
        platform=platform,
        account_id=account,
        subject="account",
        collected_at=T0 + timedelta(minutes=minutes),
        followers=count,
    ),
    st.sampled_from(["mastodon", "bluesky", "x"]),
    st.sampled_from(["a", "b"]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10**6),
)
# some platforms report the author's follower count with each post
posts_with_followers = st.builds(
    lambda snapshot, count: snapshot.model_copy(update={"followers": count}),
    post_snapshots,
    st.integers(min_value=0, max_value=10**6),
)
series_strategy = st.lists(post_snapshots | posts_with_followers | account_snapshots, max_size=30)

PER_POST = {
    "engagement_rate_by_impressions": ("engagements", "impressions"),
    "engagement_rate_by_reach": ("engagements", "reach"),
    "click_through_rate": ("clicks", "impressions"),
}
RATES = [*PER_POST, "engagement_rate_by_followers"]


@given(series_strategy)
def test_a_group_rate_is_the_denominator_weighted_mean_of_its_posts_rates(
    series: list[MetricSnapshot],
) -> None:
    result = report(series)
    posts = latest_per_post(series)
    for kpi, (top, bottom) in PER_POST.items():
        pairs = [
            (getattr(p, top), getattr(p, bottom))
            for p in posts
            if getattr(p, top) is not None and getattr(p, bottom)
        ]
        rate = getattr(result.kpis, kpi)
        covered = getattr(result.coverage, kpi)
        assert covered.posts_counted == len(pairs)
        assert covered.posts == len(posts)
        if not pairs:
            assert rate is None
            continue
        own = [Decimal(n) / Decimal(d) for n, d in pairs]
        assert min(own) <= rate <= max(own), kpi
        weighted = sum(Decimal(n) for n, _ in pairs) / sum(Decimal(d) for _, d in pairs)
        assert rate == weighted


@given(series_strategy)
def test_a_group_rate_lies_between_its_platforms_rates(series: list[MetricSnapshot]) -> None:
    # A campaign on X, Mastodon and Bluesky can never beat its best platform.
    whole = report(series)
    parts = platform_reports(series)
    for kpi in RATES:
        rate = getattr(whole.kpis, kpi)
        per_platform = [getattr(p.kpis, kpi) for p in parts if getattr(p.kpis, kpi) is not None]
        assert (rate is None) == (not per_platform), kpi
        if per_platform:
            assert min(per_platform) <= rate <= max(per_platform), kpi
        covered = getattr(whole.coverage, kpi)
        assert covered.posts_counted == sum(getattr(p.coverage, kpi).posts_counted for p in parts)
        assert covered.numerator == sum(getattr(p.coverage, kpi).numerator for p in parts)
        assert covered.denominator == sum(getattr(p.coverage, kpi).denominator for p in parts)


@given(series_strategy)
def test_report_and_kpi_coverage_agree(series: list[MetricSnapshot]) -> None:
    assert report(series).coverage == kpi_coverage(series)


@given(series_strategy)
def test_a_group_rate_by_followers_lies_between_its_posts_rates(
    series: list[MetricSnapshot],
) -> None:
    rate = report(series).kpis.engagement_rate_by_followers
    own = [
        p.kpis.engagement_rate_by_followers
        for p in post_reports(series)
        if p.kpis.engagement_rate_by_followers is not None
    ]
    assert (rate is None) == (not own)
    if own:
        assert min(own) <= rate <= max(own)


@given(series_strategy)
def test_a_group_counts_each_post_with_the_audience_of_its_own_report(
    series: list[MetricSnapshot],
) -> None:
    group = report(series).coverage.engagement_rate_by_followers
    own = [p.coverage.engagement_rate_by_followers for p in post_reports(series)]
    assert group.denominator == sum(c.denominator for c in own)
    assert group.numerator == sum(c.numerator for c in own)
    assert group.posts_counted == sum(c.posts_counted for c in own)
