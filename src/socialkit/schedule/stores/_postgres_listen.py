"""Background duties of a PostgreSQL store: hearing other workers, and showing liveness.

* :class:`Listener` keeps one connection in ``LISTEN`` on the schema's channel. A
  ``NOTIFY`` is only a hint that something may be due sooner (its payload is the earliest
  new due time, when known); workers still poll ``next_due``, so a lost notification or a
  dropped connection costs latency, never correctness. After reconnecting, the listener
  wakes everyone once, since notifications may have been missed meanwhile.
* :class:`Liveness` writes a beat for each worker this process runs (``workers`` table)
  and re-reads the schema version, so a worker stops claiming once a migration it is not
  compatible with lands (a rolling deploy that went too far).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import select
import socket
from typing import TYPE_CHECKING, Any

from socialkit.schedule.stores._postgres_url import one_line

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ["Listener", "Liveness", "closed_by_server", "parse_payload", "pooled"]

log = logging.getLogger("socialkit.store")


def parse_payload(payload: str) -> dt.datetime | None:
    """The due time a ``NOTIFY`` carries, or ``None`` when it carries none."""
    if not payload:
        return None
    try:
        value = dt.datetime.fromisoformat(payload)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def closed_by_server(conn: AsyncConnection[Any]) -> bool:
    """Whether the server has closed (or is closing) this idle pool connection, found
    without a round trip.

    A backend ended by ``pg_terminate_backend``, an idle-session timeout or a server
    shutdown sends its last message (``FATAL``) and closes the socket; the client only
    notices at its next statement, which then fails. An idle connection that neither
    ``LISTEN`` s nor waits for an answer is sent nothing else, so anything waiting on its
    socket means it is going: it is not used (at worst, a connection is opened anew).
    """
    from psycopg.pq import ConnStatus, TransactionStatus

    pgconn = conn.pgconn
    if conn.closed or pgconn.status != ConnStatus.OK:
        return True
    if pgconn.transaction_status != TransactionStatus.IDLE:
        return False  # not an idle connection: the pool will roll it back or drop it
    try:
        if hasattr(select, "poll"):  # no descriptor limit, unlike select()
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([pgconn.socket], [], [], 0)  # Windows
        return bool(readable)
    except (OSError, ValueError):
        return True


@contextlib.asynccontextmanager
async def pooled(pool: AsyncConnectionPool[Any]) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from ``pool`` the server has not closed.

    psycopg's pool hands out idle connections unchecked, so after the server ended them
    (an operator's ``pg_terminate_backend``, a restart) every one would fail its next
    statement, each a store error in the worker. A connection found closed is handed
    back (the pool discards it and opens another) and the next one is taken; after as
    many tries as the pool has connections, the pool only holds new ones.
    """
    conn = await pool.getconn()
    for _ in range(pool.max_size):
        if not closed_by_server(conn):
            break
        with contextlib.suppress(Exception):
            await conn.close()  # so the pool discards it rather than keeping it
        await pool.putconn(conn)
        conn = await pool.getconn()
    try:
        yield conn
    finally:
        await pool.putconn(conn)


class Listener:
    """``LISTEN`` on ``channel`` and pass each payload to ``on_notify``.

    Args:
        connect: opens a new autocommit connection.
        channel: the channel name.
        on_notify: called with each payload (``""`` after a reconnect).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[AsyncConnection[Any]]],
        channel: str,
        on_notify: Callable[[str], None],
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="socialkit-postgres-listen")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        from psycopg import sql

        delay = 0.2
        first = True
        lost = False
        while True:
            conn: AsyncConnection[Any] | None = None
            try:
                conn = await self._connect()
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self.listening.set()
                if lost:
                    log.warning("LISTEN connection back on %s", self._channel)
                    lost = False
                if not first:
                    self._on_notify("")  # notifications may have been missed meanwhile
                first = False
                delay = 0.2
                async for notify in conn.notifies():
                    self._on_notify(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                # One line when the connection is lost, not one per attempt to get it
                # back (a server that is down for a minute would print dozens).
                if not lost:
                    log.warning(
                        "LISTEN connection lost (%s); polling until it is back", one_line(exc)
                    )
                    lost = True
                else:
                    log.debug("LISTEN connection still down: %s", one_line(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()


class Liveness:
    """Beats for this process's workers, and the compatibility check that goes with them.

    Args:
        pool: the store's pool.
        every: seconds between beats.
        code_version: this code's schema version (written with the beat).
        check: called with ``(version, min_compatible)`` after each beat.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        every: float,
        code_version: int,
        check: Callable[[int, int], None],
    ) -> None:
        self._pool = pool
        self._every = every
        self._code_version = code_version
        self._check = check
        self._workers: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.host = socket.gethostname()
        self.pid = os.getpid()

    @property
    def workers(self) -> frozenset[str]:
        return frozenset(self._workers)

    async def add(self, worker: str) -> None:
        """Start beating for ``worker``; its first beat is written before this returns,
        so other workers count it from its first claim on."""
        if worker in self._workers:
            return
        self._workers.add(worker)
        try:
            await self.beat()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("liveness beat failed: %s", one_line(exc))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="socialkit-postgres-liveness")

    async def stop(self) -> None:
        """Stop beating and remove this process's workers (a clean exit is not a death)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._workers:
            with contextlib.suppress(Exception):
                async with pooled(self._pool) as conn:
                    await conn.execute(
                        "DELETE FROM workers WHERE id = ANY(%s)", (sorted(self._workers),)
                    )
            self._workers.clear()

    async def beat(self) -> None:
        """Write one beat for every worker and check the schema."""
        async with pooled(self._pool) as conn:
            await conn.execute(
                "INSERT INTO workers (id, host, pid, code_version, beat_s, started_at, last_seen) "
                "SELECT w, %s, %s, %s, %s, clock_timestamp(), clock_timestamp() "
                "FROM unnest(%s::text[]) AS w "
                "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
                "code_version = excluded.code_version, beat_s = excluded.beat_s, "
                "last_seen = excluded.last_seen",
                (self.host, self.pid, self._code_version, self._every, sorted(self._workers)),
            )
            cur = await conn.execute(
                "SELECT max(value::int) FILTER (WHERE key = 'schema_version'), "
                "max(value::int) FILTER (WHERE key = 'min_compatible') FROM meta"
            )
            found = await cur.fetchone()
        if found and found[0] is not None:
            self._check(int(found[0]), int(found[1] or 0))

    async def _run(self) -> None:
        # As the listener does: one warning when beats start failing and one when they
        # succeed again, not one per beat (a database down for an hour would print 360).
        failing = False
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if failing:
                    log.debug("liveness beat still failing: %s", one_line(exc))
                else:
                    log.warning(
                        "liveness beat failed (%s); other workers may count this one's"
                        " claims as abandoned until a beat succeeds",
                        one_line(exc),
                    )
                    failing = True
            else:
                if failing:
                    log.warning("liveness beats written again")
                    failing = False
