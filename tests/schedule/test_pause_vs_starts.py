"""A pause flipped on after a worker claimed a publication and before it sends stops the
send, whatever the claim: a reconciliation's resend (the same idempotency keys, or the
rest of a thread found half made) included, though a pause does not move an ``unknown``
publication. The worker hands the claim back; the resume lets it go out once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialkit.errors import UnknownOutcome
from socialkit.models.content import Post, ThreadPart
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Launch day")
THREAD = Post(text="One", thread=(ThreadPart(text="Two"), ThreadPart(text="Three")))


def pause_before_the_start(scheduler: Any) -> None:
    """The pause lands between the claim and the start (another process, in real life)."""
    store = scheduler.store
    real = store.mark_publishing

    async def mark_publishing(starts: Any, **kw: Any) -> list[bool]:
        await scheduler.pause(actor="ann", reason="crisis")
        store.mark_publishing = real
        return list(await real(starts, **kw))

    store.mark_publishing = mark_publishing


@pytest.mark.parametrize("case", ["key-resend", "rest-of-thread"])
async def test_a_reconciliation_resend_is_not_sent_under_a_pause(
    make_scheduler, platform, clock, case
) -> None:
    if case == "key-resend":
        server = platform("keyed", idempotency=Idempotency.KEY)
        server.script(UnknownOutcome("read timeout"))  # not made; the outcome is unknown
        post, on = POST, account(platform="keyed")
    else:
        server = platform("look", idempotency=Idempotency.LOOKUP, threads=True)
        server.script(("unanswered", 1))  # parts 1 and 2 made, the second one's answer lost
        post, on = THREAD, account(platform="look")
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(post, on, at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN
    made, calls = len(server.posts), len(server.calls)
    clock.advance(dt.timedelta(minutes=10))
    pause_before_the_start(scheduler)
    await scheduler.run(until_idle=True)
    assert (len(server.posts), len(server.calls)) == (made, calls)  # nothing went out
    p = await scheduler.get(pub.id)
    # handed back at once (not left under this worker's lease until it runs out)
    assert (p.state, p.lease_owner, p.sends) == (S.UNKNOWN, None, 1)
    clock.advance(dt.timedelta(hours=1))
    await scheduler.run(until_idle=True)
    assert (len(server.posts), len(server.calls)) == (made, calls)  # still held
    await scheduler.resume(actor="ann")
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert len(server.posts) == len(post.thread) + 1  # each part made once
