"""Analytics over what an embedded scheduler collected: a scripted platform's counts go
through the engine's metric collections into the store, and the KPIs, best time and
alerts come out as computed by hand. Bad arguments name themselves."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

import socialkit
from socialkit import Account, ManualClock, MetricSnapshot, Post, Scheduler, analytics
from socialkit.text.rules import FEED

T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Berlin

# What the platform reports for each post at each collection (+1 h, then +24 h).
COUNTS: dict[str, list[dict[str, int]]] = {
    "launch": [
        {"impressions": 1000, "likes": 10, "comments": 5},
        {"impressions": 2000, "likes": 30, "comments": 10, "clicks": 20},
    ],
    "unseen": [{"impressions": 0, "likes": 0}],  # reported, and nobody saw it
    "fediverse": [{"likes": 7}],  # no impressions reported at all
}


class Scripted(socialkit.Platform):
    name = "scripted"
    contract = 1
    capabilities = socialkit.Capabilities(
        text=FEED,
        idempotency=socialkit.Idempotency.KEY,
        requires_credentials=False,
        metrics=frozenset(socialkit.METRIC_FIELDS),
    )

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.served: dict[str, int] = {}

    async def publish(self, draft: Any, ctx: Any) -> socialkit.Receipt:
        post_id = f"s{len(self.texts) + 1}"
        self.texts[post_id] = draft.parts[0].text
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=post_id),),
            published_at=ctx.now(),
        )

    async def fetch_metrics(self, receipts: Any, ctx: Any) -> list[MetricSnapshot]:
        found = []
        for receipt in receipts:
            series = COUNTS[self.texts[receipt.ref.id]]
            served = self.served.get(receipt.ref.id, 0)
            self.served[receipt.ref.id] = served + 1
            found.append(
                MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    post_id=receipt.ref.id,
                    collected_at=ctx.now(),
                    **series[min(served, len(series) - 1)],
                )
            )
        return found


@pytest.fixture
def collected(tmp_path: Any) -> Any:
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(Scripted)
    clock = ManualClock(T0)
    account = Account(id="acme", platform="scripted", handle="acme", timezone="Europe/Berlin")
    with Scheduler(f"sqlite:///{tmp_path}/app.db", registry=registry, clock=clock) as scheduler:
        ids = {
            text: scheduler.schedule(Post(text=text, campaign="spring"), account, at=T0)[0].id
            for text in COUNTS
        }
        assert scheduler.run(until_idle=True).claimed == 3
        clock.advance(dt.timedelta(hours=1))
        assert scheduler.run(until_idle=True).metric_tasks == 3
        clock.advance(dt.timedelta(hours=23))
        assert scheduler.run(until_idle=True).metric_tasks == 3
        snapshots = scheduler.metrics(campaign="spring")
        receipts = [scheduler.get(ids[text]).receipts[0].receipt for text in COUNTS]
    return snapshots, receipts


def test_kpis_of_the_collected_series_match_the_hand_computed_ones(collected: Any) -> None:
    snapshots, _ = collected
    assert len(snapshots) == 6  # three posts, two collections each
    whole = analytics.report(snapshots)
    # The latest snapshot of each post: launch 2000 impressions, 30 + 10 + 20 engagements.
    assert (whole.totals.posts, whole.totals.impressions) == (3, 2000)
    assert (whole.totals.likes, whole.totals.engagements) == (37, 67)  # 30 + 0 + 7, 60 + 7
    # Only launch has a rate: "unseen" had 0 impressions, "fediverse" none reported.
    assert whole.kpis.engagement_rate_by_impressions == Decimal("0.03")  # 60 / 2000
    assert whole.kpis.click_through_rate == Decimal("0.01")  # 20 / 2000
    assert str(whole.coverage.engagement_rate_by_impressions) == "1 of 3 posts"
    assert whole.kpis.engagement_rate_by_followers is None  # no follower counts
    per_post = {
        p.key: p.kpis.engagement_rate_by_impressions for p in analytics.post_reports(snapshots)
    }
    assert per_post == {"s1": Decimal("0.03"), "s2": None, "s3": None}  # 0 impressions: None
    [platform] = analytics.platform_reports(snapshots)
    assert (platform.key, platform.kpis.click_through_rate) == ("scripted", Decimal("0.01"))

    campaign = socialkit.Campaign(
        id="spring",
        name="Spring",
        starts_at=T0,
        ends_at=T0 + dt.timedelta(days=7),
        kpi_targets=(
            socialkit.KpiTarget(kpi="engagement_rate_by_impressions", value="0.03"),
            socialkit.KpiTarget(kpi="roas", value="2"),  # no money given: not measurable
        ),
    )
    result = analytics.campaign_report(campaign, snapshots)
    assert [(t.actual, t.met) for t in result.targets] == [(Decimal("0.03"), True), (None, None)]
    assert result.targets_met is None  # nothing missed, one not measurable


def test_best_time_places_each_post_in_the_audiences_hour(collected: Any) -> None:
    snapshots, receipts = collected
    [rate] = analytics.best_posting_times(snapshots, receipts, timezone="Europe/Berlin")
    assert (rate.weekday, rate.hour, rate.posts, rate.average, rate.score) == (
        socialkit.Weekday.MON,
        9,
        1,  # only launch has a rate
        Decimal("0.03"),
        None,  # one post: no spread to bound its mean with
    )
    [total] = analytics.best_posting_times(
        snapshots, receipts, timezone="Asia/Tokyo", kpi="engagements"
    )
    assert (total.weekday, total.hour, total.posts) == (socialkit.Weekday.MON, 17, 3)
    assert total.average == Decimal(67) / 3


def test_a_flop_is_a_low_alert_even_when_most_posts_score_the_same() -> None:
    def snap(post_id: str, likes: int) -> MetricSnapshot:
        return MetricSnapshot(
            platform="x",
            account_id="acme",
            post_id=post_id,
            collected_at=T0,
            likes=likes,
            impressions=1000,
        )

    series = [snap(f"h{i}", 40) for i in range(6)] + [snap("flop", 0)]
    [alert] = analytics.find_anomalies(series)
    # MAD is 0 (six equal values): z = (0 - 0.04) / (1.253314 * (0.04 / 7))
    assert (alert.post_id, alert.direction, alert.median) == ("flop", "low", Decimal("0.04"))
    expected = (Decimal(0) - Decimal("0.04")) / (Decimal("1.253314") * (Decimal("0.04") / 7))
    assert alert.score == expected
    assert analytics.find_anomalies([snap(f"h{i}", 40) for i in range(7)]) == []  # no spread


def test_no_data_gives_the_documented_empty_values() -> None:
    empty = analytics.report([])
    assert empty.totals.posts == 0
    assert empty.totals.engagements is None
    assert set(empty.kpis.model_dump().values()) == {None}
    assert empty.targets_met is None
    assert analytics.post_reports([]) == analytics.platform_reports([]) == []
    assert analytics.best_posting_times([], [], timezone="UTC") == []
    assert analytics.find_anomalies([]) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: analytics.find_anomalies([], kpi="engagment_rate"),  # type: ignore[arg-type]
        lambda: analytics.best_posting_times([], [], timezone="UTC", kpi="likes"),  # type: ignore[arg-type]
        lambda: analytics.report([]).value("engagment_rate"),  # type: ignore[arg-type]
    ],
)
def test_an_unknown_kpi_is_named_with_the_known_ones(call: Any) -> None:
    # It raised AttributeError: 'MetricTotals' object has no attribute ...
    with pytest.raises(
        ValueError, match=r"^kpi: unknown KPI '\w+' \(one of engagement_rate_by_impressions, "
    ):
        call()


@pytest.mark.parametrize("threshold", ["abc", "NaN", "Infinity", "-1", 0])
def test_a_threshold_must_be_a_positive_finite_number(threshold: Any) -> None:
    # "abc" and "NaN" raised decimal.InvalidOperation; "Infinity" silently found nothing.
    with pytest.raises(ValueError, match=r"^threshold must be a positive finite number \(got "):
        analytics.find_anomalies([], threshold=threshold)


def test_a_period_must_be_aware_and_forward() -> None:
    follower = MetricSnapshot(
        platform="x", account_id="acme", subject="account", collected_at=T0, followers=100
    )
    with pytest.raises(ValueError, match=r"^since must be timezone-aware \(got naive 2026-01-01"):
        analytics.report([follower], since=dt.datetime(2026, 1, 1))  # raised TypeError
    with pytest.raises(ValueError, match=r"^since \(2026-12-08T08:00:00\+00:00\) is after until"):
        analytics.report([follower], since=T0 + dt.timedelta(days=1), until=T0)
    with pytest.raises(ValueError, match=r"^until must be timezone-aware"):
        analytics.platform_reports([follower], until=dt.datetime(2026, 1, 1))


@pytest.mark.parametrize("value", [True, "5", 2.0])
def test_a_count_that_is_not_a_whole_number_is_refused_naming_the_field(value: object) -> None:
    # likes=True was 1, "5" was 5 and 2.0 was 2: a broken adapter went unnoticed
    with pytest.raises(ValidationError, match=r"likes\n  Input should be a valid integer"):
        MetricSnapshot(platform="x", account_id="a", post_id="p", collected_at=T0, likes=value)  # type: ignore[arg-type]


def test_counts_survive_a_json_round_trip() -> None:
    snapshot = MetricSnapshot(
        platform="x", account_id="a", post_id="p", collected_at=T0, likes=5, impressions=0
    )
    assert MetricSnapshot.model_validate_json(snapshot.model_dump_json()) == snapshot
    assert MetricSnapshot.model_validate(json.loads(snapshot.model_dump_json())) == snapshot
