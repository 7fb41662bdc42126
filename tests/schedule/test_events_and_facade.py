"""The durable event log with a cursor (sync and async), and the sync facade."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest

from socialkit.models.content import Post
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.engine.clock import ManualClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.scheduler import ScheduleRequest
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Events")


async def test_follow_resumes_from_a_cursor_without_gaps(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (first,) = await scheduler.schedule(POST, account("a"), at=START)
    stop = asyncio.Event()
    seen = []

    async def consume(since: int) -> None:
        async for event in scheduler.follow(since=since, stop=stop):
            seen.append(event)
            if event.kind == "receipt":
                stop.set()

    consumer = asyncio.create_task(consume(0))
    await scheduler.run(until_idle=True)
    await asyncio.wait_for(consumer, 5)
    assert [e.kind for e in seen][:2] == ["created", "claimed"]
    assert [e.seq for e in seen] == sorted({e.seq for e in seen})
    cursor = seen[-1].seq
    (second,) = await scheduler.schedule(POST, account("b"), at=START)
    later = await scheduler.events(since=cursor)
    assert [(e.kind, e.publication_id) for e in later] == [("created", second.id)]
    assert all(e.publication_id != first.id for e in later)


async def test_a_scheduler_reads_only_its_workspace_s_events(make_scheduler, platform) -> None:
    """Two tenants on one store: each one's events and follow() carry its own only."""
    platform()
    ours = await make_scheduler()
    theirs = await make_scheduler(workspace="other", store=ours.store)
    (mine,) = await ours.schedule(POST, account("a"), at=START)
    await theirs.schedule(POST, account("a", workspace="other"), at=START)
    await theirs.pause(actor="ann", reason="their crisis")
    assert [(e.kind, e.publication_id) for e in await ours.events()] == [("created", mine.id)]
    stop = asyncio.Event()
    seen = []

    async def consume() -> None:
        async for event in ours.follow(stop=stop):
            seen.append(event)
            if event.kind == "receipt":
                stop.set()

    consumer = asyncio.create_task(consume())
    await ours.run(until_idle=True)
    await asyncio.wait_for(consumer, 5)
    assert {e.workspace for e in seen} == {"default"}
    assert {e.publication_id for e in seen} == {mine.id}
    assert {e.workspace for e in await theirs.events()} == {"other"}


async def test_two_tenants_using_one_key_get_a_publication_each(make_scheduler, platform) -> None:
    """A key is a tenant's own: the same key and account id in another workspace makes
    that workspace's publication, never returns (and shows) the first tenant's."""
    platform()
    ours = await make_scheduler()
    theirs = await make_scheduler(workspace="other", store=ours.store)
    (mine,) = await ours.schedule(Post(text="ours"), account("a"), at=START, key="launch")
    (other,) = await theirs.schedule(
        Post(text="theirs"), account("a", workspace="other"), at=START, key="launch"
    )
    assert other.id != mine.id
    assert (other.workspace, other.post.text if other.post else None) == ("other", "theirs")
    (again,) = await theirs.schedule(
        Post(text="theirs"), account("a", workspace="other"), at=START, key="launch"
    )
    assert again.id == other.id  # and the key still deduplicates within the tenant
    [many] = await theirs.schedule_many(
        [ScheduleRequest(post=Post(text="theirs"), accounts="a", at=START, key="launch")]
    )
    assert many == other.id
    # A default-workspace key shaped like another workspace's is refused, never handed
    # the other tenant's publication.
    with pytest.raises(ValueError, match="key: this key is taken by a publication of another"):
        await ours.schedule(Post(text="ours"), account("a"), at=START, key="other/launch")
    with pytest.raises(ValueError, match=r"requests\[0\].key: this key is taken"):
        await ours.schedule_many(
            [ScheduleRequest(post=Post(text="x"), accounts="a", at=START, key="other/launch")]
        )


async def test_a_quiet_tenant_s_cursor_moves_past_the_others_events(
    make_scheduler, platform
) -> None:
    """A page that is not full moves the cursor past every event read, the other
    tenants' too: a quiet tenant's consumer does not read a busy one's log again."""
    from socialkit.schedule.engine.events import events_page

    platform()
    quiet = await make_scheduler()
    busy = await make_scheduler(workspace="busy", store=quiet.store)
    for i in range(3):
        await busy.schedule(Post(text=f"busy {i}"), account("b", workspace="busy"), at=START)
    last = await quiet.store.last_event_seq()
    assert last >= 3
    found, cursor = await events_page(quiet.store, since=0, limit=10, workspace="default")
    assert (found, cursor) == ([], last)
    (mine,) = await quiet.schedule(POST, account("a"), at=START)
    found, cursor = await events_page(quiet.store, since=cursor, limit=10, workspace="default")
    assert [e.publication_id for e in found] == [mine.id]
    assert cursor == await quiet.store.last_event_seq()
    full, after = await events_page(quiet.store, since=0, limit=1, workspace="busy")
    assert after == full[0].seq  # a full page: on from its last event


def test_sync_scheduler_round_trip(tmp_path: Path, registry, platform) -> None:
    server = platform()
    clock = ManualClock(START)
    scheduler = Scheduler(
        f"sqlite:///{tmp_path}/sync.db",
        registry=registry,
        clock=clock,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="sync"),
    )
    with scheduler:
        (pub,) = scheduler.schedule(POST, account(), at=START + dt.timedelta(minutes=5))
        assert scheduler.run(until_idle=True).claimed == 0
        clock.advance(dt.timedelta(minutes=5))
        assert scheduler.run(until_idle=True).claimed == 1
        assert scheduler.get(pub.id).state == S.PUBLISHED
        assert [p.id for p in scheduler.list(state="published").items] == [pub.id]
        follow = scheduler.follow(since=0)
        assert next(follow).kind == "created"
        assert [e.kind for e in scheduler.events(since=0)][-1] == "receipt"
    assert len(server.calls) == 1


def test_sync_scheduler_in_the_background(tmp_path: Path, registry, platform) -> None:
    server = platform()
    done = threading.Event()
    server.on_publish = lambda call: done.set()
    scheduler = Scheduler(
        f"sqlite:///{tmp_path}/bg.db?poll=0.01",
        registry=registry,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="bg"),
    )
    try:
        scheduler.start()
        (pub,) = scheduler.schedule(POST, account(), at=dt.datetime.now(dt.UTC))
        assert done.wait(10), "the background worker never published"
        stats = scheduler.stop(timeout=10)
        assert stats is not None
        assert stats.claimed == 1
        assert scheduler.get(pub.id).state == S.PUBLISHED
    finally:
        scheduler.close()


async def test_sync_scheduler_works_inside_a_running_loop(
    tmp_path: Path, registry, platform
) -> None:
    platform()
    scheduler = Scheduler(
        f"sqlite:///{tmp_path}/inloop.db",
        registry=registry,
        clock=ManualClock(START),
        credentials=MemoryCredentialProvider({}),
    )
    try:
        (pub,) = scheduler.schedule(POST, account(), at=START)  # a sync call, from a loop
        assert scheduler.run(until_idle=True).claimed == 1
        assert scheduler.get(pub.id).state == S.PUBLISHED
    finally:
        scheduler.close()
