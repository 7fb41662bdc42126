"""Fault tests with a scripted fake adapter: every error class does what DESIGN.md says.

Each test runs the real engine on an injected clock against both stores; the fake
platform counts posts per idempotency key, so "nothing published twice" is checked at
the platform, not in the engine's own bookkeeping.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialkit.errors import (
    AuthExpired,
    Forbidden,
    InvalidPost,
    NeedsReauth,
    RateLimited,
    Rejected,
    StaleTransition,
    Transient,
    UnknownOutcome,
)
from socialkit.models.content import Post, ThreadPart
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.capabilities import Idempotency
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.scheduler import ScheduleRequest
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Launch day")
SEC = dt.timedelta(seconds=1)


async def one(make_scheduler, at=START, **kw):
    scheduler = await make_scheduler(**kw)
    (pub,) = await scheduler.schedule(POST, account(), at=at)
    return scheduler, pub


# -- retryable errors -----------------------------------------------------------------------


async def test_transient_retries_with_backoff(make_scheduler, platform, clock) -> None:
    server = platform()
    server.script(Transient("connection refused"))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert (p.state, p.failures, p.sends) == (S.RETRY_WAIT, 1, 1)
    assert p.run_at == START + 10 * SEC  # multiplier 10 s, no jitter in the test policy
    assert p.last_error is not None
    assert p.last_error["error"] == "Transient"
    clock.advance(9 * SEC)
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1
    clock.advance(SEC)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [c["attempt"] for c in server.calls] == [1, 2]
    assert server.copies(pub.idempotency_key) == 1


async def test_transient_until_attempts_run_out_fails(make_scheduler, platform, clock) -> None:
    server = platform()
    server.script(*(Transient(f"refused {i}") for i in range(3)))
    scheduler, pub = await one(make_scheduler)
    for _ in range(3):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(minutes=10))
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.FAILED
    assert "attempts exhausted: 3 of 3" in (p.history[-1].reason or "")
    assert len(server.calls) == 3
    assert server.posts == {}


async def test_rate_limited_waits_for_retry_after_without_using_an_attempt(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    server.script(RateLimited("slow down", retry_after=120, status_code=429))
    scheduler = await make_scheduler()
    first, second = (
        (await scheduler.schedule(POST, account(), at=START))[0],
        (await scheduler.schedule(Post(text="Second"), account(), at=START + SEC))[0],
    )
    await scheduler.run(until_idle=True)
    p = await scheduler.get(first.id)
    assert (p.state, p.failures, p.run_at) == (S.RETRY_WAIT, 0, START + 120 * SEC)
    clock.advance(60 * SEC)
    await scheduler.run(until_idle=True)
    # the account is held until the platform's time: the second post waits too
    assert len(server.calls) == 1
    assert (await scheduler.get(second.id)).state == S.SCHEDULED
    clock.advance(60 * SEC)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(first.id)).state == S.PUBLISHED
    assert (await scheduler.get(second.id)).state == S.PUBLISHED


async def test_a_scoped_rate_limit_holds_only_the_publication_that_met_it(
    make_scheduler, platform, clock
) -> None:
    """An upload budget that ran out (scope "media") does not hold the account's other
    posts, as the default budget does: only the publication that met it waits."""
    server = platform()
    server.script(RateLimited("uploads: slow down", retry_after=1800, scope="media"))
    scheduler = await make_scheduler()
    first, second = (
        (await scheduler.schedule(POST, account(), at=START))[0],
        (await scheduler.schedule(Post(text="Text only"), account(), at=START + SEC))[0],
    )
    await scheduler.run(until_idle=True)
    clock.advance(60 * SEC)
    await scheduler.run(until_idle=True)
    held = await scheduler.get(first.id, history=True)
    assert (held.state, held.run_at) == (S.RETRY_WAIT, START + 1800 * SEC)
    assert held.last_error is not None
    assert held.last_error["scope"] == "media"
    assert (await scheduler.get(second.id)).state == S.PUBLISHED  # not held behind it
    clock.advance(30 * 60 * SEC)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(first.id)).state == S.PUBLISHED
    assert len(server.calls) == 3


async def test_reported_budget_holds_the_account_until_reset(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    reset = START + dt.timedelta(minutes=5)
    server.script(("report", 0, reset))
    scheduler = await make_scheduler()
    a = (await scheduler.schedule(POST, account(), at=START))[0]
    b = (await scheduler.schedule(Post(text="Next"), account(), at=START + SEC))[0]
    clock.advance(SEC)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(a.id)).state == S.PUBLISHED
    assert (await scheduler.get(b.id)).state == S.SCHEDULED  # no budget left
    assert len(server.calls) == 1
    clock.set(reset)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(b.id)).state == S.PUBLISHED


@pytest.mark.parametrize("receipt_failures", [0, 2])
async def test_a_stale_budget_does_not_lift_a_newer_rate_limit_hold(
    make_scheduler, platform, clock, receipt_failures
) -> None:
    """Two posts of one account at once: A's publish reports 5 requests left, B's meets
    RateLimited (1 h). A's budget, captured when it was sent, is written after B's hold
    (its receipt's commit failed and was tried again, or only the group commit's order):
    the hold stays, and the account's next post waits for the platform's Retry-After."""
    from socialkit.errors import StoreError

    server = platform(idempotency=Idempotency.NONE)
    server.script(("report", 5, START + 15 * 60 * SEC), RateLimited(retry_after=3600))
    scheduler = await make_scheduler(
        engine={"idle_poll": dt.timedelta(milliseconds=10), "per_account": 2}
    )
    (a,) = await scheduler.schedule(Post(text="A"), account(), at=START)
    (b,) = await scheduler.schedule(Post(text="B"), account(), at=START)
    store = scheduler.store
    real = store.record_receipts
    failures = [receipt_failures]

    async def record_receipts(*args: Any, **kwargs: Any) -> Any:
        if failures[0] > 0:
            failures[0] -= 1
            raise StoreError("database is locked")
        return await real(*args, **kwargs)

    store.record_receipts = record_receipts
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(a.id)).state == S.PUBLISHED
    held = await scheduler.get(b.id)
    assert held.state == S.RETRY_WAIT
    hold = held.run_at
    assert hold is not None
    assert hold >= START + 3600 * SEC
    (budget,) = await store.budgets()
    assert budget.blocked_until == hold
    assert len(server.calls) == 2
    (c,) = await scheduler.schedule(Post(text="C"), account(), at=START + 60 * SEC)
    clock.set(START + 60 * SEC)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(c.id)).state == S.SCHEDULED  # not sent during the hold
    assert len(server.calls) == 2
    clock.set(hold)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(b.id)).state == S.PUBLISHED
    assert (await scheduler.get(c.id)).state == S.PUBLISHED


# -- unknown outcomes -----------------------------------------------------------------------


async def test_unknown_outcome_on_an_idempotent_platform_is_settled_by_the_same_key(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.KEY)
    server.script(("after", UnknownOutcome("read timeout", status_code=None)))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.UNKNOWN
    assert server.copies(pub.idempotency_key) == 1  # the platform did act
    clock.advance(dt.timedelta(seconds=30))  # reconcile_delay
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert len(server.calls) == 2
    assert server.calls[0]["keys"] == server.calls[1]["keys"]  # the same key both times
    assert server.copies(pub.idempotency_key) == 1  # exactly once


async def test_unknown_outcome_without_keys_or_lookup_waits_for_a_person(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(("after", UnknownOutcome("502 after sending", status_code=502)))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=5))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.attention) == (S.UNKNOWN, "reconcile")
    assert "a person must resolve it" in (p.history[-1].reason or "")
    clock.advance(dt.timedelta(days=1))
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1  # never a blind re-post
    assert server.copies(pub.idempotency_key) == 1
    waiting = await scheduler.list(attention="reconcile")
    assert [x.id for x in waiting.items] == [pub.id]
    (post_id,) = server.posts
    fixed = await scheduler.resolve(
        pub.id,
        published=Receipt(
            platform="fake",
            account_id="acme",
            parts=(PostRef(id=post_id),),
            published_at=START,
        ),
        actor="ann",
    )
    assert fixed.state == S.PUBLISHED
    assert fixed.receipts[-1].source == "person"
    assert fixed.history[-1].actor == "ann"
    # Published is published, whoever found out: its metrics are collected as usual.
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    series = await scheduler.metrics(publication=pub.id)
    assert series, "a publication a person resolved as published gets no metrics"
    assert {s.publication_id for s in series} == {pub.id}


async def test_a_person_can_retry_or_abandon_an_unknown(make_scheduler, platform, clock) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(UnknownOutcome("timeout"), UnknownOutcome("timeout"))
    scheduler = await make_scheduler()
    a = (await scheduler.schedule(POST, account("a"), at=START))[0]
    b = (await scheduler.schedule(POST, account("b"), at=START))[0]
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    assert {(await scheduler.get(x.id)).attention for x in (a, b)} == {"reconcile"}
    with pytest.raises(ValueError, match="exactly one"):
        await scheduler.resolve(a.id, retry=True, abandon=True)
    await scheduler.resolve(a.id, retry=True, actor="ann")
    await scheduler.resolve(b.id, abandon=True, actor="bob")
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(a.id)).state == S.PUBLISHED
    gone = await scheduler.get(b.id, history=True)
    assert gone.state == S.FAILED
    assert gone.history[-1].reason == "abandoned by bob"
    with pytest.raises(StaleTransition, match="unknown"):
        await scheduler.resolve(b.id, retry=True)


async def test_lookup_platform_reconciles_by_finding_the_post(
    make_scheduler, platform, clock
) -> None:
    acted = platform("acted", idempotency=Idempotency.LOOKUP)
    acted.script(("after", UnknownOutcome("read timeout")))
    never = platform("never", idempotency=Idempotency.LOOKUP)
    never.script(UnknownOutcome("connection reset"))
    scheduler = await make_scheduler()
    made = (await scheduler.schedule(POST, account("a", platform="acted"), at=START))[0]
    lost = (await scheduler.schedule(POST, account("b", platform="never"), at=START))[0]
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    found = await scheduler.get(made.id)
    assert found.state == S.PUBLISHED
    assert found.receipts[0].source == "reconcile"
    assert acted.copies(made.idempotency_key) == 1
    assert len(acted.calls) == 1  # found by looking, not sent again
    # the other one was certainly not made: it was sent again, once
    resent = await scheduler.get(lost.id)
    assert resent.state == S.PUBLISHED
    assert resent.receipts[0].source == "platform"
    assert never.copies(lost.idempotency_key) == 1
    assert len(never.calls) == 2


@pytest.mark.parametrize(
    ("step", "checkpointed"),
    [(("fail_part", 1, UnknownOutcome("read timeout")), 1), (("unanswered", 1), 1)],
    ids=["first-part-checkpointed", "second-part-answer-lost"],
)
async def test_reconciling_a_thread_keeps_the_parts_found_and_sends_the_rest(
    make_scheduler, platform, clock, step, checkpointed
) -> None:
    """A thread whose outcome became unknown after some parts were made: the lookup finds
    those parts, and the rest goes out after them; no part is made twice."""
    server = platform("look", idempotency=Idempotency.LOOKUP, threads=True)
    server.script(step)
    thread = Post(text="One", thread=(ThreadPart(text="Two"), ThreadPart(text="Three")))
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(thread, account(platform="look"), at=START)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.UNKNOWN
    assert len(p.checkpoints) == checkpointed
    made = len(server.posts)
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert len(p.receipt.parts) == 3
    assert [server.posts[r.id]["text"] for r in p.receipt.parts] == ["One", "Two", "Three"]
    assert [c["resume_after"] for c in server.calls] == [0, made]
    assert all(server.copies(f"{pub.idempotency_key}.{i}") == 1 for i in (1, 2))
    assert server.copies(pub.idempotency_key) == 1


async def test_an_expired_token_while_reconciling_is_refreshed_once(
    make_scheduler, platform, clock
) -> None:
    server = platform("look", idempotency=Idempotency.LOOKUP, requires_credentials=True)
    server.script(("after", UnknownOutcome("read timeout")))
    server.script_lookup(AuthExpired("token expired", status_code=401))
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    scheduler = await make_scheduler(credentials=provider)
    (pub,) = await scheduler.schedule(POST, account(platform="look"), at=START)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.PUBLISHED, None)
    assert p.receipts[-1].source == "reconcile"
    assert server.refreshes == 1
    assert (await provider.load(account(platform="look"))).get("token") == "fresh-1"
    assert len(server.calls) == 1  # found, not sent again


async def test_send_failures_do_not_use_up_the_reconciliation_budget(
    make_scheduler, platform, clock
) -> None:
    """Two sends refused (of the three the retry policy allows), then one whose outcome
    is unknown: reconciliation still gets its own ``reconcile_attempts`` look-ups. (With
    one counter for both, the first failed look-up asked a person at once.)"""
    server = platform("look", idempotency=Idempotency.LOOKUP)
    server.script(Transient("refused 1"), Transient("refused 2"), ("after", UnknownOutcome("lost")))
    server.script_lookup(Transient("search down 1"), Transient("search down 2"))
    scheduler = await make_scheduler(engine={"reconcile_attempts": 3})
    (pub,) = await scheduler.schedule(POST, account(platform="look"), at=START)
    for _ in range(8):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(minutes=10))
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.attention) == (S.PUBLISHED, None)
    assert p.receipts[-1].source == "reconcile"
    assert p.failures == 2  # the two refused sends; failed look-ups are not send failures
    assert [e.data["reconcile_failure"] for e in p.history if "reconcile_failure" in e.data] == [
        1,
        2,
    ]
    assert len(server.calls) == 3
    assert server.copies(pub.idempotency_key) == 1


async def test_reconciliation_failures_do_not_use_up_the_send_budget(
    make_scheduler, platform, clock
) -> None:
    """Two failed look-ups, then "not there": the post is sent again with the whole send
    budget (three sends), not with what the look-ups left of it."""
    server = platform("look", idempotency=Idempotency.LOOKUP)
    server.script(UnknownOutcome("lost"), Transient("refused 1"), Transient("refused 2"))
    server.script_lookup(Transient("search down 1"), Transient("search down 2"), "absent")
    scheduler = await make_scheduler(engine={"reconcile_attempts": 3})
    (pub,) = await scheduler.schedule(POST, account(platform="look"), at=START)
    for _ in range(10):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(minutes=10))
    p = await scheduler.get(pub.id)
    assert (p.state, p.failures) == (S.PUBLISHED, 2)
    assert len(server.calls) == 4  # lost, refused twice, then published
    assert server.copies(pub.idempotency_key) == 1


async def test_an_expired_token_at_metric_collection_is_refreshed_once(
    make_scheduler, platform, clock
) -> None:
    server = platform(requires_credentials=True)
    server.script_metrics(AuthExpired("token expired", status_code=401))
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    scheduler, pub = await one(make_scheduler, credentials=provider)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    assert [s.likes for s in await scheduler.metrics(publication=pub.id)] == [7]
    assert server.metric_tokens == ["old", "fresh-1"]
    assert server.refreshes == 1


async def test_a_rate_limited_metric_collection_is_collected_when_the_platform_says(
    make_scheduler, platform, clock
) -> None:
    """A rate limit at the +1 h collection puts it back until the platform's
    ``Retry-After`` (not a failure): the snapshot is collected then, and the +24 h and
    +7 d collections still come. (It was recorded as failed: no +1 h snapshot.)"""
    server = platform()
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    hour = START + dt.timedelta(hours=1)
    server.script_metrics(RateLimited("slow down", retry_after=120, status_code=429))
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    assert await scheduler.metrics(publication=pub.id) == []
    assert await scheduler.next_due() == hour + 120 * SEC
    clock.advance(119 * SEC)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1  # not asked again before its time
    clock.advance(SEC)
    await scheduler.run(until_idle=True)
    clock.set(START + dt.timedelta(hours=24))
    await scheduler.run(until_idle=True)
    clock.set(START + dt.timedelta(days=7))
    await scheduler.run(until_idle=True)
    series = await scheduler.metrics(publication=pub.id)
    assert [snap.collected_at for snap in series] == [
        hour + 120 * SEC,
        START + dt.timedelta(hours=24),
        START + dt.timedelta(days=7),
    ]
    assert len(server.metric_tokens) == 4


async def test_a_cleared_rate_limit_lets_the_metric_collection_waiting_for_it_run_now(
    make_scheduler, platform, clock
) -> None:
    """A rate limit of a day at the +1 h collection holds it; a person clears the limit
    (the platform lifted it) and the collection is made at once, not a day later. (It
    kept its time: clear_rate_limit released only publications.)"""
    server = platform()
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    hour = START + dt.timedelta(hours=1)
    server.script_metrics(RateLimited("slow down", retry_after=86400, status_code=429))
    clock.set(hour)
    await scheduler.run(until_idle=True)
    assert await scheduler.metrics(publication=pub.id) == []
    assert await scheduler.next_due() == hour + dt.timedelta(days=1)
    clock.advance(dt.timedelta(minutes=5))
    lifted = await scheduler.clear_rate_limit(pub.account_id, actor="ann", reason="unblocked")
    assert (lifted.lifted, lifted.metrics_released, lifted.released) == (True, 1, ())
    assert await scheduler.next_due() == clock.now()
    await scheduler.run(until_idle=True)
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert (snapshot.after, snapshot.collected_at) == (dt.timedelta(hours=1), clock.now())
    assert len(server.metric_tokens) == 2


async def test_each_snapshot_says_which_scheduled_collection_it_answers(
    make_scheduler, platform, clock
) -> None:
    """Snapshots carry the offset of their collection (+1 h, +24 h, +7 d) and the post's
    real age when taken, also when one was collected late (rate-limited, then after a
    worker was down): analytics compares posts at the same age by the real one. After a
    week down the last collection due is made once, naming the ones it was made instead
    of (it was three copies of the same figures under three labels)."""
    server = platform()
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    server.script_metrics(RateLimited("slow down", retry_after=600))
    clock.set(START + dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    clock.set(START + dt.timedelta(days=8))  # the worker was down for a week
    await scheduler.run(until_idle=True)
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == dt.timedelta(days=7)
    assert snapshot.skipped == (dt.timedelta(hours=1), dt.timedelta(hours=24))
    assert snapshot.collected_at == START + dt.timedelta(days=8)
    assert snapshot.age == dt.timedelta(days=8)


async def test_a_transient_error_at_metric_collection_backs_off_a_bounded_number_of_times(
    make_scheduler, platform, clock
) -> None:
    """Transient errors are tried again after the backoff delay (10 s, then 20 s in the
    test policy), up to ``max_attempts`` (3) tries; then the collection is given up and
    the next one still comes."""
    server = platform()
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    hour = START + dt.timedelta(hours=1)
    server.script_metrics(Transient("refused"), Transient("refused"))
    clock.set(hour)
    await scheduler.run(until_idle=True)
    assert await scheduler.next_due() == hour + 10 * SEC
    clock.set(hour + 10 * SEC)
    await scheduler.run(until_idle=True)
    assert await scheduler.next_due() == hour + 30 * SEC
    clock.set(hour + 30 * SEC)
    await scheduler.run(until_idle=True)
    assert [snap.collected_at for snap in await scheduler.metrics(publication=pub.id)] == [
        hour + 30 * SEC
    ]

    # the next collection meets only transient errors: given up after three tries
    server.script_metrics(*(Transient(f"refused {i}") for i in range(3)))
    day = START + dt.timedelta(hours=24)
    for at in (day, day + 10 * SEC, day + 30 * SEC):
        clock.set(at)
        await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 6
    assert await scheduler.next_due() == START + dt.timedelta(days=7)
    clock.set(START + dt.timedelta(days=7))
    await scheduler.run(until_idle=True)
    series = await scheduler.metrics(publication=pub.id)
    assert [snap.collected_at for snap in series] == [hour + 30 * SEC, START + dt.timedelta(days=7)]


async def test_a_crashing_adapter_is_an_unknown_outcome_not_a_retry(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(("after", KeyError("adapter bug")))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.UNKNOWN
    assert p.last_error == {"error": "KeyError", "message": "'adapter bug'"}
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1


# -- credentials ----------------------------------------------------------------------------


async def test_expired_auth_is_refreshed_once_then_sent(make_scheduler, platform) -> None:
    server = platform(requires_credentials=True)
    server.script(AuthExpired("token expired", status_code=401))
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    scheduler, pub = await one(make_scheduler, credentials=provider)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    assert server.refreshes == 1
    assert [c["credentials"] for c in server.calls] == ["old", "fresh-1"]
    saved = await provider.load(account())
    assert saved.get("token") == "fresh-1"


@pytest.mark.parametrize(
    "refusal",
    [
        NeedsReauth("token revoked", status_code=401),
        # a publish refused for a missing scope waits for a person as well
        Forbidden("This action is outside the authorized scopes", status_code=403),
    ],
    ids=["needs_reauth", "forbidden"],
)
async def test_reauth_needed_holds_the_account_without_failing(
    make_scheduler, platform, clock, refusal
) -> None:
    server = platform()
    server.script(refusal)
    scheduler = await make_scheduler()
    a = (await scheduler.schedule(POST, account(), at=START))[0]
    b = (await scheduler.schedule(Post(text="Two"), account(), at=START + SEC))[0]
    other = (await scheduler.schedule(POST, account("other"), at=START))[0]
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(days=1))
    await scheduler.run(until_idle=True)
    pa = await scheduler.get(a.id)
    assert (pa.state, pa.attention, pa.failures) == (S.RETRY_WAIT, "reauth", 0)
    assert (await scheduler.get(b.id)).state in (S.SCHEDULED, S.MISSED)
    assert (await scheduler.get(other.id)).state == S.PUBLISHED
    (record,) = [r for r in await scheduler.accounts() if r.account.id == "acme"]
    assert record.status == "needs_reauth"
    assert len([c for c in server.calls if c["publication"] in (a.id, b.id)]) == 1
    await scheduler.reconnect("acme", actor="ann")
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(a.id)).state == S.PUBLISHED


async def test_failed_refresh_means_reauth(make_scheduler, platform) -> None:
    server = platform(requires_credentials=True)
    server.script(AuthExpired("expired"))
    server.refresh_result = NeedsReauth("refresh token revoked")
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.RETRY_WAIT, "reauth")
    assert server.refreshes == 1


# -- permanent errors -----------------------------------------------------------------------


async def test_rejected_fails_with_the_platforms_reason(make_scheduler, platform) -> None:
    server = platform()
    server.script(Rejected("duplicate status", status_code=422, platform_code="Validation"))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.FAILED
    assert p.last_error is not None
    assert p.last_error["message"] == "duplicate status"
    assert p.history[-1].error is not None
    assert p.history[-1].error["platform_code"] == "Validation"
    assert len(server.calls) == 1


async def test_an_invalid_post_is_refused_when_scheduled(make_scheduler, platform) -> None:
    platform(threads=False, limit=10)
    scheduler = await make_scheduler()
    with pytest.raises(InvalidPost, match=r"post for acme is invalid: .*10") as refused:
        await scheduler.schedule(Post(text="x" * 40), account(), at=START)
    assert [(x.code, x.limit, x.value) for x in refused.value.problems] == [
        ("text.too_long", 10, 40)
    ]
    with pytest.raises(InvalidPost, match=r"requests\[1\]: post for acme"):
        await scheduler.schedule_many(
            [
                ScheduleRequest(post=POST, accounts="acme", at=START),
                ScheduleRequest(post=Post(text="y" * 40), accounts="acme", at=START),
            ]
        )
    with pytest.raises(InvalidPost):
        await scheduler.recur(Post(text="z" * 40), account(), rrule="FREQ=DAILY", tz="UTC")
    assert await scheduler.rules() == []
    assert [p.revision for p in (await scheduler.list()).items] == []


async def test_a_post_invalid_for_the_account_s_resolved_limits_fails_before_sending(
    make_scheduler, registry
) -> None:
    """An adapter that resolves limits per account (a Mastodon server's own): the post is
    checked when it is sent, against what the server says, and nothing is sent."""
    from tests.schedule.fakes import make_platform

    base = make_platform("narrow", threads=False, limit=500)
    narrow = base.capabilities.model_copy(
        update={"text": base.capabilities.text.with_limit(10, name="narrow")}
    )

    class Narrow(base):  # type: ignore[misc, valid-type]
        async def resolve_capabilities(self, ctx: Any) -> Any:
            return narrow

    registry.register(Narrow)
    scheduler = await make_scheduler()
    (fits,) = await scheduler.schedule(POST, account(platform="narrow"), at=START)
    (long,) = await scheduler.schedule(Post(text="x" * 40), account(platform="narrow"), at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(fits.id)).state == S.PUBLISHED  # "Launch day" fits in 10
    p = await scheduler.get(long.id)
    assert p.state == S.FAILED
    assert [(x.code, x.limit, x.value) for x in p.problems] == [("text.too_long", 10, 40)]
    assert [c["publication"] for c in base.server.calls] == [fits.id]
    # Once the worker resolved them, this process checks new posts against them too.
    with pytest.raises(InvalidPost):
        await scheduler.schedule(Post(text="w" * 40), account(platform="narrow"), at=START)


# -- threads --------------------------------------------------------------------------------


async def test_a_thread_resumes_after_its_last_published_part(
    make_scheduler, platform, clock
) -> None:
    server = platform(threads=True)
    server.script(("fail_part", 2, Transient("connection reset before part 3")))
    thread = Post(text="One", thread=(ThreadPart(text="Two"), ThreadPart(text="Three")))
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(thread, account(), at=START)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.RETRY_WAIT
    assert [r.id for r in p.checkpoints] == ["post-1", "post-2"]
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [c["resume_after"] for c in server.calls] == [0, 2]
    assert [r.id for r in p.receipt.parts] == ["post-1", "post-2", "post-3"]
    assert sorted(post["text"] for post in server.posts.values()) == ["One", "Three", "Two"]


async def test_an_idempotent_resend_that_cannot_tell_waits_for_a_person(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.KEY)
    server.script(("after", UnknownOutcome("timeout")), UnknownOutcome("key window passed"))
    scheduler, pub = await one(make_scheduler)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(hours=2))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.UNKNOWN, "reconcile")
    assert len(server.calls) == 2
    # the resend was told when the first request went out, and how many sends before
    assert [c["attempt"] for c in server.calls] == [1, 2]
    assert server.calls[1]["first_attempt_at"] == START


async def test_a_retry_after_sends_that_took_no_effect_is_not_dated_back(
    make_scheduler, platform, clock
) -> None:
    """Earlier sends that certainly took no effect (a transient error, a rate limit) give
    the next one no first-attempt time: nothing can be repeated, and an adapter that dates
    what it writes by that time (Bluesky) dates it now. Once a send's outcome was unknown,
    every later one is told when that send went out."""
    server = platform(idempotency=Idempotency.KEY)
    server.script(
        Transient("connection refused"),
        RateLimited("slow down", retry_after=60.0),
        ("after", UnknownOutcome("timeout")),
        Transient("connection refused"),
    )
    scheduler, pub = await one(make_scheduler)
    for _ in range(5):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(hours=1))
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    unknown_send = START + 2 * dt.timedelta(hours=1)
    assert [c["first_attempt_at"] for c in server.calls] == [
        None,
        None,
        None,
        unknown_send,
        unknown_send,
    ]
    assert server.copies(pub.idempotency_key) == 1


async def test_resends_that_crash_are_retried_a_few_times_then_a_person(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.KEY)
    server.script(
        ("after", UnknownOutcome("timeout")), *(RuntimeError(f"bug {i}") for i in range(9))
    )
    scheduler, pub = await one(make_scheduler, engine={"reconcile_attempts": 3})
    for _ in range(6):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(minutes=1))
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.UNKNOWN, "reconcile")
    assert len(server.calls) == 4  # the first send, then three resends with the same key
    assert {c["keys"] for c in server.calls} == {server.calls[0]["keys"]}
    assert server.copies(pub.idempotency_key) == 1
