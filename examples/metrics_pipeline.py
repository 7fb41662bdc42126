"""From scheduled posts to a campaign report and the best hours to post, end to end.

Four weeks of a campaign go out at three local times (Tuesday 08:00, Tuesday 19:00 and
Thursday 12:00, Europe/Berlin). After each publish the engine collects the post's
counts through the platform's ``fetch_metrics`` at +1 h, +24 h and +7 d
(``EngineConfig.metric_schedule``) and stores them as a series. The series then feed
``campaign_report`` (KPIs against the campaign's targets) and ``best_posting_times``
(hours of the week ranked by engagement at 24 h).

The platform is a stand-in whose counts grow with a post's age and whose audience is
most engaged in the evening; a ManualClock plays the five weeks in a moment, in memory:

    python examples/metrics_pipeline.py
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import socialkit
from socialkit import Campaign, KpiTarget, ManualClock, MetricSnapshot, Scheduler
from socialkit.analytics import best_posting_times, campaign_report
from socialkit.text.rules import Counting, TextRule

BERLIN = ZoneInfo("Europe/Berlin")
# How engaged the audience is, by local hour of publication.
ENGAGEMENT_BY_HOUR = {8: 0.030, 12: 0.042, 19: 0.061}


class Billboard(socialkit.Platform):
    """Publishes instantly and reports impressions, likes and shares."""

    name = "billboard"
    contract = socialkit.CONTRACT
    capabilities = socialkit.Capabilities(
        text=TextRule(name="billboard", counting=Counting.GRAPHEMES, limit=500),
        threads=False,
        idempotency=socialkit.Idempotency.KEY,
        delete=False,
    )

    async def publish(self, draft, ctx):
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=ctx.idempotency_key(0)),),
            published_at=ctx.now(),
        )

    async def fetch_metrics(self, receipts, ctx):
        snapshots = []
        for receipt in receipts:
            age_h = (ctx.now() - receipt.published_at).total_seconds() / 3600
            grown = min(age_h, 48) / 48  # most of a post's reach comes in two days
            post_id = receipt.parts[0].id
            hour = receipt.published_at.astimezone(BERLIN).hour
            week = receipt.published_at.isocalendar().week
            wobble = (week % 3 - 1) / 250  # week-to-week noise
            impressions = int(600 + 2400 * grown)
            likes = int(impressions * (ENGAGEMENT_BY_HOUR[hour] + wobble))
            snapshots.append(
                MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    post_id=post_id,
                    collected_at=ctx.now(),
                    impressions=impressions,
                    likes=likes,
                    shares=likes // 6,
                )
            )
        return snapshots


registry = socialkit.Registry(load_entry_points=False)
registry.register(Billboard)
board = socialkit.Account(
    id="board", platform="billboard", handle="board", timezone="Europe/Berlin"
)
start = dt.datetime(2026, 4, 6, 0, 0, tzinfo=BERLIN)  # a Monday
campaign = Campaign(
    id="spring",
    name="Spring menu",
    starts_at=start,
    ends_at=start + dt.timedelta(weeks=5),
    kpi_targets=(KpiTarget(kpi="engagement_rate_by_impressions", value="0.05"),),
)
clock = ManualClock(start)

with Scheduler(
    "memory://",
    registry=registry,
    credentials=socialkit.MemoryCredentialProvider({}),
    clock=clock,
) as scheduler:
    for week in range(4):
        for day, hour, minute in ((1, 8, 0), (1, 19, 0), (3, 12, 0)):
            local = start + dt.timedelta(weeks=week, days=day, hours=hour, minutes=minute)
            post = socialkit.Post(text=f"Week {week + 1}: today's special ({hour}:00).")
            scheduler.schedule(post, board, at=local, campaign=campaign.id)
    # The engine publishes each post when due and collects its metrics on schedule.
    while (due := scheduler.next_due()) is not None:
        clock.set(max(due, clock.now()))
        scheduler.run(until_idle=True)

    series = scheduler.metrics(campaign=campaign.id)
    publications = scheduler.list(campaign=campaign.id, limit=100).items

first = min(publications, key=lambda p: p.due_at)
print(f"{len(publications)} posts published, {len(series)} snapshots collected")
print(f"the series of the first post ({first.local_time:%a %d %b %H:%M}):")
for snap in sorted(series, key=lambda s: s.collected_at):
    if snap.publication_id == first.id:
        print(
            f"  +{snap.after.total_seconds() / 3600:>3.0f} h  impressions {snap.impressions:>5}  likes {snap.likes:>4}"
        )
assert len(series) == 3 * len(publications) == 36

report = campaign_report(campaign, series)
rate = report.kpis.engagement_rate_by_impressions
print(f"campaign engagement rate by impressions: {rate:.2%} (target 5.00%)")
for result in report.targets:
    print(f"  {result.target.kpi}: {'met' if result.met else 'missed'}")

receipts = [p.receipt for p in publications if p.receipt is not None]
ranked = best_posting_times(series, receipts, timezone="Europe/Berlin")
print("best hours to post, by engagement rate at 24 h (lower 90 % bound):")
for slot in ranked:
    day = slot.weekday.name.title()
    print(f"  {day} {slot.hour:02d}:00  {slot.posts} posts  mean {slot.average:.2%}")
assert (ranked[0].weekday, ranked[0].hour) == (socialkit.Weekday.TUE, 19)
best = ranked[0].as_slot()  # a PostingSlot, ready for Account.posting_slots
print(f"add a posting slot: {best.weekday.name.title()} {best.time:%H:%M}")
