"""Rules after downtime and under races, from a review of the rules (helper-63): a rule
fires once after downtime whatever its grace period, a stopped rule creates nothing
more, and recur() never raises once its rule is stored."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.errors import NeedsReauth, UnknownOutcome
from socialkit.models.account import PostingSlot
from socialkit.models.content import Post
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule.engine.materialise import materialise_all
from socialkit.schedule.engine.metrics import collect
from socialkit.schedule.recurring import Rule
from socialkit.schedule.rules import Recurrence
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.time.zones import resolve_zone
from tests.schedule.conftest import START, account

DAY = dt.timedelta(days=1)
POST = Post(text="Hello")
DAILY_09 = tuple(
    PostingSlot(weekday=day, time="09:00")
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


async def _published_after_downtime(scheduler, clock, server, rule_id: str, down: dt.timedelta):
    await scheduler.run(until_idle=True)
    before = len(server.calls)
    clock.set(START + down)
    for _ in range(4):  # a few passes of a worker back at work, within a minute
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(seconds=10))
    page = await scheduler.list(rule=rule_id, state="published", limit=500)
    return len(server.calls) - before, [p.due_at for p in page.items]


async def test_an_hourly_rule_without_grace_fires_once_after_downtime(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"grace": None})
    (rule,) = await scheduler.recur(
        Post(text="hourly"), account(timezone="UTC"), rrule="FREQ=HOURLY;BYMINUTE=0", tz="UTC"
    )
    sent, dues = await _published_after_downtime(
        scheduler, clock, server, rule.id, 60 * DAY + dt.timedelta(minutes=30)
    )
    assert sent == 1  # was 3: each pass of 500 occurrences fired its last one
    assert dues[-1] == START + 60 * DAY


async def test_a_frequent_rule_with_a_long_grace_fires_once_after_downtime(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        Post(text="tick"),
        account(timezone="UTC"),
        rrule="FREQ=MINUTELY;INTERVAL=2",
        tz="UTC",
        start="2026-03-02 08:00",
        grace=DAY,
    )
    sent, dues = await _published_after_downtime(scheduler, clock, server, rule.id, 9 * DAY)
    assert sent == 1  # was 2: a stale one from the grace window fired too
    assert dues[-1] == START + 9 * DAY


async def test_an_evergreen_rule_fires_once_after_downtime(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler = await make_scheduler()
    rule = await scheduler.evergreen(Post(text="evergreen"), account(timezone="UTC"), every_days=1)
    sent, dues = await _published_after_downtime(
        scheduler, clock, server, rule.id, 800 * DAY + dt.timedelta(minutes=30)
    )
    assert sent == 1  # was 2: a comeback ten months stale fired too
    assert dues[-1] == START + 800 * DAY


async def test_a_rule_stopped_during_a_pass_creates_nothing_more(
    make_scheduler, platform, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        Post(text="gm"), account(timezone="UTC"), rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    )
    store = scheduler.store
    real = store.advance_rule

    async def stopped_meanwhile(rule_id: str, **kwargs: Any) -> list[str]:
        # A person stops the rule after the worker read it, before its pass commits.
        await scheduler.stop_rule(rule_id, actor="ann")
        return await real(rule_id, **kwargs)

    before = {p.id for p in (await scheduler.list(rule=rule.id, limit=50)).items}
    store.advance_rule = stopped_meanwhile  # type: ignore[method-assign]
    clock.advance(DAY)
    await scheduler.run(until_idle=True)
    store.advance_rule = real  # type: ignore[method-assign]
    after = {p.id for p in (await scheduler.list(rule=rule.id, limit=50)).items}
    assert after == before
    [stored] = await scheduler.rules()
    assert not stored.active


async def test_recur_does_not_raise_when_a_worker_materialises_its_rule_first(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    s = await scheduler._s()
    real = s.store.add_rule

    async def then_a_worker_pass(rule: Rule, *, now: dt.datetime) -> None:
        await real(rule, now=now)
        await materialise_all(s, now)  # another worker's pass, at that moment

    s.store.add_rule = then_a_worker_pass  # type: ignore[method-assign]
    (rule,) = await scheduler.recur(
        Post(text="gm"), account(timezone="UTC"), rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
    )
    s.store.add_rule = real  # type: ignore[method-assign]
    assert [r.id for r in await scheduler.rules()] == [rule.id]
    assert rule.cursor is not None
    page = await scheduler.list(rule=rule.id, limit=50)
    assert len(page.items) == 7  # a week ahead, created once


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "Factory", "right/Europe/Berlin", "posix/Europe/Berlin"]
)
def test_zone_names_that_are_not_places_are_refused(name: str) -> None:
    """'localtime' is a different zone on each machine; 'right/' zones run 27 s off."""
    with pytest.raises(ValueError, match=f"{name!r} is not an IANA place name"):
        resolve_zone(name)
    with pytest.raises(ValueError, match="not an IANA place name"):
        account(timezone=name)


def test_bysecond_may_not_fire_more_than_once_a_minute() -> None:
    with pytest.raises(ValueError, match="BYSECOND=0,10: socialkit schedules at most once a"):
        Recurrence(rrule="FREQ=MINUTELY;BYSECOND=0,10", tz="UTC", start="2026-03-01T09:00")
    one = Recurrence(rrule="FREQ=DAILY;BYSECOND=30", tz="UTC", start="2026-03-01T09:00")
    assert [o.local.second for o in one.after(dt.datetime(2026, 3, 1, 9, 0), limit=2)] == [30, 30]


async def test_an_evergreen_first_at_in_a_repeated_hour_fires_at_the_instant_given(
    make_scheduler, platform, clock
) -> None:
    platform()
    clock.set(dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC))  # 00:00 EDT in New York
    scheduler = await make_scheduler()
    second_pass = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 EST, the second
    rule = await scheduler.evergreen(
        Post(text="evergreen"),
        account(timezone="America/New_York"),
        first_at=second_pass,
        every_days=7,
        limit=1,
    )
    [first] = (await scheduler.list(rule=rule.id, limit=5)).items
    assert first.due_at == second_pass  # was 05:30Z, the first 01:30, an hour early


async def test_evergreen_by_slots_follows_an_account_that_moves_zone(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    clock.set(dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.UTC))  # Tuesday 09:00 in Tokyo
    scheduler = await make_scheduler(engine={"window": dt.timedelta(hours=12)})
    rule = await scheduler.evergreen(
        Post(text="evergreen"),
        account(timezone="Asia/Tokyo", posting_slots=DAILY_09),
        every_slots=1,
        limit=10,
    )
    await scheduler.run(until_idle=True)
    await scheduler.add_account(account(timezone="America/New_York", posting_slots=DAILY_09))
    for _ in range(8):
        clock.advance(dt.timedelta(hours=12))
        await scheduler.run(until_idle=True)
    [stored] = await scheduler.rules()
    recycled = int(stored.cursor.split("|")[1])
    published = (await scheduler.list(rule=rule.id, state="published", limit=50)).items
    # Each comeback counted was published (before: 8 counted, 3 sent: a slot in the new
    # zone at the old zone's wall time was dropped as already created, and counted).
    assert len(server.calls) == len(published) == recycled + 1
    assert [p.zone for p in published][-3:] == ["America/New_York"] * 3


async def test_a_queued_post_and_an_evergreen_comeback_take_different_slots(
    make_scheduler, platform, clock
) -> None:
    platform()
    clock.set(dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.UTC))  # Tuesday
    scheduler = await make_scheduler(engine={"window": dt.timedelta(days=2)})
    await scheduler.evergreen(
        Post(text="evergreen"), account(timezone="UTC", posting_slots=DAILY_09), every_slots=1
    )
    clock.advance(dt.timedelta(hours=9, minutes=30))
    s = await scheduler._s()
    real = s.store.add_returning  # what queue() inserts its post with
    passes: list[asyncio.Future[int]] = []

    async def a_worker_pass_meanwhile(items: Any, *, now: dt.datetime) -> Any:
        # The worker's rule pass starts while queue() is about to insert its post.
        passes.append(asyncio.ensure_future(materialise_all(s, now)))
        for _ in range(50):  # let it run as far as it can get
            await asyncio.sleep(0)
        return await real(items, now=now)

    s.store.add_returning = a_worker_pass_meanwhile  # type: ignore[method-assign]
    await scheduler.queue(Post(text="queued"), "acme")
    s.store.add_returning = real  # type: ignore[method-assign]
    assert passes  # the race was made
    await asyncio.gather(*passes)
    dues = [p.due_at for p in (await scheduler.list(account="acme", limit=50)).items]
    assert len(dues) == len(set(dues)) >= 3  # the first, a comeback and the queued post


# -- from a review of retries, metrics and events (helper-64) ------------------------------


async def test_a_metric_collection_an_adapter_bug_breaks_is_not_asked_again_every_lease(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    server.script_metrics(*[ValueError("adapter bug: unexpected JSON")] * 100)
    clock.advance(dt.timedelta(hours=1))
    for _ in range(30):  # half an hour, a pass a minute (the task's lease is 60 s)
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(seconds=61))
    assert len(server.metric_tokens) == 1  # was one call a minute, for ever
    server.metric_steps.clear()  # the adapter works again
    clock.advance(dt.timedelta(days=8))
    await scheduler.run(until_idle=True)
    # +24 h and +7 d were both due: collected once, as the +7 d one naming the one it skipped.
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert (snapshot.after, snapshot.skipped) == (7 * DAY, (DAY,))


async def test_a_metric_collection_that_never_answers_is_given_up_in_time(
    make_scheduler, platform, registry, monkeypatch
) -> None:
    platform()
    scheduler = await make_scheduler(engine={"publish_timeout": dt.timedelta(milliseconds=50)})
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    asked: list[str] = []

    async def never_answers(self: Any, receipts: Any, ctx: Any) -> Any:
        asked.append(ctx.publication_id)
        await asyncio.Event().wait()

    monkeypatch.setattr(type(registry.platform("fake")), "fetch_metrics", never_answers)
    s = await scheduler._s()
    [task] = await s.store.claim_metric_tasks(
        "w1", now=START + 2 * dt.timedelta(hours=1), limit=1, lease=dt.timedelta(seconds=60)
    )
    assert task.label == "1h"
    await asyncio.wait_for(collect(s, task), 30)  # a bound, not a measurement
    assert asked == [pub.id]
    # Given up, recorded on the task: not claimed again; the next collection is due.
    later = await s.store.claim_metric_tasks(
        "w1", now=START + DAY + dt.timedelta(minutes=5), limit=5, lease=dt.timedelta(seconds=60)
    )
    assert [t.label for t in later] == ["24h"]


async def test_an_unknown_outcome_that_waited_for_credentials_is_looked_up_after_reconnect(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.LOOKUP)
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(("after", UnknownOutcome("the answer was lost")))
    await scheduler.run(until_idle=True)
    server.script_lookup(NeedsReauth("token revoked"))
    clock.advance(dt.timedelta(seconds=31))
    await scheduler.run(until_idle=True)
    waiting = await scheduler.get(pub.id)
    assert (waiting.state, waiting.attention) == (S.UNKNOWN, "reauth")
    await scheduler.reconnect("acme")
    await scheduler.run(until_idle=True)
    settled = await scheduler.get(pub.id)
    # Looked up again once the account works: the post was there (sent before the answer
    # was lost). Before, it waited for ever, due never again.
    assert (settled.state, settled.attention) == (S.PUBLISHED, None)
    assert len(server.posts) == 1
