"""A campaign's KPI report from the metric snapshots the engine collected.

Snapshots are collected several times per post (1 h, 24 h, 7 d after publishing); the
report uses each post's latest, sums only what platforms reported, and checks the
campaign's KPI targets. A rate counts only the posts that reported both of its counts, and
says how many that is. Every figure is an exact Decimal.

    python examples/campaign_kpis.py
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialkit import Campaign, KpiTarget, MetricSnapshot, Money
from socialkit.analytics import campaign_report

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CAMPAIGN = Campaign(
    id="spring-launch",
    name="Spring blend launch",
    starts_at=START,
    ends_at=START + timedelta(days=14),
    kpi_targets=(
        KpiTarget(kpi="engagement_rate_by_impressions", value="0.04"),
        KpiTarget(kpi="click_through_rate", value="0.01"),
        KpiTarget(kpi="cost_per_engagement", value="0.40", direction="at_most"),
        KpiTarget(kpi="roas", value="3"),
    ),
)


def post(platform: str, post_id: str, hours: float, **counts: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform=platform,
        account_id=f"acme-{platform}",
        post_id=post_id,
        collected_at=START + timedelta(hours=hours),
        **counts,
    )


def followers(platform: str, count: int, days: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform=platform,
        account_id=f"acme-{platform}",
        subject="account",
        collected_at=START + timedelta(days=days),
        followers=count,
    )


SNAPSHOTS = [
    # X reports impressions and clicks; the 24 h snapshot supersedes the 1 h one.
    post("x", "x-1", 1, likes=30, shares=4, impressions=1200, clicks=9),
    post("x", "x-1", 24, likes=95, shares=11, comments=6, impressions=4100, clicks=38),
    post("x", "x-2", 24, likes=40, shares=2, comments=3, impressions=2500, clicks=21),
    # Mastodon and Bluesky report no impressions: their rates by impressions are None,
    # and the campaign's rate by impressions is the X posts' alone.
    post("mastodon", "m-1", 24, likes=64, shares=21, comments=9),
    post("bluesky", "b-1", 24, likes=88, shares=7, comments=12),
    followers("x", 5200, 0),
    followers("x", 5390, 13),
    followers("mastodon", 1800, 0),
    followers("mastodon", 1930, 13),
]


def percent(value: object) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def main() -> int:
    report = campaign_report(
        CAMPAIGN,
        SNAPSHOTS,
        cost=Money(amount="120.00", currency="EUR"),
        revenue=Money(amount="410.00", currency="EUR"),
    )
    totals, kpis = report.totals, report.kpis
    print(f"{CAMPAIGN.name}: {totals.posts} posts on {len(report.by_platform)} platforms")
    print(f"  engagements {totals.engagements}, impressions {totals.impressions}")
    # Only posts that reported impressions count: X's 216 engagements over its 6600
    # impressions, not all 417 engagements (which would claim 6.32 % and meet the target).
    by_impressions = report.coverage.engagement_rate_by_impressions
    print(
        f"  engagement rate by impressions {percent(kpis.engagement_rate_by_impressions)}"
        f" = {by_impressions.numerator} / {by_impressions.denominator} ({by_impressions})"
    )
    print(
        f"  engagement rate by followers {percent(kpis.engagement_rate_by_followers)}"
        f" ({report.coverage.engagement_rate_by_followers})"
    )
    print(f"  follower growth {percent(kpis.follower_growth_rate)}")
    cpe = kpis.cost_per_engagement
    print(f"  cost per engagement {cpe.amount:.3f} {cpe.currency}" if cpe else "  no CPE")
    print("Targets:")
    for result in report.targets:
        mark = {True: "met", False: "MISSED", None: "cannot say"}[result.met]
        actual = "n/a" if result.actual is None else f"{result.actual:.4f}"
        covers = f"  ({result.coverage})" if result.coverage else ""
        print(
            f"  {result.target.kpi:<31} {result.target.direction:<8} {result.target.value}"
            f"  actual {actual}{covers}  {mark}"
        )
    print(f"All targets met: {report.targets_met}")
    print("By platform (engagement rate by impressions):")
    for platform in report.by_platform:
        rate = percent(platform.kpis.engagement_rate_by_impressions)
        print(f"  {platform.key:<9} {platform.totals.engagements:>4} engagements  {rate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
