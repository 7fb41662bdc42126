"""An unknown account id, publication id or listing cursor is refused with the argument
it came in and the value: ``accounts[1]: no account 'acme-fed' …``, not a bare
``no account 'acme-fed' …`` that leaves the caller to find which of its arguments it was."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from socialkit.errors import StoreError
from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.scheduler import ScheduleRequest
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema
from tests.postgres.support import store_url as postgres_url

ACME = Account(id="acme-feed", platform="feed", handle="acme")
AT = "2030-01-01 09:00"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scheduler(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scheduler]:
    # Every store words a missing publication alike: the scheduler names the argument.
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip(SKIP_REASON)
        with fresh_schema() as schema, Scheduler(postgres_url(schema)) as scheduler:
            scheduler.add_account(ACME)
            yield scheduler
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/s.db"
    with Scheduler(url) as scheduler:
        scheduler.add_account(ACME)
        yield scheduler


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(StoreError) as caught:
        call()
    return str(caught.value)


def test_an_unknown_account_names_the_argument_and_the_stored_ones(scheduler: Scheduler) -> None:
    post = Post(text="Hello")
    tail = "in workspace 'default' (stored accounts: acme-feed; add_account() stores one)"
    assert _refused(lambda: scheduler.schedule(post, "acme-fed", at=AT, tz="UTC")) == (
        f"accounts: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.schedule(post, ["acme-feed", "acme-fed"], at=AT)) == (
        f"accounts[1]: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.recur(post, ["acme-fed"], rrule="FREQ=DAILY")) == (
        f"accounts[0]: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.evergreen(post, "acme-fed", first_at=AT, every_days=7)) == (
        f"account: no account 'acme-fed' {tail}"
    )
    many = [
        ScheduleRequest(post=post, accounts="acme-feed", at=AT),
        ScheduleRequest(post=post, accounts=["acme-feed", "acme-fed"], at=AT),
    ]
    assert _refused(lambda: scheduler.schedule_many(many)) == (
        f"requests[1].accounts[1]: no account 'acme-fed' {tail}"
    )
    one = [ScheduleRequest(post=post, accounts="acme-fed", at=AT)]
    assert _refused(lambda: scheduler.schedule_many(one)) == (
        f"requests[0].accounts: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.pause(account="acme-fed")) == (
        f"account: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.clear_rate_limit("acme-fed")) == (
        f"account: no account 'acme-fed' {tail}"
    )
    assert _refused(lambda: scheduler.reconnect("acme-fed")) == (
        f"account_id: no account 'acme-fed' {tail}"
    )
    assert scheduler.pauses() == []
    assert scheduler.list().items == ()


def test_an_unknown_publication_id_names_the_argument(scheduler: Scheduler) -> None:
    expected = "publication_id: no publication 'p-gone' in workspace 'default'"
    for call in (
        lambda: scheduler.get("p-gone"),
        lambda: scheduler.approve("p-gone", actor="ann"),
        lambda: scheduler.reject("p-gone", actor="ann"),
        lambda: scheduler.cancel("p-gone"),
        lambda: scheduler.edit("p-gone", Post(text="x")),
        lambda: scheduler.reschedule("p-gone", at=AT),
        lambda: scheduler.delete("p-gone"),
        lambda: scheduler.resolve("p-gone", abandon=True),
    ):
        assert _refused(call) == expected


def test_a_listing_cursor_that_is_none_names_the_argument(scheduler: Scheduler) -> None:
    assert _refused(lambda: scheduler.list(cursor="garbage")) == (
        "cursor: not a listing cursor (got 'garbage'); give the next_cursor of a page"
    )
    with pytest.raises(TypeError, match=re.escape("cursor: expected the next_cursor of a page")):
        scheduler.list(cursor=3)  # type: ignore[arg-type]
    scheduler.schedule(Post(text="a"), ACME, at=AT)
    scheduler.schedule(Post(text="b"), ACME, at="2030-01-02 09:00")
    first = scheduler.list(limit=1)
    assert first.next_cursor is not None
    assert len(scheduler.list(cursor=first.next_cursor).items) == 1  # a real one still works
