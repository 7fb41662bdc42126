"""Evergreen comebacks by slots and rules without a grace period, from a second review of
the rules: a comeback took the slot of a queued post that was rejected (``draft``) or
that came after the first thousand publications of the account, and a rule made with the
default start on an engine without a grace period skipped its first occurrence.

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt

import pytest

from socialkit.models.account import PostingSlot
from socialkit.models.content import Post
from socialkit.schedule.engine.grace import PastGracePeriod
from socialkit.schedule.scheduler import ScheduleRequest
from socialkit.schedule.states import ACTIVE_STATES
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

DAY = dt.timedelta(days=1)
DAILY_09 = tuple(
    PostingSlot(weekday=day, time="09:00")
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)
TUESDAY_09 = START + dt.timedelta(days=1, hours=1)  # START is Monday 2026-03-02 08:00 UTC


async def _active_dues(scheduler, account_id: str = "acme") -> list[dt.datetime]:
    dues: list[dt.datetime] = []
    cursor = None
    while True:
        page = await scheduler.list(account=account_id, limit=500, cursor=cursor)
        dues += [p.due_at for p in page.items if p.state in ACTIVE_STATES]
        if page.next_cursor is None:
            return dues
        cursor = page.next_cursor


# -- evergreen comebacks take the slots queue() takes ----------------------------------------


async def test_an_evergreen_comeback_leaves_a_rejected_queued_posts_slot_alone(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    rule = await scheduler.evergreen(
        Post(text="evergreen"), account(timezone="UTC", posting_slots=DAILY_09), every_slots=1
    )
    (queued,) = await scheduler.queue(Post(text="B"), "acme", needs_approval=True)
    assert queued.due_at == TUESDAY_09  # the evergreen post has Monday's slot
    rejected = await scheduler.reject(queued.id, actor="boss", comment="typo")
    assert (rejected.state, rejected.due_at) == (S.DRAFT, TUESDAY_09)  # it keeps its slot
    (after,) = await scheduler.queue(Post(text="C"), "acme")
    assert after.due_at == TUESDAY_09 + DAY  # queue() sees the draft's slot as taken
    await scheduler.run(until_idle=True)  # a worker pass materialises the comebacks
    comebacks = {p.due_at for p in (await scheduler.list(rule=rule.id, limit=50)).items}
    assert len(comebacks) >= 3
    assert TUESDAY_09 not in comebacks  # it was: the comeback took the draft's slot
    assert after.due_at not in comebacks
    # Fixed and approved, the post goes out in its slot, alone.
    edited = await scheduler.edit(queued.id, Post(text="B, fixed"), actor="writer")
    approved = await scheduler.approve(queued.id, actor="boss", revision=edited.revision)
    assert (approved.state, approved.due_at) == (S.SCHEDULED, TUESDAY_09)
    dues = await _active_dues(scheduler)
    assert len(dues) == len(set(dues))


async def test_an_evergreen_comeback_sees_queued_posts_after_the_first_thousand(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    rule = await scheduler.evergreen(
        Post(text="evergreen"), account(timezone="UTC", posting_slots=DAILY_09), every_slots=1
    )
    # 1,000 one-offs between the evergreen post (Monday 09:00) and Tuesday's slot: with
    # it, more active publications than one page of 1,000 before the queued post.
    fillers = [
        ScheduleRequest(
            post=Post(text=f"filler {i}"),
            accounts="acme",
            at=START + dt.timedelta(hours=2, minutes=i),
        )
        for i in range(1000)
    ]
    await scheduler.schedule_many(fillers)
    (queued,) = await scheduler.queue(Post(text="queued"), "acme")
    assert queued.due_at == TUESDAY_09
    await scheduler.run(until_idle=True)
    comebacks = sorted(p.due_at for p in (await scheduler.list(rule=rule.id, limit=50)).items)
    assert comebacks[:3] == [TUESDAY_09 - DAY, TUESDAY_09 + DAY, TUESDAY_09 + 2 * DAY]
    dues = await _active_dues(scheduler)
    assert len(dues) == 1002 + len(comebacks) - 1
    assert len(dues) == len(set(dues))


# -- a rule's default start without a grace period --------------------------------------------


async def test_a_rule_with_the_default_start_fires_its_first_occurrence_without_grace(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    clock.set(START + dt.timedelta(seconds=30))  # the default start is 08:00, 30 s ago
    scheduler = await make_scheduler(engine={"grace": None})
    (daily,) = await scheduler.recur(
        Post(text="daily"), account(timezone="UTC"), rrule="FREQ=DAILY", tz="UTC"
    )
    assert daily.spec["start"] == "2026-03-02T08:00:00"
    dues = sorted(p.due_at for p in (await scheduler.list(rule=daily.id, limit=50)).items)
    assert dues[0] == START  # it was the next day's: the first occurrence was dropped
    # A rule whose one occurrence is that one is not refused as all in the past.
    (once,) = await scheduler.recur(
        Post(text="once"), account(timezone="UTC"), rrule="FREQ=DAILY;COUNT=1", tz="UTC"
    )
    [only] = (await scheduler.list(rule=once.id, limit=50)).items
    assert only.due_at == START
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 2  # both go out, late by 30 s: no grace period
    published = await scheduler.list(state="published", limit=50)
    assert {p.rule_id for p in published.items} == {daily.id, once.id}


async def test_without_grace_a_new_rule_still_skips_an_occurrence_from_before_its_minute(
    make_scheduler, platform, clock
) -> None:
    platform()
    clock.set(START + dt.timedelta(seconds=30))
    scheduler = await make_scheduler(engine={"grace": None})
    (rule,) = await scheduler.recur(
        Post(text="daily"),
        account(timezone="UTC"),
        rrule="FREQ=DAILY",
        tz="UTC",
        start="2026-03-02 07:59",  # one minute before the rule was made
    )
    dues = sorted(p.due_at for p in (await scheduler.list(rule=rule.id, limit=50)).items)
    assert dues[0] == START - dt.timedelta(minutes=1) + DAY
    with pytest.raises(PastGracePeriod, match="every occurrence is in the past"):
        await scheduler.recur(
            Post(text="once"),
            account(timezone="UTC"),
            rrule="FREQ=DAILY;COUNT=1",
            tz="UTC",
            start="2026-03-02 07:59",
        )


async def test_with_a_zero_grace_the_default_starts_occurrence_is_not_made_to_be_missed(
    make_scheduler, platform, clock
) -> None:
    platform()
    clock.set(START + dt.timedelta(seconds=30))
    scheduler = await make_scheduler(engine={"grace": dt.timedelta(0)})
    (rule,) = await scheduler.recur(
        Post(text="daily"), account(timezone="UTC"), rrule="FREQ=DAILY", tz="UTC"
    )
    dues = sorted(p.due_at for p in (await scheduler.list(rule=rule.id, limit=50)).items)
    assert dues[0] == START + DAY  # 08:00 is past a zero grace period: it would be missed
    with pytest.raises(PastGracePeriod, match=r"past the grace period \(0 s\)"):
        await scheduler.recur(
            Post(text="once"), account(timezone="UTC"), rrule="FREQ=DAILY;COUNT=1", tz="UTC"
        )
