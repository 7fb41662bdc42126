"""``edit`` and ``reschedule`` refused: the error says why in that state, and what to do.

Both said only "allowed when nothing was sent yet" (edit) or "allowed when not yet sent,
failed or missed" (reschedule): a ``claimed`` or ``missed`` publication had not been sent
either, an ``unknown`` one did not say to resolve it first, and a ``retry_wait`` one
whose request went out read like one still waiting to be sent.
"""

from __future__ import annotations

import datetime as dt

import pytest

from socialkit.errors import Rejected, StaleTransition, Transient, UnknownOutcome
from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")
EDITED = Post(text="Hello, edited")
LATER = START + dt.timedelta(hours=2)


async def _refusals(scheduler, pub_id: str) -> tuple[str, str]:
    with pytest.raises(StaleTransition) as edit:
        await scheduler.edit(pub_id, EDITED, actor="ann")
    with pytest.raises(StaleTransition) as reschedule:
        await scheduler.reschedule(pub_id, at=LATER, actor="ann")
    return str(edit.value), str(reschedule.value)


async def test_a_claimed_post_says_a_worker_is_about_to_send_it_and_cancel_stops_it(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.store.claim("w9", now=START, limit=1, lease=dt.timedelta(hours=1))
    why = "(a worker claimed it and is about to send it; cancel still stops it)"
    assert await _refusals(scheduler, pub.id) == (
        f"cannot edit publication {pub.id}: it is claimed {why}",
        f"cannot reschedule publication {pub.id}: it is claimed {why}",
    )
    assert (await scheduler.cancel(pub.id, actor="ann")).state == S.CANCELLED


async def test_an_unknown_outcome_says_to_resolve_it_first(make_scheduler, platform) -> None:
    platform().script(UnknownOutcome("read timeout"))
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN
    why = "(it may be on the platform: resolve it first; resolve(retry=True) schedules it again)"
    assert await _refusals(scheduler, pub.id) == (
        f"cannot edit publication {pub.id}: it is unknown {why}",
        f"cannot reschedule publication {pub.id}: it is unknown {why}",
    )


async def test_a_published_post_says_it_is_on_the_platform(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    why = "(it is on the platform)"
    assert await _refusals(scheduler, pub.id) == (
        f"cannot edit publication {pub.id}: it is published {why}",
        f"cannot reschedule publication {pub.id}: it is published {why}",
    )


async def test_a_missed_post_is_rescheduled_first_then_edited(
    make_scheduler, platform, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    clock.advance(dt.timedelta(hours=3))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.MISSED
    with pytest.raises(StaleTransition) as refused:
        await scheduler.edit(pub.id, EDITED, actor="ann")
    assert str(refused.value) == (
        f"cannot edit publication {pub.id}: it is missed "
        "(nothing was sent: reschedule it first, then edit it)"
    )
    # What the message says works.
    await scheduler.reschedule(pub.id, at=clock.now() + dt.timedelta(hours=1), actor="ann")
    edited = await scheduler.edit(pub.id, EDITED, actor="ann")
    assert (edited.state, edited.post) == (S.SCHEDULED, EDITED)


async def test_a_post_whose_request_went_out_says_so(make_scheduler, platform) -> None:
    platform().script(Transient("connection reset"), Rejected("duplicate status"))
    scheduler = await make_scheduler()
    (waiting,) = await scheduler.schedule(POST, account(), at=START)
    (failed,) = await scheduler.schedule(POST, account("acme-2"), at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(waiting.id)).state == S.RETRY_WAIT
    assert (await scheduler.get(failed.id)).state == S.FAILED
    with pytest.raises(StaleTransition) as retrying:
        await scheduler.edit(waiting.id, EDITED, actor="ann")
    assert str(retrying.value) == (
        f"cannot edit publication {waiting.id}: it is retry_wait (1 request(s) for it went "
        "out already; edit works only while nothing was sent: cancel it and schedule the "
        "new content as a new post)"
    )
    with pytest.raises(StaleTransition) as refused:
        await scheduler.edit(failed.id, EDITED, actor="ann")
    assert str(refused.value) == (
        f"cannot edit publication {failed.id}: it is failed (1 request(s) for it went out "
        "already; edit works only while nothing was sent: schedule the new content as a "
        "new post)"
    )
