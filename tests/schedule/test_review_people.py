"""What people do to publications while the engine or other people act on them at the
same moment (review "people"): a delete of a half-sent thread racing a resume or a
reschedule, a failed post brought back, hooks that must report what was committed, and
schedule() reporting what the store holds.

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit import hookimpl
from socialkit.errors import Rejected, StaleTransition, Transient, UnknownOutcome
from socialkit.models.content import Post, ThreadPart
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

HOUR = dt.timedelta(hours=1)
THREAD = Post(text="part one", thread=[ThreadPart(text="part two"), ThreadPart(text="part three")])


async def half_sent(scheduler: Any, server: Any, error: BaseException) -> str:
    """A three-part thread whose first part went out and whose second met ``error``."""
    (pub,) = await scheduler.schedule(THREAD, account(), at=START, campaign="spring")
    server.script(("fail_part", 1, error))
    await scheduler.run(until_idle=True)
    return str(pub.id)


# -- 1. delete of a half-sent thread vs a resume or a reschedule --------------------------


async def test_a_resume_while_a_paused_thread_is_deleted_sends_nothing_more(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent(scheduler, server, Transient("blip"))
    await scheduler.pause(campaign="spring", actor="ann")
    (first,) = (await scheduler.get(pub_id)).checkpoints
    resumed: list[Any] = []

    async def someone_resumes(receipt: Any) -> None:  # while the platform deletes
        resumed.append(await scheduler.resume(campaign="spring", actor="bob"))

    server.on_delete = someone_resumes
    deleted = await scheduler.delete(pub_id, actor="ann", reason="wrong price")
    server.on_delete = None
    assert resumed == [0]  # the resume ran while the platform deleted, and moved nothing
    assert deleted.state == S.DELETED
    assert deleted.attention is None
    assert server.deleted == [first.id]
    clock.advance(HOUR)
    await scheduler.run(until_idle=True)
    after = await scheduler.get(pub_id, history=True)
    assert after.state == S.DELETED
    assert server.posts == {}  # no reply was sent to the deleted part
    assert len(server.calls) == 1
    assert [e.kind for e in after.history][-2:] == ["deleting", "deleted"]


async def test_a_reschedule_while_a_failed_thread_is_deleted_is_refused(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent(scheduler, server, Rejected("no"))
    assert (await scheduler.get(pub_id)).state == S.FAILED
    refused: list[BaseException] = []

    async def someone_reschedules(receipt: Any) -> None:
        try:
            await scheduler.reschedule(pub_id, at=START + HOUR, actor="bob")
        except StaleTransition as exc:
            refused.append(exc)

    server.on_delete = someone_reschedules
    deleted = await scheduler.delete(pub_id, actor="ann")
    server.on_delete = None
    assert deleted.state == S.DELETED
    assert len(refused) == 1
    assert "being deleted" in str(refused[0]) or "delete" in str(refused[0])
    clock.advance(2 * HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub_id)).state == S.DELETED
    assert server.posts == {}
    assert len(server.calls) == 1


async def test_a_reschedule_the_worker_would_read_mid_delete_is_refused_at_the_store(
    make_scheduler, platform
) -> None:
    """A reschedule that read the thread before the delete marked it, and writes after:
    the store refuses its write (the action's own check saw nothing yet)."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent(scheduler, server, Rejected("no"))
    store = scheduler.store
    real_get = store.get
    read_before: list[Any] = []

    async def someone_reads_then_writes(receipt: Any) -> None:
        store.get = lambda *a, **k: _return(read_before[0])  # the read from before
        try:
            with pytest.raises(StaleTransition):
                await scheduler.reschedule(pub_id, at=START + HOUR, actor="bob")
        finally:
            store.get = real_get

    read_before.append(await scheduler.get(pub_id))
    server.on_delete = someone_reads_then_writes
    assert (await scheduler.delete(pub_id, actor="ann")).state == S.DELETED
    assert server.posts == {}


async def _return(value: Any) -> Any:
    return value


async def test_a_resume_that_lands_first_makes_the_delete_refuse_before_the_platform(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent(scheduler, server, Transient("blip"))
    await scheduler.pause(campaign="spring", actor="ann")
    store = scheduler.store
    real = store.transition

    async def transition(t: Any, *, now: dt.datetime) -> Any:
        if t.kind == "deleting":  # bob resumes between ann's read and her delete's fence
            store.transition = real
            await scheduler.resume(campaign="spring", actor="bob")
        return await real(t, now=now)

    store.transition = transition
    with pytest.raises(StaleTransition):
        await scheduler.delete(pub_id, actor="ann")
    assert server.deleted == []  # the platform was not asked
    assert (await scheduler.get(pub_id)).state == S.SCHEDULED


async def test_a_refused_delete_takes_the_mark_off_and_a_lifted_pause_resumes(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent(scheduler, server, Transient("blip"))
    await scheduler.pause(campaign="spring", actor="ann")
    server.script_delete(Rejected("not your post"))
    with pytest.raises(Rejected):
        await scheduler.delete(pub_id, actor="ann")
    kept = await scheduler.get(pub_id)
    assert (kept.state, kept.attention) == (S.PAUSED, None)  # nothing changed
    # Refused while someone lifted the pause: the thread is resumed once the mark is off.
    resumed: list[Any] = []

    async def someone_resumes(receipt: Any) -> None:
        resumed.append(await scheduler.resume(campaign="spring", actor="bob"))

    server.on_delete = someone_resumes
    server.script_delete(Rejected("not your post"))
    with pytest.raises(Rejected):
        await scheduler.delete(pub_id, actor="ann")
    server.on_delete = None
    assert resumed == [0]  # the resume left it paused while the delete ran
    after = await scheduler.get(pub_id)
    assert (after.state, after.attention) == (S.SCHEDULED, None)
    assert server.deleted == []


# -- 2. a person bringing a post back starts a fresh send budget --------------------------


async def exhaust(scheduler: Any, server: Any, clock: Any, pub_id: str) -> None:
    """Fail every send of ``pub_id`` with a Transient until it is ``failed``."""
    for _ in range(10):
        server.script(Transient("503 before processing"))
        await scheduler.run(until_idle=True)
        if (await scheduler.get(pub_id)).state == S.FAILED:
            return
        clock.advance(dt.timedelta(minutes=15))
    raise AssertionError("it never failed")


async def test_a_failed_post_rescheduled_gets_its_retries_again(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    max_attempts = scheduler.config.retry.max_attempts
    (pub,) = await scheduler.schedule(Post(text="hello"), account(), at=START)
    await exhaust(scheduler, server, clock, pub.id)
    failed = await scheduler.get(pub.id, history=True)
    assert failed.failures == max_attempts
    back = await scheduler.reschedule(pub.id, at=clock.now() + HOUR, actor="ann")
    assert (back.state, back.failures) == (S.SCHEDULED, 0)
    clock.advance(HOUR)
    server.script(Transient("one more blip"))
    await scheduler.run(until_idle=True)
    once = await scheduler.get(pub.id)
    assert (once.state, once.failures) == (S.RETRY_WAIT, 1)  # not "attempts exhausted"
    # It has max_attempts sends again, and the history keeps the failures before.
    clock.advance(dt.timedelta(minutes=15))
    await exhaust(scheduler, server, clock, pub.id)
    again = await scheduler.get(pub.id, history=True)
    assert again.failures == max_attempts
    assert again.sends == 2 * max_attempts
    errors = [e for e in again.history if e.error is not None]
    assert len(errors) == 2 * max_attempts


async def test_resolve_retry_starts_a_fresh_send_budget(make_scheduler, platform, clock) -> None:
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="hello"), account(), at=START)
    server.script(Transient("blip"), Transient("blip"), UnknownOutcome("the answer was lost"))
    for _ in range(3):
        await scheduler.run(until_idle=True)
        clock.advance(dt.timedelta(minutes=15))
    clock.advance(scheduler.config.reconcile_delay)
    await scheduler.run(until_idle=True)
    waiting = await scheduler.get(pub.id)
    assert (waiting.state, waiting.attention, waiting.failures) == (S.UNKNOWN, "reconcile", 2)
    back = await scheduler.resolve(pub.id, retry=True, actor="ann")
    assert (back.state, back.failures) == (S.SCHEDULED, 0)
    server.script(Transient("one more blip"))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.RETRY_WAIT  # was failed at once


# -- 3. hooks report the state committed, not one read afterwards -------------------------


def spy(registry: Any) -> list[tuple[str, str | None, str]]:
    """Record each state-change hook as ``(actor, from_state, to_state)``."""
    seen: list[tuple[str, str | None, str]] = []

    class Spy:
        @hookimpl
        def publication_state_changed(self, change: Any) -> None:
            from_state = change.from_state.value if change.from_state else None
            seen.append((change.actor, from_state, change.to_state.value))

    registry.register_plugin(Spy())
    return seen


async def test_a_retry_the_pause_holds_is_reported_as_paused(
    make_scheduler, platform, registry
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    seen = spy(registry)
    (pub,) = await scheduler.schedule(Post(text="hello"), account(), at=START)

    async def crisis_during_the_send(call: Any) -> None:
        await scheduler.pause(actor="ann", reason="crisis")

    server.on_publish = crisis_during_the_send
    server.script(Transient("503"))
    await scheduler.run(until_idle=True)
    stored = await scheduler.get(pub.id, history=True)
    assert stored.state == S.PAUSED
    assert stored.history[-1].data.get("held_by_pause") is True
    assert seen[-1] == ("w1", "publishing", "paused")  # not retry_wait


async def test_a_persons_move_is_reported_as_committed_not_as_read_after(
    make_scheduler, platform, registry
) -> None:
    platform()
    scheduler = await make_scheduler()
    seen = spy(registry)
    (pub,) = await scheduler.schedule(Post(text="hello"), account(), at=START, needs_approval=True)
    store = scheduler.store
    real = store.transition
    claimed: list[Any] = []

    async def transition(t: Any, *, now: dt.datetime) -> Any:
        written = await real(t, now=now)
        # Another worker claims it right after the approval commits.
        claimed.extend(await store.claim("w2", now=now, limit=10, lease=HOUR))
        return written

    store.transition = transition
    await scheduler.approve(pub.id, actor="ann")
    store.transition = real
    assert [c.id for c in claimed] == [pub.id]
    assert seen == [("ann", "pending_approval", "scheduled")]  # never "claimed"


# -- 4. schedule() reports the state the store holds --------------------------------------


async def test_schedule_reports_paused_right_after_another_process_paused(
    make_scheduler, platform, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.schedule(Post(text="first"), account(), at=START + HOUR)  # pauses cached
    # Another process flips the crisis switch: this scheduler's cache does not know yet.
    await scheduler.store.pause(PauseScope(kind="all", actor="ann"), now=clock.now())
    (second,) = await scheduler.schedule(Post(text="second"), account(), at=START + HOUR)
    assert second.state == S.PAUSED
    assert (await scheduler.get(second.id)).state == S.PAUSED
    # And the other way round: resumed elsewhere, scheduled is scheduled.
    await scheduler.store.resume(PauseScope(kind="all", actor="ann"), now=clock.now())
    (third,) = await scheduler.schedule(Post(text="third"), account(), at=START + HOUR)
    assert third.state == S.SCHEDULED
    assert (await scheduler.get(third.id)).state == S.SCHEDULED


async def test_with_a_store_that_does_not_say_what_it_wrote_no_claim_is_reported(
    make_scheduler, platform, registry
) -> None:
    """A store written for an earlier socialkit returns nothing from ``transition``: the
    engine reads the publication back, and still never reports another's move."""
    platform()
    scheduler = await make_scheduler()
    seen = spy(registry)
    (pub,) = await scheduler.schedule(Post(text="hello"), account(), at=START, needs_approval=True)
    store = scheduler.store
    real = store.transition

    async def transition(t: Any, *, now: dt.datetime) -> None:
        await real(t, now=now)  # the old protocol: nothing returned
        await store.claim("w2", now=now, limit=10, lease=HOUR)

    store.transition = transition
    await scheduler.approve(pub.id, actor="ann")
    store.transition = real
    assert (await scheduler.get(pub.id)).state == S.CLAIMED
    assert seen == [("ann", "pending_approval", "scheduled")]


# -- cancel racing a claim -------------------------------------------------------------


async def test_a_cancel_that_loses_the_race_to_a_claim_cancels_the_claim(
    make_scheduler, platform, clock
) -> None:
    """A worker's claim committed between cancel()'s read and its write: a claim not yet
    sent is still cancellable, so cancel reads it again and cancels it (it failed with
    the store's "is claimed at attempt 1, not scheduled at attempt 0")."""
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="b"), account(), at=START)
    s = await scheduler._s()
    store = s.store
    real = store.transition
    raced: list[int] = []

    async def transition(t: Any, *, now: dt.datetime) -> Any:
        if t.kind == "cancelled" and not raced:
            raced.append(len(await store.claim("w9", now=now, limit=5, lease=HOUR)))
        return await real(t, now=now)

    store.transition = transition  # type: ignore[method-assign]
    cancelled = await scheduler.cancel(pub.id, actor="ann")
    store.transition = real  # type: ignore[method-assign]
    assert raced == [1]  # the claim was made between the read and the write
    assert cancelled.state is S.CANCELLED
    await scheduler.run(until_idle=True)
    assert server.calls == []  # never sent


async def test_a_delete_refused_part_way_through_a_thread_keeps_the_mark(
    make_scheduler, platform, clock
) -> None:
    """Review helper-75: the platform deleted part 2 (the replies go first), then
    refused part 1. The mark came off as if nothing was gone, a resume made
    meanwhile scheduled the thread, and the worker sent part 3 as a reply to the deleted
    part 2. Now the mark stays, nothing more is sent, and listings find the thread."""
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(THREAD, account(), at=START, campaign="spring")
    server.script(("fail_part", 2, Transient("blip")))  # parts 1 and 2 out, 3 waits
    await scheduler.run(until_idle=True)
    await scheduler.pause(campaign="spring", actor="ann")
    part2 = (await scheduler.get(pub.id)).checkpoints[1].id

    async def someone_resumes(receipt: Any) -> None:  # while the platform deletes part 2
        if not server.deleted:
            await scheduler.resume(campaign="spring", actor="bob")

    server.on_delete = someone_resumes
    server.script_delete("ok", Transient("connection refused (deleting part 1)"))
    with pytest.raises(Transient):
        await scheduler.delete(pub.id, actor="ann")
    server.on_delete = None
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.PAUSED, "deleting")
    calls = len(server.calls)
    clock.advance(HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.calls) == calls  # part 3 was not sent
    listed = await scheduler.list(attention="deleting")
    assert [q.id for q in listed.items] == [pub.id]
    # running delete again finishes it
    done = await scheduler.delete(pub.id, actor="ann")
    assert done.state is S.DELETED
    assert part2 in server.deleted
    assert len(server.posts) == 0


# -- a delete refused part way through a thread: one part at a time, and a way out -------

FOUR = Post(
    text="part one",
    thread=[ThreadPart(text="part two"), ThreadPart(text="part three"), ThreadPart(text="four")],
)


async def three_parts_out(
    scheduler: Any, server: Any, error: BaseException
) -> tuple[str, list[str]]:
    """A four-part thread whose first three parts went out and whose fourth met ``error``
    (``Transient``: paused afterwards; ``Rejected``: failed); its id and the three parts'."""
    (pub,) = await scheduler.schedule(FOUR, account(), at=START, campaign="spring")
    server.script(("fail_part", 3, error))
    await scheduler.run(until_idle=True)
    if isinstance(error, Transient):
        await scheduler.pause(campaign="spring", actor="ann")
    p = await scheduler.get(pub.id)
    assert p.state == (S.PAUSED if isinstance(error, Transient) else S.FAILED)
    return str(pub.id), [ref.id for ref in p.checkpoints]


async def test_a_delete_refused_at_part_2_records_part_3_gone_and_goes_on_from_there(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    server.script_delete("ok", Rejected("403: not allowed to delete this reply"))
    with pytest.raises(Rejected, match="not allowed"):
        await scheduler.delete(pub_id, actor="ann")
    assert server.deleted == [three]  # one request a part, the last part first
    assert len(server.delete_tokens) == 2  # part 1 was not asked after the refusal
    stuck = await scheduler.get(pub_id, history=True)
    assert (stuck.state, stuck.attention) == (S.PAUSED, "deleting")  # parts are gone
    last = stuck.history[-1]
    assert (last.kind, last.actor) == ("delete_refused", "ann")
    assert last.data == {"post_ids": [three], "post_ids_left": [one, two]}
    assert "403" in (last.reason or "")
    assert stuck.checkpoints == (await scheduler.get(pub_id)).checkpoints
    await scheduler.resume(campaign="spring", actor="bob")
    clock.advance(HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.calls) == 1  # part 4 was never sent after the deleted part 3
    # The platform accepts now: only parts 2 and 1 are asked for, each on its own.
    asked: list[tuple[str, ...]] = []
    server.on_delete = lambda receipt: asked.append(tuple(ref.id for ref in receipt.parts))
    done = await scheduler.delete(pub_id, actor="ann")
    assert asked == [(two,), (one,)]
    assert server.deleted == [three, two, one]
    assert (done.state, done.attention) == (S.DELETED, None)
    assert done.history[-1].data == {"post_ids": [one, two]}
    assert server.posts == {}


async def test_a_refusal_of_the_first_part_tried_takes_the_mark_off(
    make_scheduler, platform
) -> None:
    """Nothing was deleted: the thread is as it was (three parts out, not one)."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (_, _, three) = await three_parts_out(scheduler, server, Transient("blip"))
    asked: list[tuple[str, ...]] = []
    server.on_delete = lambda receipt: asked.append(tuple(ref.id for ref in receipt.parts))
    server.script_delete(Rejected("403: not your post"))
    with pytest.raises(Rejected):
        await scheduler.delete(pub_id, actor="ann")
    assert asked == [(three,)]
    after = await scheduler.get(pub_id, history=True)
    assert (after.state, after.attention) == (S.PAUSED, None)
    assert [e.kind for e in after.history][-2:] == ["deleting", "delete_refused"]
    assert server.deleted == []
    # Not marked: nothing to abandon (resolve is for unknown ones and stuck deletes).
    with pytest.raises(StaleTransition, match="it is paused"):
        await scheduler.resolve(pub_id, abandon=True, actor="bob")


async def test_a_delete_that_times_out_part_way_records_the_parts_gone_before(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"publish_timeout": dt.timedelta(milliseconds=50)})
    pub_id, (one, two, three) = await three_parts_out(scheduler, server, Transient("blip"))
    never = asyncio.Event()

    async def hang_on_the_second(receipt: Any) -> None:
        if len(server.delete_tokens) == 2:
            await never.wait()

    server.on_delete = hang_on_the_second
    with pytest.raises(UnknownOutcome, match="timed out"):
        await scheduler.delete(pub_id, actor="ann")
    server.on_delete = None
    stuck = await scheduler.get(pub_id, history=True)
    assert (stuck.state, stuck.attention) == (S.PAUSED, "deleting")
    assert stuck.history[-1].data == {"post_ids": [three], "post_ids_left": [one, two]}
    done = await scheduler.delete(pub_id, actor="ann")  # part 2's outcome is unknown: asked again
    assert done.state == S.DELETED
    assert server.deleted == [three, two, one]


async def stuck_deleting(
    scheduler: Any, server: Any, error: BaseException
) -> tuple[str, list[str]]:
    """A thread whose delete the platform refused after part 3 went: marked for good."""
    pub_id, parts = await three_parts_out(scheduler, server, error)
    server.script_delete("ok", Rejected("403: forbidden"), Rejected("403: forbidden"))
    for _ in range(2):  # the platform keeps refusing
        with pytest.raises(Rejected):
            await scheduler.delete(pub_id, actor="ann")
    stuck = await scheduler.get(pub_id)
    assert stuck.attention == "deleting"
    return pub_id, parts


async def test_resolve_abandon_cancels_a_paused_thread_stuck_being_deleted(
    make_scheduler, platform, clock
) -> None:
    """Runs on the memory, SQLite and PostgreSQL stores (the store_url fixture)."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await stuck_deleting(scheduler, server, Transient("blip"))
    before = await scheduler.get(pub_id, history=True)
    with pytest.raises(StaleTransition, match="resolve"):  # cancel names the way out
        await scheduler.cancel(pub_id, actor="bob")
    with pytest.raises(StaleTransition, match="abandon"):
        await scheduler.resolve(pub_id, retry=True, actor="bob")
    out = await scheduler.resolve(pub_id, abandon=True, actor="bob", reason="removed by hand")
    assert (out.state, out.attention) == (S.CANCELLED, None)
    assert out.is_terminal
    assert out.checkpoints == before.checkpoints
    assert out.history[: len(before.history)] == before.history
    last = out.history[-1]
    assert (last.kind, last.actor, last.reason) == ("delete_abandoned", "bob", "removed by hand")
    assert (last.from_state, last.to_state) == (S.PAUSED, S.CANCELLED)
    assert last.data == {"post_ids_left": [one, two]}
    assert not (await scheduler.list(attention="deleting")).items
    await scheduler.resume(campaign="spring", actor="bob")
    clock.advance(HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub_id)).state == S.CANCELLED
    assert len(server.calls) == 1  # part 4 was never sent
    assert server.deleted == [three]


async def test_resolve_abandon_unmarks_a_failed_thread_stuck_being_deleted(
    make_scheduler, platform
) -> None:
    """It stays failed, off the attention list; it is never sent again (a reschedule is
    refused), and a later delete can still take the rest down."""
    server = platform()
    scheduler = await make_scheduler()
    pub_id, (one, two, three) = await stuck_deleting(scheduler, server, Rejected("no"))
    out = await scheduler.resolve(pub_id, abandon=True, actor="bob")
    assert (out.state, out.attention) == (S.FAILED, None)
    assert out.history[-1].kind == "delete_abandoned"
    assert (
        out.history[-1].reason == "delete abandoned by bob: 2 part(s) may still be on the "
        f"platform ({one}, {two})"
    )
    with pytest.raises(StaleTransition, match="parts of its thread were taken down"):
        await scheduler.reschedule(pub_id, at=START + HOUR, actor="bob")
    assert (await scheduler.get(pub_id)).state == S.FAILED
    done = await scheduler.delete(pub_id, actor="ann")  # the platform accepts now
    assert done.state == S.DELETED
    assert server.deleted == [three, two, one]
