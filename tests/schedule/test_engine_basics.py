"""The engine end to end on an injected clock: due times, receipts, history, metrics."""

from __future__ import annotations

import datetime as dt

from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Spring is here #news")


async def test_publishes_when_due_and_not_before(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START + dt.timedelta(hours=1))
    assert pub.state == S.SCHEDULED
    stats = await scheduler.run(until_idle=True)
    assert stats.claimed == 0
    assert server.calls == []
    clock.advance(dt.timedelta(hours=1))
    stats = await scheduler.run(until_idle=True)
    assert stats.claimed == 1
    done = await scheduler.get(pub.id)
    assert done.state == S.PUBLISHED
    assert done.receipt is not None
    assert done.receipt.ref.id == "post-1"
    assert server.copies(pub.idempotency_key) == 1
    kinds = [(e.kind, e.to_state) for e in done.history]
    assert kinds == [
        ("created", S.SCHEDULED),
        ("claimed", S.CLAIMED),
        ("transition", S.PUBLISHING),
        ("checkpoint", None),
        ("receipt", S.PUBLISHED),
    ]
    assert done.draft is not None
    assert done.draft.text == POST.text


async def test_local_wall_time_in_a_zone(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at="2026-12-01 09:00", tz="Asia/Tehran")
    assert pub.local_time == dt.datetime(2026, 12, 1, 9, 0)
    assert pub.zone == "Asia/Tehran"
    assert pub.due_at == dt.datetime(2026, 12, 1, 5, 30, tzinfo=dt.UTC)  # +03:30, no DST


async def test_each_accounts_own_zone(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    pubs = await scheduler.schedule(
        POST,
        [account("berlin", timezone="Europe/Berlin"), account("ny", timezone="America/New_York")],
        at="2026-07-01 09:00",
    )
    assert {p.account_id: p.due_at.hour for p in pubs} == {"berlin": 7, "ny": 13}


async def test_one_run_until_idle_collects_what_is_due_once(
    make_scheduler, platform, clock
) -> None:
    # a worker that was down for a week: +1 h, +24 h and +7 d are all due; the platform
    # is asked once (the same figures three times under three labels, before), as +7 d
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(days=8))
    stats = await scheduler.run(until_idle=True)
    assert stats.metric_tasks == 1
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert (snapshot.after, snapshot.skipped) == (
        dt.timedelta(days=7),
        (dt.timedelta(hours=1), dt.timedelta(hours=24)),
    )
    assert (await scheduler.run(until_idle=True)).metric_tasks == 0


async def test_metrics_are_collected_on_schedule(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    assert await scheduler.metrics(publication=pub.id) == []
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    server.metrics_likes = 30
    clock.advance(dt.timedelta(hours=23))
    await scheduler.run(until_idle=True)
    series = await scheduler.metrics(publication=pub.id)
    assert [s.likes for s in series] == [7, 30]
    assert [s.publication_id for s in series] == [pub.id, pub.id]
    assert len(await scheduler.metrics(account="acme")) == 2
