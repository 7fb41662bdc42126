"""Approvals, pause, misfires, rules, per-account concurrency, leases and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from socialkit.errors import ConfigError, StaleTransition
from socialkit.models.account import PostingSlot
from socialkit.models.content import Post
from socialkit.schedule.approval import RequireApproval
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


# -- approvals ------------------------------------------------------------------------------


async def test_pending_approval_is_never_claimed_until_approved(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START, needs_approval=True)
    assert (pub.state, pub.approvals_required) == (S.PENDING_APPROVAL, 1)
    await scheduler.run(until_idle=True)
    assert server.calls == []
    approved = await scheduler.approve(pub.id, actor="ann", revision=pub.revision, comment="ok")
    assert approved.state == S.SCHEDULED
    assert approved.approved_by() == ("ann",)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_an_edit_needs_approval_again_and_old_approvals_do_not_count(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    assert pub.approvals_required == 2
    once = await scheduler.approve(pub.id, actor="ann")
    assert once.state == S.PENDING_APPROVAL  # one of two
    with pytest.raises(StaleTransition, match="ann already approved revision"):
        await scheduler.approve(pub.id, actor="ann")  # the same person twice is still one
    edited = await scheduler.edit(pub.id, Post(text="Hello, edited"), actor="cat")
    assert edited.state == S.PENDING_APPROVAL
    assert edited.revision != pub.revision
    assert edited.approved_by() == ()
    with pytest.raises(StaleTransition, match="was edited"):
        await scheduler.approve(pub.id, actor="bob", revision=pub.revision)
    await scheduler.approve(pub.id, actor="ann", revision=edited.revision)
    done = await scheduler.approve(pub.id, actor="bob", revision=edited.revision)
    assert done.state == S.SCHEDULED
    assert [e.kind for e in done.history if e.kind in ("approved", "edited")] == [
        "approved",
        "edited",
        "approved",
        "approved",
    ]


async def test_reject_returns_to_draft(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START, needs_approval=True)
    rejected = await scheduler.reject(pub.id, actor="ann", comment="off-brand")
    assert rejected.state == S.DRAFT
    assert rejected.history[-1].reason == "off-brand"
    resubmitted = await scheduler.edit(pub.id, Post(text="On brand"), actor="cat")
    assert resubmitted.state == S.PENDING_APPROVAL


# -- pause ----------------------------------------------------------------------------------


async def test_pause_everything_then_resume(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler()
    await scheduler.schedule(POST, [account("a"), account("b")], at=START)
    assert await scheduler.pause(actor="ann", reason="crisis") == 2
    await scheduler.run(until_idle=True)
    assert server.calls == []
    (scope,) = await scheduler.pauses()
    assert (scope.kind, scope.actor, scope.reason) == ("all", "ann", "crisis")
    assert await scheduler.resume(actor="ann") == 2
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 2


async def test_pause_one_campaign_or_account(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (launch,) = await scheduler.schedule(POST, account("a"), at=START, campaign="launch")
    (other,) = await scheduler.schedule(POST, account("b"), at=START)
    (mine,) = await scheduler.schedule(Post(text="Mine"), account("c"), at=START)
    await scheduler.pause(campaign="launch")
    await scheduler.pause(account="c")
    with pytest.raises(ConfigError, match="one scope"):
        await scheduler.pause(account="a", campaign="launch")
    await scheduler.run(until_idle=True)
    assert [c["publication"] for c in server.calls] == [other.id]
    assert (await scheduler.get(launch.id)).state == S.PAUSED
    assert (await scheduler.get(mine.id)).state == S.PAUSED


# -- misfires -------------------------------------------------------------------------------


async def test_a_one_off_past_its_grace_is_missed_not_dropped(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START, grace=HOUR)
    (late,) = await scheduler.schedule(POST, account("b"), at=START, grace=HOUR, publish_late=True)
    clock.advance(2 * HOUR)  # the worker was down
    await scheduler.run(until_idle=True)
    missed = await scheduler.get(pub.id, history=True)
    assert missed.state == S.MISSED
    assert "grace period" in (missed.history[-1].reason or "")
    assert (await scheduler.get(late.id)).state == S.PUBLISHED
    assert [c["publication"] for c in server.calls] == [late.id]
    brought_back = await scheduler.reschedule(pub.id, at=clock.now())
    assert brought_back.state == S.SCHEDULED
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_a_post_whose_grace_ends_while_its_account_is_busy_is_missed_not_sent(
    make_scheduler, platform, clock
) -> None:
    """The account's first publish takes longer than the second post's grace period:
    when the account is free again the second post is missed, not sent late (the
    misfire policy runs before each claim, not only on the worker's once-a-second
    chores)."""
    server = platform()
    scheduler = await make_scheduler()
    (slow,) = await scheduler.schedule(Post(text="slow"), account(), at=START)
    (brief,) = await scheduler.schedule(
        Post(text="brief"), account(), at=START, grace=dt.timedelta(minutes=1)
    )

    async def take_two_minutes(call: dict) -> None:
        clock.advance(dt.timedelta(minutes=2))

    server.on_publish = take_two_minutes
    await scheduler.run(until_idle=True)
    assert [c["publication"] for c in server.calls] == [slow.id]
    missed = await scheduler.get(brief.id, history=True)
    assert missed.state == S.MISSED
    assert "grace period" in (missed.history[-1].reason or "")


async def test_a_rule_fires_once_for_its_latest_missed_occurrence(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        POST, account(), rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0", tz="UTC", start="2026-03-02 09:00"
    )
    clock.set(START + dt.timedelta(hours=1))  # 09:00 on day one
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1
    clock.set(START + 5 * DAY + 3 * HOUR)  # down for days; it is 11:00 on day six
    await scheduler.run(until_idle=True)
    page = await scheduler.list(rule=rule.id, limit=50)
    states = [(p.local_time.day, p.state) for p in page.items if p.local_time.day <= 7]
    # 09:00 on day six is also past the one-hour grace: it is the latest missed, so it fires
    assert states == [
        (2, S.PUBLISHED),
        (3, S.MISSED),
        (4, S.MISSED),
        (5, S.MISSED),
        (6, S.MISSED),
        (7, S.PUBLISHED),
    ]
    published = [p for p in page.items if p.state == S.PUBLISHED]
    assert [p.local_time.day for p in published] == [2, 7]
    assert len(server.calls) == 2


async def test_recurrence_materialises_a_window_ahead(make_scheduler, platform, clock) -> None:
    platform()
    scheduler = await make_scheduler(engine={"window": dt.timedelta(days=3)})
    (rule,) = await scheduler.recur(
        POST,
        account(timezone="Europe/Berlin"),
        rrule="FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0",
        start="2026-03-02 00:00",
    )
    page = await scheduler.list(rule=rule.id, limit=50)
    # START is Monday 09:00 in Berlin; the window ends Thursday 09:00 (inclusive)
    assert [p.local_time.hour for p in page.items] == [9, 17] * 3 + [9]
    assert {p.zone for p in page.items} == {"Europe/Berlin"}
    assert len({p.idempotency_key for p in page.items}) == 7
    clock.advance(DAY)
    await scheduler.run(until_idle=True)
    page = await scheduler.list(rule=rule.id, limit=50)
    assert len(page.items) == 9  # one more day materialised, nothing twice
    assert len({p.idempotency_key for p in page.items}) == 9


async def test_a_rule_started_now_without_byminute_warns_of_the_minute_it_takes(
    make_scheduler, platform, clock, caplog
) -> None:
    """``FREQ=DAILY;BYHOUR=9`` started now (14:37) fires at 09:37, as RFC 5545 says: a
    warning names the minute. Naming the minute, or the start, says nothing."""
    import logging

    platform()
    scheduler = await make_scheduler()
    clock.advance(dt.timedelta(minutes=37))
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        (rule,) = await scheduler.recur(
            POST, account(timezone="Europe/Berlin"), rrule="FREQ=DAILY;BYHOUR=9"
        )
        await scheduler.recur(
            POST, account(timezone="Europe/Berlin"), rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0"
        )
        await scheduler.recur(
            POST,
            account(timezone="Europe/Berlin"),
            rrule="FREQ=DAILY;BYHOUR=9",
            start="2026-03-03 00:05",
        )
    (warning,) = [r.getMessage() for r in caplog.records if "BYMINUTE" in r.getMessage()]
    assert "FREQ=DAILY;BYHOUR=9 in Europe/Berlin" in warning
    assert "minute 37" in warning
    page = await scheduler.list(rule=rule.id, limit=5)
    assert {(p.local_time.hour, p.local_time.minute) for p in page.items} == {(9, 37)}


async def test_queue_fills_the_next_free_slots(make_scheduler, platform, clock) -> None:
    platform()
    scheduler = await make_scheduler()
    slotted = account(
        timezone="Asia/Tehran",
        posting_slots=(
            PostingSlot(weekday="mon", time=dt.time(9)),
            PostingSlot(weekday="wed", time=dt.time(18)),
        ),
    )
    first = (await scheduler.queue(POST, slotted))[0]
    second = (await scheduler.queue(Post(text="Second"), slotted))[0]
    third = (await scheduler.queue(Post(text="Third"), slotted))[0]
    # START is Monday 08:00 UTC = 11:30 in Tehran: Monday's 09:00 slot has passed
    assert [p.local_time for p in (first, second, third)] == [
        dt.datetime(2026, 3, 4, 18, 0),
        dt.datetime(2026, 3, 9, 9, 0),
        dt.datetime(2026, 3, 11, 18, 0),
    ]
    with pytest.raises(ConfigError, match="no posting slots"):
        await scheduler.queue(POST, account("noslots"))


async def test_evergreen_comes_back_until_its_limit(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"window": dt.timedelta(days=2)})
    rule = await scheduler.evergreen(POST, account(), every_days=3, limit=2)
    for _ in range(12):
        await scheduler.run(until_idle=True)
        clock.advance(DAY)
    page = await scheduler.list(rule=rule.id, limit=50)
    assert [p.state for p in page.items] == [S.PUBLISHED] * 3  # first + 2 comebacks
    assert [(p.due_at - START).days for p in page.items] == [0, 3, 6]
    assert len(server.calls) == 3
    assert (await scheduler.rules(active=True)) == []


async def test_evergreen_posts_wait_for_approval_as_the_policy_says(
    make_scheduler, platform, clock
) -> None:
    """evergreen() consults the approval policy as recur() does: under RequireApproval its
    posts wait in pending_approval (before, they were scheduled and published unapproved);
    needs_approval=True asks for it under the default policy."""
    server = platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=1))
    rule = await scheduler.evergreen(POST, account(), every_days=7, limit=1)
    assert rule.approvals_required == 1
    (pub,) = (await scheduler.list(rule=rule.id)).items
    assert pub.state == S.PENDING_APPROVAL
    await scheduler.run(until_idle=True)
    assert server.calls == []
    assert (await scheduler.approve(pub.id, actor="ann")).state == S.SCHEDULED
    await scheduler.run(until_idle=True)
    assert [c["publication"] for c in server.calls] == [pub.id]

    asked = await make_scheduler()
    rule = await asked.evergreen(
        Post(text="asked"), account("b"), every_days=7, needs_approval=True
    )
    assert rule.approvals_required == 1
    assert [p.state for p in (await asked.list(rule=rule.id)).items] == [S.PENDING_APPROVAL]
    unasked = await asked.evergreen(Post(text="unasked"), account("c"), every_days=7)
    assert unasked.approvals_required == 0


# -- concurrency, leases, shutdown ----------------------------------------------------------


async def test_a_serving_worker_claims_again_once_outcomes_are_committed(
    make_scheduler, platform, monkeypatch
) -> None:
    """With one publish in flight per account, an account's next post is claimed as soon
    as its first one's outcome is committed, even while another account's publish is
    still in flight (when the claim gap would hold claims back; it is made endless here,
    so only the early claim can reach the second post)."""
    import socialkit.schedule.engine.worker as worker_module

    monkeypatch.setattr(worker_module, "_CLAIM_GAP", 1e9)
    server = platform()
    scheduler = await make_scheduler()
    first, second = [
        (await scheduler.schedule(Post(text=text), account(), at=START))[0]
        for text in ("one", "two")
    ]
    (slow,) = await scheduler.schedule(Post(text="slow"), account("slow"), at=START)
    second_sent = asyncio.Event()

    async def hold_slow_until_second(call: dict) -> None:
        if call["publication"] == second.id:
            second_sent.set()
        if call["publication"] == slow.id:
            await second_sent.wait()

    server.on_publish = hold_slow_until_second
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    try:
        await asyncio.wait_for(second_sent.wait(), 60)  # a bound, not a measurement
    finally:
        stop.set()
        await worker
    acme = [c["publication"] for c in server.calls if c["account"] == "acme"]
    assert acme == [first.id, second.id]
    assert (await scheduler.get(slow.id)).state == S.PUBLISHED


async def test_one_publish_in_flight_per_account(make_scheduler, platform) -> None:
    server = platform()
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    overall: list[int] = []

    both = asyncio.Event()

    async def track(call: dict) -> None:
        acct = call["publication_account"]
        running[acct] = running.get(acct, 0) + 1
        peak[acct] = max(peak.get(acct, 0), running[acct])
        overall.append(sum(running.values()))
        if sum(running.values()) == 2:
            both.set()
        # The first publishes wait (bounded) for the other account's to start: they
        # overlap when the engine runs two accounts at once, however slow its commits.
        # (A fixed number of loop turns was too few on a busy machine.)
        if not both.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both.wait(), 5)
        running[acct] -= 1

    scheduler = await make_scheduler()
    owners = {}
    for name in ("a", "b"):
        for i in range(3):
            (p,) = await scheduler.schedule(Post(text=f"{name}{i}"), account(name), at=START)
            owners[p.id] = name

    def with_account(call: dict) -> object:
        call["publication_account"] = owners[call["publication"]]
        return track(call)

    server.on_publish = with_account
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 6
    assert peak == {"a": 1, "b": 1}
    assert max(overall) == 2  # the two accounts did overlap


async def test_receipt_from_a_worker_that_lost_its_lease_is_kept(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    other = await make_scheduler(worker_id="w2", store=scheduler.store)
    (pub,) = await scheduler.schedule(POST, account(), at=START)

    async def stall(call: dict) -> None:
        # The publish hangs past the lease; meanwhile another worker sweeps the lease.
        clock.advance(dt.timedelta(minutes=5))
        await other.run(until_idle=True)

    server.on_publish = stall
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.PUBLISHED
    assert p.receipts[0].attempt == 1
    kinds = [e.kind for e in p.history]
    assert "lease_expired" in kinds
    assert kinds[-1] == "receipt"
    assert server.copies(pub.idempotency_key) == 1


async def test_cancel_a_claim_before_it_is_sent(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    claims = await scheduler.store.claim("w9", now=START, limit=1, lease=HOUR)
    assert [c.id for c in claims] == [pub.id]
    cancelled = await scheduler.cancel(pub.id, actor="ann", reason="typo")
    assert cancelled.state == S.CANCELLED
    await scheduler.run(until_idle=True)
    assert server.calls == []
    with pytest.raises(StaleTransition, match="cancelled"):
        await scheduler.cancel(pub.id)


async def test_cancel_refused_says_why_without_claiming_nothing_was_sent(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    (sent,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    # It said "it is published (nothing was sent)", as if the post had never gone out.
    with pytest.raises(StaleTransition) as refused:
        await scheduler.cancel(sent.id)
    assert str(refused.value) == (
        f"cannot cancel publication {sent.id}: it is published "
        "(it is on the platform; delete it to take it down)"
    )
    (pub,) = await scheduler.schedule(POST, account(), at=START + DAY)
    await scheduler.cancel(pub.id)
    with pytest.raises(StaleTransition) as again:
        await scheduler.cancel(pub.id)
    assert str(again.value) == (
        f"cannot cancel publication {pub.id}: it is cancelled (allowed when draft, "
        "pending_approval, scheduled, claimed, retry_wait, paused)"
    )


async def test_graceful_stop_hands_back_unsent_claims(make_scheduler, platform, clock) -> None:
    server = platform(requires_credentials=True)
    gate = asyncio.Event()
    entered = asyncio.Event()

    class SlowCredentials:
        async def load(self, acct):
            from socialkit.models.credentials import Credentials

            if acct.id == "slow":
                entered.set()
                await gate.wait()
            return Credentials()

        async def save(self, acct, creds):
            return None

        def lock(self, acct):
            return asyncio.Lock()

    publishing = asyncio.Event()
    release = asyncio.Event()

    async def hold(call: dict) -> None:
        publishing.set()
        await release.wait()

    server.on_publish = hold
    scheduler = await make_scheduler(credentials=SlowCredentials())
    (sent,) = await scheduler.schedule(POST, account("fast"), at=START)
    (held,) = await scheduler.schedule(POST, account("slow"), at=START)
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    await asyncio.wait_for(publishing.wait(), 5)
    await asyncio.wait_for(entered.wait(), 5)
    changed = asyncio.Event()
    loop = asyncio.get_running_loop()
    scheduler.store.subscribe(lambda: loop.call_soon_threadsafe(changed.set))
    stop.set()
    # the unsent claim is handed back while the other publish is still in flight
    for _ in range(50):
        if (await scheduler.get(held.id)).state == S.SCHEDULED:
            break
        changed.clear()
        await asyncio.wait_for(changed.wait(), 5)
    release.set()
    gate.set()
    stats = await asyncio.wait_for(worker, 5)
    assert stats.handed_back == 1
    assert (await scheduler.get(sent.id)).state == S.PUBLISHED
    back = await scheduler.get(held.id, history=True)
    assert back.state == S.SCHEDULED
    assert back.history[-1].kind == "released"
    assert [c["publication"] for c in server.calls] == [sent.id]


async def test_downtime_longer_than_the_window_fires_once(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"window": dt.timedelta(days=2)})
    (rule,) = await scheduler.recur(
        POST, account(), rrule="FREQ=HOURLY;BYMINUTE=30", tz="UTC", start="2026-03-02 08:30"
    )
    clock.set(START + dt.timedelta(minutes=30))
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1
    clock.set(START + 10 * DAY + dt.timedelta(minutes=45))  # ten days of hourly posts missed
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 2  # once, for the latest: not 240 times
    published = await scheduler.list(rule=rule.id, state="published", limit=50)
    assert [p.local_time for p in published.items] == [
        dt.datetime(2026, 3, 2, 8, 30),
        dt.datetime(2026, 3, 12, 8, 30),
    ]
    events = [e for e in await scheduler.events(limit=10_000) if e.kind == "rule"]
    assert events[-1].data["rule_id"] == rule.id


async def test_a_rule_without_start_fires_on_the_minute_not_at_nows_seconds(
    make_scheduler, platform, clock
) -> None:
    platform()
    clock.set(START + dt.timedelta(seconds=37, microseconds=5))  # 08:00:37 UTC
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        POST, account(), rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0", tz="UTC"
    )
    page = await scheduler.list(rule=rule.id, limit=3)
    # RFC 5545 takes the seconds a rule does not name from DTSTART: it must be :00.
    assert [p.local_time.time() for p in page.items] == [dt.time(9, 0)] * len(page.items)
    assert page.items


async def test_a_store_failure_does_not_end_a_serving_worker(
    make_scheduler, platform, caplog
) -> None:
    """One failed store call (a connection lost at a commit) is one warning line and a
    retry after a pause, not the end of `socialkit run`; run(until_idle=True) raises it."""
    from socialkit.errors import StoreError

    server = platform()
    scheduler = await make_scheduler(engine={"idle_poll": dt.timedelta(milliseconds=20)})
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    real_claim = scheduler.store.claim
    failures = ["connection lost\nwhile committing"]

    async def flaky_claim(*args, **kwargs):
        if failures:
            raise StoreError(failures.pop())
        return await real_claim(*args, **kwargs)

    scheduler.store.claim = flaky_claim  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        await scheduler.run(until_idle=True)
    failures.append("connection lost")
    stop = asyncio.Event()
    server.on_publish = lambda call: stop.set()
    await asyncio.wait_for(scheduler.run(stop=stop), 30)  # a bound, not a measurement
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    [line] = [r.getMessage() for r in caplog.records if "the store failed" in r.getMessage()]
    assert line == "the store failed (StoreError: connection lost); trying again in 0.02 s"


async def test_the_pause_between_tries_doubles_while_the_store_keeps_failing(
    make_scheduler, platform, caplog
) -> None:
    from socialkit.errors import StoreError

    platform()
    scheduler = await make_scheduler(engine={"idle_poll": dt.timedelta(milliseconds=10)})
    calls: list[int] = []
    stop = asyncio.Event()

    async def always_failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            stop.set()
        raise StoreError("server down")

    scheduler.store.next_due = always_failing  # type: ignore[method-assign]
    await asyncio.wait_for(scheduler.run(stop=stop), 30)  # a bound, not a measurement
    pauses = [
        r.getMessage().rsplit(" ", 2)[-2]
        for r in caplog.records
        if "store failed" in r.getMessage()
    ]
    assert pauses == ["0.01", "0.02", "0.04", "0.08"]
