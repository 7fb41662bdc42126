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


async def test_a_delete_overtaken_by_another_that_finished_first_records_its_parts(
    make_scheduler, platform
) -> None:
    """Bob deletes the half-sent thread while ann's delete of it waits for the platform,
    and finishes first: ann's delete can no longer move it, and records what it took
    down as ``delete_overtaken``, its reason saying the publication was moved (it is
    deleted)."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    bobs: list[Any] = []

    async def bob_deletes(receipt: Receipt) -> None:  # while ann's first request runs
        if not bobs:
            bobs.append(None)
            bobs[0] = await scheduler.delete(pub_id, actor="bob")

    server.on_delete = bob_deletes
    with pytest.raises(StaleTransition, match=r"moved while this delete ran \(it is deleted\)"):
        await scheduler.delete(pub_id, actor="ann")
    assert bobs[0].state == S.DELETED
    after = await scheduler.get(pub_id, history=True)
    assert after.state == S.DELETED
    assert [(e.kind, e.actor) for e in after.history][-2:] == [
        ("deleted", "bob"),
        ("delete_overtaken", "ann"),
    ]
    last = after.history[-1]
    assert last.data == {"post_ids": [one, two, three], "post_ids_left": []}
    assert "was moved while this delete ran (it is deleted)" in (last.reason or "")


# -- 3. a delete cancelled while the platform is asked ------------------------------------


async def delete_then_cancel(scheduler: Any, server: Any, pub_id: str, hang_at: int) -> None:
    """Start ann's delete, let the platform never answer request ``hang_at`` (1-based),
    and cancel the delete while it waits (as the sync facade's timeout or a SIGINT
    does): the cancellation goes on, out of ``delete``."""
    asked = asyncio.Event()
    never = asyncio.Event()

    async def hang(receipt: Receipt) -> None:
        if len(server.delete_tokens) == hang_at:
            asked.set()
            await never.wait()

    server.on_delete = hang
    task = asyncio.create_task(scheduler.delete(pub_id, actor="ann"))
    await asyncio.wait_for(asked.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.on_delete = None


async def test_a_delete_cancelled_while_the_platform_is_asked_records_an_unknown_outcome(
    make_scheduler, platform
) -> None:
    """The platform took part 3 down and was asked for part 2 when the delete was
    cancelled: whether part 2 is gone is not known. The history says so
    (``delete_unknown``), written although the task was being cancelled, and the next
    delete asks for the parts left."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await published_thread(scheduler)
    await delete_then_cancel(scheduler, server, pub_id, hang_at=2)
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.PUBLISHED, None)
    last = after.history[-1]
    assert (last.kind, last.actor) == ("delete_unknown", "ann")
    assert last.data == {"post_ids": [three], "post_ids_left": [one, two]}
    assert (last.error or {}).get("error") == "UnknownOutcome"
    assert "cancelled" in str((last.error or {}).get("message"))
    (event,) = [e for e in await scheduler.events() if e.kind == "delete_unknown"]
    assert (event.publication_id, event.seq) == (pub_id, last.seq)
    asked = record_asks(server)
    assert (await scheduler.delete(pub_id, actor="ann")).state == S.DELETED
    assert asked == [(two,), (one,)]


async def test_a_half_sent_thread_whose_delete_is_cancelled_stays_marked_and_recorded(
    make_scheduler, platform
) -> None:
    """Cancelled at the first part asked for: that request may have taken it down, so
    unlike a refusal the mark stays, and ``delete_unknown`` lists every part as not
    known to be gone."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    await delete_then_cancel(scheduler, server, pub_id, hang_at=1)
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.PAUSED, "deleting")
    assert [e.kind for e in after.history][-2:] == ["deleting", "delete_unknown"]
    last = after.history[-1]
    assert last.data == {"post_ids": [], "post_ids_left": [one, two, three]}
    assert (last.error or {}).get("error") == "UnknownOutcome"
    assert "stays marked deleting" in (last.reason or "")


async def test_the_record_of_a_cancelled_delete_is_written_when_cancelled_again(
    make_scheduler, platform
) -> None:
    """A second cancellation (a second Ctrl-C) while the record is being written ends
    the delete at once, and the record is written all the same (shielded)."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await published_thread(scheduler)
    store = scheduler.store
    real = store.record_deletion
    recording, go, recorded = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(deletion: Any, *, now: dt.datetime) -> None:
        recording.set()
        await go.wait()
        await real(deletion, now=now)
        recorded.set()

    store.record_deletion = slow
    asked, never = asyncio.Event(), asyncio.Event()

    async def hang(receipt: Receipt) -> None:
        if len(server.delete_tokens) == 2:
            asked.set()
            await never.wait()

    server.on_delete = hang
    task = asyncio.create_task(scheduler.delete(pub_id, actor="ann"))
    await asyncio.wait_for(asked.wait(), 10)
    task.cancel()
    await asyncio.wait_for(recording.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    go.set()
    await asyncio.wait_for(recorded.wait(), 10)
    store.record_deletion = real
    last = (await scheduler.get(pub_id, history=True)).history[-1]
    assert (last.kind, last.data) == (
        "delete_unknown",
        {"post_ids": [three], "post_ids_left": [one, two]},
    )


# -- 4. every delete_* event carries its data and the error --------------------------------


async def test_a_refusal_that_takes_the_mark_off_records_the_parts_left_and_the_error(
    make_scheduler, platform
) -> None:
    """The platform refused the first part of a half-sent thread: nothing is gone, the
    mark comes off, and the ``delete_refused`` event says so as every one does: no
    post ids taken down, every part left, and the platform's error."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    server.script_delete(Rejected("403: not your post"))
    with pytest.raises(Rejected):
        await scheduler.delete(pub_id, actor="ann")
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.PAUSED, None)
    last = after.history[-1]
    assert (last.kind, last.actor) == ("delete_refused", "ann")
    assert last.data == {
        "post_ids": [],
        "post_ids_left": [one, two, three],
        "held_by_pause": True,  # the campaign is paused still: it stays paused
    }
    assert last.error is not None
    assert (last.error.get("error"), last.error.get("message")) == (
        "Rejected",
        "403: not your post",
    )
    assert "Rejected: 403: not your post" in (last.reason or "")
    assert f"nothing was deleted, 3 left ({one}, {two}, {three})" in (last.reason or "")
