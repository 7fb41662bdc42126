"""A scheduler belongs to one event loop: calls awaited on another run there.

An application with a loop of its own (FastAPI, a notebook) awaits ``scheduler.aio``
of a sync ``Scheduler``, whose store and HTTP client live on socialkit's background
loop; or it opens an ``AsyncScheduler`` in one thread and uses it from another.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from socialkit._runtime import background_loop
from socialkit.models.content import Post
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.engine.clock import ManualClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")
WAIT = 30.0  # a bound on each wait, never a delay


@pytest.fixture
def facade(tmp_path, registry) -> Iterator[Scheduler]:
    scheduler = Scheduler(
        f"sqlite:///{tmp_path}/home.db",
        registry=registry,
        clock=ManualClock(START),
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="w1"),
    )
    yield scheduler
    scheduler.close()


def test_scheduler_aio_awaited_on_an_app_loop_runs_on_the_background_loop(facade, platform) -> None:
    server = platform()
    loops: list[asyncio.AbstractEventLoop] = []
    server.on_publish = lambda call: loops.append(asyncio.get_running_loop())

    async def app() -> tuple[Any, Any, asyncio.AbstractEventLoop]:
        (pub,) = await facade.aio.schedule(POST, account(), at=START)
        stats = await facade.aio.run(until_idle=True)
        return await facade.aio.get(pub.id), stats, asyncio.get_running_loop()

    publication, stats, app_loop = asyncio.run(app())
    assert publication.state == S.PUBLISHED
    assert stats.claimed == 1
    assert loops == [background_loop()]
    assert app_loop is not background_loop()


def test_an_async_scheduler_opened_in_one_thread_serves_another_thread_s_loop(
    tmp_path, registry, platform
) -> None:
    server = platform()
    loops: list[asyncio.AbstractEventLoop] = []
    server.on_publish = lambda call: loops.append(asyncio.get_running_loop())
    home = asyncio.new_event_loop()
    thread = threading.Thread(target=home.run_forever, daemon=True)
    thread.start()
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp_path}/home.db",
        registry=registry,
        clock=ManualClock(START),
        credentials=MemoryCredentialProvider({}),
    )
    try:
        asyncio.run_coroutine_threadsafe(scheduler.open(), home).result(WAIT)

        async def other() -> Any:
            (pub,) = await scheduler.schedule(POST, account(), at=START)
            await scheduler.run(until_idle=True)
            return await scheduler.get(pub.id)

        assert asyncio.run(other()).state == S.PUBLISHED
        assert loops == [home]
    finally:
        asyncio.run_coroutine_threadsafe(scheduler.close(), home).result(WAIT)
        home.call_soon_threadsafe(home.stop)
        thread.join(WAIT)
        home.close()


def test_a_scheduler_whose_loop_has_ended_says_what_to_do(tmp_path, registry) -> None:
    scheduler = AsyncScheduler(f"sqlite:///{tmp_path}/home.db", registry=registry)
    assert asyncio.run(scheduler.accounts()) == []
    with pytest.raises(RuntimeError, match=r"no longer running.*one AsyncScheduler per loop"):
        asyncio.run(scheduler.accounts())


def test_closed_on_its_loop_it_can_be_used_on_the_next(tmp_path, registry) -> None:
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp_path}/home.db", registry=registry, clock=ManualClock(START)
    )

    async def first() -> str:
        async with scheduler:
            (pub,) = await scheduler.schedule(POST, account(), at=START + dt.timedelta(hours=1))
            return pub.id

    async def second(publication_id: str) -> Any:
        async with scheduler:
            return await scheduler.get(publication_id)

    publication_id = asyncio.run(first())
    assert asyncio.run(second(publication_id)).state == S.SCHEDULED


def test_run_awaited_on_an_app_loop_stops_by_its_event_and_by_cancelling(facade, platform) -> None:
    server = platform()
    sent = threading.Event()
    server.on_publish = lambda call: sent.set()

    async def app() -> tuple[int, bool]:
        stop = asyncio.Event()
        worker = asyncio.ensure_future(facade.aio.run(stop=stop))
        (pub,) = await facade.aio.schedule(POST, account(), at=START)
        assert await asyncio.to_thread(sent.wait, WAIT)
        stop.set()
        stats = await asyncio.wait_for(worker, WAIT)
        assert (await facade.aio.get(pub.id)).state == S.PUBLISHED
        second = asyncio.ensure_future(facade.aio.run())
        await asyncio.sleep(0.05)  # let it start on the background loop
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(second, WAIT)
        return stats.claimed, second.cancelled()

    assert asyncio.run(asyncio.wait_for(app(), 2 * WAIT)) == (1, True)


def test_follow_on_an_app_loop_sees_events_written_on_the_background_loop(facade) -> None:
    async def app() -> list[str]:
        stop = asyncio.Event()
        seen: list[str] = []

        async def consume() -> None:
            async for event in facade.aio.follow(stop=stop):
                seen.append(event.kind)
                stop.set()

        consumer = asyncio.ensure_future(consume())
        await asyncio.sleep(0)
        await asyncio.to_thread(facade.schedule, POST, account(), at=START + dt.timedelta(hours=1))
        await asyncio.wait_for(consumer, WAIT)
        return seen

    assert asyncio.run(app()) == ["created"]
