"""Embedding the scheduler in an application: a worker that outlives a database lock,
an adapter bug that reaches the log, start()/stop() from many threads or from a hook,
and serve() that leaves the application's own signal handlers working."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sqlite3
import threading
from typing import Any

import pytest

from socialkit.models.content import Post
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.facade import Scheduler
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")


async def test_a_serving_worker_outlives_an_error_that_is_not_ours(
    make_scheduler, platform, caplog
) -> None:
    """SQLite's "database is locked" (another process held the write lock past the busy
    timeout) is not a socialkit error: the worker says so, with its traceback, and goes on."""
    server = platform()
    scheduler = await make_scheduler(engine={"idle_poll": dt.timedelta(milliseconds=20)})
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    real_claim = scheduler.store.claim
    failures = [sqlite3.OperationalError("database is locked")]

    async def locked_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_claim(*args, **kwargs)

    scheduler.store.claim = locked_once  # type: ignore[method-assign]
    stop = asyncio.Event()
    server.on_publish = lambda call: stop.set()
    await asyncio.wait_for(scheduler.run(stop=stop), 30)  # a bound, not a measurement
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    [record] = [r for r in caplog.records if "the store failed" in r.getMessage()]
    assert "OperationalError: database is locked" in record.getMessage()
    assert record.exc_info is not None


async def test_an_adapter_bug_is_logged_with_its_traceback(
    make_scheduler, platform, caplog
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(RuntimeError("adapter exploded"))
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN
    [record] = [r for r in caplog.records if "adapter exploded" in str(r.exc_info)]
    assert f"publication {pub.id}: fake.publish raised RuntimeError" in record.getMessage()


@pytest.fixture
def facade(tmp_path, registry) -> Any:
    scheduler = Scheduler(
        f"sqlite:///{tmp_path}/embed.db",
        registry=registry,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="w1"),
    )
    yield scheduler
    scheduler.close()


def test_start_from_many_threads_at_once_runs_one_worker(facade, platform) -> None:
    platform()
    facade.open()
    runs: list[int] = []
    real_run = facade.aio.run

    def counted_run(**kwargs: Any) -> Any:
        runs.append(1)
        return real_run(**kwargs)

    facade.aio.run = counted_run  # type: ignore[method-assign]
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        facade.start()

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 1  # one worker was started, not one per thread
    assert facade.stop(timeout=30) is not None
    assert facade._worker is None


def test_stop_from_a_hook_on_socialkit_s_own_loop_does_not_hang(facade, platform) -> None:
    server = platform()
    facade.add_account(account())
    stopped: list[Any] = []
    server.on_publish = lambda call: stopped.append(facade.stop())
    facade.start()
    facade.schedule(POST, "acme", at=dt.datetime.now(dt.UTC))
    worker = facade._worker
    assert worker is not None
    worker.result(timeout=30)  # ends: the stop asked from the loop was heard
    assert stopped == [None]
    assert facade.list(state="published").items  # and the publish it was in finished


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
async def test_serve_keeps_the_app_s_signal_handler_and_gives_it_back(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    heard: list[int] = []

    def app_handler(sig: int, frame: Any) -> None:
        heard.append(sig)

    before = signal.signal(signal.SIGTERM, app_handler)
    try:
        task = asyncio.create_task(scheduler.serve())
        await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 30)  # the worker stopped on the signal
        assert heard == [signal.SIGTERM]  # and the app heard it too
        assert signal.getsignal(signal.SIGTERM) is app_handler  # back in place
    finally:
        signal.signal(signal.SIGTERM, before)


EXITING = r"""
import asyncio, datetime as dt, sys, threading
from socialkit import (Account, Capabilities, EngineConfig, Idempotency,
    MemoryCredentialProvider, Platform, Post, PostRef, Receipt, Registry, Scheduler)
from socialkit.text.rules import FEED

started = threading.Event()


class Slow(Platform):
    name = "slow"
    contract = 1
    capabilities = Capabilities(text=FEED, idempotency=Idempotency.KEY)

    async def publish(self, draft, ctx):
        started.set()
        await asyncio.sleep(0.5)  # in flight when the script ends
        return Receipt(platform=self.name, account_id=ctx.account.id,
                       parts=(PostRef(id=ctx.publication_id),), published_at=ctx.now())


registry = Registry(load_entry_points=False)
registry.register(Slow)
scheduler = Scheduler(sys.argv[1], registry=registry,
                      credentials=MemoryCredentialProvider({}), config=EngineConfig(worker_id="w"))
scheduler.schedule(Post(text="late"), Account(id="a", platform="slow", handle="a"),
                   at=dt.datetime.now(dt.UTC))
scheduler.start()
assert started.wait(30)
print("IN FLIGHT", flush=True)
# the script ends here: no stop(), no close()
"""


@pytest.mark.skipif(os.name != "posix", reason="runs a script in a subprocess")
def test_a_publish_in_flight_when_the_script_ends_finishes(tmp_path) -> None:
    import subprocess
    import sys

    script = tmp_path / "app.py"
    script.write_text(EXITING)
    url = f"sqlite:///{tmp_path}/exit.db"
    done = subprocess.run(
        [sys.executable, str(script), url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "IN FLIGHT" in done.stdout
    conn = sqlite3.connect(tmp_path / "exit.db")
    assert conn.execute("SELECT state FROM publications").fetchall() == [("published",)]
