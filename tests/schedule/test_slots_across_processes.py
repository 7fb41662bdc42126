"""Posting slots taken by two engine instances over one store: two processes sharing a
SQLite file or a PostgreSQL database (a web process queueing while a worker
materialises an evergreen rule, two web processes queueing), each with its own slot
lock, never put two publications of one account in one slot.

The races are made deterministic: the second instance queues a post between the first's
pick of a slot and its insert. Each runs on the memory store (two schedulers on one
store object), on SQLite (two connections to one file) and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set (two connection pools).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.errors import SlotTaken
from socialkit.models.content import Post
from socialkit.schedule.engine.materialise import materialise_all
from socialkit.schedule.engine.services import SLOT_ATTEMPTS, Services
from socialkit.schedule.records import NewPublication
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL
from tests.schedule.test_review_rule_slots import DAILY_09, TUESDAY_09, _active_dues

DAY = dt.timedelta(days=1)
MONDAY_09 = TUESDAY_09 - DAY
ACME = account(timezone="UTC", posting_slots=DAILY_09)


@pytest.fixture
async def pair(make_scheduler: Any, platform: Any, store_url: str) -> tuple[Any, Any]:  # noqa: F811
    """Two schedulers on the same data, each with its own services (and slot locks)."""
    platform()
    # Rules materialised two months ahead: a worker's pass has free slots to bring an
    # evergreen post back in, however many posts were queued first.
    ahead = {"window": dt.timedelta(days=60)}
    first = await make_scheduler(worker_id="w1", engine=ahead)
    # The memory store lives in its object: the second scheduler shares it.
    second = await make_scheduler(
        worker_id="w2", engine=ahead, store=first.store if store_url == "memory://" else store_url
    )
    return first, second


def _before_first(store: Any, method: str, meanwhile: Any) -> list[Any]:
    """Run ``meanwhile()`` once, before the first call of ``store.<method>``: another
    process's work landing between this one's pick of a slot and its insert."""
    real = getattr(store, method)
    landed: list[Any] = []

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not landed:
            landed.append(None)  # set first: a shared memory store comes back through here
            landed[0] = await meanwhile()
        return await real(*args, **kwargs)

    setattr(store, method, wrapped)
    return landed


async def test_queue_in_two_instances_never_puts_two_posts_in_one_slot(pair) -> None:
    first, second = pair
    landed = _before_first(
        first.store, "add_returning", lambda: second.queue(Post(text="from w2"), ACME)
    )
    (mine,) = await first.queue(Post(text="from w1"), ACME)
    [(theirs,)] = landed
    # Both picked Monday's slot; the second stored first, so the first picked again.
    assert theirs.due_at == MONDAY_09
    assert mine.due_at == TUESDAY_09  # was MONDAY_09: two posts at once on one account
    assert sorted(await _active_dues(first)) == [MONDAY_09, TUESDAY_09]


async def test_queue_never_shares_a_slot_with_an_evergreen_comeback_of_another_instance(
    pair, clock
) -> None:
    worker, web = pair
    rule = await worker.evergreen(Post(text="evergreen"), ACME, every_slots=1)
    landed = _before_first(
        worker.store, "advance_rule", lambda: web.queue(Post(text="queued on the web"), ACME)
    )
    # The worker's pass picks the comebacks (Tuesday's slot first), then the web
    # process queues into Tuesday's slot before the pass stores them.
    assert await materialise_all(await worker._s(), clock.now()) > 0
    [(queued,)] = landed
    assert queued.due_at == TUESDAY_09
    comebacks = {p.due_at for p in (await worker.list(rule=rule.id, limit=50)).items}
    assert MONDAY_09 in comebacks
    assert TUESDAY_09 not in comebacks  # it was: the comeback and the queued post
    assert TUESDAY_09 + DAY in comebacks
    dues = await _active_dues(worker)
    assert len(dues) == len(set(dues))


async def test_an_evergreen_first_slot_taken_by_another_instance_moves_to_the_next(
    pair, clock
) -> None:
    first, second = pair
    landed = _before_first(
        first.store, "advance_rule", lambda: second.queue(Post(text="from w2"), ACME)
    )
    rule = await first.evergreen(Post(text="evergreen"), ACME, every_slots=1)
    [(queued,)] = landed
    assert queued.due_at == MONDAY_09  # both picked Monday; the queued post stored first
    [evergreen] = (await first.list(rule=rule.id, limit=50)).items
    assert evergreen.due_at == TUESDAY_09
    dues = await _active_dues(first)
    assert sorted(dues) == [MONDAY_09, TUESDAY_09]


async def test_a_comeback_caught_up_after_downtime_skips_a_past_slot_still_held(
    pair, clock
) -> None:
    worker, _ = pair
    rule = await worker.evergreen(Post(text="evergreen"), ACME, every_slots=1)  # Monday's
    await worker.schedule(Post(text="on Tuesday"), "acme", at=TUESDAY_09)
    clock.set(TUESDAY_09 + dt.timedelta(hours=3))  # no worker ran since: it is still held
    # The comeback caught up is due before now: the slots read reach back to Monday, so
    # it is not put in Tuesday's (which the store would refuse on every attempt).
    assert await materialise_all(await worker._s(), clock.now()) > 0
    comebacks = sorted(p.due_at for p in (await worker.list(rule=rule.id, limit=100)).items)
    assert comebacks[:2] == [MONDAY_09, TUESDAY_09 + DAY]
    dues = await _active_dues(worker)
    assert len(dues) == len(set(dues))


async def test_queue_calls_and_a_pass_raced_across_two_instances_take_one_slot_each(
    pair, clock
) -> None:
    first, second = pair
    await first.evergreen(Post(text="evergreen"), ACME, every_slots=1)  # Monday's slot
    # Each call or pass is refused at most once per insert of the other instance (its
    # own instance's wait for its slot lock), so with fewer than SLOT_ATTEMPTS of those
    # every one settles, however they interleave.
    calls = [(first if i % 2 else second).queue(Post(text=f"post {i}"), "acme") for i in range(16)]
    results = await asyncio.gather(*calls, materialise_all(await second._s(), clock.now()))
    *queued, comebacks = results
    assert sum(len(result) for result in queued) == 16
    assert comebacks > 0  # the worker's pass brought the evergreen post back meanwhile
    dues = await _active_dues(first)
    assert len(dues) == 17 + comebacks
    assert len(set(dues)) == len(dues)


async def test_queue_gives_up_with_slot_taken_when_every_pick_is_taken_first(pair) -> None:
    first, second = pair
    await first.queue(Post(text="stores the account"), ACME)
    real = first.store.add_returning
    inside: list[bool] = []

    async def add_returning(items: list[NewPublication], *, now: dt.datetime) -> Any:
        if not inside and items[0].free_slot:
            inside.append(True)  # a shared memory store comes back through here
            try:
                # Another process takes the slot just picked, every time.
                await second.schedule(Post(text="elsewhere"), "acme", at=items[0].due_at)
            finally:
                inside.clear()
        return await real(items, now=now)

    first.store.add_returning = add_returning
    with pytest.raises(SlotTaken, match=f"queue\\(\\) to 'acme'.*{SLOT_ATTEMPTS} times") as err:
        await first.queue(Post(text="never placed"), "acme")
    last = START + dt.timedelta(days=SLOT_ATTEMPTS, hours=1)  # Monday's, then one a day
    assert err.value.slots == (("default", "acme", last),)
    # The first post and the other process's; the refused one left nothing behind.
    assert sorted(await _active_dues(first)) == [
        MONDAY_09 + i * DAY for i in range(SLOT_ATTEMPTS + 1)
    ]


async def test_a_slot_taken_meanwhile_is_picked_again_without_checking_or_reading_it_all_again(
    pair, monkeypatch
) -> None:
    """The retry after a slot taken by another process moves past it: the post is
    checked and stored once, and the slots taken are read again only from the refused
    one forward (a week), not the ten years ahead the first read covers."""
    first, second = pair
    await first.queue(Post(text="stores the account"), ACME)  # Monday's slot
    mine = await first._s()
    reads: list[tuple[dt.datetime, dt.datetime]] = []
    checks: list[str] = []
    taken_slots, store_checked = Services.taken_slots, Services.store_checked

    async def reading(self: Services, account: Any, start: dt.datetime, end: dt.datetime) -> Any:
        if self is mine:
            reads.append((start, end))
        return await taken_slots(self, account, start, end)

    async def checking(self: Services, post: Post, *args: Any) -> str:
        if self is mine:
            checks.append(post.text)
        return await store_checked(self, post, *args)

    monkeypatch.setattr(Services, "taken_slots", reading)
    monkeypatch.setattr(Services, "store_checked", checking)
    landed = _before_first(
        first.store, "add_returning", lambda: second.queue(Post(text="from w2"), ACME)
    )
    (placed,) = await first.queue(Post(text="from w1"), ACME)
    [(theirs,)] = landed
    assert theirs.due_at == TUESDAY_09  # both picked Tuesday's; the second stored first
    assert placed.due_at == TUESDAY_09 + DAY  # the next free slot
    assert checks == ["from w1"]  # was twice: once per attempt
    assert reads == [(START, START + dt.timedelta(days=3660)), (TUESDAY_09, TUESDAY_09 + 7 * DAY)]
    assert sorted(await _active_dues(first)) == [MONDAY_09, TUESDAY_09, TUESDAY_09 + DAY]


async def test_a_retry_reads_on_past_a_week_of_slots_taken_meanwhile(pair) -> None:
    """Another process filled more than the refused slot (a pass of evergreen
    comebacks, say): the retry reads on from it until a free slot, and picks that."""
    first, second = pair
    await first.queue(Post(text="stores the account"), ACME)  # Monday's slot

    async def fill_ten_days() -> None:
        for i in range(10):
            await second.schedule(Post(text=f"w2 {i}"), "acme", at=TUESDAY_09 + i * DAY)

    _before_first(first.store, "add_returning", fill_ten_days)
    (placed,) = await first.queue(Post(text="from w1"), ACME)
    assert placed.due_at == TUESDAY_09 + 10 * DAY  # one refusal, then past all ten
    dues = await _active_dues(first)
    assert len(dues) == len(set(dues)) == 12
