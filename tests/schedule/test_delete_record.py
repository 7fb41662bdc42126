"""The history of a delete never loses what happened on the platform: a published
thread the platform refuses to take down part way through records which parts are gone
and which are left, and a delete a person abandons while it runs still records the
parts it took down (as a receipt is recorded from a worker that lost its lease).

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.errors import Rejected, StaleTransition, Transient, UnknownOutcome
from socialkit.models.receipt import Receipt
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL
from tests.schedule.test_review_people import THREAD, three_parts_out


async def published_thread(scheduler: Any) -> tuple[str, list[str]]:
    """A three-part thread, published whole; its id and its parts' post ids."""
    (pub,) = await scheduler.schedule(THREAD, account(), at=START)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    return str(pub.id), [ref.id for ref in p.receipt.parts]


def record_asks(server: Any) -> list[tuple[str, ...]]:
    """The parts each later delete request names, in order."""
    asked: list[tuple[str, ...]] = []

    def ask(receipt: Receipt) -> None:
        asked.append(tuple(ref.id for ref in receipt.parts))

    server.on_delete = ask
    return asked


# -- 1. a published thread refused part way -----------------------------------------------


async def test_a_published_thread_refused_part_way_records_the_parts_gone_and_left(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await published_thread(scheduler)
    before = await scheduler.get(pub_id)
    server.script_delete("ok", Rejected("403: not allowed to delete this reply"))
    with pytest.raises(Rejected, match="not allowed"):
        await scheduler.delete(pub_id, actor="ann")
    assert server.deleted == [three]
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.PUBLISHED, None)
    assert after.receipts == before.receipts  # the platform's ids are kept
    last = after.history[-1]
    assert (last.kind, last.actor) == ("delete_refused", "ann")
    assert last.data == {"post_ids": [three], "post_ids_left": [one, two]}
    assert (last.error or {}).get("error") == "Rejected"
    assert f"1 part(s) deleted ({three})" in (last.reason or "")
    assert f"2 left ({one}, {two})" in (last.reason or "")
    # The next delete asks only for the parts left, and lists only those it took down.
    asked = record_asks(server)
    done = await scheduler.delete(pub_id, actor="ann")
    assert asked == [(two,), (one,)]
    assert (done.state, done.history[-1].data) == (S.DELETED, {"post_ids": [one, two]})
    assert server.posts == {}


async def test_a_published_thread_whose_delete_times_out_part_way_records_the_parts_gone(
    make_scheduler, platform
) -> None:
    """The part whose answer never came is not known to be gone: it is left, and asked
    for again."""
    server = platform()
    scheduler = await make_scheduler(engine={"publish_timeout": dt.timedelta(milliseconds=50)})
    pub_id, (one, two, three) = await published_thread(scheduler)
    never = asyncio.Event()

    async def hang_on_the_second(receipt: Receipt) -> None:
        if len(server.delete_tokens) == 2:
            await never.wait()

    server.on_delete = hang_on_the_second
    with pytest.raises(UnknownOutcome, match="timed out"):
        await scheduler.delete(pub_id, actor="ann")
    after = await scheduler.get(pub_id, history=True)
    assert after.state == S.PUBLISHED
    last = after.history[-1]
    assert (last.kind, last.data) == (
        "delete_unknown",
        {"post_ids": [three], "post_ids_left": [one, two]},
    )
    asked = record_asks(server)
    assert (await scheduler.delete(pub_id, actor="ann")).state == S.DELETED
    assert asked == [(two,), (one,)]


# -- 2. a delete abandoned while it runs --------------------------------------------------


@pytest.mark.parametrize(
    ("error", "abandoned"),
    [(Transient("blip"), S.CANCELLED), (Rejected("no"), S.FAILED)],
    ids=["paused", "failed"],
)
async def test_a_delete_abandoned_while_it_runs_still_records_the_parts_it_took_down(
    make_scheduler, platform, error: Exception, abandoned: S
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, error)
    gave_up: list[Any] = []

    async def bob_abandons(receipt: Receipt) -> None:  # while ann's delete runs
        if not gave_up:
            gave_up.append(await scheduler.resolve(pub_id, abandon=True, actor="bob"))

    server.on_delete = bob_abandons
    with pytest.raises(StaleTransition, match=r"abandoned by bob while .*recorded"):
        await scheduler.delete(pub_id, actor="ann")
    assert server.deleted == [three, two, one]  # the platform took every part down
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (abandoned, None)
    assert [e.kind for e in after.history][-3:] == [
        "deleting",
        "delete_abandoned",
        "delete_overtaken",
    ]
    last = after.history[-1]
    assert last.actor == "ann"
    assert last.data == {"post_ids": [one, two, three], "post_ids_left": []}
    assert "abandoned by bob while" in (last.reason or "")
    if abandoned == S.FAILED:
        # A later delete knows every part is gone: it asks the platform for nothing.
        asked = record_asks(server)
        assert (await scheduler.delete(pub_id, actor="ann")).state == S.DELETED
        assert asked == []


async def test_a_delete_abandoned_then_refused_records_the_parts_it_took_down(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    gave_up: list[Any] = []

    async def bob_abandons(receipt: Receipt) -> None:
        if not gave_up:
            gave_up.append(await scheduler.resolve(pub_id, abandon=True, actor="bob"))

    server.on_delete = bob_abandons
    server.script_delete("ok", "ok", Rejected("403: forbidden"))
    with pytest.raises(Rejected, match="forbidden"):
        await scheduler.delete(pub_id, actor="ann")
    assert server.deleted == [three, two]
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.CANCELLED, None)
    last = after.history[-1]
    assert (last.kind, last.actor) == ("delete_refused", "ann")
    assert last.data == {"post_ids": [two, three], "post_ids_left": [one]}
    assert "abandoned by bob while" in (last.reason or "")
