"""A scheduler belongs to one event loop: calls awaited on another run there.

An application with a loop of its own (FastAPI, a notebook) awaits ``scheduler.aio``
of a sync ``Scheduler``, whose store and HTTP client live on socialkit's background
loop; or it opens an ``AsyncScheduler`` in one thread and uses it from another.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from socialkit._runtime import background_loop
from socialkit.models.content import Post
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule import _home
from socialkit.schedule.engine.clock import ManualClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import SLOTS

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
    with pytest.raises(RuntimeError, match=r"has ended.*one AsyncScheduler per loop"):
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


# -- from the review of the change (helper-62) ---------------------------------------------


def test_a_stop_already_set_sends_nothing_from_another_loop(facade, platform) -> None:
    server = platform()
    calls: list[object] = []
    server.on_publish = calls.append
    (pub,) = facade.schedule(POST, account(), at=START)

    async def app() -> int:
        stop = asyncio.Event()
        stop.set()
        return (await facade.aio.run(stop=stop)).claimed

    for _ in range(5):  # the relay used to lose the race in about half the runs
        assert asyncio.run(app()) == 0
    assert calls == []
    assert facade.get(pub.id).state == S.SCHEDULED


def test_a_first_call_that_fails_does_not_bind_the_scheduler(tmp_path, registry) -> None:
    scheduler = AsyncScheduler(f"sqlite:///{tmp_path}/home.db", registry=registry)
    with pytest.raises(ValueError, match="limit"):
        asyncio.run(scheduler.list(limit=0))
    assert asyncio.run(scheduler.accounts()) == []  # it held nothing of the first loop
    asyncio.run(scheduler.close())


def test_close_after_its_loop_ended_lets_the_next_loop_use_it(tmp_path, registry) -> None:
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp_path}/home.db", registry=registry, clock=ManualClock(START)
    )
    asyncio.run(scheduler.add_account(account()))
    with pytest.raises(RuntimeError, match=r"close\(\) it \(from any loop\)"):
        asyncio.run(scheduler.accounts())
    asyncio.run(scheduler.close())
    assert [a.account.id for a in asyncio.run(scheduler.accounts())] == ["acme"]
    asyncio.run(scheduler.close())


def test_after_close_its_locks_serve_the_next_loop(tmp_path, registry, platform) -> None:
    """Queueing at once makes the slot lock wait, which ties it to the loop it waited on."""
    platform()
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp_path}/home.db", registry=registry, clock=ManualClock(START)
    )
    slotted = account(timezone="Europe/Berlin", posting_slots=SLOTS)

    async def queue_twice() -> set[dt.datetime]:
        both = await asyncio.gather(
            scheduler.queue(POST, slotted, key="one"), scheduler.queue(POST, slotted, key="two")
        )
        await scheduler.close()
        return {pub.due_at for [pub] in both}

    first = asyncio.run(queue_twice())
    assert len(first) == 2
    assert asyncio.run(queue_twice()) == first  # the same keys: the same publications


def test_a_call_whose_home_loop_ends_meanwhile_gets_a_runtime_error(tmp_path, registry) -> None:
    scheduler = AsyncScheduler(f"sqlite:///{tmp_path}/home.db", registry=registry)
    opened = threading.Event()
    entered = threading.Event()
    leave = threading.Event()

    async def stuck(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await asyncio.sleep(3600)  # until its loop ends and cancels it

    async def home() -> None:
        await scheduler.open()
        scheduler.store.list_accounts = stuck  # type: ignore[method-assign]
        opened.set()
        await asyncio.to_thread(leave.wait, WAIT)

    thread = threading.Thread(target=asyncio.run, args=(home(),))
    thread.start()

    async def caller() -> None:
        assert await asyncio.to_thread(opened.wait, WAIT)  # the home loop opens it first
        call = asyncio.ensure_future(scheduler.accounts())
        assert await asyncio.to_thread(entered.wait, WAIT)
        leave.set()  # the home loop's asyncio.run() ends, cancelling what runs there
        with pytest.raises(RuntimeError, match="ended during the call"):
            await asyncio.wait_for(call, WAIT)

    try:
        asyncio.run(asyncio.wait_for(caller(), 2 * WAIT))
    finally:
        leave.set()
        thread.join(WAIT)
    asyncio.run(scheduler.close())


def test_a_call_that_its_home_loop_does_not_start_says_so(
    tmp_path, registry, monkeypatch, caplog
) -> None:
    """The home loop's thread blocked waiting on the caller: a warning names the cause."""
    monkeypatch.setattr(_home, "SLOW_START", 0.2)
    monkeypatch.setattr(_home, "CHECK_EVERY", 0.1)
    home = asyncio.new_event_loop()
    thread = threading.Thread(target=home.run_forever, daemon=True)
    thread.start()
    scheduler = AsyncScheduler(f"sqlite:///{tmp_path}/home.db", registry=registry)
    unblock = threading.Event()

    class Unblock(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            unblock.set()

    handler = Unblock(level=logging.WARNING)
    logging.getLogger("socialkit.schedule").addHandler(handler)
    try:
        asyncio.run_coroutine_threadsafe(scheduler.open(), home).result(WAIT)
        home.call_soon_threadsafe(unblock.wait, WAIT)  # the home thread, blocked
        with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
            assert asyncio.run(asyncio.wait_for(scheduler.accounts(), WAIT)) == []
        assert "is that loop's thread blocked waiting on this one?" in caplog.text
    finally:
        logging.getLogger("socialkit.schedule").removeHandler(handler)
        unblock.set()
        asyncio.run_coroutine_threadsafe(scheduler.close(), home).result(WAIT)
        home.call_soon_threadsafe(home.stop)
        thread.join(WAIT)
        home.close()


def test_system_exit_on_the_home_loop_reaches_the_caller_and_spares_the_loop(facade) -> None:
    facade.open()

    async def leave(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit(3)

    real = facade.aio.store.list_accounts
    facade.aio.store.list_accounts = leave  # type: ignore[method-assign]

    async def app() -> None:
        await asyncio.wait_for(facade.aio.accounts(), WAIT)

    with pytest.raises(SystemExit):
        asyncio.run(app())
    facade.aio.store.list_accounts = real  # type: ignore[method-assign]
    assert facade.accounts() == []  # the background loop still runs


def test_system_exit_in_a_sync_call_reaches_the_caller_and_spares_the_loop(facade) -> None:
    facade.open()

    async def leave(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit(4)

    real = facade.aio.store.list_accounts
    facade.aio.store.list_accounts = leave  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        facade.accounts()
    facade.aio.store.list_accounts = real  # type: ignore[method-assign]
    assert facade.accounts() == []  # the background loop still runs


def test_run_from_another_loop_leaves_nothing_for_the_ended_home_loop(
    tmp_path, registry, caplog
) -> None:
    """Once run() returns, its stop relay is gone: a home loop closed right after gets no
    call (it used to get one, logged as 'Event loop is closed')."""
    home = asyncio.new_event_loop()
    thread = threading.Thread(target=home.run_forever, daemon=True)
    thread.start()
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp_path}/home.db", registry=registry, clock=ManualClock(START)
    )
    asyncio.run_coroutine_threadsafe(scheduler.open(), home).result(WAIT)

    async def other() -> int:
        stats = await scheduler.run(until_idle=True, stop=asyncio.Event())
        asyncio.run_coroutine_threadsafe(scheduler.close(), home).result(WAIT)
        home.call_soon_threadsafe(home.stop)
        thread.join(WAIT)  # blocking on purpose: no turn of this loop before the close
        home.close()
        for _ in range(5):  # turns of this loop, in which the relay's callback would run
            await asyncio.sleep(0)
        return stats.claimed

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(other()) == 0
    assert "Event loop is closed" not in caplog.text
