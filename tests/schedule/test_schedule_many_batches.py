"""schedule_many stores each chunk's posts with its publications: one store call and one
transaction per chunk, however many of its posts are different."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from socialkit.errors import InvalidPost, StoreError
from socialkit.models.content import Post
from socialkit.schedule.scheduler import AsyncScheduler, ScheduleRequest
from tests.schedule.conftest import START, account

LATER = START + dt.timedelta(days=1)


def calendar(count: int, *, key: bool = False) -> list[ScheduleRequest]:
    """``count`` requests, each with its own post, to accounts ``a`` and ``b``."""
    return [
        ScheduleRequest(
            post=Post(text=f"Post {i} of the calendar"),
            accounts=["a", "b"],
            at=LATER + i * dt.timedelta(minutes=1),
            key=f"k{i}" if key else None,
        )
        for i in range(count)
    ]


def counting(scheduler: AsyncScheduler, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the store calls that write revisions and publications."""
    calls = {"put_revision": 0, "add": 0, "add_with_revisions": 0}
    store = scheduler.store
    for name in calls:
        method = getattr(store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kw)

        monkeypatch.setattr(store, name, counted)
    return calls


async def texts(scheduler: AsyncScheduler, ids: list[str]) -> list[str]:
    return [(await scheduler.get(pub_id)).post.text for pub_id in ids]


async def test_a_chunk_of_different_posts_is_one_store_call(
    make_scheduler: Callable[..., Any], platform: Callable[..., Any], monkeypatch: Any
) -> None:
    platform()
    scheduler = await make_scheduler()
    for name in ("a", "b"):
        await scheduler.add_account(account(name))
    calls = counting(scheduler, monkeypatch)
    ids = await scheduler.schedule_many(calendar(5, key=True), chunk=4)
    # 10 publications of 5 posts: chunks of 4, 4 and 2; a post's two publications may
    # fall in two chunks (each stores it)
    assert calls == {"put_revision": 0, "add": 0, "add_with_revisions": 3}
    assert await texts(scheduler, ids) == [f"Post {i // 2} of the calendar" for i in range(10)]
    # Again, with the same keys: nothing is stored twice.
    assert await scheduler.schedule_many(calendar(5, key=True), chunk=4) == ids
    assert len((await scheduler.list()).items) == 10


async def test_a_refused_request_leaves_nothing_of_its_chunk_stored(
    make_scheduler: Callable[..., Any], platform: Callable[..., Any]
) -> None:
    """The chunk before is stored; of the chunk holding the refused request, neither its
    publications nor its posts (they were stored as each request came)."""
    platform(limit=25, threads=False)
    scheduler = await make_scheduler()
    for name in ("a", "b"):
        await scheduler.add_account(account(name))
    requests = calendar(3)
    requests.append(
        ScheduleRequest(post=Post(text="x" * 30), accounts="a", at=LATER)  # too long
    )
    with pytest.raises(InvalidPost, match=r"requests\[3\]"):
        await scheduler.schedule_many(requests, chunk=4)
    stored = [p.id for p in (await scheduler.list()).items]
    assert (
        sorted(await texts(scheduler, stored))
        == ["Post 0 of the calendar"] * 2 + ["Post 1 of the calendar"] * 2
    )
    for request in requests[2:]:
        with pytest.raises(StoreError, match="revision"):
            await scheduler.store.get_revision(request.post.revision())


class EarlierStore:
    """A store written for an earlier socialkit: no ``add_with_revisions``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.revisions_put = 0

    def __getattr__(self, name: str) -> Any:
        if name == "add_with_revisions":
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def put_revision(self, post: Post, *, now: dt.datetime) -> str:
        self.revisions_put += 1
        revision: str = await self._inner.put_revision(post, now=now)
        return revision


async def test_a_store_without_add_with_revisions_stores_each_post_then_the_chunk(
    make_scheduler: Callable[..., Any], platform: Callable[..., Any], store_url: str
) -> None:
    from socialkit.schedule.stores import store_from_url

    platform()
    inner = store_from_url(store_url)
    old = EarlierStore(inner)
    scheduler = await make_scheduler(store=old)
    for name in ("a", "b"):
        await scheduler.add_account(account(name))
    ids = await scheduler.schedule_many(calendar(5), chunk=4)
    assert old.revisions_put == 5  # once each: this process remembers what it stored
    assert await texts(scheduler, ids) == [f"Post {i // 2} of the calendar" for i in range(10)]


async def test_posts_a_generator_lets_go_of_keep_their_own_content(
    make_scheduler: Callable[..., Any], platform: Callable[..., Any], tmp_path: Any
) -> None:
    """Regression: schedule_many knew a post's revision by its ``id()``, which Python
    gives to a new object once the old one is gone; a generator's posts are let go of
    (past the engine's caches of 1,024), so a new post could be stored as an old post's
    revision (a publication with another post's text)."""
    from socialkit.schedule.engine.services import _Lru

    platform()
    scheduler = await make_scheduler(store=f"sqlite:///{tmp_path}/many.db")
    await scheduler.add_account(account("a"))
    (await scheduler._s())._posts = _Lru(1)  # the engine keeps almost no post alive
    count = 1500
    requests = (
        ScheduleRequest(
            post=Post(text=f"Post {i}"), accounts="a", at=LATER + i * dt.timedelta(minutes=1)
        )
        for i in range(count)
    )
    ids = await scheduler.schedule_many(requests, chunk=2000)
    wrong = [(i, text) for i, text in enumerate(await texts(scheduler, ids)) if text != f"Post {i}"]
    assert wrong == []
