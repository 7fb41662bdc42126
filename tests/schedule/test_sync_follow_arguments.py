"""``Scheduler.follow`` (the sync feed) checks its cursor as ``events()`` and the async
``follow`` do, when it is called: ``since="5"`` raised a bare "'<' not supported between
instances of 'str' and 'int'" at the first ``next``, and ``since=True`` or ``1.5`` were
taken as a cursor (``True`` read the log from 1, skipping event 1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from socialkit import Scheduler


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    with Scheduler("memory://") as opened:
        yield opened


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"since": "5"}, r"^since: expected an event seq, as a whole number \(got str '5'\)$"),
        ({"since": True}, r"^since: expected an event seq, .*\(got bool True\)$"),
        ({"since": 1.5}, r"^since: expected an event seq, .*\(got float 1\.5\)$"),
        ({"since": None}, r"^since: .*\(got None\)$"),
        (
            {"batch": "10"},
            r"^batch: expected how many events to read at a time, .*\(got str '10'\)$",
        ),
    ],
)
def test_a_cursor_or_batch_of_the_wrong_type_is_named_at_the_call(
    scheduler: Scheduler, kwargs: dict[str, object], named: str
) -> None:
    with pytest.raises(TypeError, match=named):
        scheduler.follow(**kwargs)  # type: ignore[arg-type]


def test_a_cursor_below_0_or_an_empty_batch_is_refused_at_the_call(scheduler: Scheduler) -> None:
    with pytest.raises(ValueError, match=r"^since: an event seq is 0 or more \(got -1\)$"):
        scheduler.follow(since=-1)
    with pytest.raises(ValueError, match=r"^batch: must be at least 1 event \(got 0\)$"):
        scheduler.follow(batch=0)


def test_a_good_cursor_follows_from_there(scheduler: Scheduler) -> None:
    from socialkit import Account, Post

    acme = Account(id="acme-feed", platform="feed", handle="acme")
    for n in range(3):
        scheduler.schedule(Post(text=f"post {n}"), acme, at="2031-01-01 09:00", tz="UTC")
    feed = scheduler.follow(since=1, batch=2)
    assert [next(feed).seq for _ in range(2)] == [2, 3]


def test_it_listens_for_changes_before_reading_so_a_commit_in_between_wakes_it(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribed once, before the first page: a commit between reading a page and
    waiting is not left for the next poll a second later. Unsubscribed when closed."""
    from socialkit import Account, Post

    acme = Account(id="acme", platform="feed", handle="acme")
    scheduler.add_account(acme)
    scheduler.schedule(Post(text="first"), acme, at="2031-01-01 09:00", tz="UTC")
    store = scheduler.aio._services.store
    order: list[str] = []
    subscribe, page = store.subscribe, scheduler.aio._events_page

    def subscribing(callback: object) -> object:
        order.append("subscribe")
        unsubscribe = subscribe(callback)  # type: ignore[arg-type]

        def unsubscribing() -> None:
            order.append("unsubscribe")
            unsubscribe()

        return unsubscribing

    async def reading(cursor: int, batch: int) -> object:
        order.append("page")
        return await page(cursor, batch)

    monkeypatch.setattr(store, "subscribe", subscribing)
    monkeypatch.setattr(scheduler.aio, "_events_page", reading)
    feed = scheduler.follow(batch=100)
    first = next(feed)
    assert first.kind == "created"
    feed.close()
    assert order == ["subscribe", "page", "unsubscribe"]
