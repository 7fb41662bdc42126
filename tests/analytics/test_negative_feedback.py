"""Negative feedback: the count, its rate per impression, and alerts when it spikes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from socialkit import MetricSnapshot, analytics

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def snap(post_id: str, **counts: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform="fb", account_id="acme-fb", post_id=post_id, collected_at=T0, **counts
    )


def test_the_rate_is_negative_feedback_per_impression_and_not_an_engagement() -> None:
    post = snap("p", likes=10, impressions=2000, negative_feedback=5)
    assert post.engagements == 10  # pushing a post away is not engaging with it
    assert analytics.negative_feedback_rate(5, 2000) == Decimal("0.0025")
    assert analytics.negative_feedback_rate(None, 2000) is None  # not reported
    assert analytics.negative_feedback_rate(0, 0) is None  # never shown
    with pytest.raises(ValueError, match="negative_feedback"):
        MetricSnapshot(
            platform="fb", account_id="a", post_id="p", collected_at=T0, negative_feedback=-1
        )


def test_a_group_rate_pairs_the_posts_that_reported_both_counts() -> None:
    posts = [
        snap("a", impressions=1000, negative_feedback=10),
        snap("b", impressions=3000, negative_feedback=2),
        snap("c", impressions=5000),  # no negative feedback reported: left out
    ]
    result = analytics.report(posts)
    assert result.totals.negative_feedback == 12
    assert result.kpis.negative_feedback_rate == Decimal(12) / Decimal(4000)
    assert str(result.coverage.negative_feedback_rate) == "2 of 3 posts"
    assert result.value("negative_feedback_rate") == Decimal("0.003")


def test_a_spike_is_flagged_high_and_a_quiet_post_is_no_alarm() -> None:
    usual = [
        snap(f"u{i}", impressions=1000, negative_feedback=n) for i, n in enumerate([3, 4, 3, 5, 4])
    ]
    backlash = snap("backlash", impressions=1000, negative_feedback=80)
    loved = snap("loved", impressions=1000, negative_feedback=0)
    spikes = analytics.negative_feedback_spikes([*usual, backlash, loved])
    assert [(s.post_id, s.direction, s.value) for s in spikes] == [
        ("backlash", "high", Decimal("0.08"))
    ]
    lows = analytics.find_anomalies([*usual, backlash, loved], kpi="negative_feedback_rate")
    assert {a.post_id for a in lows} >= {"backlash"}
    # an account without enough history is not judged; one that reports nothing neither
    assert analytics.negative_feedback_spikes([backlash, *usual[:2]]) == []
    assert (
        analytics.negative_feedback_spikes([snap(f"x{i}", impressions=9) for i in range(9)]) == []
    )


def test_a_single_hide_among_posts_with_none_is_no_spike() -> None:
    """Most posts get no negative feedback: beside them one hide scores as high as a
    backlash, so a spike needs at least min_count events."""
    calm = [snap(f"c{i}", impressions=1000, negative_feedback=0) for i in range(6)]
    one_hide = snap("one", impressions=1000, negative_feedback=1)
    raw = analytics.find_anomalies([*calm, one_hide], kpi="negative_feedback_rate")
    assert [a.post_id for a in raw] == ["one"]  # the z-score alone calls it an anomaly
    assert analytics.negative_feedback_spikes([*calm, one_hide]) == []
    assert [
        s.post_id for s in analytics.negative_feedback_spikes([*calm, one_hide], min_count=1)
    ] == ["one"]
    backlash = snap("backlash", impressions=1000, negative_feedback=40)
    spikes = analytics.negative_feedback_spikes([*calm, one_hide, backlash])
    assert [s.post_id for s in spikes] == ["backlash"]
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        analytics.negative_feedback_spikes(calm, min_count=0)
