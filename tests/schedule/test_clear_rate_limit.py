"""A person lifts an account's rate-limit hold early (``clear_rate_limit``).

The platform's figures hold an account until their reset: a ``Retry-After`` of a day
holds it a day. When a person knows better (the platform lifted a block, the header was
wrong), clearing the hold sends at once, wakes a worker sleeping until the reset, and
leaves a record of who did it and why."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from socialkit.errors import RateLimited, StoreError, Transient
from socialkit.models.content import Post
from socialkit.schedule.records import Budget
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_worker_leases import until

SEC = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)


async def test_clearing_a_rate_limit_sends_what_it_held_at_once(
    make_scheduler, platform, clock
) -> None:
    """A Retry-After of a day holds the post that met it and the account's next one;
    cleared, both go out at once. A post waiting on a transient error's backoff keeps
    its own time, another account's hold stays, and the log names who and why."""
    server = platform()
    server.script(Transient("connection refused"), RateLimited("slow down", retry_after=86400))
    scheduler = await make_scheduler()
    backoff, limited, held = [
        (await scheduler.schedule(Post(text=text), account(), at=START + n * SEC))[0]
        for n, text in enumerate(("one", "two", "three"))
    ]
    hold = clock.advance(2 * SEC) + DAY
    await scheduler.run(until_idle=True)
    p = await scheduler.get(limited.id)
    assert (p.state, p.run_at) == (S.RETRY_WAIT, hold)
    waits_until = (await scheduler.get(backoff.id)).run_at
    assert START < waits_until < START + DAY
    assert (await scheduler.get(held.id)).state == S.SCHEDULED
    other = await make_scheduler(store=scheduler.store)
    await other.add_account(account("other"))
    await scheduler.store.set_budget(
        Budget(account_id="other", blocked_until=START + DAY), now=clock.now()
    )

    lifted = await scheduler.clear_rate_limit("acme", actor="ops", reason="a wrong Retry-After")
    assert (lifted.held_until, lifted.scopes, lifted.released) == (
        hold,
        ("default",),
        (limited.id,),
    )
    assert (await scheduler.get(limited.id)).run_at == clock.now()
    assert (await scheduler.get(backoff.id)).run_at == waits_until
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(limited.id)).state == S.PUBLISHED
    assert (await scheduler.get(held.id)).state == S.PUBLISHED
    assert (await scheduler.get(backoff.id)).state == S.RETRY_WAIT
    assert [b.account_id for b in await scheduler.store.budgets()] == ["other"]
    (event,) = [e for e in await scheduler.events() if e.kind == "rate_limit_cleared"]
    assert (event.account_id, event.actor, event.reason) == ("acme", "ops", "a wrong Retry-After")
    assert event.data == {
        "budgets": [{"scope": "default", "blocked_until": hold.isoformat()}],
        "released": [limited.id],
    }
    assert not (await scheduler.clear_rate_limit("acme")).lifted  # nothing holds it now


async def test_clearing_the_rate_limit_of_an_unknown_account_is_refused(make_scheduler) -> None:
    scheduler = await make_scheduler()
    with pytest.raises(StoreError, match="nope"):
        await scheduler.clear_rate_limit("nope")
    with pytest.raises(ValueError, match="actor"):
        await scheduler.clear_rate_limit("acme", actor=" ")


async def test_a_worker_sleeping_until_the_reset_wakes_when_it_is_cleared(
    make_scheduler, platform, clock, store_url
) -> None:
    """A serving worker sleeps until the day-long hold ends; a person clears it through
    another scheduler (for SQLite, another connection to the file, as another process
    would be): the worker wakes and sends, the clock still at the same instant."""
    server = platform()
    server.script(RateLimited("slow down", retry_after=86400))
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="one"), account(), at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.RETRY_WAIT
    assert await scheduler.next_due() == START + DAY
    operator = await make_scheduler(
        worker_id="ops", store=scheduler.store if store_url == "memory://" else store_url
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    try:
        await until(lambda: bool(clock._waiters), "the worker to sleep")
        assert len(server.calls) == 1
        await operator.clear_rate_limit("acme", actor="ops")
        await until(lambda: len(server.calls) == 2, "the worker to wake and send")
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
    assert clock.now() == START
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
