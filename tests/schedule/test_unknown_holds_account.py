"""An ``unknown`` outcome holds its account: the account's later posts wait until it is
settled (reconciled, or resolved by a person), so they never overtake a post that may
be live on the platform and may be sent again with its key. And a worker that finds an
account held by a dead worker's lease sleeps until that lease ends (``next_due``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.errors import UnknownOutcome
from socialkit.models.content import Post
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule.engine.clock import ManualClock
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

MINUTE = dt.timedelta(minutes=1)


class RecordingClock(ManualClock):
    """A manual clock that notes the moment of each wait, and when one is asked for."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__(start)
        self.waits: list[dt.datetime | None] = []
        self.asked: asyncio.Event | None = None

    async def wait(self, until: dt.datetime | None, wake: asyncio.Event) -> None:
        self.waits.append(until)
        if self.asked is not None:
            self.asked.set()
        await super().wait(until, wake)


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock(START)


async def three_posts(scheduler: Any) -> list[str]:
    """Three posts for ``acme``, a minute apart from START."""
    ids = []
    for n in range(3):
        (pub,) = await scheduler.schedule(
            Post(text=f"part {n + 1}"), account(), at=START + n * MINUTE
        )
        ids.append(pub.id)
    return ids


async def test_a_later_post_waits_for_an_unknown_outcome_reconciled_by_its_key(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.KEY)
    server.script("ok", ("after", UnknownOutcome("read timeout", status_code=None)))
    platform("elsewhere")
    scheduler = await make_scheduler()
    first, second, third = await three_posts(scheduler)
    elsewhere = account("other", platform="elsewhere")
    (other,) = await scheduler.schedule(Post(text="elsewhere"), elsewhere, at=START)
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    states = [(await scheduler.get(i)).state for i in (first, second, third, other.id)]
    # the second may be live: the third does not overtake it; another account goes on
    assert states == [S.PUBLISHED, S.UNKNOWN, S.SCHEDULED, S.PUBLISHED]
    # the worker sleeps until the reconciliation, not past it and not before
    assert await scheduler.next_due() == START + 2 * MINUTE + dt.timedelta(seconds=30)
    clock.advance(dt.timedelta(seconds=30))  # reconcile_delay
    await scheduler.run(until_idle=True)
    assert [(await scheduler.get(i)).state for i in (first, second, third)] == [S.PUBLISHED] * 3
    sent = [call["keys"][0] for call in server.calls]
    keys = [(await scheduler.get(i)).idempotency_key for i in (first, second, second, third)]
    assert sent == keys  # in order: the second again with its own key, then the third
    assert all(server.copies(k) == 1 for k in set(keys))


async def test_a_later_post_waits_while_a_person_decides(make_scheduler, platform, clock) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(("after", UnknownOutcome("502 after sending", status_code=502)))
    scheduler = await make_scheduler()
    first, second, third = await three_posts(scheduler)
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=5))
    await scheduler.run(until_idle=True)
    held = await scheduler.get(first)
    assert (held.state, held.attention) == (S.UNKNOWN, "reconcile")
    assert [(await scheduler.get(i)).state for i in (second, third)] == [S.SCHEDULED] * 2
    assert len(server.calls) == 1
    # nothing is due but the grace periods' ends (the misfire policy's), an hour on
    assert await scheduler.next_due() == START + MINUTE + dt.timedelta(hours=1)
    (post_id,) = server.posts
    receipt = Receipt(
        platform="fake", account_id="acme", parts=(PostRef(id=post_id),), published_at=START
    )
    await scheduler.resolve(first, published=receipt, actor="ann")
    await scheduler.run(until_idle=True)
    assert [(await scheduler.get(i)).state for i in (second, third)] == [S.PUBLISHED] * 2
    assert [call["publication"] for call in server.calls] == [first, second, third]


async def test_a_larger_in_flight_limit_lets_later_posts_pass(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(("after", UnknownOutcome("502 after sending", status_code=502)))
    scheduler = await make_scheduler(engine={"per_account": None})
    first, second, third = await three_posts(scheduler)
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    states = [(await scheduler.get(i)).state for i in (first, second, third)]
    assert states == [S.UNKNOWN, S.PUBLISHED, S.PUBLISHED]
    assert len(server.calls) == 3


async def test_a_worker_sleeps_until_a_dead_workers_lease_ends(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.KEY)
    scheduler = await make_scheduler()
    first, second, _ = await three_posts(scheduler)
    clock.set(START + MINUTE)
    # a worker claimed the first and was killed (SIGKILL): its lease runs for a minute
    (claim,) = await scheduler.store.claim(
        "killed", now=START + MINUTE / 2, limit=5, lease=scheduler.config.lease
    )
    assert claim.id == first
    assert (await scheduler.run(until_idle=True)).claimed == 0
    ends = claim.lease_expires_at
    assert await scheduler.next_due() == ends
    clock.asked = asyncio.Event()
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    ahead = ends - scheduler.config.claim_ahead

    async def slept_until_the_lease_ends() -> None:
        while ahead not in clock.waits:
            assert clock.asked is not None
            clock.asked.clear()
            await clock.asked.wait()

    try:
        await asyncio.wait_for(slept_until_the_lease_ends(), 30)  # a bound, not a measurement
        # no wake-up every idle_poll while the lease runs
        assert START + MINUTE + scheduler.config.idle_poll - scheduler.config.claim_ahead not in (
            clock.waits
        )
        assert server.calls == []
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
    # at its end the first is handed back (nothing was sent) and goes first
    clock.set(ends)
    await scheduler.run(until_idle=True)
    assert [call["publication"] for call in server.calls] == [first, second]
    assert (await scheduler.get(second)).state == S.PUBLISHED


async def test_a_post_found_absent_is_sent_again_before_the_posts_behind_it(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.LOOKUP)
    server.script(UnknownOutcome("connection reset"))  # nothing was made
    server.script_lookup("absent")
    scheduler = await make_scheduler()
    first, second, third = await three_posts(scheduler)
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(seconds=30))  # reconcile_delay
    await scheduler.run(until_idle=True)
    assert [(await scheduler.get(i)).state for i in (first, second, third)] == [S.PUBLISHED] * 3
    # certainly absent, so sent again: in its place, not after the posts due later
    assert [call["publication"] for call in server.calls] == [first, first, second, third]


async def test_a_post_a_person_sends_again_goes_before_the_posts_behind_it(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(UnknownOutcome("connection reset"))
    scheduler = await make_scheduler()
    first, second, third = await three_posts(scheduler)
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=5))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(first)).attention == "reconcile"
    await scheduler.resolve(first, retry=True, actor="ann")  # not on the platform
    await scheduler.run(until_idle=True)
    assert [(await scheduler.get(i)).state for i in (first, second, third)] == [S.PUBLISHED] * 3
    assert [call["publication"] for call in server.calls] == [first, first, second, third]


async def test_a_store_whose_next_due_takes_no_limit_still_runs(
    make_scheduler, platform, clock
) -> None:
    """A store written for an earlier socialkit (its ``next_due`` takes only ``now``)."""
    from socialkit.schedule.stores.memory import MemoryStore

    class EarlierStore(MemoryStore):
        async def next_due(self, *, now: dt.datetime) -> dt.datetime | None:  # type: ignore[override]
            return await super().next_due(now=now)

    platform(idempotency=Idempotency.KEY)
    scheduler = await make_scheduler(store=EarlierStore())
    *_, third = await three_posts(scheduler)
    assert await scheduler.next_due() == START
    clock.set(START + 2 * MINUTE)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(third)).state == S.PUBLISHED
    assert await scheduler.next_due() is not None  # its metric collections
