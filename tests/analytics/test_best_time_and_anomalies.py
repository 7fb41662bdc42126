"""Best time to post, and anomaly alerts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import socialkit
from socialkit import MetricSnapshot, PostRef, Receipt, Weekday
from socialkit.analytics import best_posting_times, find_anomalies, robust_z_scores

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; Berlin is UTC+1 in March


def published(post_id: str, at: datetime, *, account: str = "acme") -> Receipt:
    return Receipt(
        platform="mastodon", account_id=account, parts=(PostRef(id=post_id),), published_at=at
    )


def snap(post_id: str, *, account: str = "acme", **counts: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform="mastodon",
        account_id=account,
        post_id=post_id,
        collected_at=MONDAY + timedelta(days=30),
        **counts,  # type: ignore[arg-type]
    )


def test_hours_are_read_in_the_audiences_zone_and_ranked() -> None:
    receipts = [
        published("a", MONDAY + timedelta(hours=8)),  # 09:00 Berlin, Monday
        published("b", MONDAY + timedelta(days=7, hours=8)),  # 09:00 Berlin, Monday
        published("c", MONDAY + timedelta(hours=16)),  # 17:00 Berlin, Monday
        published("d", MONDAY + timedelta(days=3, hours=23, minutes=30)),  # Fri 00:30 Berlin
    ]
    snapshots = [
        snap("a", likes=60, impressions=1000),
        snap("b", likes=40, impressions=1000),
        snap("c", likes=10, impressions=1000),
        snap("d", likes=20, impressions=1000),
    ]
    ranked = best_posting_times(snapshots, receipts, timezone="Europe/Berlin", age=None)
    assert [(t.weekday, t.hour, t.posts) for t in ranked] == [
        (Weekday.MON, 9, 2),
        (Weekday.FRI, 0, 1),  # one post each: no bound, after the hours with one, by average
        (Weekday.MON, 17, 1),
    ]
    assert ranked[0].average == Decimal("0.05")
    assert ranked[0].as_slot(30) == socialkit.PostingSlot(weekday="mon", time=time(9, 30))


def test_one_lucky_post_does_not_outrank_a_reliable_hour() -> None:
    """The review's case: Monday 09:00 ten posts at 5 %, Wednesday 15:00 ten at 2 %,
    Thursday 20:00 one at 20 %. A mean shrunk toward the overall mean (4.3 %) kept the
    single post first whatever the prior weight; the confidence bound does not."""
    receipts, snapshots = [], []

    def post(post_id: str, day: int, hour: int, likes: int) -> None:
        receipts.append(published(post_id, MONDAY + timedelta(days=day, hours=hour)))
        snapshots.append(snap(post_id, likes=likes, impressions=1000))

    for week in range(10):
        post(f"good{week}", 7 * week, 9, 50)
        post(f"avg{week}", 7 * week + 2, 15, 20)
    post("lucky", 3, 20, 200)
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", age=None)
    assert [(t.weekday, t.hour, t.posts) for t in ranked] == [
        (Weekday.MON, 9, 10),
        (Weekday.WED, 15, 10),
        (Weekday.THU, 20, 1),
    ]
    assert ranked[-1].average == Decimal("0.2")  # by averages alone the single post wins
    assert ranked[-1].score is None


def test_an_hour_with_more_or_steadier_posts_ranks_first() -> None:
    # The same mean, 4 %: the bound is lower where it rests on fewer or noisier posts.
    receipts, snapshots = [], []
    hours = {9: [40] * 2 + [30, 50] * 4, 10: [30, 50] * 2, 11: [39, 41] * 2, 12: [35, 45] * 2}
    for hour, likes in hours.items():
        for i, n in enumerate(likes):
            post_id = f"h{hour}-{i}"
            receipts.append(published(post_id, MONDAY + timedelta(days=7 * i, hours=hour)))
            snapshots.append(snap(post_id, likes=n, impressions=1000))
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", age=None)
    # 9 before 10: more posts, as spread; 12 before 10: as many posts, steadier. 11 is
    # steadier still than the pooled spread, and four posts do not show it is not luck:
    # it is bounded with the pooled variance, as 12 is (both below it), and ties with it.
    assert [t.hour for t in ranked] == [9, 11, 12, 10]
    assert ranked[1].score == ranked[2].score
    assert {t.average for t in ranked} == {Decimal("0.04")}
    scores = [t.score for t in ranked]
    assert all(s is not None and s < Decimal("0.04") for s in scores)
    plain = best_posting_times(snapshots, receipts, timezone="UTC", age=None, confidence="0.5")
    assert {t.score for t in plain} == {Decimal("0.04")}


def test_a_few_posts_that_agree_by_chance_do_not_outrank_a_better_hour() -> None:
    """The review's case: two posts at exactly 4.4 % have no spread, so their own variance
    made their mean its bound, ahead of ten posts averaging 4.5 %. Their variance is taken
    as at least the pooled within-hour variance."""
    receipts, snapshots = [], []
    hours = {9: [40, 50] * 5, 10: [44, 44]}
    for hour, likes in hours.items():
        for i, n in enumerate(likes):
            post_id = f"h{hour}-{i}"
            receipts.append(published(post_id, MONDAY + timedelta(days=7 * i, hours=hour)))
            snapshots.append(snap(post_id, likes=n, impressions=1000))
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", age=None)
    assert [(t.hour, t.posts, t.average) for t in ranked] == [
        (9, 10, Decimal("0.045")),
        (10, 2, Decimal("0.044")),
    ]
    steady = ranked[1].score
    assert steady is not None
    # pooled: ten squared deviations of 0.005 over 9 + 1 degrees of freedom = 0.000025,
    # so the bound is 4.4 % − t(0.9, 1) × 0.005 / √2 (t = 3.0777)
    assert abs(
        steady - (Decimal("0.044") - Decimal("3.0777") * Decimal("0.005") / Decimal(2).sqrt())
    ) < Decimal("0.00001")
    # every hour steady alike: the pool is 0, and each hour's bound is its mean
    alike = best_posting_times(snapshots[10:], receipts[10:], timezone="UTC", age=None)
    assert [(t.hour, t.score) for t in alike] == [(10, Decimal("0.044"))]


def test_for_negative_feedback_the_lowest_hour_is_the_best() -> None:
    # Monday 10:00 posts get 1 hide per 1,000 impressions, Tuesday 10:00 posts 50.
    receipts, snapshots = [], []
    for week in range(3):
        for day, hides, name in [(0, 1, "good"), (1, 50 + week, "bad")]:
            post_id = f"{name}{week}"
            receipts.append(published(post_id, MONDAY + timedelta(days=7 * week + day, hours=10)))
            snapshots.append(snap(post_id, likes=10, impressions=1000, negative_feedback=hides))
    ranked = best_posting_times(
        snapshots, receipts, timezone="UTC", kpi="negative_feedback_rate", age=None
    )
    assert [(t.weekday, t.average) for t in ranked] == [
        (Weekday.MON, Decimal("0.001")),
        (Weekday.TUE, Decimal("0.051")),
    ]
    assert ranked[1].score is not None
    assert ranked[1].score > ranked[1].average  # the upper bound, where lower is better


def test_posts_without_the_kpi_or_a_receipt_are_left_out() -> None:
    receipts = [published("a", MONDAY), published("b", MONDAY + timedelta(hours=1))]
    snapshots = [snap("a", likes=5), snap("b", likes=5, impressions=100), snap("orphan", likes=1)]
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", age=None)
    assert [(t.hour, t.posts) for t in ranked] == [(1, 1)]
    assert best_posting_times([], [], timezone="UTC") == []
    by_likes = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements", age=None)
    assert len(by_likes) == 2


def test_bad_arguments_are_refused_with_their_names() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Base'"):
        best_posting_times([], [], timezone="Mars/Base")
    with pytest.raises(TypeError, match=r"timezone must be an IANA zone name .* \(got None\)"):
        best_posting_times([], [], timezone=None)  # type: ignore[arg-type]
    for confidence in ("0.4", "1", True, "abc", "NaN"):
        with pytest.raises(ValueError, match=r"confidence must be a number from 0\.5 up to"):
            best_posting_times([], [], timezone="UTC", confidence=confidence)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold must be a positive finite number"):
        find_anomalies([], threshold=0)
    with pytest.raises(ValueError, match="min_posts must be at least 3"):
        find_anomalies([], min_posts=2)


def test_a_viral_post_and_a_flop_are_found() -> None:
    likes = [40, 42, 38, 41, 39, 43, 40, 400, 2]
    snapshots = [snap(f"p{i}", likes=n, impressions=1000) for i, n in enumerate(likes)]
    snapshots.append(snap("other", account="quiet", likes=1, impressions=1000))
    found = find_anomalies(snapshots)
    assert [(a.post_id, a.direction) for a in found] == [("p7", "high"), ("p8", "low")]
    assert found[0].median == Decimal("0.040")
    assert found[0].score > Decimal("3.5")


def test_nothing_is_anomalous_in_a_flat_or_short_history() -> None:
    flat = [snap(f"p{i}", likes=10, impressions=100) for i in range(8)]
    assert find_anomalies(flat) == []
    short = [snap(f"p{i}", likes=n, impressions=100) for i, n in enumerate([1, 1, 90])]
    assert find_anomalies(short) == []  # fewer than min_posts


def test_mean_absolute_deviation_stands_in_when_most_values_are_equal() -> None:
    values = [Decimal(10)] * 6 + [Decimal(50)]
    scores = robust_z_scores(values)
    assert scores[-1] is not None
    assert scores[-1] > Decimal("3.5")
    assert scores[0] == 0
    assert robust_z_scores([]) == []
    assert robust_z_scores([Decimal(1)] * 3) == [None, None, None]


values_strategy = st.lists(
    st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False), min_size=1, max_size=30
)


@given(values_strategy, st.integers(min_value=1, max_value=1000))
def test_z_scores_do_not_depend_on_the_unit(values: list[Decimal], factor: int) -> None:
    plain = robust_z_scores(values)
    scaled = robust_z_scores([v * factor for v in values])
    for a, b in zip(plain, scaled, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert abs(a - b) <= Decimal("1e-20")


@given(values_strategy)
def test_z_scores_are_centred_on_the_median(values: list[Decimal]) -> None:
    scores = robust_z_scores(values)
    ordered = sorted(zip(values, scores, strict=True))
    known = [s for _, s in ordered if s is not None]
    assert known == sorted(known)  # order preserving


def _at(post_id: str, when: datetime, **counts: int) -> MetricSnapshot:
    return MetricSnapshot(
        platform="mastodon", account_id="acme", post_id=post_id, collected_at=when, **counts
    )


def test_posts_are_compared_at_the_same_age() -> None:
    # Monday 09:00 had a post a month ago; Tuesday 09:00 posts were published today and
    # yesterday. By their latest snapshots the month-old post's 30 days of likes win.
    now = MONDAY + timedelta(days=40)
    old = MONDAY + timedelta(hours=9)
    receipts = [published("old", old), published("new", now - timedelta(hours=2))]
    snapshots = [
        _at("old", old + timedelta(hours=1), likes=5),
        _at("old", old + timedelta(hours=24), likes=20),  # the one at 24 h
        _at("old", old + timedelta(days=30), likes=300),
        _at("new", now - timedelta(hours=1), likes=8),  # too young to compare
    ]
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements")
    assert [(t.weekday, t.hour, t.average) for t in ranked] == [(Weekday.MON, 9, 20)]
    latest = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements", age=None)
    assert [t.average for t in latest] == [300, 8]
    # at 7 days: the 24 h snapshot measured another age, and none is within 7 d ± 42 h
    week = best_posting_times(
        snapshots, receipts, timezone="UTC", kpi="engagements", age=timedelta(days=7)
    )
    assert week == []
    with pytest.raises(ValueError, match="age must be a positive duration"):
        best_posting_times([], [], timezone="UTC", age=timedelta(0))


def test_the_snapshot_for_an_age_is_the_one_collected_just_after_it() -> None:
    """The engine asks the platform at +1 h, +24 h and +7 d, so each snapshot is
    collected a little after its due time: the 24 h one, not the 1 h one, is scored."""
    at = MONDAY + timedelta(hours=9)
    late = timedelta(seconds=2)
    receipts = [published("p", at)]
    snapshots = [
        _at("p", at + timedelta(hours=1) + late, likes=5),
        _at("p", at + timedelta(hours=24) + late, likes=20),
        _at("p", at + timedelta(days=7) + late, likes=300),
    ]
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements")
    assert [t.average for t in ranked] == [20]
    week = best_posting_times(
        snapshots, receipts, timezone="UTC", kpi="engagements", age=timedelta(days=7)
    )
    assert [t.average for t in week] == [300]


def test_a_post_whose_snapshot_for_the_age_was_missed_is_left_out() -> None:
    """The review's case: A's 24 h collection was missed (it has 1 h and 7 d). Scored
    by its 1 h snapshot it lost to B's 24 h; now it is left out at 24 h."""
    a_at, b_at = MONDAY + timedelta(hours=1), MONDAY + timedelta(days=1, hours=1)
    receipts = [published("A", a_at), published("B", b_at)]
    snapshots = [
        _at("A", a_at + timedelta(hours=1), likes=5),
        _at("A", a_at + timedelta(days=7), likes=500),
        _at("B", b_at + timedelta(hours=24, minutes=3), likes=100),
        # C's 24 h snapshot came early (the engine was down at the due time): still used
        _at("C", a_at + timedelta(hours=20), likes=70),
        _at("C", a_at + timedelta(days=7), likes=700),
    ]
    receipts.append(published("C", a_at))
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements")
    assert [(t.weekday, t.hour, t.average) for t in ranked] == [
        (Weekday.TUE, 1, 100),
        (Weekday.MON, 1, 70),
    ]


def test_a_late_collection_is_compared_by_its_real_age_not_its_label() -> None:
    """A snapshot labelled with its collection (``after``, set by the engine) but taken
    late measured the post at its real age: compared at the labelled age it would mix
    1 h and 3 h figures, so the post is left out as one missing that age; a labelled one
    taken on time wins over an unlabelled snapshot nearer the due time."""
    at = MONDAY + timedelta(hours=9)
    receipts = [published("p", at), published("q", at + timedelta(days=1))]
    q_at = at + timedelta(days=1)
    snapshots = [
        # the 1 h collection, taken at +3 h (the worker was down)
        _at("p", at + timedelta(hours=3), likes=5).model_copy(
            update={"after": timedelta(hours=1), "age": timedelta(hours=3)}
        ),
        # the 24 h collection, rate-limited for 8 h: outside 24 h +- 6 h
        _at("p", at + timedelta(hours=32), likes=40).model_copy(
            update={"after": timedelta(hours=24), "age": timedelta(hours=32)}
        ),
        _at("q", q_at + timedelta(hours=1), likes=4).model_copy(
            update={"after": timedelta(hours=1), "age": timedelta(hours=1)}
        ),
        _at("q", q_at + timedelta(hours=24, minutes=1), likes=90),  # an ad-hoc collection
        _at("q", q_at + timedelta(hours=25), likes=60).model_copy(
            update={"after": timedelta(hours=24), "age": timedelta(hours=25)}
        ),
    ]
    ranked = best_posting_times(snapshots, receipts, timezone="UTC", kpi="engagements")
    # was also (MON, 40): p's 32 h figure scored as its 24 h one
    assert [(t.weekday, t.average) for t in ranked] == [(Weekday.TUE, 60)]
    at_one_hour = best_posting_times(
        snapshots, receipts, timezone="UTC", kpi="engagements", age=timedelta(hours=1)
    )
    # was also (MON, 5): p's 3 h figure compared with q's 1 h one
    assert [(t.weekday, t.average) for t in at_one_hour] == [(Weekday.TUE, 4)]


def test_hours_follow_berlins_daylight_saving_time() -> None:
    # 2026-03-29 is the last Sunday of March: Berlin moves from UTC+1 to UTC+2.
    # A post at 23:30 local time on each side lands in hour 23 of its local weekday.
    receipts = [
        published("sat", datetime(2026, 3, 28, 22, 30, tzinfo=UTC)),  # Sat 23:30 CET
        published("sun", datetime(2026, 3, 29, 21, 30, tzinfo=UTC)),  # Sun 23:30 CEST
        published("mon", datetime(2026, 3, 29, 22, 30, tzinfo=UTC)),  # Mon 00:30 CEST
        published("early", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # Sun 01:30 CET
        published("jump", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # Sun 03:30 CEST
    ]
    later = datetime(2026, 4, 6, tzinfo=UTC)
    snapshots = [
        _at(r.ref.id, later, likes=10 * (i + 1), impressions=1000) for i, r in enumerate(receipts)
    ]
    ranked = best_posting_times(snapshots, receipts, timezone="Europe/Berlin", age=None)
    assert sorted((t.weekday, t.hour) for t in ranked) == [
        (Weekday.MON, 0),
        (Weekday.SAT, 23),
        (Weekday.SUN, 1),
        (Weekday.SUN, 3),  # 02:00-03:00 does not exist that night
        (Weekday.SUN, 23),
    ]


def test_a_post_an_hour_old_is_not_a_flop_when_compared_at_the_same_age() -> None:
    # Six posts with ~40 likes at 24 h (and ~200 a month later), and one published an
    # hour ago with 3 likes so far. By latest snapshots the new post is a flop.
    now = MONDAY + timedelta(days=60)
    receipts = [published(f"p{i}", MONDAY + timedelta(days=i)) for i in range(6)]
    receipts.append(published("new", now - timedelta(hours=1)))
    snapshots = []
    for i, likes in enumerate([40, 42, 38, 41, 39, 43]):
        at = MONDAY + timedelta(days=i)
        snapshots.append(_at(f"p{i}", at + timedelta(hours=24), likes=likes))
        snapshots.append(_at(f"p{i}", at + timedelta(days=30), likes=likes * 5))
    snapshots.append(_at("new", now, likes=3))
    latest = find_anomalies(snapshots, kpi="engagements")
    assert [(a.post_id, a.direction) for a in latest] == [("new", "low")]
    assert find_anomalies(snapshots, kpi="engagements", receipts=receipts) == []
    # at the same age a real flop is still found
    snapshots.append(_at("new", now + timedelta(hours=23), likes=4))
    found = find_anomalies(snapshots, kpi="engagements", receipts=receipts)
    assert [(a.post_id, a.direction, a.value) for a in found] == [("new", "low", 4)]
    with pytest.raises(ValueError, match="age must be a positive duration"):
        find_anomalies([], receipts=[], age=timedelta(hours=-1))


def test_in_a_history_of_zeros_any_other_value_is_an_anomaly() -> None:
    # Documented: with most values equal the mean absolute deviation stands in, and the
    # score no longer depends on how far the post is: one click among ten posts with
    # none scores 11 / 1.253314 = 8.78, as 100 clicks would.
    for clicks in (1, 100):
        counts = [0] * 10 + [clicks]
        series = [snap(f"p{i}", clicks=n, impressions=1000) for i, n in enumerate(counts)]
        (found,) = find_anomalies(series, kpi="clicks")
        assert found.post_id == "p10"
        assert found.score.quantize(Decimal("0.01")) == Decimal("8.78")
    assert find_anomalies([snap(f"p{i}", clicks=0) for i in range(10)], kpi="clicks") == []


def test_rate_by_followers_at_an_age_uses_the_followers_when_the_post_was_first_measured() -> None:
    at = MONDAY + timedelta(hours=9)
    account = [
        MetricSnapshot(
            platform="mastodon",
            account_id="acme",
            subject="account",
            collected_at=at + timedelta(hours=h),
            followers=n,
        )
        for h, n in [(0, 1000), (12, 2000)]
    ]
    snapshots = [
        *account,
        _at("p", at + timedelta(hours=1), likes=2),
        _at("p", at + timedelta(hours=24), likes=10),
    ]
    (ranked,) = best_posting_times(
        snapshots,
        [published("p", at)],
        timezone="UTC",
        kpi="engagement_rate_by_followers",
    )
    assert ranked.average == Decimal("0.01")  # 10 / 1000, not 10 / 2000


def test_a_post_at_an_age_is_scored_by_that_snapshot_alone() -> None:
    # The 24 h snapshot left impressions out. Merged with the 1 h one (latest counts),
    # 20 likes at 24 h would be divided by the impressions of the first hour.
    at = MONDAY + timedelta(hours=9)
    snapshots = [
        _at("p", at + timedelta(hours=1), likes=5, impressions=100),
        _at("p", at + timedelta(hours=24), likes=20),
    ]
    receipts = [published("p", at)]
    assert best_posting_times(snapshots, receipts, timezone="UTC") == []
    [latest] = best_posting_times(snapshots, receipts, timezone="UTC", age=None)
    assert latest.average == Decimal("0.2")  # latest counts: 20 likes, 100 impressions
