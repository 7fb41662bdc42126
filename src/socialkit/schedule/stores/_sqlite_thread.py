"""The one thread that owns a SQLite connection.

Statements run here, so a slow ``fsync`` never blocks an event loop or starves lease
heartbeats. The one exception is a call marked ``inline`` (a user's single schedule,
approve or get; a worker's claim, start or receipt batch) made while the thread is idle
and nothing is queued: it runs at once on the caller's thread, under the same lock,
without the two thread hand-offs that would cost more than the call itself (and, for a
worker's batches, without the GIL passed back and forth between the event loop and the
thread). It never waits for a lock held by another process (it goes through the queue
instead), and inline writes are offered only where a commit does not ``fsync``
(``synchronous=NORMAL`` in WAL). While it is idle the thread
watches ``PRAGMA data_version`` (which changes when *another* connection commits) and
tells subscribers, so a worker sleeping until its next due time wakes when another
process adds something sooner.

Neither thread keeps its store alive: the store stops them when it is collected unclosed
(``stop(wait=False)`` signals without waiting, so it is safe from any thread). A
connection is used only by the process that opened it; after a fork the child's copy is
left alone, never used or even closed there (SQLite: that can corrupt the database).

Nor may a child open a connection of its own on a file its parent had open when it
forked (:func:`inherited_by_fork` says which process did): SQLite keeps one record per
process of each file's open connections and the locks they hold, and the child inherits
the parent's. Its new connection then counts the parent's locks as its own and takes no
lock of its own (a POSIX lock is per process, and the parent's are not the child's), so
the parent's last connection, seeing none, checkpoints and deletes the WAL on close, and
what the child commits afterwards into the deleted file is lost; the parent's write lock,
inherited as held, can also leave the child waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Checkpointer",
    "RunOnThread",
    "SqliteThread",
    "TrackedConnection",
    "inherited_by_fork",
    "running_inline",
]

T = TypeVar("T")
log = logging.getLogger("socialkit.store")

# The most writes one transaction carries: enough to share a commit among everything a
# busy engine queues while the previous commit runs, few enough that the first caller
# of a group is not kept waiting long.
_GROUP_MAX = 64
# Inline calls let their event loop run other tasks once they have kept it this long
# (seconds) since they last did.
_TURN_EVERY = 0.001
# Store threads a forked child inherited and stopped: kept here so that their connections
# are never closed by the child, whose copy of them SQLite forbids it to touch.
_INHERITED: list[SqliteThread] = []
# The database files of this process's open TrackedConnections: for each, the process
# that opened it, the file's resolved path and its (device, inode) (None until it
# exists). An entry is added before connecting and removed once closed, by that process
# only: a forked child keeps its parent's, since it never closes what it inherited.
# (Single dict operations, atomic under the GIL: no lock, which a fork could leave held.)
_FILES: dict[object, tuple[int, str, tuple[int, int] | None]] = {}


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def inherited_by_fork(path: str) -> int | None:
    """The process that had ``path`` open when it forked this one (or an ancestor of it),
    through a :class:`TrackedConnection` this process inherited; ``None`` when none did.

    SQLite tells files apart by device and inode, as this does (and by resolved path,
    for a connection that was still opening when the fork happened).
    """
    me = os.getpid()
    real = os.path.realpath(path)
    file_id = _file_id(path)
    for pid, where, opened in _FILES.copy().values():
        if pid != me and (where == real or (file_id is not None and opened == file_id)):
            return pid
    return None


class TrackedConnection(sqlite3.Connection):
    """A connection that records its file while it is open (:func:`inherited_by_fork`).

    Pass it as ``sqlite3.connect(..., factory=TrackedConnection)``.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        self._token: object | None = None
        self._pid = os.getpid()
        name = os.fspath(database)
        if name and name != ":memory:":
            token = object()
            real = os.path.realpath(name)
            # Recorded before connecting (a fork meanwhile must see it), by path until
            # the file exists; again once connected, with its device and inode.
            _FILES[token] = (self._pid, real, _file_id(real))
            try:
                super().__init__(database, *args, **kwargs)
            except BaseException:
                _FILES.pop(token, None)
                raise
            _FILES[token] = (self._pid, real, _file_id(real))
            self._token = token
        else:
            super().__init__(database, *args, **kwargs)

    def close(self) -> None:
        super().close()
        if self._token is not None and os.getpid() == self._pid:
            _FILES.pop(self._token, None)
            self._token = None

    def __del__(self) -> None:
        # Collected unclosed (SQLite closes it): in the process that opened it only.
        if self._token is not None and os.getpid() == self._pid:
            _FILES.pop(self._token, None)


class RunOnThread(Exception):
    """Raised by a function running inline (:func:`running_inline`) that has found more
    work than belongs on an event loop (a claim that must first sweep expired leases, one
    row at a time): what it wrote is rolled back, and it runs again from its start on
    the store's thread."""


_INLINE = threading.local()


def running_inline() -> bool:
    """Whether the calling code runs inline: on its caller's thread (an event loop's),
    not on the store's thread."""
    return bool(getattr(_INLINE, "on", False))


class _Call:
    """One queued function and where its outcome goes."""

    __slots__ = ("fn", "loop", "waiter", "write")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], Any],
        loop: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[Any],
        write: bool,
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.waiter = waiter
        self.write = write


class _Wake:
    """Queued to wake an idle thread that waits without a timeout: someone subscribed,
    so it starts checking ``data_version`` (no caller's call may come through the queue
    to wake it, when every one runs inline)."""

    __slots__ = ()


_WAKE = _Wake()
_Outcome = tuple[_Call, bool, Any]
# The connection's busy timeout at rest: none (see SqliteThread._run_inline).
_NO_WAIT = "PRAGMA busy_timeout = 0"
# What an inline attempt returns when it did not run the call (the queue takes it).
_QUEUED: Any = object()


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` says another connection holds a lock this one needs."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - Python builds without the attribute
        return "locked" in str(exc) or "busy" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve waiters on their loop (called there)."""
    for call, ok, value in outcomes:
        if call.waiter.done():  # the caller gave up waiting (cancelled)
            continue
        if ok:
            call.waiter.set_result(value)
        else:
            call.waiter.set_exception(value)


def _deliver(outcomes: list[_Outcome]) -> None:
    """Hand outcomes back: one ``call_soon_threadsafe`` per event loop, not per call."""
    if not outcomes:
        return
    first = outcomes[0][0].loop
    if all(call.loop is first for call, _, _ in outcomes):
        by_loop = {first: outcomes}
    else:
        by_loop = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, items)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")


class SqliteThread:
    """Runs functions ``fn(connection)`` one at a time on a dedicated thread.

    Writes (:meth:`write`) run in ``BEGIN IMMEDIATE`` transactions, and writes that are
    queued together share one: each runs inside a savepoint of its own (so one that
    fails rolls back alone) and every caller's result is delivered only after the
    ``COMMIT`` that holds its changes (group commit). Results return to the event loop
    in one batch per group.

    Args:
        connect: opens the connection (called on the thread, once; not kept after).
        poll: seconds between ``data_version`` checks while someone is subscribed.
        name: the thread's name.
        inline_writes: whether a write marked ``inline`` may run on the caller's thread
            (only where its commit does not ``fsync``; and only in WAL mode, checked once
            connected, where a write never waits for readers); reads marked ``inline``
            always may.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        poll: float,
        name: str,
        on_foreign_commit: Callable[[], None],
        inline_writes: bool = False,
    ) -> None:
        self._connect: Callable[[], sqlite3.Connection] | None = connect
        self._poll = poll
        self._on_foreign_commit = on_foreign_commit
        self._queue: queue.SimpleQueue[_Call | _Wake | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready: Future[None] = Future()
        self._closed = False
        self._watching = False
        self._version: int | None = None
        self._inline_writes = inline_writes
        # The connection's own busy timeout (read once connected), which the thread's
        # calls wait with; the connection rests without one (inline calls never wait).
        self._wait_timeout = ""
        # The connection, for inline calls; ``_using`` is held by whoever runs
        # statements on it (the thread, or an inline caller).
        self._conn: sqlite3.Connection | None = None
        self._using = threading.Lock()
        # Calls queued and not yet finished (guarded by ``_mutex``): an inline call runs
        # only when there are none, so it never overtakes one queued before it.
        self._mutex = threading.Lock()
        self._pending = 0
        self.inline_calls = 0  # how many calls ran inline (for tests and diagnostics)
        self._turned = 0.0  # when an inline call last let the event loop turn
        self.pid = os.getpid()  # the process that opened it, the only one that may use it

    @property
    def watching(self) -> bool:
        """Whether the thread checks ``data_version`` while idle (someone is subscribed)."""
        return self._watching

    def watch(self, on: bool) -> None:
        """Check ``data_version`` while idle (``on``), or stop checking; a thread waiting
        for its next call is woken to start at once."""
        was, self._watching = self._watching, on
        if on and not was and not self._closed:
            self._queue.put(_WAKE)

    @property
    def forked(self) -> bool:
        """Whether this is a forked child of the process that opened the connection."""
        return os.getpid() != self.pid

    def start(self) -> None:
        """Start the thread and wait until the connection is open (re-raising its error)."""
        self._thread.start()
        self._ready.result()

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        """Run ``fn`` on the thread (outside any transaction) and await its result.

        With ``inline``, ``fn`` (a short read) runs at once on this thread when the
        connection is idle and nothing is queued (see the module's docstring).
        """
        if inline:
            value = await self._try_inline(fn, write=False)
            if value is not _QUEUED:
                return cast("T", value)
        return await self._call(fn, write=False)

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        """Run ``fn`` in a write transaction; its result arrives once it is committed.

        With ``inline``, a short write may run at once on this thread, as :meth:`run`.
        """
        if inline and self._inline_writes:
            value = await self._try_inline(fn, write=True)
            if value is not _QUEUED:
                return cast("T", value)
        return await self._call(fn, write=True)

    async def _call(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        with self._mutex:  # not queued after the thread has drained its queue at close
            if self._closed or not self._thread.is_alive():
                raise RuntimeError("the SQLite store is closed")
            self._pending += 1
            self._queue.put(_Call(fn, loop, waiter, write))
        return await waiter

    async def _try_inline(self, fn: Callable[[sqlite3.Connection], Any], *, write: bool) -> Any:
        """:meth:`_inline`, then a turn of the event loop whether it ran, failed or not,
        once inline calls have kept it for :data:`_TURN_EVERY`: a caller looping over
        inline calls still lets other tasks run (at least that often)."""
        try:
            value = self._inline(fn, write=write)
        except Exception:
            await self._turn()
            raise
        if value is not _QUEUED:
            await self._turn()
        return value

    async def _turn(self) -> None:
        # A turn of the loop after every call is a poll of the selector per call; once
        # per _TURN_EVERY bounds how long other tasks wait just as well.
        if time.monotonic() - self._turned >= _TURN_EVERY:
            await asyncio.sleep(0)
            self._turned = time.monotonic()

    def _inline(self, fn: Callable[[sqlite3.Connection], Any], *, write: bool) -> Any:
        """Run ``fn`` here and now, or return ``_QUEUED`` when it must be queued: the
        thread is busy, something is queued, or another connection holds a lock."""
        acquired = False
        try:
            with self._mutex:
                conn = self._conn
                if self._pending or self._closed or conn is None:
                    return _QUEUED
                acquired = self._using.acquire(blocking=False)
                if not acquired:
                    return _QUEUED
            value = self._run_inline(conn, fn, write=write)
            if value is not _QUEUED:
                self.inline_calls += 1
            return value
        finally:
            if acquired:
                self._using.release()

    def _run_inline(
        self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any], *, write: bool
    ) -> Any:
        # The connection rests with no busy timeout (the thread sets one around its own
        # calls), so a lock held by another connection fails at once instead of waiting
        # on the caller's event loop, and the call goes to the thread, which waits. The
        # call then runs again from its start there, as a write retried after a busy
        # database does. Whatever happens (an interrupt included), no transaction is left
        # open.
        _INLINE.on = True
        try:
            if not write:
                return fn(conn)
            conn.execute("BEGIN IMMEDIATE")
            value = fn(conn)
            conn.execute("COMMIT")
            return value
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            return _QUEUED
        except RunOnThread:
            return _QUEUED
        finally:
            _INLINE.on = False
            if conn.in_transaction:
                _rollback(conn)

    def _finished(self, count: int) -> None:
        with self._mutex:
            self._pending -= count

    def stop(self, *, wait: bool = True) -> None:
        """Finish queued work, close the connection and end the thread.

        Args:
            wait: wait for the thread to end. Without, this only signals it, which is safe
                from any thread and at any point (a finalizer's).
        """
        self._closed = True
        if self.forked:
            # The thread did not survive the fork; the connection is the parent's.
            _INHERITED.append(self)
            return
        if self._thread.is_alive():
            self._queue.put(None)  # a SimpleQueue's put is safe even from a finalizer
            if wait:
                self._thread.join()

    # -- the thread -----------------------------------------------------------------------

    def _main(self) -> None:
        # ``connect`` may hold the store (a bound method), which this thread must not keep
        # alive: it is used once and dropped.
        connect, self._connect = self._connect, None
        assert connect is not None, "a SqliteThread starts once"
        try:
            conn = connect()
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        del connect
        # The baseline is taken now: a commit by another process between opening and
        # the first check is then noticed by that check (a worker just started would
        # otherwise sleep through the first post a web process schedules).
        self._check_version(conn)
        try:
            (busy,) = conn.execute("PRAGMA busy_timeout").fetchone()
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        except BaseException as exc:
            conn.close()
            self._ready.set_exception(exc)
            return
        self._wait_timeout = f"PRAGMA busy_timeout = {int(busy)}"
        try:
            conn.execute(_NO_WAIT)  # at rest; see _run_inline
        except BaseException as exc:
            conn.close()
            self._ready.set_exception(exc)
            return
        # Outside WAL a commit waits for readers (and syncs): never on the caller's loop.
        self._inline_writes = self._inline_writes and str(mode).lower() == "wal"
        self._conn = conn
        self._ready.set_result(None)
        last_check = time.monotonic()
        # A read (or the stop signal) taken from the queue while gathering writes runs
        # after their commit.
        held: list[_Call | None] = []
        item: _Call | _Wake | None
        try:
            while True:
                if held:
                    item = held.pop()
                else:
                    timeout = self._poll if self.watching else None
                    try:
                        item = self._queue.get(timeout=timeout)
                    except queue.Empty:
                        with self._using:
                            self._check_version(conn)
                        last_check = time.monotonic()
                        continue
                if item is None:
                    break
                if isinstance(item, _Wake):
                    continue  # the wait's timeout is worked out again
                self._serve(conn, item, held)
                # Nothing of a finished call stays referenced while the thread waits: an
                # error's traceback can reach its caller's frames, and so the store.
                item = None
                if self.watching and time.monotonic() - last_check >= self._poll:
                    with self._using:
                        self._check_version(conn)
                    last_check = time.monotonic()
        finally:
            with self._mutex:
                self._closed = True
            with self._using:
                self._conn = None
                with contextlib.suppress(Exception):
                    conn.close()
            closed = RuntimeError("the SQLite store is closed")
            rest: list[_Outcome] = [(c, False, closed) for c in held if c is not None]
            while True:
                try:
                    leftover = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(leftover, _Call):
                    rest.append((leftover, False, closed))
            _deliver(rest)

    def _serve(self, conn: sqlite3.Connection, item: _Call, held: list[_Call | None]) -> None:
        """Run ``item`` (with the writes queued behind it, when it is one) and deliver.

        Every call taken from the queue hears an outcome whatever fails: an error outside
        the calls themselves (building the group, say) is each one's error, and the
        thread goes on serving (it ends only on a ``BaseException`` that is not an
        ``Exception``, after telling them).
        """
        taken = [item]
        counted = False
        try:
            if item.write:
                while len(taken) < _GROUP_MAX:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(nxt, _Wake):
                        continue  # awake already
                    if nxt is None or not nxt.write:
                        held.append(nxt)
                        break
                    taken.append(nxt)
                with self._using:
                    outcomes = self._write_group(conn, taken)
            else:
                with self._using:
                    try:
                        outcome: _Outcome = (item, True, self._read(conn, item.fn))
                    except BaseException as exc:
                        outcome = (item, False, exc)
                outcomes = [outcome]
            counted = True
            self._finished(len(taken))
            _deliver(outcomes)
        except BaseException as exc:
            if not counted:
                self._finished(len(taken))
            # A waiter already settled is left as it is (``_settle``): tell every one.
            _deliver([(call, False, exc) for call in taken])
            if not isinstance(exc, Exception):
                raise
            log.error("the SQLite store's thread failed %d call(s)", len(taken), exc_info=True)

    def _read(self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """``fn`` (a read), at once; when another connection's lock refuses it (in WAL,
        only while one recovers the file or restarts the log), again, waiting for it up
        to the busy timeout."""
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        _rollback(conn)
        conn.execute(self._wait_timeout)
        try:
            return fn(conn)
        finally:
            conn.execute(_NO_WAIT)

    def _write_group(self, conn: sqlite3.Connection, group: list[_Call]) -> list[_Outcome]:
        """Run writes in one transaction; every outcome is final (committed or failed).

        A call that makes SQLite roll the whole transaction back (a full disk, say) fails
        alone: the calls before it lost their writes with it, so they run again, with the
        calls after it, in a new transaction without it. Each such round leaves one call
        out, so it ends. They wait for another process's write lock up to the busy
        timeout (the connection rests without one).
        """
        settled: list[_Outcome] = []
        conn.execute(self._wait_timeout)
        try:
            while group:
                outcomes, group = self._try_group(conn, group)
                settled.extend(outcomes)
        finally:
            conn.execute(_NO_WAIT)
        return settled

    def _try_group(
        self, conn: sqlite3.Connection, group: list[_Call]
    ) -> tuple[list[_Outcome], list[_Call]]:
        """One transaction of ``group``: the final outcomes, and the calls to run again
        (those a rollback of the whole transaction undid, the call that caused it left
        out)."""
        _rollback(conn)  # none is open, unless an interrupted call left one
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            return [(call, False, exc) for call in group], []
        if len(group) == 1:
            (call,) = group
            try:
                value = call.fn(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                return [(call, False, exc)], []
            return [(call, True, value)], []
        outcomes: list[_Outcome] = []
        try:
            for index, call in enumerate(group):
                conn.execute("SAVEPOINT socialkit_call")
                try:
                    value = call.fn(conn)
                except BaseException as exc:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back: only this call
                        # failed. What the calls before it wrote is gone too, so they run
                        # again (a call that failed in its own savepoint keeps its error).
                        failed = [outcome for outcome in outcomes if not outcome[1]]
                        undone = [c for c, ok, _ in outcomes if ok]
                        return [*failed, (call, False, exc)], [*undone, *group[index + 1 :]]
                    conn.execute("ROLLBACK TO socialkit_call")
                    conn.execute("RELEASE socialkit_call")
                    outcomes.append((call, False, exc))
                else:
                    conn.execute("RELEASE socialkit_call")
                    outcomes.append((call, True, value))
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(conn)
            return [(call, False, exc) for call in group], []
        return outcomes, []

    def _check_version(self, conn: sqlite3.Connection) -> None:
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        except Exception:  # a busy or closing database: try again next time
            log.debug("PRAGMA data_version failed", exc_info=True)
            return
        if self._version is not None and version != self._version:
            self._on_foreign_commit()
        self._version = version


# A WAL of this many frames (16 MiB of 4 KiB pages) is started over from the front. A
# PASSIVE checkpoint only copies what was committed before it began, so under a writer
# that keeps committing it never catches up and the WAL is never restarted: it grows by
# every commit (a gigabyte per 20,000 publications added one at a time), each commit
# writes into new file space, and adding one at a time slows to half its rate.
RESTART_FRAMES = 4096
# How long a RESTART may wait for the current write, and for readers of older
# snapshots, while it holds new writes back; one that gives up is tried again later.
_RESTART_WAIT_MS = 50


class Checkpointer:
    """Copies the WAL into the database file from a connection and thread of its own.

    The writer connection runs with ``wal_autocheckpoint = 0``, so a commit never pays for
    a checkpoint's ``fsync`` (hundreds of milliseconds on a busy disk) while publishes
    wait behind it. Checkpoints here are ``PASSIVE``: they never block the writer. Only
    when the WAL has grown past :data:`RESTART_FRAMES` does a ``RESTART`` follow (the
    bulk is already copied, so it holds writes back only for the last commits' frames
    and an ``fsync``, at most ``_RESTART_WAIT_MS`` for a reader), after which the next
    commit writes the WAL from its start again; checkpoints then come five times as
    often until the WAL stays short.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: float) -> None:
        self._connect = connect
        self._every = every
        # The stop signal: a SimpleQueue, whose put (unlike an Event's set) is safe from a
        # finalizer that runs on this very thread while it is inside a wait.
        self._stop: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._main, name="socialkit-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        """Take a last PASSIVE checkpoint, close the connection and end the thread.

        Args:
            wait: wait for the thread to end (see :meth:`SqliteThread.stop`).
        """
        if not self._stopped:
            self._stopped = True
            self._stop.put(None)
        if wait and self._thread.is_alive():
            self._thread.join()

    def _wait(self, seconds: float) -> bool:
        """Wait ``seconds``; whether it was told to stop meanwhile."""
        try:
            self._stop.get(timeout=seconds)
        except queue.Empty:
            return False
        return True

    @staticmethod
    def checkpoint(conn: sqlite3.Connection, *, restart_frames: int = RESTART_FRAMES) -> bool:
        """One pass: a PASSIVE checkpoint, and a RESTART when the WAL is that long.

        Returns whether a RESTART completed (the next commit starts the WAL over).
        """
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames < restart_frames:
            return False
        (wait_ms,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {_RESTART_WAIT_MS}")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        return not busy

    def _main(self) -> None:
        try:
            conn = self._connect()
        except Exception:
            log.warning("the SQLite checkpointer could not connect", exc_info=True)
            return
        try:
            wait = self._every
            while not self._wait(wait):
                wait = self._every
                try:
                    if self.checkpoint(conn):
                        wait = self._every / 5  # heavy writes: look again sooner
                except Exception:  # busy or closing: try again next time
                    log.debug("WAL checkpoint failed", exc_info=True)
            with contextlib.suppress(Exception):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            with contextlib.suppress(Exception):
                conn.close()
