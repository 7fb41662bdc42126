"""``sqlite:///path.db``: the embedded default store.

stdlib :mod:`sqlite3` in WAL mode on one thread of its own (see
:mod:`~socialkit.schedule.stores._sqlite_thread`). Writes are ``BEGIN IMMEDIATE``
transactions (writes queued together share one, a savepoint each), so a claim (select
due rows, lease them, read them back) is atomic across processes sharing the file. ``synchronous=NORMAL`` (the default) survives a killed
process; ``?synchronous=FULL`` also survives power loss.

URL options (query string):
    synchronous: ``NORMAL`` (default) or ``FULL``.
    busy_timeout: milliseconds to wait for another process's write lock (default 5000).
    poll: seconds between checks for other processes' commits while a worker sleeps
        (default 0.2).

``sqlite:///relative/path.db`` is relative to the working directory;
``sqlite:////absolute/path.db`` is absolute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from socialkit.errors import ConfigError, StoreError
from socialkit.schedule.records import Added
from socialkit.schedule.stores import _sqlite_dispatch as dispatch
from socialkit.schedule.stores import _sqlite_misc as misc
from socialkit.schedule.stores import _sqlite_rows as rows
from socialkit.schedule.stores._common import to_us
from socialkit.schedule.stores._sqlite_schema import (
    MIGRATIONS,
    REVISIONS_USED_AT,
    migrate,
    read_schema,
)
from socialkit.schedule.stores._sqlite_thread import (
    Checkpointer,
    SqliteThread,
    TrackedConnection,
    inherited_by_fork,
    running_inline,
)
from socialkit.schedule.stores.base import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.schedule.publication import Event, Page, PauseScope, Publication
    from socialkit.schedule.records import (
        AccountRecord,
        AccountStatus,
        Budget,
        CheckpointRecord,
        Claim,
        ClearedRateLimit,
        DeletionRecord,
        MetricTask,
        Moved,
        NewPublication,
        PublicationQuery,
        PublishStart,
        ReceiptRecord,
        SchemaInfo,
        Transition,
    )
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.stores._sqlite_schema import Migration

__all__ = ["SqliteStore"]

T = TypeVar("T")
log = logging.getLogger("socialkit.store")
_SYNCHRONOUS = ("NORMAL", "FULL")
# The size a WAL is cut back to when it is started over (four times the length at which
# the checkpointer restarts it, in 4 KiB pages).
_WAL_LIMIT = 64 * 1024 * 1024
# A batch of at most this many publications is added inline when the store's thread is
# idle (a user's schedule for a few accounts); larger ones always go through the thread.
_INLINE_ROWS = 16
# Rows this process has added to the intake after which it moves them in the background;
# and how many times a read moves what other processes keep adding before reading anyway.
_FOLD_AFTER = 256
_FOLD_ROUNDS = 3
# What a read wrapped by _unless_intake returns when the intake must be moved first.
_FOLD_FIRST: Any = object()
# The errors a directory or file this process cannot write gives.
_NOT_WRITABLE = (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM)


def _folding(fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """``fn`` run after the intake is moved, in its write transaction (named as ``fn``,
    for profiles)."""

    @functools.wraps(fn)
    def call(conn: sqlite3.Connection) -> T:
        rows.fold_intake(conn)
        return fn(conn)

    return call


def _unless_intake(fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], Any]:
    """``fn``, or :data:`_FOLD_FIRST` without running it when the intake holds rows."""

    @functools.wraps(fn)
    def call(conn: sqlite3.Connection) -> Any:
        if rows.intake_waiting(conn):
            return _FOLD_FIRST
        return fn(conn)

    return call


def _us(delta: dt.timedelta) -> int:
    return delta // dt.timedelta(microseconds=1)


def _connect_checkpointer(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=busy_timeout_ms / 1000, factory=TrackedConnection
    )
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return conn


def _abandoned(thread: SqliteThread, checkpointer: Checkpointer | None) -> None:
    """A store collected unclosed: tell its threads to finish (without waiting, since this
    may run on any thread, one of those two included)."""
    if checkpointer is not None:
        checkpointer.stop(wait=False)
    thread.stop(wait=False)


class SqliteStore:
    """A :class:`~socialkit.schedule.stores.base.Store` in a SQLite file.

    Args:
        url: ``sqlite:///path.db`` with optional query options (module docstring).
    """

    def __init__(
        self,
        url: str,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        code_version: int = SCHEMA_VERSION,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.netloc:
            raise ConfigError(
                f"a SQLite store URL looks like sqlite:///relative.db or "
                f"sqlite:////absolute/path.db (got {url!r})"
            )
        self.url = url
        self.path = Path(parts.path[1:]) if parts.path != "/:memory:" else Path(":memory:")
        options = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"synchronous", "busy_timeout", "poll"}
        if unknown:
            raise ConfigError(
                f"unknown SQLite store option(s) {sorted(unknown)} in {url!r}; "
                "known: synchronous, busy_timeout, poll"
            )
        self.synchronous = options.get("synchronous", "NORMAL").upper()
        if self.synchronous not in _SYNCHRONOUS:
            raise ConfigError(
                f"synchronous must be NORMAL or FULL (got {options['synchronous']!r} in {url!r})"
            )
        try:
            self.busy_timeout_ms = int(options.get("busy_timeout", "5000"))
            self.poll = float(options.get("poll", "0.2"))
        except ValueError as exc:
            raise ConfigError(f"bad SQLite store option in {url!r}: {exc}") from None
        if self.busy_timeout_ms < 0 or self.poll <= 0:
            raise ConfigError(f"busy_timeout must be >= 0 and poll > 0 (in {url!r})")
        self._migrations = tuple(migrations)
        self._code_version = code_version
        self._schema: SchemaInfo | None = None
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._thread: SqliteThread | None = None
        self._checkpointer: Checkpointer | None = None
        self._finalizer: weakref.finalize[..., SqliteStore] | None = None
        # Whether adds go through the intake (the schema has it), how many rows this
        # process added there since it last moved them, and the moves running.
        self._intake = False
        self._intake_rows = 0
        self._folds: set[asyncio.Task[int]] = set()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r}, synchronous={self.synchronous})"

    # -- plumbing -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            if self.path.is_dir():
                raise ConfigError(
                    f"the SQLite store {str(self.path)!r} is a directory; a store is a file: "
                    f"name one in it, such as sqlite:///{self.path / 'socialkit.db'}"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory of the SQLite store {str(self.path)!r}: "
                    f"{exc.strerror or exc}"
                ) from exc
            parent = inherited_by_fork(str(self.path))
            if parent is not None:
                raise StoreError(
                    f"cannot open the SQLite store {str(self.path)!r} in process "
                    f"{os.getpid()}: it is a fork of process {parent}, which had this file "
                    "open (through a store) when it forked. SQLite's record of the file's "
                    "locks is per process and the fork copied the parent's, so a connection "
                    "opened here would hold no lock the other processes see: one of them "
                    "could delete the WAL under it, losing what this process commits. Close "
                    "the parent's store before forking, or open stores only after the fork "
                    "(with gunicorn --preload, in each worker's post_fork and not in the "
                    "master), or start processes with multiprocessing's 'spawn' or "
                    "'forkserver' method"
                )
        try:
            conn = sqlite3.connect(
                str(self.path),
                isolation_level=None,
                timeout=self.busy_timeout_ms / 1000,
                cached_statements=256,
                # The store's thread runs its statements, and a short call made while that
                # thread is idle runs on the caller's thread, under the same lock.
                check_same_thread=False,
                factory=TrackedConnection,
            )
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._open_error(exc) from exc
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("PRAGMA temp_store = MEMORY")
        if str(self.path) != ":memory:":
            # Checkpoints (and their fsync) happen on the checkpointer's thread; a WAL
            # it has started over is cut back to this size (the longest it is let grow,
            # about) when the next commit reuses it.
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            conn.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT}")
        self._schema = migrate(
            conn, where=str(self.path), migrations=self._migrations, code_version=self._code_version
        )
        return conn

    def _open_error(self, exc: sqlite3.Error) -> StoreError:
        message = f"cannot open the SQLite store {str(self.path)!r}: {exc}"
        if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in _NOT_WRITABLE:
            message += (
                f" (its directory {str(self.path.parent.absolute())!r} must be writable by"
                " this process: SQLite creates the database file there, and its -wal and"
                " -shm files beside it)"
            )
        return StoreError(message)

    def _worker(self) -> SqliteThread:
        if self._thread is None:
            raise RuntimeError(f"{self!r} is not open; await store.open() first")
        if self._thread.forked:
            raise StoreError(
                f"the SQLite store {str(self.path)!r} was opened in process "
                f"{self._thread.pid}, and this process ({os.getpid()}) is a fork of it: a "
                "SQLite connection must not be used across a fork (it can corrupt the "
                "database). Open the store in this process, after the fork: create the "
                "Scheduler or store here (with gunicorn --preload, in each worker, and do "
                "not use it in the master before the workers fork)"
            )
        return self._thread

    async def _read(self, fn: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        # ``inline``: a short read, which may run at once on this thread (see SqliteThread).
        worker = self._worker()
        if not self._intake:
            return await worker.run(fn, inline=inline)
        # What waits in the intake is moved first (a write), then read with the rest.
        # Rows another process adds meanwhile are moved too; after a few rounds of that
        # the read goes ahead without them, as a read begun a moment earlier would.
        for _ in range(_FOLD_ROUNDS):
            value = await worker.run(_unless_intake(fn), inline=inline)
            if value is not _FOLD_FIRST:
                return cast("T", value)
            await worker.write(rows.fold_intake, inline=inline)
        return await worker.run(fn, inline=inline)

    async def _write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        *,
        notify: bool = False,
        inline: bool = False,
        fold: bool = True,
    ) -> T:
        # A BEGIN IMMEDIATE transaction, shared with the writes queued beside it; or, for
        # a short one marked ``inline``, run at once when the thread is idle. The intake
        # is moved into ``publications`` first, in the same transaction (``fold``).
        if self._intake and fold:
            fn = _folding(fn)
        result = await self._worker().write(fn, inline=inline)
        if notify:
            self._notify()
        return result

    def _added_to_intake(self, count: int) -> None:
        """Count rows added to the intake; past :data:`_FOLD_AFTER`, move it in the
        background (on the store's thread), so it never grows long whoever reads next."""
        self._intake_rows += count
        if self._intake_rows < _FOLD_AFTER:
            return
        self._intake_rows = 0
        task = asyncio.get_running_loop().create_task(self._write(rows.fold_intake))
        self._folds.add(task)
        task.add_done_callback(self._folded)

    def _folded(self, task: asyncio.Task[int]) -> None:
        self._folds.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Nothing is lost: the rows stay in the intake, and the next call moves them.
            log.warning(
                "moving the SQLite store's intake into publications failed; the next "
                "call of the store moves it",
                exc_info=task.exception(),
            )

    def _notify(self) -> None:
        for callback in list(self._subscribers):
            callback()

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._thread is not None:
            return
        # The threads hold no reference to the store (``connect`` is dropped once it has
        # run), so a store dropped without close() is collected, and stops them.
        ref = weakref.ref(self)

        def notify() -> None:
            store = ref()
            if store is not None:
                store._notify()

        thread = SqliteThread(
            self._connect,
            poll=self.poll,
            name="socialkit-sqlite",
            on_foreign_commit=notify,
            # A commit under synchronous=FULL waits for an fsync: never on the caller's loop.
            inline_writes=self.synchronous == "NORMAL",
        )
        thread.watch(bool(self._subscribers))
        thread.start()
        self._thread = thread
        # Code of an older schema on a newer file (code_version, as tests run it) has no
        # intake: it never adds to it or moves it, as that code never did.
        self._intake = (
            self._schema is not None
            and min(self._schema.version, self._code_version) >= rows.INTAKE_SINCE
        )
        if str(self.path) != ":memory:":
            self._checkpointer = Checkpointer(
                functools.partial(_connect_checkpointer, str(self.path), self.busy_timeout_ms),
                every=1.0,
            )
            self._checkpointer.start()
        self._finalizer = weakref.finalize(self, _abandoned, thread, self._checkpointer)
        self._finalizer.atexit = False  # at exit the threads end as daemons, as before

    async def close(self) -> None:
        if self._thread is not None and self._intake and not self._thread.forked:
            # Leave nothing in the intake: older code reading the file sees it all. (A
            # forked child never touches its parent's connection.)
            if self._folds:
                await asyncio.gather(*self._folds, return_exceptions=True)
            try:
                await self._write(rows.fold_intake)
            except Exception:  # the next process to open the store moves it
                log.warning("could not move the SQLite store's intake at close", exc_info=True)
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        thread, self._thread = self._thread, None
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        if thread is not None:
            await asyncio.to_thread(thread.stop)

    async def schema(self) -> SchemaInfo:
        from socialkit.schedule.records import SchemaInfo

        version, min_compatible = await self._read(read_schema)
        return SchemaInfo(
            version=version, min_compatible=min_compatible, code_version=self._code_version
        )

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)
            if self._thread is not None:
                self._thread.watch(True)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
                if self._thread is not None:
                    self._thread.watch(bool(self._subscribers))

        return unsubscribe

    # -- content and accounts -------------------------------------------------------------

    async def put_revision(self, post: Post, *, now: dt.datetime) -> str:
        revision = post.revision()
        version = self._schema.version if self._schema is not None else SCHEMA_VERSION
        used_at = version >= REVISIONS_USED_AT
        await self._write(
            lambda c: misc.put_revision(c, revision, post, to_us(now), used_at=used_at),
            inline=True,
        )
        return revision

    async def get_revision(self, revision: str) -> Post:
        return await self._read(lambda c: misc.get_revision(c, revision), inline=True)

    async def put_account(self, account: Account, *, now: dt.datetime) -> None:
        await self._write(lambda c: misc.put_account(c, account, to_us(now)), inline=True)

    async def get_account(self, account_id: str, *, workspace: str = "default") -> AccountRecord:
        return await self._read(lambda c: misc.get_account(c, account_id, workspace), inline=True)

    async def list_accounts(self, *, workspace: str | None = None) -> list[AccountRecord]:
        return await self._read(lambda c: misc.list_accounts(c, workspace))

    async def set_account_status(
        self,
        account_id: str,
        status: AccountStatus,
        *,
        now: dt.datetime,
        workspace: str = "default",
        reason: str | None = None,
        actor: str = "engine",
    ) -> None:
        await self._write(
            lambda c: misc.set_account_status(
                c, account_id, status, workspace, reason, actor, to_us(now)
            ),
            notify=True,
        )

    # -- publications ---------------------------------------------------------------------

    async def add(self, publications: Sequence[NewPublication], *, now: dt.datetime) -> list[str]:
        items = list(publications)
        stamp = to_us(now)
        params = rows.insert_params(items, stamp)  # built here, off the store's thread
        if self._intake and len(items) <= _INLINE_ROWS and rows.intake_fits(items):
            ids = await self._write(
                lambda c: rows.add_to_intake(c, items, params, [], stamp),
                notify=True,
                inline=True,
                fold=False,
            )
            self._added_to_intake(len(items))
            return ids
        return await self._write(
            lambda c: rows.add(c, items, stamp, params),
            notify=True,
            inline=len(items) <= _INLINE_ROWS,
        )

    async def add_returning(
        self, publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[Added]:
        items = list(publications)
        stamp = to_us(now)
        params = rows.insert_params(items, stamp)
        states: list[PublicationState | None] = []

        def write(conn: sqlite3.Connection) -> list[str]:
            states.clear()  # a write retried after a busy database starts again
            return rows.add(conn, items, stamp, params, states)

        if self._intake and len(items) <= _INLINE_ROWS and rows.intake_fits(items):

            def write_intake(conn: sqlite3.Connection) -> list[str]:
                states.clear()
                return rows.add_to_intake(conn, items, params, states, stamp)

            ids = await self._write(write_intake, notify=True, inline=True, fold=False)
            self._added_to_intake(len(items))
        else:
            ids = await self._write(write, notify=True, inline=len(items) <= _INLINE_ROWS)
        return [Added(id=i, state=state) for i, state in zip(ids, states, strict=True)]

    async def add_with_revisions(
        self, posts: Sequence[Post], publications: Sequence[NewPublication], *, now: dt.datetime
    ) -> list[str]:
        items = list(publications)
        stamp = to_us(now)
        params = rows.insert_params(items, stamp)
        # Hashed and encoded here, off the store's thread; each revision once.
        revisions = list(
            {post.revision(): post.model_dump_json(exclude_none=True) for post in posts}.items()
        )
        version = self._schema.version if self._schema is not None else SCHEMA_VERSION
        used_at = version >= REVISIONS_USED_AT

        def write(conn: sqlite3.Connection) -> list[str]:
            # The insert refused (a slot taken, an id taken) rolls the revisions back too.
            misc.put_revisions(conn, revisions, stamp, used_at=used_at)
            return rows.add(conn, items, stamp, params)

        return await self._write(
            write, notify=True, inline=len(items) + len(revisions) <= _INLINE_ROWS
        )

    async def get(self, publication_id: str, *, history: bool = False) -> Publication:
        def read(conn: sqlite3.Connection) -> Publication:
            conn.execute("BEGIN")
            try:
                return rows.publication(conn, rows.load_row(conn, publication_id), history=history)
            finally:
                conn.execute("COMMIT")

        return await self._read(read, inline=True)

    async def find_by_key(self, idempotency_key: str) -> Publication | None:
        def read(conn: sqlite3.Connection) -> Publication | None:
            found = conn.execute(
                f"SELECT {rows.ROW_COLUMNS} FROM publications WHERE idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
            return rows.publication(conn, rows.row_from_db(found)) if found else None

        return await self._read(read, inline=True)

    async def list_publications(self, query: PublicationQuery) -> Page:
        def read(conn: sqlite3.Connection) -> Page:
            conn.execute("BEGIN")
            try:
                return rows.list_page(conn, query)
            finally:
                conn.execute("COMMIT")

        return await self._read(read)

    async def transition(self, transition: Transition, *, now: dt.datetime) -> PublicationState:
        def write(conn: sqlite3.Connection) -> PublicationState:
            [written] = rows.apply_transitions(
                conn, [transition], to_us(now), rows.load_pauses(conn), strict=True
            )
            assert written is not None  # strict: a stale one raised
            return written

        return await self._write(write, notify=True, inline=True)

    async def apply(
        self, transitions: Sequence[Transition], *, now: dt.datetime
    ) -> list[PublicationState | None]:
        items = list(transitions)

        def write(conn: sqlite3.Connection) -> list[PublicationState | None]:
            return rows.apply_transitions(conn, items, to_us(now), rows.load_pauses(conn))

        return await self._write(write, notify=True)

    async def receipt_owner(self, platform: str, post_id: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            found = conn.execute(
                "SELECT publication_id FROM receipt_posts WHERE platform = ? AND post_id = ?",
                (platform, post_id),
            ).fetchone()
            return str(found[0]) if found else None

        return await self._read(read)

    # -- dispatch -------------------------------------------------------------------------
    # A worker's claims, starts and receipts (and its look at the next due time) run
    # inline while the thread is idle: on the worker's own thread, without two thread
    # hand-offs per batch, in which the event loop and this store's thread pass the GIL
    # back and forth. A commit there does not fsync (inline writes are offered only with
    # synchronous=NORMAL in WAL), and a lock held by another process sends the call to
    # the thread, which waits for it.

    async def expire_overdue(self, *, now: dt.datetime, actor: str = "engine") -> list[Moved]:
        return await self._write(lambda c: dispatch.expire_overdue(c, to_us(now), actor))

    async def claim(
        self,
        worker: str,
        *,
        now: dt.datetime,
        limit: int,
        lease: dt.timedelta,
        per_account: int | None = 1,
        reconcile: bool = True,
    ) -> list[Claim]:
        return await self._write(
            lambda c: dispatch.claim(
                c,
                worker,
                now,
                limit,
                _us(lease),
                per_account,
                reconcile,
                may_sweep=not running_inline(),
            ),
            inline=True,
        )

    async def heartbeat(
        self,
        worker: str,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[str]:
        items = list(claims)
        return await self._write(
            lambda c: dispatch.heartbeat(c, worker, items, to_us(now), _us(lease))
        )

    async def mark_publishing(
        self,
        starts: Sequence[PublishStart],
        *,
        worker: str,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> list[bool]:
        items = list(starts)
        return await self._write(
            lambda c: dispatch.mark_publishing(c, items, worker, to_us(now), _us(lease)),
            inline=True,
        )

    async def release(
        self,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime,
        actor: str = "engine",
        reason: str = "handed back",
    ) -> list[bool]:
        items = list(claims)
        return await self._write(
            lambda c: dispatch.release(c, items, to_us(now), actor, reason), notify=True
        )

    async def record_receipts(
        self, receipts: Sequence[ReceiptRecord], *, now: dt.datetime
    ) -> list[bool]:
        items = list(receipts)
        return await self._write(
            lambda c: dispatch.record_receipts(c, items, to_us(now)), notify=True, inline=True
        )

    async def record_checkpoint(self, checkpoint: CheckpointRecord, *, now: dt.datetime) -> None:
        await self._write(lambda c: dispatch.record_checkpoint(c, checkpoint, to_us(now)))

    async def record_deletion(self, deletion: DeletionRecord, *, now: dt.datetime) -> None:
        await self._write(lambda c: dispatch.record_deletion(c, deletion, to_us(now)))

    async def next_due(
        self, *, now: dt.datetime, per_account: int | None = 1
    ) -> dt.datetime | None:
        return await self._read(lambda c: dispatch.next_due(c, now, per_account), inline=True)

    # -- pause switch and rate budgets ----------------------------------------------------

    async def pause(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        return await self._write(lambda c: dispatch.pause(c, scope, to_us(now)))

    async def resume(self, scope: PauseScope, *, now: dt.datetime) -> list[Moved]:
        return await self._write(lambda c: dispatch.resume(c, scope, to_us(now)), notify=True)

    async def pauses(self, *, workspace: str | None = None) -> list[PauseScope]:
        found = await self._read(rows.load_pauses)
        return [p for p in found if workspace is None or p.workspace == workspace]

    async def set_budget(self, budget: Budget, *, now: dt.datetime) -> None:
        await self._write(lambda c: misc.set_budget(c, budget, to_us(now)), notify=True)

    async def budgets(self, *, workspace: str | None = None) -> list[Budget]:
        return await self._read(lambda c: dispatch.load_budgets(c, workspace))

    async def clear_budget(
        self,
        workspace: str,
        account_id: str,
        *,
        now: dt.datetime,
        actor: str = "api",
        reason: str | None = None,
    ) -> ClearedRateLimit:
        return await self._write(
            lambda c: misc.clear_budget(c, workspace, account_id, actor, reason, to_us(now)),
            notify=True,
        )

    # -- rules ----------------------------------------------------------------------------

    async def add_rule(self, rule: Rule, *, now: dt.datetime, actor: str = "engine") -> None:
        await self._write(lambda c: misc.add_rule(c, rule, to_us(now), actor), notify=True)

    async def get_rule(self, rule_id: str) -> Rule:
        return await self._read(lambda c: misc.get_rule(c, rule_id))

    async def list_rules(
        self, *, workspace: str | None = None, active: bool | None = None
    ) -> list[Rule]:
        return await self._read(lambda c: misc.list_rules(c, workspace, active))

    async def advance_rule(
        self,
        rule_id: str,
        *,
        expect_cursor: str | None,
        cursor: str | None,
        publications: Sequence[NewPublication],
        now: dt.datetime,
        remaining: int | None = None,
        active: bool | None = None,
    ) -> list[str]:
        items = list(publications)
        return await self._write(
            lambda c: misc.advance_rule(
                c, rule_id, expect_cursor, cursor, items, now, remaining, active
            ),
            notify=True,
        )

    async def set_rule_active(
        self, rule_id: str, active: bool, *, now: dt.datetime, actor: str = "engine"
    ) -> None:
        await self._write(
            lambda c: misc.set_rule_active(c, rule_id, active, now, actor), notify=True
        )

    # -- metrics --------------------------------------------------------------------------

    async def add_metric_tasks(
        self, tasks: Sequence[tuple[str, dt.datetime, str]], *, now: dt.datetime
    ) -> None:
        items = list(tasks)
        await self._write(lambda c: misc.add_metric_tasks(c, items), notify=True)

    async def claim_metric_tasks(
        self, worker: str, *, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[MetricTask]:
        return await self._write(
            lambda c: misc.claim_metric_tasks(c, worker, to_us(now), limit, _us(lease))
        )

    async def complete_metric_task(
        self,
        task_id: int,
        snapshots: Sequence[MetricSnapshot],
        *,
        now: dt.datetime,
        error: str | None = None,
    ) -> None:
        items = list(snapshots)
        await self._write(lambda c: misc.complete_metric_task(c, task_id, items, to_us(now), error))

    async def retry_metric_task(
        self,
        task_id: int,
        *,
        run_at: dt.datetime,
        now: dt.datetime,
        error: str,
        count_failure: bool = False,
    ) -> None:
        due = to_us(run_at)
        await self._write(
            lambda c: misc.retry_metric_task(c, task_id, due, error, count_failure), notify=True
        )

    async def metric_series(
        self,
        *,
        publication_id: str | None = None,
        account_id: str | None = None,
        campaign: str | None = None,
        workspace: str | None = None,
    ) -> list[MetricSnapshot]:
        return await self._read(
            lambda c: misc.metric_series(c, publication_id, account_id, campaign, workspace)
        )

    # -- event log ------------------------------------------------------------------------

    async def events(
        self,
        *,
        since: int = 0,
        limit: int = 1000,
        publication_id: str | None = None,
        workspace: str | None = None,
        until: int | None = None,
    ) -> list[Event]:
        return await self._read(
            lambda c: rows.events_since(c, since, limit, publication_id, workspace, until)
        )

    async def last_event_seq(self) -> int:
        return await self._read(
            # The AUTOINCREMENT counter: never lower after the newest events are pruned.
            lambda c: int(
                c.execute(
                    "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"
                ).fetchone()[0]
            )
        )
