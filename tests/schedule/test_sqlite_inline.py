"""Short calls marked ``inline`` on the SQLite store's thread: they run on the caller's
thread only when that thread is idle and nothing is queued, never overtake a queued
call, never wait for another process's lock on the event loop, and leave the
connection as they found it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from socialkit.models.content import Post
from socialkit.schedule.stores import _sqlite_dispatch, _sqlite_thread
from socialkit.schedule.stores._sqlite_thread import SqliteThread
from tests.schedule.conftest import START, account
from tests.schedule.store_contract import LEASE, T0, pub
from tests.schedule.test_store_sqlite import opened

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

BUSY_MS = 4000


def connector(path: Path, journal: str = "WAL") -> Any:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, v TEXT)")
        return conn

    return connect


@contextlib.asynccontextmanager
async def started(
    path: Path, *, journal: str = "WAL", inline_writes: bool = True
) -> AsyncIterator[SqliteThread]:
    """A store thread on ``path``, stopped on the way out."""
    worker = SqliteThread(
        connector(path, journal),
        poll=0.05,
        name="test-sqlite",
        on_foreign_commit=lambda: None,
        inline_writes=inline_writes,
    )
    worker.start()
    try:
        yield worker
    finally:
        await asyncio.to_thread(worker.stop)


@pytest.fixture
async def thread(tmp_path: Path) -> AsyncIterator[SqliteThread]:
    async with started(tmp_path / "t.db") as worker:
        yield worker


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[list[int]]:
    """Counts the event loop's turns while the block runs: the one-item list it yields
    holds that count once the block is done."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    start = ticks
    turns = [0]
    try:
        yield turns
    finally:
        task.cancel()
        turns[0] = ticks - start


def insert(value: str) -> Any:
    def fn(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        return threading.current_thread().name

    return fn


def values(conn: sqlite3.Connection) -> list[str]:
    return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY seq")]


async def test_an_idle_thread_lets_a_short_call_run_on_the_callers_thread(
    thread: SqliteThread,
) -> None:
    ran_on = await thread.write(insert("a"), inline=True)
    assert ran_on == threading.current_thread().name
    assert await thread.run(values, inline=True) == ["a"]
    assert thread.inline_calls == 2
    # unmarked calls still go to the thread
    assert await thread.write(insert("b")) == "test-sqlite"
    assert await thread.run(values) == ["a", "b"]
    assert thread.inline_calls == 2


async def test_a_call_queued_first_is_never_overtaken(thread: SqliteThread) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)
        conn.execute("INSERT INTO t (v) VALUES ('first')")

    first = asyncio.ensure_future(thread.write(slow))
    await asyncio.sleep(0)  # handed to the thread
    assert await asyncio.to_thread(started.wait, 5)
    second = asyncio.ensure_future(thread.write(insert("second"), inline=True))
    await asyncio.sleep(0.05)
    assert not second.done()  # queued behind the busy thread, not run inline
    release.set()
    await first
    assert await second == "test-sqlite"
    assert await thread.run(values) == ["first", "second"]
    assert thread.inline_calls == 0


async def test_a_call_queued_and_not_yet_started_is_never_overtaken(
    thread: SqliteThread,
) -> None:
    # The thread has not taken the first call yet when the second is made: the count
    # of queued calls, not the connection's lock, keeps the order.
    first = asyncio.ensure_future(thread.write(insert("first")))
    await asyncio.sleep(0)
    second = await thread.write(insert("second"), inline=True)
    await first
    assert await thread.run(values) == ["first", "second"]
    assert second == "test-sqlite"


async def test_another_processs_write_lock_is_waited_for_off_the_event_loop(
    thread: SqliteThread, tmp_path: Path
) -> None:
    other = sqlite3.connect(str(tmp_path / "t.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (v) VALUES ('other')")
    write = asyncio.ensure_future(thread.write(insert("mine"), inline=True))
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(10):  # the loop keeps running while the write waits
        await asyncio.sleep(0.01)
    # an inline attempt that waited for the lock would have held the loop for the
    # busy timeout (4 s), then failed
    assert loop.time() - start < BUSY_MS / 1000 / 2
    assert not write.done()
    other.execute("COMMIT")
    assert await write == "test-sqlite"
    assert await thread.run(values) == ["other", "mine"]
    assert thread.inline_calls == 0
    other.close()


async def test_a_read_on_the_thread_waits_for_a_lock_that_refuses_it(
    thread: SqliteThread,
) -> None:
    """The connection rests with no busy timeout; a read the thread runs that a lock
    refuses (in WAL, only while another connection recovers the file or restarts the
    log) runs again, waiting for it with the connection's busy timeout."""
    timeouts: list[int] = []

    def refused_once(conn: sqlite3.Connection) -> str:
        timeouts.append(int(conn.execute("PRAGMA busy_timeout").fetchone()[0]))
        if len(timeouts) == 1:
            raise sqlite3.OperationalError("database is locked")
        return "read"

    assert await thread.run(refused_once) == "read"
    assert timeouts == [0, BUSY_MS]

    def state(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])

    assert await thread.run(state) == 0  # back at rest
    # Any other error is the caller's, at once.
    timeouts.clear()

    def broken(conn: sqlite3.Connection) -> None:
        timeouts.append(1)
        raise sqlite3.OperationalError("no such table: nowhere")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await thread.run(broken)
    assert timeouts == [1]


async def test_a_failing_inline_write_is_rolled_back_and_the_connection_restored(
    thread: SqliteThread,
) -> None:
    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES ('half')")
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await thread.write(half, inline=True)

    def state(conn: sqlite3.Connection) -> tuple[bool, int, list[str]]:
        (ms,) = conn.execute("PRAGMA busy_timeout").fetchone()
        return conn.in_transaction, ms, values(conn)

    # The connection rests with no busy timeout, so an inline call never waits on the
    # loop; the thread's writes wait for another process's lock with the connection's.
    assert await thread.run(state) == (False, 0, [])
    assert await thread.run(state, inline=True) == (False, 0, [])

    def timeout(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])

    assert await thread.write(timeout) == BUSY_MS
    assert await thread.run(state) == (False, 0, [])
    await thread.write(insert("after"), inline=True)
    assert await thread.run(values) == ["after"]


async def test_inline_writes_are_not_offered_where_a_commit_waits_for_fsync(
    tmp_path: Path,
) -> None:
    async with started(tmp_path / "full.db", inline_writes=False) as worker:
        assert await worker.write(insert("a"), inline=True) == "test-sqlite"
        # reads still may
        assert await worker.run(values, inline=True) == ["a"]
        assert worker.inline_calls == 1


async def test_inline_writes_are_not_offered_outside_wal(tmp_path: Path) -> None:
    # With a rollback journal a commit waits for other connections' readers: that wait
    # must not happen on the event loop.
    async with started(tmp_path / "delete.db", journal="DELETE") as worker:
        assert await worker.write(insert("a"), inline=True) == "test-sqlite"
        assert worker.inline_calls == 0


@pytest.fixture
def turn_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline calls let the loop turn after each call (not once per millisecond)."""
    monkeypatch.setattr(_sqlite_thread, "_TURN_EVERY", 0.0)


@pytest.mark.usefixtures("turn_every_call")
async def test_failing_inline_calls_still_let_other_tasks_run(thread: SqliteThread) -> None:
    def missing(conn: sqlite3.Connection) -> None:
        raise LookupError("no such row")

    async with ticking() as turns:
        for _ in range(50):
            with pytest.raises(LookupError):
                await thread.run(missing, inline=True)
            with pytest.raises(LookupError):
                await thread.write(missing, inline=True)
    assert turns[0] >= 100


async def test_an_interrupted_inline_write_leaves_no_transaction_open(
    thread: SqliteThread,
) -> None:
    def interrupted(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES ('half')")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await thread.write(interrupted, inline=True)

    def state(conn: sqlite3.Connection) -> tuple[bool, int]:
        (ms,) = conn.execute("PRAGMA busy_timeout").fetchone()
        return conn.in_transaction, ms

    # At rest the connection has no busy timeout (the thread waits with its own).
    assert await thread.run(state) == (False, 0)
    assert await thread.write(insert("next")) == "test-sqlite"
    assert await thread.run(values) == ["next"]


@pytest.mark.usefixtures("turn_every_call")
async def test_a_caller_looping_on_inline_calls_still_lets_other_tasks_run(
    thread: SqliteThread,
) -> None:
    async with ticking() as turns:
        for i in range(50):
            await thread.write(insert(f"v{i}"), inline=True)
    assert thread.inline_calls == 50
    assert turns[0] >= 50


async def test_inline_calls_let_the_loop_turn_once_they_have_kept_it_a_millisecond(
    thread: SqliteThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(conn: sqlite3.Connection) -> None:
        time.sleep(_sqlite_thread._TURN_EVERY)  # each call keeps the loop that long

    async with ticking() as turns:
        for _ in range(20):
            await thread.run(slow, inline=True)
    assert thread.inline_calls == 20
    assert turns[0] >= 20
    # Quick calls share a turn: none here, within an hour.
    monkeypatch.setattr(_sqlite_thread, "_TURN_EVERY", 3600.0)
    async with ticking() as turns:
        for i in range(50):
            await thread.write(insert(f"q{i}"), inline=True)
    assert thread.inline_calls == 70
    assert turns[0] <= 1


async def test_a_closed_thread_refuses_inline_calls(tmp_path: Path) -> None:
    async with started(tmp_path / "c.db") as worker:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await worker.write(insert("late"), inline=True)
    with pytest.raises(RuntimeError, match="closed"):
        await worker.run(values, inline=True)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_the_sqlite_store_runs_a_users_single_calls_inline(
    make_scheduler: Any, platform: Any
) -> None:
    platform("fake")
    scheduler = await make_scheduler()
    await scheduler.add_account(account("a1"))
    store = (await scheduler._s()).store
    worker = store._thread
    before = worker.inline_calls
    (pub,) = await scheduler.schedule(Post(text="hello"), ["a1"], at=START + dt.timedelta(days=1))
    assert worker.inline_calls > before
    before = worker.inline_calls
    await scheduler.cancel(pub.id, actor="ana", reason="not now")
    got = await scheduler.get(pub.id, history=True)
    assert worker.inline_calls >= before + 2
    assert got.state.value == "cancelled"
    last = got.history[-1]
    assert (last.to_state, last.actor, last.reason) == (got.state, "ana", "not now")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_the_sqlite_store_dispatches_inline_while_its_thread_is_idle(
    make_scheduler: Any, platform: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's claim, its start and its receipt each hand a batch to the store: with
    # the thread idle, they run on the worker's own thread, without two thread hand-offs
    # (and the GIL passed back and forth) per batch.
    server = platform("fake")
    scheduler = await make_scheduler()
    await scheduler.add_account(account("a1"))
    ran: list[str] = []
    run_inline = SqliteThread._run_inline

    def noted(self: SqliteThread, conn: Any, fn: Any, *, write: bool) -> Any:
        value = run_inline(self, conn, fn, write=write)
        if value is not _sqlite_thread._QUEUED:
            ran.append(fn.__qualname__.split(".<locals>")[0])
        return value

    monkeypatch.setattr(SqliteThread, "_run_inline", noted)
    (pub,) = await scheduler.schedule(Post(text="hello"), ["a1"], at=START)
    await scheduler.run(until_idle=True)
    assert len(server.posts) == 1
    assert (await scheduler.get(pub.id)).state.value == "published"
    for call in ("SqliteStore.claim", "SqliteStore.mark_publishing", "SqliteStore.record_receipts"):
        assert call in ran


async def test_a_claim_that_must_sweep_expired_leases_runs_on_the_stores_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crashed worker's expired leases are handed back one statement each: thousands of
    # them would keep the event loop, so that claim leaves it for the store's thread.
    swept_on: list[str] = []
    sweep = _sqlite_dispatch.sweep

    def noted(*args: Any) -> None:
        swept_on.append(threading.current_thread().name)
        sweep(*args)

    monkeypatch.setattr(_sqlite_dispatch, "sweep", noted)
    async with opened(tmp_path / "sweep.db") as store:
        await store.add([pub("a"), pub("b")], now=T0)
        lost = await store.claim("crashed", now=T0, limit=1, lease=LEASE)
        assert swept_on == []
        later = T0 + 2 * LEASE
        worker = store._thread
        assert worker is not None
        before = worker.inline_calls
        claims = await store.claim("w", now=later, limit=5, lease=LEASE)
        assert {c.id for c in claims} >= {c.id for c in lost}  # handed back, claimed again
        assert len(swept_on) == 1
        assert swept_on[0] != threading.current_thread().name
        assert worker.inline_calls == before  # tried inline, rolled back, run on the thread
        # Without expired leases the next claim runs inline again. (The add before it may
        # run inline too: count only the claim.)
        new = pub("c")
        await store.add([new], now=later)
        before = worker.inline_calls
        again = await store.claim("w2", now=later, limit=5, lease=LEASE)
        assert [c.id for c in again] == [new.id]
        assert len(swept_on) == 1
        assert worker.inline_calls == before + 1
