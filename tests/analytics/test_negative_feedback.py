"""Negative feedback: the count, its rate per impression, and alerts when it spikes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from socialkit import MetricSnapshot, PostRef, Receipt, analytics

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
    """Most posts get no negative feedback: beside them one hide is an anomaly to the
    z-score, but one event where half a one was expected is no spike."""
    calm = [snap(f"c{i}", impressions=1000, negative_feedback=0) for i in range(6)]
    one_hide = snap("one", impressions=1000, negative_feedback=1)
    raw = analytics.find_anomalies([*calm, one_hide], kpi="negative_feedback_rate")
    assert [a.post_id for a in raw] == ["one"]  # the z-score alone calls it an anomaly
    assert analytics.negative_feedback_spikes([*calm, one_hide]) == []
    assert analytics.negative_feedback_spikes([*calm, one_hide], min_count=1) == []
    backlash = snap("backlash", impressions=1000, negative_feedback=40)
    spikes = analytics.negative_feedback_spikes([*calm, one_hide, backlash])
    assert [s.post_id for s in spikes] == ["backlash"]
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        analytics.negative_feedback_spikes(calm, min_count=0)


def test_min_count_keeps_an_unlikely_but_tiny_count_quiet() -> None:
    # 3 hides on 1,000 impressions where 0.1 were expected is unlikely (p ≈ 0.00016), but
    # three events are no crisis: min_count (5) holds them back.
    usual = [snap(f"u{i}", impressions=10_000, negative_feedback=1) for i in range(6)]
    odd = snap("odd", impressions=1000, negative_feedback=3)
    assert analytics.negative_feedback_spikes([*usual, odd]) == []
    [found] = analytics.negative_feedback_spikes([*usual, odd], min_count=3)
    assert found.post_id == "odd"
    assert found.p_value == Decimal("0.000155")


def test_a_small_post_with_a_usual_count_for_its_impressions_is_no_spike() -> None:
    """The review's case: ten posts at about 60 per 20,000 impressions and one with 9 on
    2,000. Its rate (0.45 %) is far above the others' median (0.3 %) by a robust z-score
    (z = 10), but 6 were expected and 9 or more happen one time in six."""
    big = [
        snap(f"big{i}", impressions=20_000, negative_feedback=n)
        for i, n in enumerate([55, 60, 62, 58, 65, 60, 57, 63, 59, 61])
    ]
    small = snap("small", impressions=2000, negative_feedback=9)
    z = analytics.find_anomalies([*big, small], kpi="negative_feedback_rate")
    assert [a.post_id for a in z] == ["small"]  # what the rate alone says
    assert analytics.negative_feedback_spikes([*big, small]) == []
    # the same account with a real backlash on a small post: 60 where 6 were expected
    angry = snap("angry", impressions=2000, negative_feedback=60)
    [spike] = analytics.negative_feedback_spikes([*big, small, angry])
    assert spike.post_id == "angry"
    assert spike.expected is not None
    assert abs(spike.expected - 6) < Decimal("0.05")
    assert spike.score > 30  # p < 1e-30


def test_noise_in_equally_exposed_posts_is_no_spike() -> None:
    # 13 where about 6 were expected: P(X >= 13) is 0.7 %, not below alpha (0.1 %); the
    # robust z-score (4.7) called it an anomaly.
    counts = [5, 6, 6, 7, 5, 6, 6, 7, 6, 5, 13]
    posts = [snap(f"p{i}", impressions=2000, negative_feedback=n) for i, n in enumerate(counts)]
    assert analytics.negative_feedback_spikes(posts) == []
    [found] = analytics.negative_feedback_spikes(posts, alpha="0.01")
    assert found.post_id == "p10"
    assert found.p_value is not None
    assert Decimal("0.005") < found.p_value < Decimal("0.01")


def test_a_spike_is_found_while_the_post_is_young() -> None:
    """With receipts and the default age a post was judged only 24 h after publication;
    a count test compares posts per impression, so the first collection is enough."""
    receipts, series = [], []
    for i, n in enumerate([2, 3, 2, 4, 3, 2]):
        published = T0 - dt.timedelta(days=10 - i)
        receipts.append(_receipt(f"q{i}", published))
        for hours in (1, 24, 168):
            series.append(
                _collected(
                    f"q{i}",
                    published + dt.timedelta(hours=hours),
                    impressions=1000 * hours // 24 + 100,
                    negative_feedback=n * hours // 24,
                )
            )
    receipts.append(_receipt("backlash", T0))
    series.append(
        _collected("backlash", T0 + dt.timedelta(hours=1), impressions=800, negative_feedback=60)
    )
    found = analytics.negative_feedback_spikes(series, receipts=receipts)
    assert [a.post_id for a in found] == ["backlash"]
    # compared at 24 h on purpose, the post is too young to judge yet
    assert (
        analytics.negative_feedback_spikes(series, receipts=receipts, age=dt.timedelta(hours=24))
        == []
    )


def test_bad_arguments_name_the_argument_the_limit_and_the_value() -> None:
    for alpha in ("0", "1", "-0.1", "abc", True, "NaN"):
        with pytest.raises(ValueError, match=r"alpha must be a probability between 0 and 1"):
            analytics.negative_feedback_spikes([], alpha=alpha)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"min_count must be a whole number \(got 2.5\)"):
        analytics.negative_feedback_spikes([], min_count=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"min_posts must be a whole number \(got True\)"):
        analytics.negative_feedback_spikes([], min_posts=True)
    with pytest.raises(ValueError, match=r"threshold must be a positive finite number"):
        analytics.find_anomalies([], threshold=True)


def _receipt(post_id: str, at: dt.datetime) -> Receipt:
    return Receipt(
        platform="fb", account_id="acme-fb", parts=(PostRef(id=post_id),), published_at=at
    )


def _collected(post_id: str, at: dt.datetime, **counts: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform="fb", account_id="acme-fb", post_id=post_id, collected_at=at, **counts
    )
