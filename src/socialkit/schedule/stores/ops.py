"""Store operations behind ``socialkit store …``: migrate, status, prune and copy.

They work on ``sqlite:///`` and ``postgresql://`` stores by URL (a ``memory://`` store
lives inside one process, so there is nothing to operate on from outside):

* :func:`migrate_store` — bring the schema forward. On PostgreSQL it refuses (unless
  forced) when the new schema's minimum compatible version would stop workers that are
  alive right now with older code: upgrade them first, then migrate.
* :func:`store_status` — counts by state, due work and the oldest due time, what needs a
  person, live workers, pause switches.
* :func:`prune_store` — delete finished publications (published, failed, missed,
  cancelled, deleted) last changed before a cutoff, with their receipts, checkpoints, metric
  tasks and events; old events not about a publication; revisions nothing uses; and on
  request old metric snapshots (kept by default: they are the analytics series).
* :func:`copy_store` — copy every table (publications with their receipts, checkpoints
  and histories, the event log with its numbers, metric tasks and series, accounts,
  rules, revisions, budgets, pause switches) into an empty store, in one transaction
  on the target, read from one snapshot of the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.errors import ConfigError, StoreError
from socialkit.schedule.stores._ops_tables import TABLES
from socialkit.schedule.stores._sqlite_schema import MARK_UNREGISTERED
from socialkit.schedule.stores.base import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

    from socialkit.schedule.publication import PauseScope
    from socialkit.schedule.records import SchemaInfo
    from socialkit.schedule.stores._ops_sqlite import SqliteFile
    from socialkit.schedule.stores._ops_tables import Table
    from socialkit.schedule.stores._postgres_rows import Conn
    from socialkit.schedule.stores._postgres_schema import Migration
    from socialkit.schedule.stores.postgres import PostgresStore
    from socialkit.schedule.stores.sqlite import SqliteStore

__all__ = ["StoreStatus", "copy_store", "migrate_store", "prune_store", "store_status"]

_CONTENT = ("publications", "events", "accounts", "rules", "revisions", "metric_snapshots")


@attrs.frozen(kw_only=True)
class StoreStatus:
    """What ``socialkit store status`` shows.

    Attributes:
        url: the store (no password).
        schema: its schema version, minimum compatible version and this code's version.
        now: the instant the figures are for (the database clock on PostgreSQL).
        counts: publications by state (every state, zeros included).
        due_now: publications waiting to be claimed whose time has come.
        oldest_due: the earliest ``run_at`` among them (how far behind the workers are).
        next_due: when anything is next due (the store's ``next_due``).
        needs_person: publications waiting for a person (``attention`` set).
        workers: live workers: id, and ``host``, ``pid``, ``last_seen``, ``code_version``
            where the store records liveness (PostgreSQL), with what each has in flight.
        workers_from: ``liveness`` (beats) or ``leases`` (workers holding leases now).
        paused: the pause switches that are on.
    """

    url: str
    schema: SchemaInfo
    now: dt.datetime
    counts: dict[str, int]
    due_now: int
    oldest_due: dt.datetime | None
    next_due: dt.datetime | None
    needs_person: int
    workers: tuple[dict[str, Any], ...]
    workers_from: str
    paused: tuple[PauseScope, ...]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "store": self.url,
            "schema": {
                "version": self.schema.version,
                "min_compatible": self.schema.min_compatible,
                "code_version": self.schema.code_version,
            },
            "now": iso(self.now),
            "counts": self.counts,
            "due_now": self.due_now,
            "oldest_due": iso(self.oldest_due),
            "next_due": iso(self.next_due),
            "needs_person": self.needs_person,
            "workers": [
                {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in w.items()}
                for w in self.workers
            ],
            "workers_from": self.workers_from,
            "paused": [p.model_dump(mode="json", exclude_none=True) for p in self.paused],
        }


def _kind(url: str) -> str:
    scheme = url.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    if scheme == "sqlite":
        return "sqlite"
    if scheme == "memory":
        raise ConfigError(
            "a memory:// store lives inside one process; store commands need "
            "a sqlite:/// or postgresql:// store"
        )
    from socialkit.schedule.stores import mask_url

    raise ConfigError(
        f"store commands support sqlite:/// and postgresql:// (got {mask_url(url)!r})"
    )


def _postgres(url: str, **kwargs: Any) -> PostgresStore:
    from socialkit.schedule.stores.postgres import PostgresStore

    return PostgresStore(url, **kwargs)


def _sqlite(url: str) -> SqliteStore:
    from socialkit.schedule.stores.sqlite import SqliteStore

    return SqliteStore(url)


@contextlib.asynccontextmanager
async def _pg_conn(store: PostgresStore) -> AsyncIterator[Conn]:
    conn = await store.connection()
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.contextmanager
def _sqlite_file(store: SqliteStore) -> Iterator[SqliteFile]:
    from socialkit.schedule.stores._ops_sqlite import SqliteFile

    file = SqliteFile(store.path)
    try:
        yield file
    finally:
        file.close()


# -- migrate ------------------------------------------------------------------------------


async def migrate_store(
    url: str,
    *,
    force: bool = False,
    migrations: Sequence[Migration] | None = None,
    code_version: int = SCHEMA_VERSION,
) -> tuple[SchemaInfo, SchemaInfo]:
    """Migrate the store forward; returns its schema before and after.

    Raises:
        StoreError: the store needs newer code; or (PostgreSQL, without ``force``) live
            workers run code the new schema would no longer be compatible with.
    """
    if _kind(url) == "sqlite":
        return await _migrate_sqlite(url)
    return await _migrate_postgres(url, force, migrations, code_version)


async def _migrate_sqlite(url: str) -> tuple[SchemaInfo, SchemaInfo]:
    from socialkit.schedule.records import SchemaInfo
    from socialkit.schedule.stores._sqlite_schema import read_schema

    store = _sqlite(url)
    found = (0, 0)
    if store.path.exists():
        with _sqlite_file(store) as file:
            found = read_schema(file.conn)
    await store.open()
    try:
        migrated = await store.schema()
    finally:
        await store.close()
    earlier = SchemaInfo(
        version=found[0], min_compatible=found[1], code_version=migrated.code_version
    )
    return earlier, migrated


async def _migrate_postgres(
    url: str, force: bool, migrations: Sequence[Migration] | None, code_version: int
) -> tuple[SchemaInfo, SchemaInfo]:
    from socialkit.schedule.records import SchemaInfo
    from socialkit.schedule.stores._ops_postgres import migration_blockers
    from socialkit.schedule.stores._postgres_schema import MIGRATIONS, migrate, read_schema

    known = tuple(migrations) if migrations is not None else MIGRATIONS
    pg = _postgres(url, migrations=known, code_version=code_version)
    async with _pg_conn(pg) as conn:
        version, min_compatible = await read_schema(conn)
        reach, blockers = await migration_blockers(conn, known, code_version)
        if blockers and not force:
            names = ", ".join(f"{w['id']} (schema {w['code_version']})" for w in blockers)
            raise StoreError(
                f"migrating {pg.url} would need socialkit schema {reach} or newer, but these "
                f"live workers run older code: {names}; upgrade them first (or pass --force "
                "to stop them at their next beat)"
            )
        after = await migrate(
            conn,
            schema=pg.options.schema,
            lock_space=pg.options.lock_space,
            where=pg.url,
            migrations=known,
            code_version=code_version,
        )
    before = SchemaInfo(version=version, min_compatible=min_compatible, code_version=code_version)
    return before, after


# -- status -------------------------------------------------------------------------------


async def store_status(url: str) -> StoreStatus:
    """The store's figures (it is migrated forward first only on SQLite, which does so
    whenever it opens)."""
    from socialkit.schedule.states import PublicationState

    if _kind(url) == "postgres":
        from socialkit.schedule.stores._ops_postgres import status as pg_status

        store: Any = _postgres(url, migrate_on_open=False)
        await store.open()
        try:
            async with _pg_conn(store) as conn:
                figures = await pg_status(conn)
            source = "liveness"
            info, pauses, due = await store.schema(), await store.pauses(), await store.next_due()
        finally:
            await store.close()
        now = figures["now"]
    else:
        store = _sqlite(url)
        await store.open()
        now = dt.datetime.now(dt.UTC)
        try:
            with _sqlite_file(store) as file:
                figures = await asyncio.to_thread(file.status, now)
            info, pauses = await store.schema(), await store.pauses()
            due = await store.next_due(now=now)
        finally:
            await store.close()
        source = "leases"
    counts = {state.value: figures["counts"].get(state.value, 0) for state in PublicationState}
    return StoreStatus(
        url=store.url if _kind(url) == "postgres" else url,
        schema=info,
        now=now,
        counts=counts,
        due_now=figures["due_now"],
        oldest_due=figures["oldest_due"],
        next_due=due,
        needs_person=figures["needs_person"],
        workers=tuple(figures["workers"]),
        workers_from=source,
        paused=tuple(pauses),
    )


# -- prune --------------------------------------------------------------------------------


async def prune_store(
    url: str, older_than: dt.timedelta, *, metrics: bool = False, dry_run: bool = False
) -> dict[str, int]:
    """Delete what finished more than ``older_than`` ago; returns rows removed per table
    (with ``dry_run``, what would be removed; nothing changes).

    Raises:
        ConfigError: ``older_than`` is not positive.
    """
    if older_than <= dt.timedelta(0):
        raise ConfigError(f"--older-than must be positive (got {older_than})")
    if _kind(url) == "postgres":
        from socialkit.schedule.stores._ops_postgres import prune

        store = _postgres(url, migrate_on_open=False)
        await store.open()
        try:
            info = await store.schema()
            if info.version < info.code_version:
                # Prune reads what the newer schema adds (revisions.used_at, which keeps
                # a revision about to be used); it is never migrated as a side effect.
                raise StoreError(
                    f"the store at {store.url} has schema version {info.version}, older "
                    f"than this socialkit's {info.code_version}: run `socialkit store "
                    "migrate` first, then prune"
                )
            async with _pg_conn(store) as conn:
                return await prune(conn, older_than, metrics=metrics, dry_run=dry_run)
        finally:
            await store.close()
    sqlite = _sqlite(url)
    await sqlite.open()
    await sqlite.close()
    cutoff = dt.datetime.now(dt.UTC) - older_than
    with _sqlite_file(sqlite) as file:
        return await asyncio.to_thread(file.prune, cutoff, metrics=metrics, dry_run=dry_run)


# -- copy ---------------------------------------------------------------------------------


async def copy_store(source_url: str, target_url: str, *, batch: int = 5000) -> dict[str, int]:
    """Copy everything from ``source_url`` into the empty store at ``target_url``.

    Both are migrated to this code's schema first. The target is written in one
    transaction, so a failed copy leaves it empty. Returns rows copied per table, which
    are checked against the target afterwards.

    Raises:
        StoreError: the target already holds data, or the copy does not add up.
    """
    source_kind, target_kind = _kind(source_url), _kind(target_url)
    if source_url == target_url:
        raise ConfigError("copy needs two different stores")
    async with (
        _reader(source_url, source_kind) as read,
        _writer(target_url, target_kind) as (
            write,
            count,
        ),
    ):
        for name in _CONTENT:
            existing = await count(name)
            if existing:
                raise StoreError(
                    f"the target store already holds {existing} {name} rows; "
                    "copy needs an empty store"
                )
        copied: dict[str, int] = {}
        for table in TABLES:
            copied[table.name] = 0
            async for rows in read(table, batch):
                await write(table, rows)
                copied[table.name] += len(rows)
    async with _writer(target_url, target_kind, transaction=False) as (_, count):
        for name, n in copied.items():
            found = await count(name)
            if found != n:
                raise StoreError(f"copy check failed: {n} {name} rows read, {found} in the target")
    return copied


@contextlib.asynccontextmanager
async def _reader(url: str, kind: str) -> AsyncIterator[Any]:
    if kind == "postgres":
        from socialkit.schedule.stores._ops_postgres import read
        from socialkit.schedule.stores._postgres_rows import sequence_events

        store = _postgres(url)
        await store.open()
        await store.close()
        async with _pg_conn(store) as conn:
            await sequence_events(conn)
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

                def rows_of(table: Table, size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
                    return read(conn, table, size)

                yield rows_of
        return
    sqlite = _sqlite(url)
    await sqlite.open()
    await sqlite.close()
    with _sqlite_file(sqlite) as file:
        file.conn.execute("BEGIN")  # one read snapshot for every table
        try:

            async def rows_of_file(table: Table, size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
                for rows in file.read(table, size):
                    yield rows

            yield rows_of_file
        finally:
            file.conn.execute("COMMIT")


@contextlib.asynccontextmanager
async def _writer(url: str, kind: str, *, transaction: bool = True) -> AsyncIterator[Any]:
    if kind == "postgres":
        from socialkit.schedule.stores import _ops_postgres as pg

        store = _postgres(url)
        await store.open()
        await store.close()
        async with _pg_conn(store) as conn:

            async def count_pg(table: str) -> int:
                return await pg.count(conn, table)

            async def write_pg(table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
                await pg.write(conn, table, rows)

            if not transaction:
                yield write_pg, count_pg
                return
            async with conn.transaction():
                yield write_pg, count_pg
                await pg.finish_copy(conn, TABLES)
        return
    sqlite = _sqlite(url)
    await sqlite.open()
    await sqlite.close()
    with _sqlite_file(sqlite) as file:

        async def count_file(table: str) -> int:
            return file.count(table)

        async def write_file(table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
            file.write(table, rows)

        if not transaction:
            yield write_file, count_file
            return
        file.conn.execute("BEGIN IMMEDIATE")
        try:
            yield write_file, count_file
            # what the copied publications' adds would have noted (see UNREGISTERED)
            file.conn.execute(MARK_UNREGISTERED)
        except BaseException:
            file.conn.execute("ROLLBACK")
            raise
        file.conn.execute("COMMIT")
