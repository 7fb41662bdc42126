"""KPI reports per post, per platform and per campaign, checked against targets."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from socialkit.analytics import kpis
from socialkit.analytics.aggregate import MetricTotals, account_key, post_keyer, totals
from socialkit.analytics.coverage import KpiCoverage, RateCoverage, kpi_coverage
from socialkit.models._base import SocialModel
from socialkit.models.campaign import Campaign, KpiName, KpiTarget, Money

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from socialkit.models.metrics import MetricSnapshot

__all__ = [
    "CampaignReport",
    "KpiReport",
    "KpiValues",
    "TargetResult",
    "campaign_report",
    "platform_reports",
    "post_reports",
    "report",
]

Scope = Literal["post", "platform", "campaign", "group"]


def check_kpi(kpi: str, known: Sequence[str], field: str = "kpi") -> None:
    """Refuse a KPI name outside ``known``, naming the argument and listing the names."""
    if kpi not in known:
        raise ValueError(f"{field}: unknown KPI {kpi!r} (one of {', '.join(known)})")


class KpiValues(SocialModel):
    """The KPIs of one group of posts; ``None`` where an input was missing or zero.

    Each field is computed by the function of the same name in
    :mod:`socialkit.analytics.kpis`. The rates over posts divide the paired sums of
    :class:`~socialkit.analytics.coverage.KpiCoverage` (only posts that reported both
    counts); follower growth, cost per engagement, ROI and ROAS use the group's
    :class:`MetricTotals` and money.
    """

    engagement_rate_by_impressions: Decimal | None = None
    engagement_rate_by_reach: Decimal | None = None
    engagement_rate_by_followers: Decimal | None = None
    click_through_rate: Decimal | None = None
    negative_feedback_rate: Decimal | None = None
    follower_growth_rate: Decimal | None = None
    cost_per_engagement: Money | None = None
    roi: Decimal | None = None
    roas: Decimal | None = None


class TargetResult(SocialModel):
    """One KPI target and how the group did.

    Attributes:
        target: the target, from :attr:`Campaign.kpi_targets`.
        actual: the measured value (an amount for ``cost_per_engagement``), or ``None``.
        met: whether ``actual`` meets the target; ``None`` when nothing was measured.
        coverage: for a rate over posts, the posts it counted and left out; ``None``
            for other KPIs and totals.
    """

    target: KpiTarget
    actual: Decimal | None
    met: bool | None
    coverage: RateCoverage | None = None


class KpiReport(SocialModel):
    """Totals and KPIs for one post, platform, campaign or other group.

    Attributes:
        scope: what the group is.
        key: its identifier: the post id, the platform name, the campaign id.
        platform: the platform, for post and platform reports.
        account_id: the account, for post reports.
        totals: the counts of the group, each summed over the posts that reported it.
        kpis: the KPIs.
        coverage: for each rate over posts, the posts it counted and left out and the
            sums it divides (``coverage.engagement_rate_by_impressions.posts_counted``).
        cost, revenue: the money the ROI, ROAS and cost per engagement use, when given.
        targets: each target and whether it was met.
    """

    scope: Scope
    key: str
    platform: str | None = None
    account_id: str | None = None
    totals: MetricTotals
    kpis: KpiValues
    coverage: KpiCoverage = KpiCoverage()
    cost: Money | None = None
    revenue: Money | None = None
    targets: tuple[TargetResult, ...] = ()

    def value(self, kpi: KpiName) -> Decimal | None:
        """The measured value of ``kpi`` (a KPI or a total) as a Decimal, or ``None``.

        For ``cost_per_engagement`` it is the amount, in the currency of :attr:`cost`.

        Raises:
            ValueError: ``kpi`` is not a KPI or total name (the message lists them).
        """
        check_kpi(kpi, get_args(KpiName))
        if kpi in KpiValues.model_fields:
            found = getattr(self.kpis, kpi)
            if isinstance(found, Money):
                return found.amount
            return found  # type: ignore[no-any-return]
        count = getattr(self.totals, kpi)
        return None if count is None else Decimal(count)

    @property
    def targets_met(self) -> bool | None:
        """True when every target was met, False when one was missed, None when unknown.

        A missed target decides it even when others could not be measured.
        """
        results = [result.met for result in self.targets]
        if False in results:
            return False
        if not results or None in results:
            return None
        return True


class CampaignReport(KpiReport):
    """A campaign's report, with the same KPIs per platform and per post.

    Attributes:
        campaign: the campaign.
        by_platform: one report per platform, sorted by name.
        by_post: one report per post, in order of first appearance.
    """

    campaign: Campaign
    by_platform: tuple[KpiReport, ...] = ()
    by_post: tuple[KpiReport, ...] = ()


def _kpi_values(
    sums: MetricTotals, paired: KpiCoverage, cost: Money | None, revenue: Money | None
) -> KpiValues:
    # Rates over posts divide paired sums: a post that did not report the denominator
    # adds nothing to the numerator either (see socialkit.analytics.coverage).
    by_impressions = paired.engagement_rate_by_impressions
    by_reach = paired.engagement_rate_by_reach
    by_followers = paired.engagement_rate_by_followers
    ctr = paired.click_through_rate
    negative = paired.negative_feedback_rate
    return KpiValues(
        engagement_rate_by_impressions=kpis.engagement_rate_by_impressions(
            by_impressions.numerator, by_impressions.denominator
        ),
        engagement_rate_by_reach=kpis.engagement_rate_by_reach(
            by_reach.numerator, by_reach.denominator
        ),
        engagement_rate_by_followers=kpis.engagement_rate_by_followers(
            by_followers.numerator, by_followers.denominator
        ),
        click_through_rate=kpis.click_through_rate(ctr.numerator, ctr.denominator),
        negative_feedback_rate=kpis.negative_feedback_rate(
            negative.numerator, negative.denominator
        ),
        follower_growth_rate=kpis.follower_growth_rate(sums.followers_start, sums.followers_end),
        cost_per_engagement=kpis.cost_per_engagement(cost, sums.engagements),
        roi=kpis.roi(revenue, cost),
        roas=kpis.roas(revenue, cost),
    )


def _check_targets(report: KpiReport, targets: Sequence[KpiTarget]) -> KpiReport:
    if not targets:
        return report
    results = []
    for target in targets:
        _same_money(report, target)
        actual = report.value(target.kpi)
        coverage = (
            getattr(report.coverage, target.kpi) if target.kpi in KpiCoverage.model_fields else None
        )
        results.append(
            TargetResult(target=target, actual=actual, met=target.met_by(actual), coverage=coverage)
        )
    return report.model_copy(update={"targets": tuple(results)})


def _same_money(report: KpiReport, target: KpiTarget) -> None:
    """Refuse to compare an amount with a target in another currency."""
    amount = getattr(report.kpis, target.kpi, None)
    if target.currency is None or not isinstance(amount, Money):
        return
    if amount.currency != target.currency:
        raise ValueError(
            f"the {target.kpi} target is in {target.currency} but the cost is in "
            f"{amount.currency}; convert one of them first"
        )


def report(
    snapshots: Iterable[MetricSnapshot],
    *,
    key: str = "all",
    cost: Money | None = None,
    revenue: Money | None = None,
    targets: Sequence[KpiTarget] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> KpiReport:
    """One report over every snapshot given (any mix of posts, platforms and accounts).

    Args:
        snapshots: post snapshots of the group's posts and account snapshots of its
            accounts (see :func:`~socialkit.analytics.totals`).
        key: a name for the group.
        cost: money spent on the group (for cost per engagement, ROI and ROAS).
        revenue: money the group brought in (for ROI and ROAS).
        targets: targets to check the report against.
        since, until: the period follower growth is measured over.

    Raises:
        ValueError: ``cost`` is negative or in another currency than ``revenue``, or a
            ``cost_per_engagement`` target names another currency than ``cost``.
    """
    series = list(snapshots)
    sums = totals(series, since=since, until=until)
    paired = kpi_coverage(series)
    built = KpiReport(
        scope="group",
        key=key,
        totals=sums,
        kpis=_kpi_values(sums, paired, cost, revenue),
        coverage=paired,
        cost=cost,
        revenue=revenue,
    )
    return _check_targets(built, targets)


def post_reports(
    snapshots: Iterable[MetricSnapshot],
    *,
    targets: Sequence[KpiTarget] = (),
) -> list[KpiReport]:
    """One report per post, in order of each post's first appearance.

    A post's engagement rate by followers divides by its account's follower count when
    the post was first measured (the last count at or before the post's earliest
    snapshot, else the account's first), from the account snapshots in ``snapshots``;
    ``totals.followers`` is the account's latest count. A post has no follower growth
    (``follower_growth_rate``, ``totals.followers_start`` and ``followers_end`` are
    ``None``): the account's growth is the platform's or the campaign's.

    Args:
        snapshots: post snapshots, plus account snapshots for follower counts.
        targets: targets to check each post against.
    """
    series = list(snapshots)
    by_account: dict[tuple[str, str], list[MetricSnapshot]] = {}
    for snapshot in series:
        if snapshot.subject == "account":
            by_account.setdefault(account_key(snapshot), []).append(snapshot)
    key_of = post_keyer(series)
    by_post: dict[tuple[str, str, str], list[MetricSnapshot]] = {}
    for snapshot in series:
        if snapshot.subject == "post":
            by_post.setdefault(key_of(snapshot), []).append(snapshot)

    reports = []
    for (platform, account_id, post), own in by_post.items():
        group = [*own, *by_account.get((platform, account_id), [])]
        # A post has no period of its own: its account's growth over every observation
        # given is not the post's, so a post has no follower growth.
        sums = totals(group).model_copy(update={"followers_start": None, "followers_end": None})
        paired = kpi_coverage(group)
        built = KpiReport(
            scope="post",
            key=post,
            platform=platform,
            account_id=account_id,
            totals=sums,
            kpis=_kpi_values(sums, paired, None, None),
            coverage=paired,
        )
        reports.append(_check_targets(built, targets))
    return reports


def platform_reports(
    snapshots: Iterable[MetricSnapshot],
    *,
    cost: Mapping[str, Money] | None = None,
    revenue: Mapping[str, Money] | None = None,
    targets: Sequence[KpiTarget] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[KpiReport]:
    """One report per platform, sorted by platform name.

    Args:
        snapshots: post and account snapshots.
        cost, revenue: money per platform name, where known.
        targets: targets to check each platform against.
        since, until: the period follower growth is measured over.

    Raises:
        ValueError: as :func:`report`, the message naming the platform.
    """
    groups: dict[str, list[MetricSnapshot]] = {}
    for snapshot in snapshots:
        groups.setdefault(snapshot.platform, []).append(snapshot)
    reports = []
    for platform in sorted(groups):
        spent = (cost or {}).get(platform)
        earned = (revenue or {}).get(platform)
        sums = totals(groups[platform], since=since, until=until)
        paired = kpi_coverage(groups[platform])
        try:
            built = KpiReport(
                scope="platform",
                key=platform,
                platform=platform,
                totals=sums,
                kpis=_kpi_values(sums, paired, spent, earned),
                coverage=paired,
                cost=spent,
                revenue=earned,
            )
            reports.append(_check_targets(built, targets))
        except ValueError as error:  # mixed currencies, a negative cost: say where
            raise ValueError(f"platform {platform!r}: {error}") from error
    return reports


def campaign_report(
    campaign: Campaign,
    snapshots: Iterable[MetricSnapshot],
    *,
    cost: Money | None = None,
    revenue: Money | None = None,
    cost_by_platform: Mapping[str, Money] | None = None,
    revenue_by_platform: Mapping[str, Money] | None = None,
) -> CampaignReport:
    """A campaign's KPIs, compared against :attr:`Campaign.kpi_targets`.

    Follower growth is measured between the campaign's ``starts_at`` and ``ends_at``
    (open-ended where unset), and ``totals.followers`` is the accounts' count at
    ``ends_at``. Post counts use each post's latest counts (see
    :func:`~socialkit.analytics.latest_per_post`), so counts that arrive after the
    campaign ended still count. Reach is not additive: a campaign of several posts has no
    ``totals.reach`` and a ``reach`` target on it is not measurable (``met`` is ``None``).

    Args:
        campaign: the campaign.
        snapshots: the snapshots of the campaign's posts and of the accounts that
            published them.
        cost: what the campaign cost. The budget is a plan, not a cost, and is not used.
        revenue: what the campaign brought in (for ROI and ROAS).
        cost_by_platform, revenue_by_platform: the same per platform, for the breakdown.

    Returns:
        The campaign's report with its targets checked, and the same KPIs per platform
        and per post, checked against the targets on rates, growth and money (a target
        on a total such as ``impressions`` is the campaign's as a whole and is checked
        on the campaign only).

    Raises:
        ValueError: as :func:`report` for the campaign and each platform, the message
            naming the campaign or the platform: a negative cost, revenue and cost in different currencies, or a
            ``cost_per_engagement`` target whose ``currency`` is not the cost's.
    """
    series = list(snapshots)
    since, until = campaign.starts_at, campaign.ends_at
    targets = campaign.kpi_targets
    # A target on a total (impressions >= 50,000) is the campaign's as a whole: each
    # platform and post would miss it. The breakdowns check rates, growth and money only.
    part_targets = [t for t in targets if t.kpi not in MetricTotals.model_fields]
    try:
        overall = report(
            series,
            key=campaign.id,
            cost=cost,
            revenue=revenue,
            targets=targets,
            since=since,
            until=until,
        )
    except ValueError as error:  # mixed currencies, a negative cost: say where
        raise ValueError(f"campaign {campaign.id!r}: {error}") from error
    fields: dict[str, Any] = {name: getattr(overall, name) for name in KpiReport.model_fields}
    fields["scope"] = "campaign"
    return CampaignReport(
        **fields,
        campaign=campaign,
        by_platform=tuple(
            platform_reports(
                series,
                cost=cost_by_platform,
                revenue=revenue_by_platform,
                targets=part_targets,
                since=since,
                until=until,
            )
        ),
        by_post=tuple(post_reports(series, targets=part_targets)),
    )
