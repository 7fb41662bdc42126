"""Analytics: KPIs over metric snapshot series, reports, best time to post, anomalies.

Every KPI is a small function with its formula in its docstring (see
:mod:`socialkit.analytics.kpis`); it returns a :class:`~decimal.Decimal` (or a
:class:`~socialkit.Money`) and ``None`` when an input was not reported or a denominator is
zero. Reports add up the latest counts of each post and compare the KPIs against a
campaign's targets. A group's rate counts only the posts that reported both of its counts
(see :mod:`socialkit.analytics.coverage`) and says how many that is::

    from socialkit import analytics

    result = analytics.campaign_report(campaign, snapshots, cost=spent, revenue=earned)
    result.kpis.engagement_rate_by_impressions   # Decimal("0.0412") or None
    str(result.coverage.engagement_rate_by_impressions)  # "2 of 4 posts"
    result.targets_met                           # True, False or None (not measurable)

This package imports nothing heavier than pydantic.
"""

from __future__ import annotations

from socialkit.analytics.aggregate import (
    POST_COUNT_FIELDS,
    MetricTotals,
    latest_per_post,
    totals,
)
from socialkit.analytics.anomalies import (
    Anomaly,
    find_anomalies,
    robust_z_scores,
)
from socialkit.analytics.best_time import PostingTime, best_posting_times
from socialkit.analytics.coverage import KpiCoverage, RateCoverage, kpi_coverage
from socialkit.analytics.kpis import (
    click_through_rate,
    cost_per_engagement,
    engagement_rate_by_followers,
    engagement_rate_by_impressions,
    engagement_rate_by_reach,
    follower_growth_rate,
    negative_feedback_rate,
    roas,
    roi,
)
from socialkit.analytics.report import (
    CampaignReport,
    KpiReport,
    KpiValues,
    TargetResult,
    campaign_report,
    platform_reports,
    post_reports,
    report,
)
from socialkit.analytics.spikes import negative_feedback_spikes

__all__ = [
    "POST_COUNT_FIELDS",
    "Anomaly",
    "CampaignReport",
    "KpiCoverage",
    "KpiReport",
    "KpiValues",
    "MetricTotals",
    "PostingTime",
    "RateCoverage",
    "TargetResult",
    "best_posting_times",
    "campaign_report",
    "click_through_rate",
    "cost_per_engagement",
    "engagement_rate_by_followers",
    "engagement_rate_by_impressions",
    "engagement_rate_by_reach",
    "find_anomalies",
    "follower_growth_rate",
    "kpi_coverage",
    "latest_per_post",
    "negative_feedback_rate",
    "negative_feedback_spikes",
    "platform_reports",
    "post_reports",
    "report",
    "roas",
    "robust_z_scores",
    "roi",
    "totals",
]
