"""``postgresql://…``: the store for many workers on many machines.

psycopg 3 (async) with a connection pool; install ``socialkit-engine[postgres]``. psycopg
is imported when the store opens, never before.

What it promises beyond the :class:`~socialkit.schedule.stores.base.Store` contract:

* **One database clock.** With ``clock=database`` (the default) leases, due-ness and
  event times are read from the database's clock — ``statement_timestamp()``, the
  server's time as each statement starts (so it moves on within a transaction, unlike
  ``now()``) — and the ``now`` a caller passes is ignored (it may also be left out).
  Workers whose clocks drift still agree on who holds a lease and what is due.
  ``clock=caller`` uses the caller's ``now`` (tests with injected clocks).
* **Claims in batches** with ``FOR UPDATE SKIP LOCKED``: workers never wait for each
  other's rows; see :mod:`~socialkit.schedule.stores._postgres_claim`.
* **Limits across workers.** An account's in-flight limit and its rate budget hold across
  every worker on every machine (claims take a per-account advisory lock and recount);
  pause switches and ``needs_reauth`` are read in the claiming statement.
* **Wake-ups.** Commits that make something due sooner ``NOTIFY`` the schema's channel
  with the new due time; a store with subscribers ``LISTEN`` s and wakes them only when
  that time is earlier than the last ``next_due`` it answered. Polling stays the fallback.
* **Rolling deploys.** Versioned migrations with a minimum compatible version
  (:mod:`~socialkit.schedule.stores._postgres_schema`).
* **Shared databases.** ``?schema=name`` keeps the tables (and the advisory locks and
  the notification channel) of one application apart from another's.

URL options are described in :mod:`~socialkit.schedule.stores._postgres_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import threading
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from socialkit._shared import SharedCalls
from socialkit.errors import ConfigError, StoreError
from socialkit.schedule.records import Added
from socialkit.schedule.states import PublicationState
from socialkit.schedule.stores import _postgres_claim as claiming
from socialkit.schedule.stores import _postgres_dispatch as dispatch
from socialkit.schedule.stores import _postgres_holds as holds
from socialkit.schedule.stores import _postgres_misc as misc
from socialkit.schedule.stores import _postgres_rows as rows
from socialkit.schedule.stores._postgres_listen import Listener, Liveness, parse_payload, pooled
from socialkit.schedule.stores._postgres_schema import (
    MIGRATIONS,
    REVISIONS_USED_AT,
    incompatible,
    migrate,
    read_schema,
)
from socialkit.schedule.stores._postgres_url import (
    check_libpq_options,
    parse_postgres_url,
    refuses_an_option,
)
from socialkit.schedule.stores.base import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

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
    from socialkit.schedule.stores._postgres_rows import Conn
    from socialkit.schedule.stores._postgres_schema import Migration

__all__ = ["PostgresStore"]

log = logging.getLogger("socialkit.store")

T = TypeVar("T")
S = PublicationState
_RETRIES = 6
# How long open() waits for the pool's first pool_min connections.
_POOL_OPEN_TIMEOUT = 30.0
# TCP keepalives for every connection, unless the URL sets its own: without them, a
# connection dropped silently (a NAT or firewall forgetting an idle flow, a host gone
# without a word) looks alive for the system's default of 2 h 11 min, and the idle
# LISTEN connection, which sends nothing, would hear nothing all that time. With these,
# a dead one is noticed within about a minute (30 s idle, then 3 probes 10 s apart).
_KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
# How long a connection attempt may take, unless the URL says: libpq waits for ever by
# default, so a host that drops packets (a firewall, a wrong address) held open() and
# each listener reconnect for the system's TCP SYN retries, about two minutes.
_CONNECT_TIMEOUT = {"connect_timeout": "10"}
# How long data sent may go unacknowledged before the system drops the connection
# (milliseconds; Linux's TCP_USER_TIMEOUT), unless the URL says: keepalives only probe an
# idle connection, so a statement sent just as the server's host vanished waited for the
# system's retransmissions instead, about 15 minutes (tcp_retries2), holding a claim or a
# commit all that while. The server's kernel acknowledges what it receives whatever the
# statement's running time, so a long query never trips it.
_USER_TIMEOUT = {"tcp_user_timeout": "60000"}
# Below this difference between the caller's now and the database's clock, next_due's
# answer is left on the database's clock (see next_due).
_SKEW_TOLERATED = dt.timedelta(seconds=1)
_WAKING = frozenset({S.SCHEDULED, S.RETRY_WAIT, S.UNKNOWN})


def _need_the_driver() -> None:
    """A ConfigError saying what to install when psycopg and its pool are not there, on
    every way in: ``open()``, and ``connection()``, which the command line uses to look
    for a store before it opens one (a bare ModuleNotFoundError there was a "bug")."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the postgresql:// store needs psycopg (install socialkit-engine[postgres]): {exc}"
        ) from None


async def _read_committed(conn: AsyncConnection[Any]) -> None:
    """Begin every transaction of ``conn`` READ COMMITTED (``BEGIN ISOLATION LEVEL READ
    COMMITTED``), whatever ``default_transaction_isolation`` the server, the database,
    the role or the URL's ``options`` set. The store's transactions are written for it:
    a free-slot insert checks the slot after waiting for the account's advisory lock,
    and must see what the lock's previous holder committed; REPEATABLE READ or
    SERIALIZABLE took the transaction's snapshot before that wait, and two processes
    took one slot. Sent with each ``BEGIN``, it holds behind a pooler too. A transaction
    may still ask for another level first thing (a copy's one snapshot)."""
    from psycopg import IsolationLevel

    await conn.set_isolation_level(IsolationLevel.READ_COMMITTED)


class PostgresStore:
    """A :class:`~socialkit.schedule.stores.base.Store` in a PostgreSQL schema.

    Args:
        url: ``postgresql://user@host:5432/db?schema=socialkit`` (options in
            :mod:`~socialkit.schedule.stores._postgres_url`).
        migrations, code_version: the schema history this code knows (tests simulate
            other releases with them).
        migrate_on_open: migrate forward when opening (the protocol's default), unless
            that would stop workers alive now on older code (a ``StoreError`` naming
            them, as ``socialkit store migrate`` refuses without ``--force``);
            ``"force"`` migrates anyway (they stop at their next beat); with ``False``
            the store only checks that the schema it finds does not need newer code.
            A schema older than this code's is not refused, but what it lacks fails
            where it is used (metric retries, snapshot labels, revision use times):
            with ``False``, run ``socialkit store migrate`` before a worker starts.

    Example::

        store = PostgresStore("postgresql://app@db/socialkit?schema=brand_a")
        await store.open()
        claims = await store.claim("worker-1", limit=100, lease=timedelta(seconds=60))
    """

    def __init__(
        self,
        url: str,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        code_version: int = SCHEMA_VERSION,
        migrate_on_open: bool | Literal["force"] = True,
    ) -> None:
        self.options = parse_postgres_url(url)
        self.url = self.options.display
        self._migrations = tuple(migrations)
        self._code_version = code_version
        self._migrate_on_open = migrate_on_open
        self._pool: AsyncConnectionPool[Any] | None = None
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._listener: Listener | None = None
        self._liveness: Liveness | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refusal: str | None = None
        self._schema_version = code_version  # the store's, once open
        self._sleep_until: dt.datetime | None = None
        self._asking = 0  # next_due queries in flight
        # Concurrent reads of one account or revision share one query (a worker whose
        # cache runs out asks once per publication in flight, all at the same moment).
        # A write through this store forgets the key when it is done, so a read that
        # starts after it never gets an older answer.
        self._reads = SharedCalls()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    # -- plumbing -------------------------------------------------------------------------

    @property
    def schema_name(self) -> str:
        """The PostgreSQL schema holding this store's tables."""
        return self.options.schema

    def _now(self, now: dt.datetime | None) -> dt.datetime | None:
        """The instant SQL should use: ``None`` means the database clock."""
        return now if self.options.clock == "caller" else None

    def _connect_kwargs(self, *, hot: bool = False) -> dict[str, Any]:
        from psycopg.conninfo import conninfo_to_dict

        # The URL's own libpq ``options`` (``-c statement_timeout=30s``, …) come first:
        # this keyword replaces the URL's, so they were dropped; the store's settings
        # after them win where both set the same thing (the schema, UTC).
        url = conninfo_to_dict(self.options.conninfo)
        given = url.get("options")
        options = f"{given} " if given else ""
        options += f"-c search_path={self.options.schema} -c timezone=UTC"
        if hot:
            # The pool serves the engine's statements, each written for an index. A
            # queue table's statistics always lag (rows change state faster than ANALYZE
            # runs), so the planner is not left to guess its way into sequential or
            # bitmap scans of the backlog; and JIT never pays for millisecond statements.
            options += " -c jit=off -c enable_seqscan=off -c enable_bitmapscan=off -c plan_cache_mode=force_generic_plan"
        # A keyword given here would replace the URL's: only those the URL leaves unset.
        defaults = {**_KEEPALIVES, **_CONNECT_TIMEOUT, **_USER_TIMEOUT}
        chosen = {k: v for k, v in defaults.items() if k not in url}
        return {"autocommit": True, "options": options, **chosen}

    async def connection(self) -> AsyncConnection[Any]:
        """A new connection of its own (autocommit, on this store's schema, UTC, its
        transactions READ COMMITTED), for work that needs one: ``LISTEN``, ``COPY``,
        maintenance. The caller closes it.

        Raises:
            ConfigError: libpq cannot read the URL (an unknown option, a bad escape) or
                refuses an option's value (``sslmode=bogus``, ``port=abc``, a setting in
                ``options=-c ...`` the server does not know), named without its password.
            StoreError: the server cannot be reached or refuses the connection (one line,
                naming the store without its password).
        """
        _need_the_driver()
        import psycopg

        check_libpq_options(self.options)
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.options.conninfo, **self._connect_kwargs()
            )
        except psycopg.ProgrammingError as exc:  # psycopg refused the connection string
            raise ConfigError(
                f"the PostgreSQL store URL {self.url} cannot be used: "
                f"{self.options.error_text(exc)}"
            ) from None
        except psycopg.OperationalError as exc:
            text = self.options.error_text(exc)
            # libpq checks most option values only when it connects, and reports them as
            # a failed connection: a mistake in the URL is a ConfigError all the same.
            if refuses_an_option(text):
                raise ConfigError(
                    f"the PostgreSQL store URL {self.url} cannot be used: {text}"
                ) from None
            raise StoreError(f"cannot connect to the PostgreSQL store {self.url}: {text}") from None
        await _read_committed(conn)
        return conn

    def _pool_or_fail(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError(f"{self!r} is not open; await store.open() first")
        return self._pool

    def _check_compatible(self) -> None:
        if self._refusal is not None:
            raise StoreError(self._refusal)

    async def _run(
        self,
        fn: Callable[[Conn], Awaitable[T]],
        *,
        transaction: bool = True,
        wake: str | None = None,
        idempotent: bool = False,
    ) -> T:
        """Run ``fn`` in a transaction (retrying deadlocks and serialisation failures),
        then, when ``wake`` is not ``None``, ``NOTIFY`` it as the payload and call this
        process's subscribers.

        A connection the server drops while ``fn`` runs (``pg_terminate_backend``, a
        restart) is retried once on another connection when that cannot do anything
        twice: inside a transaction before its ``COMMIT`` was sent (nothing was
        committed), or outside one when ``idempotent`` says running ``fn`` again is
        harmless (reads, lease renewals). A connection lost during the ``COMMIT`` itself
        is a :class:`StoreError`: whether it committed is unknown, and the fences of
        the rows it wrote keep a retry by the engine safe.
        """
        import psycopg
        from psycopg import errors
        from psycopg_pool import PoolTimeout

        pool = self._pool_or_fail()
        reconnected = False
        attempt = 0
        while True:
            used: AsyncConnection[Any] | None = None
            committing = False
            try:
                async with pooled(pool) as conn:
                    used = conn
                    if not transaction:
                        return await fn(conn)
                    async with conn.transaction():
                        result = await fn(conn)
                        if wake is not None:
                            await conn.execute(
                                "SELECT pg_notify(%s, %s)", (self.options.channel, wake)
                            )
                        committing = True
                break
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                attempt += 1
                if attempt == _RETRIES:
                    raise StoreError(
                        f"PostgreSQL store {self.url}: {self.options.error_text(exc)} "
                        f"({_RETRIES} tries)"
                    ) from exc
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
            except PoolTimeout as exc:
                raise StoreError(
                    f"PostgreSQL store {self.url}: no connection free in the pool within "
                    f"{pool.timeout:g} s (pool_max={pool.max_size}, all busy with this "
                    "process's store calls or the server not answering); raise pool_max "
                    "or check the server"
                ) from exc
            except psycopg.Error as exc:
                lost = used is not None and (used.closed or used.broken)
                safe = (transaction and not committing) or (not transaction and idempotent)
                if lost and safe and not reconnected:
                    reconnected = True
                    log.warning(
                        "PostgreSQL store %s: connection lost (%s); trying once more on "
                        "another connection",
                        self.url,
                        self.options.error_text(exc),
                    )
                    continue
                raise StoreError(
                    f"PostgreSQL store {self.url}: {self.options.error_text(exc)}"
                ) from exc
        if wake is not None:
            self._notify_local()
        return result

    def _notify_local(self) -> None:
        for callback in list(self._subscribers):
            callback()

    def _heard(self, payload: str) -> None:
        """A ``NOTIFY`` arrived: wake subscribers if the work is due before they would
        look anyway."""
        due = parse_payload(payload)
        sleeping_until = self._sleep_until
        if (
            due is not None
            and sleeping_until is not None
            and due >= sleeping_until
            and not self._asking  # a next_due in flight may not see it: always wake
        ):
            return
        self._notify_local()

    @staticmethod
    def _wake_at(times: Sequence[dt.datetime | None]) -> str:
        """A ``NOTIFY`` payload: the earliest of ``times`` (``""`` when unknown)."""
        known = [t for t in times if t is not None]
        return min(known).isoformat() if known and len(known) == len(times) else ""

    def _on_schema(self, version: int, min_compatible: int) -> None:
        self._schema_version = version
        self._refusal = incompatible(version, min_compatible, self._code_version, self.url)

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        _need_the_driver()
        import psycopg
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        conn = await self.connection()  # checks the URL's options first
        try:
            info = await migrate(
                conn,
                schema=self.options.schema,
                lock_space=self.options.lock_space,
                where=self.url,
                migrations=self._migrations,
                code_version=self._code_version,
                apply=bool(self._migrate_on_open),
                spare_workers=self._migrate_on_open is True,
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot migrate the PostgreSQL store {self.url}: {self.options.error_text(exc)}"
            ) from None
        finally:
            await conn.close()
        self._on_schema(info.version, info.min_compatible)
        refused: list[BaseException] = []

        class Connection(psycopg.AsyncConnection[Any]):
            """Keeps the pool's last connection error, for open()'s message."""

            @classmethod
            async def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await super().connect(*args, **kwargs)
                except Exception as exc:
                    refused[:] = [exc]
                    raise

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.options.conninfo,
            connection_class=Connection,
            min_size=self.options.pool_min,
            max_size=self.options.pool_max,
            kwargs=self._connect_kwargs(hot=True),
            configure=_read_committed,
            open=False,
            name=f"socialkit-{self.options.schema}",
        )
        try:
            await pool.open(wait=True, timeout=_POOL_OPEN_TIMEOUT)
        except BaseException as exc:
            # psycopg_pool closes the pool on its own timeout, not when open() is
            # cancelled: its connections and tasks must not outlive a failed open().
            with contextlib.suppress(Exception):
                await pool.close()
            if not isinstance(exc, PoolTimeout):
                raise
            why = f": {self.options.error_text(refused[-1])}" if refused else ""
            raise StoreError(
                f"cannot open the PostgreSQL store {self.url}: its pool did not get "
                f"pool_min={self.options.pool_min} connections within "
                f"{_POOL_OPEN_TIMEOUT:g} s{why} (a first connection worked: too many "
                "connections for the role, the database or the server?)"
            ) from None
        self._pool = pool
        self._loop = asyncio.get_running_loop()
        self._liveness = Liveness(
            pool, self.options.liveness, self._code_version, check=self._on_schema
        )
        if self._subscribers:
            self._start_listener()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._liveness is not None:
            await self._liveness.stop()
            self._liveness = None
        await pool.close()

    async def schema(self) -> SchemaInfo:
        """The stored schema; a store whose schema moved beyond this code's reach stops
        claiming from then on (the liveness beat checks the same way)."""
        from socialkit.schedule.records import SchemaInfo

        version, min_compatible = await self._run(read_schema, transaction=False, idempotent=True)
        self._on_schema(version, min_compatible)
        return SchemaInfo(
            version=version, min_compatible=min_compatible, code_version=self._code_version
        )

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)
        if self._pool is not None and self._loop is not None:
            try:
                here = asyncio.get_running_loop() is self._loop
            except RuntimeError:
                here = False
            if here:
                self._start_listener()
            else:
                self._loop.call_soon_threadsafe(self._start_listener)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _start_listener(self) -> None:
        if not self.options.listen or self._pool is None:
            return
        if self._listener is None:
            self._listener = Listener(self.connection, self.options.channel, self._heard)
        self._listener.start()

    async def listening(self, within: float = 10.0) -> bool:
        """Wait until the ``LISTEN`` connection is up (tests, and workers that want to
        be sure they hear the first notification)."""
        if self._listener is None:
            return False
        try:
            await asyncio.wait_for(self._listener.listening.wait(), within)
        except TimeoutError:
            return False
        return True

    # -- content and accounts -------------------------------------------------------------

    async def put_revision(self, post: Post, *, now: dt.datetime | None = None) -> str:
        revision = post.revision()
        when = self._now(now)
        used_at = self._schema_version >= REVISIONS_USED_AT
        await self._run(lambda c: misc.put_revision(c, revision, post, when, used_at=used_at))
        return revision

    async def get_revision(self, revision: str) -> Post:
        return await self._reads.run(
            ("revision", revision),
            lambda: self._run(
                lambda c: misc.get_revision(c, revision), transaction=False, idempotent=True
            ),
        )

    async def put_account(self, account: Account, *, now: dt.datetime | None = None) -> None:
        when = self._now(now)
        try:
            await self._run(lambda c: misc.put_account(c, account, when))
        finally:
            self._reads.forget(("account", account.workspace, account.id))

    async def get_account(self, account_id: str, *, workspace: str = "default") -> AccountRecord:
        return await self._reads.run(
            ("account", workspace, account_id),
            lambda: self._run(
                lambda c: misc.get_account(c, account_id, workspace),
                transaction=False,
                idempotent=True,
            ),
        )

    async def list_accounts(self, *, workspace: str | None = None) -> list[AccountRecord]:
        return await self._run(
            lambda c: misc.list_accounts(c, workspace), transaction=False, idempotent=True
        )

    async def set_account_status(
        self,
        account_id: str,
        status: AccountStatus,
        *,
        now: dt.datetime | None = None,
        workspace: str = "default",
        reason: str | None = None,
        actor: str = "engine",
    ) -> None:
        when = self._now(now)

        async def write(c: Conn) -> None:
            at = await rows.db_now(c, when)
            await misc.set_account_status(c, account_id, status, workspace, reason, actor, at)

        try:
            await self._run(write, wake="" if status == "ok" else None)
        finally:
            self._reads.forget(("account", workspace, account_id))

    # -- publications ---------------------------------------------------------------------

    async def add(
        self, publications: Sequence[NewPublication], *, now: dt.datetime | None = None
    ) -> list[str]:
        items = list(publications)
        when = self._now(now)
        due = [p.due_at for p in items if p.state in (S.SCHEDULED, S.RETRY_WAIT)]
        wake = self._wake_at(due) if due else None
        return await self._run(
            lambda c: rows.add(c, items, when, self.options.lock_space), wake=wake
        )

    async def add_returning(
        self, publications: Sequence[NewPublication], *, now: dt.datetime | None = None
    ) -> list[Added]:
        items = list(publications)
        when = self._now(now)
        due = [p.due_at for p in items if p.state in (S.SCHEDULED, S.RETRY_WAIT)]
        wake = self._wake_at(due) if due else None
        states: list[PublicationState | None] = []
        ids = await self._run(
            lambda c: rows.add(c, items, when, self.options.lock_space, states), wake=wake
        )
        return [Added(id=i, state=state) for i, state in zip(ids, states, strict=True)]

    async def add_with_revisions(
        self,
        posts: Sequence[Post],
        publications: Sequence[NewPublication],
        *,
        now: dt.datetime | None = None,
    ) -> list[str]:
        items = list(publications)
        when = self._now(now)
        due = [p.due_at for p in items if p.state in (S.SCHEDULED, S.RETRY_WAIT)]
        wake = self._wake_at(due) if due else None
        revisions = list(
            {post.revision(): post.model_dump_json(exclude_none=True) for post in posts}.items()
        )
        used_at = self._schema_version >= REVISIONS_USED_AT

        async def write(c: Conn) -> list[str]:
            # The insert refused (a slot taken, an id taken) rolls the revisions back too.
            await misc.put_revisions(c, revisions, when, used_at=used_at)
            return await rows.add(c, items, when, self.options.lock_space)

        return await self._run(write, wake=wake)

    async def get(self, publication_id: str, *, history: bool = False) -> Publication:
        async def read(c: Conn) -> Publication:
            # The row first, then number the log: every event the row reflects was
            # committed before, so it has its number when the history is read.
            row = await rows.load_row(c, publication_id)
            if history:
                await rows.sequence_events(c)
            return await rows.publication(c, row, history=history)

        return await self._run(read, transaction=False, idempotent=True)

    async def find_by_key(self, idempotency_key: str) -> Publication | None:
        async def read(c: Conn) -> Publication | None:
            cur = await c.execute(
                f"SELECT {rows.ROW_COLUMNS} FROM publications WHERE idempotency_key = %s",
                (idempotency_key,),
            )
            found = await cur.fetchone()
            return await rows.publication(c, rows.row_from_db(found)) if found else None

        return await self._run(read)

    async def list_publications(self, query: PublicationQuery) -> Page:
        return await self._run(lambda c: rows.list_page(c, query))

    async def _transitions(
        self, transitions: Sequence[Transition], now: dt.datetime | None, *, strict: bool
    ) -> list[PublicationState | None]:
        items = list(transitions)
        when = self._now(now)
        if not items:
            return []
        outcome: list[list[PublicationState | None]] = []
        payload: list[str | None] = [None]

        async def write(c: Conn) -> None:
            results, changed = await rows.apply_transitions(c, items, when, strict=strict)
            outcome.append(results)
            due = [r.run_at for r in changed if r.state in _WAKING and r.attention is None]
            if due:
                payload[0] = self._wake_at(due)
                await c.execute("SELECT pg_notify(%s, %s)", (self.options.channel, payload[0]))

        await self._run(write)
        if payload[0] is not None:
            self._notify_local()
        return outcome[-1]

    async def transition(
        self, transition: Transition, *, now: dt.datetime | None = None
    ) -> PublicationState:
        [written] = await self._transitions([transition], now, strict=True)
        assert written is not None  # strict: a stale one raised
        return written

    async def apply(
        self, transitions: Sequence[Transition], *, now: dt.datetime | None = None
    ) -> list[PublicationState | None]:
        return await self._transitions(transitions, now, strict=False)

    async def receipt_owner(self, platform: str, post_id: str) -> str | None:
        async def read(c: Conn) -> str | None:
            cur = await c.execute(
                "SELECT publication_id FROM receipt_posts WHERE platform = %s AND post_id = %s",
                (platform, post_id),
            )
            found = await cur.fetchone()
            return str(found[0]) if found else None

        return await self._run(read, transaction=False, idempotent=True)

    # -- dispatch -------------------------------------------------------------------------

    async def expire_overdue(
        self, *, now: dt.datetime | None = None, actor: str = "engine"
    ) -> list[Moved]:
        when = self._now(now)
        return await self._run(lambda c: holds.expire_overdue(c, when, actor))

    async def claim(
        self,
        worker: str,
        *,
        now: dt.datetime | None = None,
        limit: int,
        lease: dt.timedelta,
        per_account: int | None = 1,
        reconcile: bool = True,
    ) -> list[Claim]:
        self._check_compatible()
        if self._liveness is not None:
            await self._liveness.add(worker)
        when = self._now(now)
        return await self._run(
            lambda c: claiming.claim(
                c,
                worker,
                now=when,
                limit=limit,
                lease=lease,
                per_account=per_account,
                reconcile=reconcile,
                lock_space=self.options.lock_space,
            )
        )

    async def heartbeat(
        self,
        worker: str,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime | None = None,
        lease: dt.timedelta,
    ) -> list[str]:
        items = list(claims)
        when = self._now(now)
        # One statement on an autocommit connection: atomic without BEGIN and COMMIT.
        return await self._run(
            lambda c: dispatch.heartbeat(c, worker, items, when, lease),
            transaction=False,
            idempotent=True,
        )

    async def mark_publishing(
        self,
        starts: Sequence[PublishStart],
        *,
        worker: str,
        now: dt.datetime | None = None,
        lease: dt.timedelta,
    ) -> list[bool]:
        self._check_compatible()
        items = list(starts)
        when = self._now(now)
        # One statement on an autocommit connection: atomic without BEGIN and COMMIT.
        return await self._run(
            lambda c: dispatch.mark_publishing(c, items, worker, when, lease), transaction=False
        )

    async def release(
        self,
        claims: Sequence[tuple[str, int]],
        *,
        now: dt.datetime | None = None,
        actor: str = "engine",
        reason: str = "handed back",
    ) -> list[bool]:
        items = list(claims)
        when = self._now(now)
        payload: list[str] = []

        async def write(c: Conn) -> list[bool]:
            results, due = await dispatch.release(c, items, when, actor, reason)
            if due:
                payload[:] = [self._wake_at(due)]  # a retried transaction says its own
                await c.execute("SELECT pg_notify(%s, %s)", (self.options.channel, payload[0]))
            return results

        results = await self._run(write)
        if payload:
            self._notify_local()
        return results

    async def record_receipts(
        self, receipts: Sequence[ReceiptRecord], *, now: dt.datetime | None = None
    ) -> list[bool]:
        items = list(receipts)
        when = self._now(now)
        if not items:
            return []
        # No NOTIFY: the worker that frees an account claims again itself at once, and a
        # NOTIFY per completion costs more than it saves (measured: benchmarks/postgres.py);
        # other workers find leftovers when they poll. Local subscribers still hear it.
        # Atomic by itself (see dispatch.record_receipts): no BEGIN and COMMIT round trips.
        results = await self._run(
            lambda c: dispatch.record_receipts(c, items, when), transaction=False
        )
        self._notify_local()
        return results

    async def record_checkpoint(
        self, checkpoint: CheckpointRecord, *, now: dt.datetime | None = None
    ) -> None:
        when = self._now(now)

        async def write(c: Conn) -> None:
            await dispatch.record_checkpoint(c, checkpoint, await rows.db_now(c, when))

        await self._run(write)

    async def record_deletion(
        self, deletion: DeletionRecord, *, now: dt.datetime | None = None
    ) -> None:
        when = self._now(now)

        async def write(c: Conn) -> None:
            await dispatch.record_deletion(c, deletion, await rows.db_now(c, when))

        await self._run(write)

    async def next_due(
        self, *, now: dt.datetime | None = None, per_account: int | None = 1
    ) -> dt.datetime | None:
        """The earliest instant anything may need a worker.

        With ``clock=database`` and a caller's ``now``, the instant is given on the
        caller's clock: the caller sleeps on its own clock until then, so a machine whose
        clock is 5 minutes behind the database's would otherwise wake (and publish) 5
        minutes late, and one 5 minutes ahead would poll for 5 minutes before each due
        time. What is due is still decided by the database's clock alone.
        """
        when = self._now(now)
        # Anything heard while the query runs wakes the subscribers (see _heard): the
        # query's snapshot may be older than the commit heard of, so its answer may not
        # hold that work, and the previous answer is no measure of it (compared with
        # that, a commit of work due soon was dropped and the worker slept past it).
        self._asking += 1
        try:
            if when is not None or now is None:
                due = await self._run(
                    lambda c: holds.next_due(c, when, per_account),
                    transaction=False,
                    idempotent=True,
                )
                self._sleep_until = due
                return due
            due, db_now = await self._run(
                lambda c: holds.next_due_on_db_clock(c, per_account),
                transaction=False,
                idempotent=True,
            )
            self._sleep_until = due
        finally:
            self._asking -= 1
        if due is None:
            return None
        skew = db_now - now
        if abs(skew) < _SKEW_TOLERATED:
            # ``now`` was read a moment before the query (often before a claim or two):
            # no correction for that, or an in-sync worker would wake early each time.
            return due
        return due - skew

    # -- pause switch and rate budgets ----------------------------------------------------

    async def pause(self, scope: PauseScope, *, now: dt.datetime | None = None) -> list[Moved]:
        when = self._now(now)

        async def write(c: Conn) -> list[Moved]:
            return await holds.pause(c, scope, await rows.db_now(c, when))

        return await self._run(write)

    async def resume(self, scope: PauseScope, *, now: dt.datetime | None = None) -> list[Moved]:
        when = self._now(now)

        async def write(c: Conn) -> list[Moved]:
            return await holds.resume(c, scope, await rows.db_now(c, when))

        return await self._run(write, wake="")

    async def pauses(self, *, workspace: str | None = None) -> list[PauseScope]:
        found = await self._run(rows.load_pauses, transaction=False, idempotent=True)
        return [p for p in found if workspace is None or p.workspace == workspace]

    async def set_budget(self, budget: Budget, *, now: dt.datetime | None = None) -> None:
        when = self._now(now)
        await self._run(lambda c: misc.set_budget(c, budget, when), wake="")

    async def budgets(self, *, workspace: str | None = None) -> list[Budget]:
        return await self._run(
            lambda c: misc.load_budgets(c, workspace), transaction=False, idempotent=True
        )

    async def clear_budget(
        self,
        workspace: str,
        account_id: str,
        *,
        now: dt.datetime | None = None,
        actor: str = "api",
        reason: str | None = None,
    ) -> ClearedRateLimit:
        when = self._now(now)

        async def write(c: Conn) -> ClearedRateLimit:
            return await misc.clear_budget(
                c, workspace, account_id, actor, reason, await rows.db_now(c, when)
            )

        return await self._run(write, wake="")

    # -- rules ----------------------------------------------------------------------------

    async def add_rule(
        self, rule: Rule, *, now: dt.datetime | None = None, actor: str = "engine"
    ) -> None:
        when = self._now(now)

        async def write(c: Conn) -> None:
            await misc.add_rule(c, rule, await rows.db_now(c, when), actor)

        await self._run(write, wake="")

    async def get_rule(self, rule_id: str) -> Rule:
        return await self._run(
            lambda c: misc.get_rule(c, rule_id), transaction=False, idempotent=True
        )

    async def list_rules(
        self, *, workspace: str | None = None, active: bool | None = None
    ) -> list[Rule]:
        return await self._run(
            lambda c: misc.list_rules(c, workspace, active), transaction=False, idempotent=True
        )

    async def advance_rule(
        self,
        rule_id: str,
        *,
        expect_cursor: str | None,
        cursor: str | None,
        publications: Sequence[NewPublication],
        now: dt.datetime | None = None,
        remaining: int | None = None,
        active: bool | None = None,
    ) -> list[str]:
        items = list(publications)
        when = self._now(now)
        due = [p.due_at for p in items if p.state in (S.SCHEDULED, S.RETRY_WAIT)]

        async def write(c: Conn) -> list[str]:
            at = await rows.db_now(c, when)
            return await misc.advance_rule(
                c,
                rule_id,
                expect_cursor,
                cursor,
                items,
                at,
                remaining,
                active,
                self.options.lock_space,
            )

        return await self._run(write, wake=self._wake_at(due) if due else "")

    async def set_rule_active(
        self,
        rule_id: str,
        active: bool,
        *,
        now: dt.datetime | None = None,
        actor: str = "engine",
    ) -> None:
        when = self._now(now)

        async def write(c: Conn) -> None:
            await misc.set_rule_active(c, rule_id, active, await rows.db_now(c, when), actor)

        await self._run(write, wake="" if active else None)

    # -- metrics --------------------------------------------------------------------------

    async def add_metric_tasks(
        self, tasks: Sequence[tuple[str, dt.datetime, str]], *, now: dt.datetime | None = None
    ) -> None:
        items = list(tasks)
        if not items:
            return
        await self._run(
            lambda c: misc.add_metric_tasks(c, items), wake=self._wake_at([t[1] for t in items])
        )

    async def claim_metric_tasks(
        self,
        worker: str,
        *,
        now: dt.datetime | None = None,
        limit: int,
        lease: dt.timedelta,
    ) -> list[MetricTask]:
        when = self._now(now)
        return await self._run(lambda c: misc.claim_metric_tasks(c, worker, when, limit, lease))

    async def complete_metric_task(
        self,
        task_id: int,
        snapshots: Sequence[MetricSnapshot],
        *,
        now: dt.datetime | None = None,
        error: str | None = None,
    ) -> None:
        items = list(snapshots)
        when = self._now(now)
        await self._run(lambda c: misc.complete_metric_task(c, task_id, items, when, error))

    async def retry_metric_task(
        self,
        task_id: int,
        *,
        run_at: dt.datetime,
        now: dt.datetime | None = None,
        error: str,
        count_failure: bool = False,
    ) -> None:
        await self._run(
            lambda c: misc.retry_metric_task(c, task_id, run_at, error, count_failure),
            wake=self._wake_at([run_at]),
        )

    async def metric_series(
        self,
        *,
        publication_id: str | None = None,
        account_id: str | None = None,
        campaign: str | None = None,
        workspace: str | None = None,
    ) -> list[MetricSnapshot]:
        return await self._run(
            lambda c: misc.metric_series(c, publication_id, account_id, campaign, workspace),
            transaction=False,
            idempotent=True,
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
        async def read(c: Conn) -> list[Event]:
            if until is None:  # up to a last_event_seq(), every event is numbered already
                await rows.sequence_events(c)
            return await rows.events_since(c, since, limit, publication_id, workspace, until)

        return await self._run(read, transaction=False, idempotent=True)

    async def last_event_seq(self) -> int:
        async def read(c: Conn) -> int:
            await rows.sequence_events(c)
            cur = await c.execute("SELECT last FROM event_counter")
            found = await cur.fetchone()
            return int(found[0]) if found else 0

        return await self._run(read, transaction=False, idempotent=True)
