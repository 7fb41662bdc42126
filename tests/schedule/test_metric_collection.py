"""Metric collection against the store (a review of collection after a publish).

- A collection the worker itself has in flight (its task leased) is not work due now:
  ``next_due`` said it was, so a worker collecting polled about every second instead of
  sleeping until its next due work.
- The collections of an account that waits for a person to re-authorise it wait too:
  they were asked for anyway, each failing with an auth error (and dropped).

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt

from socialkit.models.content import Post
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
LEASE = 5 * MINUTE


async def test_next_due_waits_for_the_lease_of_a_collection_in_flight(
    make_scheduler, platform, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    store = scheduler.store
    now = START + HOUR
    assert await store.next_due(now=now) == START + HOUR  # the +1 h collection
    (task,) = await store.claim_metric_tasks("w1", now=now, limit=10, lease=LEASE)
    # In flight: nothing is due until its lease ends (then another worker may take it).
    assert await store.next_due(now=now) == now + LEASE  # was now: due at once
    # Its lease ran out (the worker died): due again, from its own due time.
    assert await store.next_due(now=now + LEASE) == START + HOUR
    assert await store.claim_metric_tasks("w2", now=now + LEASE, limit=10, lease=LEASE) == [task]


async def test_collections_wait_for_an_account_to_be_reauthorised(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    store = scheduler.store
    await store.set_account_status(
        "acme", "needs_reauth", now=START + MINUTE, reason="token revoked"
    )
    clock.set(START + 2 * HOUR)
    await scheduler.run(until_idle=True)
    assert server.metric_tokens == []  # was one call, failing with an auth error
    assert await store.claim_metric_tasks("w", now=clock.now(), limit=10, lease=LEASE) == []
    # Waiting for a person is not work due now (a worker sleeps meanwhile).
    assert await store.next_due(now=clock.now()) is None
    assert await scheduler.metrics(publication=pub.id) == []
    # Re-authorised: the collection comes, as the +1 h one (late, not dropped).
    await store.set_account_status("acme", "ok", now=START + 3 * HOUR)
    clock.set(START + 3 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == HOUR
    assert snapshot.collected_at == START + 3 * HOUR
