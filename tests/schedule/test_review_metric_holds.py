"""Rate limits are the account's, whichever call meets them (from a second review of the
rules): a publish meeting ``RateLimited`` holds the account, and its metric collections
waited for nothing (``fetch_metrics`` was called during the hold); a collection meeting
``RateLimited`` held nothing (the account's next post was sent during the platform's
``Retry-After``).

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt

from socialkit.errors import RateLimited
from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


async def test_a_rate_limited_publish_holds_the_accounts_metric_collections(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (first,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    # 08:50: the next post meets a rate limit for three hours.
    (second,) = await scheduler.schedule(Post(text="two"), "acme", at=START + 50 * MINUTE)
    clock.set(START + 50 * MINUTE)
    server.script(RateLimited(retry_after=3 * 3600))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(second.id)).state == S.RETRY_WAIT
    held_until = START + 50 * MINUTE + 3 * HOUR
    # 09:01: the first post's +1 h collection is due, inside the hold: not asked.
    clock.set(START + 61 * MINUTE)
    await scheduler.run(until_idle=True)
    assert server.metric_tokens == []  # was one fetch_metrics call
    clock.set(held_until - MINUTE)
    await scheduler.run(until_idle=True)
    assert server.metric_tokens == []
    # The hold ends: the post goes out and the collection comes, counted as the +1 h one.
    clock.set(held_until)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(second.id)).state == S.PUBLISHED
    assert len(server.metric_tokens) == 1
    [snapshot] = await scheduler.metrics(publication=first.id)
    assert snapshot.after == HOUR


async def test_a_rate_limited_metric_collection_holds_the_accounts_publishing(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (first,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    # 09:00: its +1 h collection meets a rate limit for three hours.
    server.script_metrics(RateLimited(retry_after=3 * 3600))
    clock.set(START + HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    held_until = START + 4 * HOUR
    (second,) = await scheduler.schedule(
        Post(text="two"), "acme", at=START + 65 * MINUTE, grace=6 * HOUR
    )
    sent = len(server.calls)
    clock.set(START + 65 * MINUTE)
    await scheduler.run(until_idle=True)
    assert len(server.calls) == sent  # was sent during the platform's Retry-After
    assert (await scheduler.get(second.id)).state == S.SCHEDULED
    # Another account is not held.
    (other,) = await scheduler.schedule(
        Post(text="elsewhere"), account("beta", timezone="UTC"), at=START + 65 * MINUTE
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(other.id)).state == S.PUBLISHED
    clock.set(held_until)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(second.id)).state == S.PUBLISHED
    # The 429, then the collection put back (once, after the hold), and beta's +1 h one.
    assert len(server.metric_tokens) == 3
    [snapshot] = await scheduler.metrics(publication=first.id)
    assert snapshot.after == HOUR
    assert len(await scheduler.metrics(publication=other.id)) == 1
