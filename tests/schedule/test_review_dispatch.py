"""Misfires, pauses and rules under conditions a review found mishandled: a rule that
cannot be materialised, a recurring rule whose grace outlasts its period, a pause that
lands while a publication is claimed, and an account waiting to be reconnected."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from socialkit.errors import NeedsReauth, Rejected, StaleTransition, Transient
from socialkit.models.account import PostingSlot
from socialkit.models.content import Post
from socialkit.platforms.credentials import CallableCredentialProvider
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account, half_sent_thread

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SLOTS = (PostingSlot(weekday="mon", time=dt.time(9)), PostingSlot(weekday="thu", time=dt.time(9)))


async def test_a_rule_that_cannot_be_materialised_stops_neither_the_worker_nor_other_posts(
    make_scheduler, platform, clock, caplog
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    rule = await scheduler.evergreen(
        Post(text="ever"), account("slots", posting_slots=SLOTS), every_slots=2
    )
    await scheduler.add_account(account("slots"))  # its posting slots are gone
    (other,) = await scheduler.schedule(Post(text="other"), account("other"), at=START + HOUR)
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        for _ in range(3):
            clock.advance(HOUR)
            await scheduler.run(until_idle=True)
    assert (await scheduler.get(other.id)).state == S.PUBLISHED
    assert other.id in [c["publication"] for c in server.calls]
    assert f"rule {rule.id} could not be materialised" in caplog.text
    assert [r.id for r in await scheduler.rules(active=True)] == [rule.id]  # still there
    # Logged with its traceback once, not on every pass while the error lasts.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and rule.id in r.message]
    assert len(errors) == 1, [r.message for r in errors]
    assert errors[0].exc_info is not None
    # Its slots back: it comes back, and says so.
    caplog.clear()
    await scheduler.add_account(account("slots", posting_slots=SLOTS))
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        clock.advance(HOUR)
        await scheduler.run(until_idle=True)
    assert f"rule {rule.id} is materialised again" in caplog.text


@pytest.mark.parametrize("grace", [dt.timedelta(days=2), None], ids=["grace-2d", "no-grace"])
async def test_after_downtime_a_rule_fires_once_however_long_its_grace(
    make_scheduler, platform, clock, grace
) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"grace": None} if grace is None else {})
    (rule,) = await scheduler.recur(
        Post(text="daily"),
        account(),
        rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        tz="UTC",
        start=START,
        grace=grace,
    )
    await scheduler.run(until_idle=True)  # materialises the window ahead
    clock.advance(5 * DAY)  # the worker was down
    await scheduler.run(until_idle=True)
    page = await scheduler.list(rule=rule.id, limit=50)
    sent = [p for p in page.items if p.state == S.PUBLISHED]
    assert len(server.calls) == 1
    assert len(sent) == 1
    missed = [p for p in page.items if p.state == S.MISSED]
    assert missed
    assert all(p.due_at < sent[0].due_at for p in missed)
    within_grace = [p for p in missed if grace is None or clock.now() - p.due_at < grace]
    assert within_grace  # the ones a grace period alone would have sent late
    for p in within_grace:
        reason = (await scheduler.get(p.id)).history[-1].reason
        assert reason == "a later occurrence of its rule is already due"


async def test_an_account_waiting_to_be_reconnected_keeps_its_posts_until_it_is(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (first,) = await scheduler.schedule(Post(text="a"), account(), at=START)
    (second,) = await scheduler.schedule(Post(text="b"), account(), at=START + HOUR / 2)
    server.script(NeedsReauth("reconnect the account"))
    await scheduler.run(until_idle=True)
    clock.advance(3 * HOUR)  # far past the default grace period
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(second.id)).state == S.SCHEDULED  # waits, not missed
    await scheduler.reconnect("acme")
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(first.id)).state == S.PUBLISHED
    assert (await scheduler.get(second.id)).state == S.PUBLISHED
    # and after the wait, the grace period counts again
    (third,) = await scheduler.schedule(Post(text="c"), account(), at=clock.now() + HOUR)
    clock.advance(5 * HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(third.id)).state == S.MISSED


async def test_a_pause_that_lands_while_a_post_is_claimed_stops_it_before_sending(
    make_scheduler, platform
) -> None:
    server = platform(requires_credentials=True)
    box: dict[str, Any] = {}

    async def load(acct: Any) -> dict[str, str]:
        # runs after the claim, before the publishing mark: the crisis switch is hit now
        if "moved" not in box:
            publication = await box["scheduler"].get(box["pub"].id)
            box["state_at_load"] = publication.state
            box["moved"] = await box["scheduler"].pause(campaign="launch")
        return {"token": "t"}

    scheduler = await make_scheduler(credentials=CallableCredentialProvider(load))
    box["scheduler"] = scheduler
    (box["pub"],) = await scheduler.schedule(
        Post(text="launch"), account(), at=START, campaign="launch"
    )
    await scheduler.run(until_idle=True)
    assert box["state_at_load"] == S.CLAIMED
    assert box["moved"] == 1  # how many it paused
    assert server.calls == []
    paused = await scheduler.get(box["pub"].id)
    assert paused.state == S.PAUSED
    await scheduler.resume(campaign="launch")
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(box["pub"].id)).state == S.PUBLISHED
    assert len(server.calls) == 1


@pytest.mark.parametrize("stop", ["pause", "fail"])
async def test_a_thread_half_sent_can_be_taken_down_once_nothing_sends_the_rest(
    make_scheduler, platform, clock, stop
) -> None:
    """The crisis case: part one is live, part two failed. Pausing it (or its failing for
    good) leaves it half sent; delete takes the live part down."""
    server = platform()
    scheduler = await make_scheduler()
    error = Transient("connection refused") if stop == "pause" else Rejected("too long")
    pub_id = await half_sent_thread(scheduler, server, error, campaign="launch")
    if stop == "pause":
        await scheduler.pause(campaign="launch")
    half = await scheduler.get(pub_id)
    assert half.state == (S.PAUSED if stop == "pause" else S.FAILED)
    live = [ref.id for ref in half.checkpoints]
    assert len(live) == 1
    assert live[0] in server.posts
    gone = await scheduler.delete(pub_id, reason="crisis")
    assert gone.state == S.DELETED
    assert server.deleted == live
    assert live[0] not in server.posts
    await scheduler.resume(campaign="launch")
    clock.advance(DAY)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub_id)).state == S.DELETED  # the rest is never sent


async def test_a_thread_still_to_be_sent_is_not_deleted_while_a_worker_may_send_it(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent_thread(scheduler, server, Transient("connection refused"))
    assert (await scheduler.get(pub_id)).state == S.RETRY_WAIT
    with pytest.raises(StaleTransition, match=r"a thread half sent: paused or failed"):
        await scheduler.delete(pub_id)
    with pytest.raises(StaleTransition, match="pause it and delete it"):
        await scheduler.cancel(pub_id)
    assert server.deleted == []
