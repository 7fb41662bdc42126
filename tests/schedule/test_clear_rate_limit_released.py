"""``clear_rate_limit`` reports every part of what it lifted: the account's budgets and
the publications waiting in ``retry_wait`` for the rate limit, which it makes due at
once, both in one store transaction.

The case this guards: the account has no budget stored any more (an earlier clear
forgot it, or a concurrent one), yet a publication still waits for the ``RateLimited``
it met. Clearing releases it; that is a clear, not "nothing to clear", and the log says
so. Each test runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialkit.errors import RateLimited
from socialkit.models.content import Post
from socialkit.schedule.records import Budget, PublishStart, Transition
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

DAY = dt.timedelta(days=1)
LEASE = dt.timedelta(minutes=5)


async def waiting_for_the_limit(scheduler: Any, text: str = "one") -> str:
    """A publication the platform refused with a day-long ``Retry-After``, waiting in
    ``retry_wait`` for it, as the engine leaves it, with no budget of the account
    stored (it was forgotten already); its id."""
    (pub,) = await scheduler.schedule(Post(text=text), account(), at=START)
    store = scheduler.store
    (claim,) = await store.claim("w1", now=START, limit=1, lease=LEASE)
    await store.mark_publishing(
        [PublishStart(id=pub.id, attempt=claim.attempt)], worker="w1", now=START, lease=LEASE
    )
    error = RateLimited("slow down", retry_after=86400)
    await store.transition(
        Transition(
            id=pub.id,
            expect_state=S.PUBLISHING,
            expect_attempt=claim.attempt,
            to=S.RETRY_WAIT,
            run_at=START + DAY,
            error=error.describe(),
            reason=f"rate limited: {error}",
        ),
        now=START,
    )
    assert await store.budgets() == []
    return str(pub.id)


async def test_clearing_with_no_budget_left_still_releases_and_says_so(
    make_scheduler, platform, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    pub_id = await waiting_for_the_limit(scheduler)
    before = await scheduler.store.last_event_seq()

    cleared = await scheduler.clear_rate_limit("acme", actor="ops", reason="block lifted")

    assert cleared.lifted
    assert (cleared.account_id, cleared.held_until, cleared.scopes, cleared.released) == (
        "acme",
        None,
        (),
        (pub_id,),
    )
    p = await scheduler.get(pub_id, history=True)
    assert (p.state, p.run_at) == (S.RETRY_WAIT, clock.now())
    assert (p.history[-1].actor, p.history[-1].reason) == ("ops", "block lifted")
    new = [e for e in await scheduler.events() if e.seq > before]
    (event,) = [e for e in new if e.kind == "rate_limit_cleared"]
    assert (event.account_id, event.publication_id, event.actor, event.reason) == (
        "acme",
        None,
        "ops",
        "block lifted",
    )
    assert event.data == {"budgets": [], "released": [pub_id]}
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub_id)).state == S.PUBLISHED

    # Now nothing holds the account: nothing lifted, nothing written.
    seq = await scheduler.store.last_event_seq()
    again = await scheduler.clear_rate_limit("acme", actor="ops")
    assert not again.lifted
    assert (again.held_until, again.scopes, again.released) == (None, (), ())
    assert await scheduler.store.last_event_seq() == seq


async def test_one_clear_reports_the_budget_and_the_publications_it_released(
    make_scheduler, platform, clock
) -> None:
    """A budget held and two publications waited for the limit: one call forgets the
    budget and releases both, one event listing both."""
    platform()
    scheduler = await make_scheduler()
    first = await waiting_for_the_limit(scheduler, "one")
    second = await waiting_for_the_limit(scheduler, "two")
    await scheduler.store.set_budget(
        Budget(account_id="acme", blocked_until=START + DAY), now=clock.now()
    )

    cleared = await scheduler.clear_rate_limit("acme", actor="ops")

    assert (cleared.held_until, cleared.scopes, cleared.released) == (
        START + DAY,
        ("default",),
        tuple(sorted((first, second))),
    )
    assert await scheduler.store.budgets() == []
    (event,) = [e for e in await scheduler.events() if e.kind == "rate_limit_cleared"]
    assert event.data == {
        "budgets": [{"scope": "default", "blocked_until": (START + DAY).isoformat()}],
        "released": sorted((first, second)),
    }
    for pub_id in (first, second):
        assert (await scheduler.get(pub_id)).run_at == clock.now()
