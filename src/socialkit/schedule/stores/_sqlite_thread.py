"""The one thread that owns a SQLite connection.

Every statement runs here, so a slow ``fsync`` never blocks an event loop or starves
lease heartbeats, and the connection is never shared between threads. While it is idle
the thread watches ``PRAGMA data_version`` (which changes when *another* connection
commits) and tells subscribers, so a worker sleeping until its next due time wakes
when another process adds something sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

__all__ = ["Checkpointer", "SqliteThread"]

T = TypeVar("T")
log = logging.getLogger("socialkit.store")

_Work = tuple["Callable[[sqlite3.Connection], Any]", "Future[Any]"]


class SqliteThread:
    """Runs functions ``fn(connection)`` one at a time on a dedicated thread.

    Args:
        connect: opens the connection (called on the thread).
        poll: seconds between ``data_version`` checks while someone is subscribed.
        name: the thread's name.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        poll: float,
        name: str,
        on_foreign_commit: Callable[[], None],
    ) -> None:
        self._connect = connect
        self._poll = poll
        self._on_foreign_commit = on_foreign_commit
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready: Future[None] = Future()
        self.watching = False
        self._version: int | None = None

    def start(self) -> None:
        """Start the thread and wait until the connection is open (re-raising its error)."""
        self._thread.start()
        self._ready.result()

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``fn``; its result (or exception) arrives in the returned future."""
        future: Future[T] = Future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the SQLite store is closed"))
            return future
        self._queue.put((fn, future))
        return future

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the thread and await its result.

        The result comes back with one ``call_soon_threadsafe`` (no intermediate
        :class:`concurrent.futures.Future`): a round trip is two thread wake-ups.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()

        def deliver(ok: bool, value: Any) -> None:
            if waiter.done():
                return
            if ok:
                waiter.set_result(value)
            else:
                waiter.set_exception(value)

        def call(conn: sqlite3.Connection) -> None:
            try:
                result = fn(conn)
            except BaseException as exc:
                loop.call_soon_threadsafe(deliver, False, exc)
            else:
                loop.call_soon_threadsafe(deliver, True, result)

        future = self.submit(call)
        if future.done():  # the thread is gone
            future.result()
        return await waiter

    def stop(self) -> None:
        """Finish queued work, close the connection and end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    # -- the thread -----------------------------------------------------------------------

    def _main(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        last_check = time.monotonic()
        try:
            while True:
                timeout = self._poll if self.watching else None
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    self._check_version(conn)
                    last_check = time.monotonic()
                    continue
                if item is None:
                    break
                fn, future = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(conn))
                    except BaseException as exc:
                        future.set_exception(exc)
                if self.watching and time.monotonic() - last_check >= self._poll:
                    self._check_version(conn)
                    last_check = time.monotonic()
        finally:
            with contextlib.suppress(Exception):
                conn.close()
            while True:
                try:
                    rest = self._queue.get_nowait()
                except queue.Empty:
                    break
                if rest is not None and rest[1].set_running_or_notify_cancel():
                    rest[1].set_exception(RuntimeError("the SQLite store is closed"))

    def _check_version(self, conn: sqlite3.Connection) -> None:
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        except Exception:  # a busy or closing database: try again next time
            log.debug("PRAGMA data_version failed", exc_info=True)
            return
        if self._version is not None and version != self._version:
            self._on_foreign_commit()
        self._version = version


class Checkpointer:
    """Copies the WAL into the database file from a connection and thread of its own.

    The writer connection runs with ``wal_autocheckpoint = 0``, so a commit never pays for
    a checkpoint's ``fsync`` (hundreds of milliseconds on a busy disk) while publishes
    wait behind it. Checkpoints here are ``PASSIVE``: they never block the writer.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: float) -> None:
        self._connect = connect
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="socialkit-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _main(self) -> None:
        try:
            conn = self._connect()
        except Exception:
            log.warning("the SQLite checkpointer could not connect", exc_info=True)
            return
        try:
            while not self._stop.wait(self._every):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except Exception:  # busy or closing: try again next time
                    log.debug("WAL checkpoint failed", exc_info=True)
            with contextlib.suppress(Exception):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            with contextlib.suppress(Exception):
                conn.close()
