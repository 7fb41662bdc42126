"""The engine's lookups: callers that miss the cache together share one store read."""

from __future__ import annotations

import asyncio

from socialkit.models.content import Post
from tests.schedule.conftest import account


async def test_concurrent_account_and_post_misses_share_one_read(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.add_account(account())
    post = Post(text="Hello")
    (pub,) = await scheduler.schedule(post, account(), at="2030-01-01 09:00", tz="UTC")
    s = await scheduler._s()
    s.forget_account("default", "acme")
    s._posts.drop(pub.revision)
    reads = {"account": 0, "revision": 0}
    store = s.store
    get_account, get_revision = store.get_account, store.get_revision

    async def counted_account(*args, **kwargs):
        reads["account"] += 1
        await asyncio.sleep(0)  # the others arrive while this read is in flight
        return await get_account(*args, **kwargs)

    async def counted_revision(*args, **kwargs):
        reads["revision"] += 1
        await asyncio.sleep(0)
        return await get_revision(*args, **kwargs)

    store.get_account = counted_account  # type: ignore[method-assign]
    store.get_revision = counted_revision  # type: ignore[method-assign]
    accounts = await asyncio.gather(*(s.account("default", "acme") for _ in range(20)))
    posts = await asyncio.gather(*(s.post(pub.revision) for _ in range(20)))
    assert reads == {"account": 1, "revision": 1}
    assert {a.id for a in accounts} == {"acme"}
    assert {p.text for p in posts} == {"Hello"}
    # cached now: no more reads
    await s.account("default", "acme")
    assert reads["account"] == 1


async def test_a_failed_read_fails_every_waiter_and_is_not_kept(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    s = await scheduler._s()
    results = await asyncio.gather(
        *(s.account("default", "nobody") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, Exception) for r in results)
    assert len(s._loading) == 0
    await scheduler.add_account(account("nobody"))
    assert (await s.account("default", "nobody")).id == "nobody"


async def test_an_account_forgotten_during_a_read_is_not_cached_stale(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.add_account(account())
    s = await scheduler._s()
    s.forget_account("default", "acme")
    gate = asyncio.Event()
    get_account = s.store.get_account

    async def slow(*args, **kwargs):
        found = await get_account(*args, **kwargs)
        await gate.wait()
        return found

    s.store.get_account = slow  # type: ignore[method-assign]
    reading = asyncio.ensure_future(s.account("default", "acme"))
    await asyncio.sleep(0)
    s.forget_account("default", "acme")  # its status changed meanwhile
    gate.set()
    await reading
    assert s._accounts.get(("default", "acme")) is None
