"""Operations on a PostgreSQL store: its tables row by row (``COPY``), status figures,
pruning, and the rolling-deploy guard of ``socialkit store migrate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit.schedule.states import TERMINAL_STATES
from socialkit.schedule.stores._postgres_schema import read_schema

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import AsyncIterator, Sequence

    from socialkit.schedule.stores._ops_tables import Table
    from socialkit.schedule.stores._postgres_rows import Conn
    from socialkit.schedule.stores._postgres_schema import Migration

__all__ = [
    "count",
    "finish_copy",
    "live_workers",
    "migration_blockers",
    "prune",
    "read",
    "status",
    "write",
]

TERMINAL = tuple(sorted(state.value for state in TERMINAL_STATES))


def _select(table: Table) -> str:
    return ", ".join(f"{c}::text" if c in table.jsons else c for c in table.columns)


async def read(conn: Conn, table: Table, batch: int = 5000) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The table's rows, ``batch`` at a time, in key order (inside the caller's
    transaction, so every table is read from one snapshot). Number the event log with
    :func:`~socialkit.schedule.stores._postgres_rows.sequence_events` before reading it."""
    cursor = conn.cursor(name=f"copy_{table.name}")
    try:
        await cursor.execute(f"SELECT {_select(table)} FROM {table.name} ORDER BY {table.order}")
        while rows := await cursor.fetchmany(batch):
            yield list(rows)
    finally:
        await cursor.close()


async def write(conn: Conn, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """``COPY`` rows into ``table`` (inside the caller's transaction)."""
    columns = list(table.columns)
    if table.name == "events":
        columns = ["raw_id", *columns]
        rows = [(row[0], *row) for row in rows]
    async with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            await copy.write_row(row)


async def finish_copy(conn: Conn, tables: Sequence[Table]) -> None:
    """Move generated keys and the event counter past the copied rows."""
    for table in tables:
        if table.identity is not None:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.identity}'), "
                f"COALESCE((SELECT max({table.identity}) FROM {table.name}), 0) + 1, false)"
            )
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'raw_id'), "
        "COALESCE((SELECT max(raw_id) FROM events), 0) + 1, false)"
    )
    await conn.execute("UPDATE event_counter SET last = COALESCE((SELECT max(seq) FROM events), 0)")


async def count(conn: Conn, table: str) -> int:
    cur = await conn.execute(f"SELECT count(*) FROM {table}")
    found = await cur.fetchone()
    return int(found[0]) if found else 0


async def live_workers(conn: Conn) -> list[dict[str, Any]]:
    """Workers whose last liveness beat is less than three beats old, with what they hold."""
    cur = await conn.execute(
        "SELECT w.id, w.host, w.pid, w.code_version, w.last_seen, "
        "(SELECT count(*) FROM publications p WHERE p.lease_owner = w.id "
        "AND p.lease_expires_at > clock_timestamp()) "
        "FROM workers w WHERE w.last_seen > clock_timestamp() - 3 * w.beat_s * interval '1 second' "
        "ORDER BY w.id"
    )
    return [
        {
            "id": wid,
            "host": host,
            "pid": pid,
            "code_version": code,
            "last_seen": seen,
            "in_flight": int(n),
        }
        for wid, host, pid, code, seen, n in await cur.fetchall()
    ]


async def status(conn: Conn) -> dict[str, Any]:
    """Counts by state, due work on the database clock, attention, live workers."""
    cur = await conn.execute("SELECT state, count(*) FROM publications GROUP BY state")
    counts = {str(k): int(v) for k, v in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT count(*), min(run_at), clock_timestamp() FROM publications "
        "WHERE state IN ('scheduled', 'retry_wait') AND run_at <= clock_timestamp()"
    )
    found = await cur.fetchone()
    assert found is not None
    due, oldest, now = found
    cur = await conn.execute("SELECT count(*) FROM publications WHERE attention IS NOT NULL")
    attention = await cur.fetchone()
    return {
        "now": now,
        "counts": counts,
        "due_now": int(due),
        "oldest_due": oldest,
        "needs_person": int(attention[0]) if attention else 0,
        "workers": await live_workers(conn),
    }


async def prune(
    conn: Conn, older_than: dt.timedelta, *, metrics: bool, dry_run: bool
) -> dict[str, int]:
    """Delete what finished more than ``older_than`` ago (see :func:`ops.prune_store`);
    with ``dry_run`` count it and change nothing."""
    removed: dict[str, int] = {}
    async with conn.transaction(force_rollback=dry_run):
        cur = await conn.execute("SELECT clock_timestamp() - %s", (older_than,))
        found = await cur.fetchone()
        assert found is not None
        cutoff = found[0]
        # The publications first, their conditions checked again on the rows the DELETE
        # locks: one a person rescheduled while the prune ran is kept (picked first and
        # deleted by id, it was deleted with its new event left behind). Then what
        # belongs to the ones deleted, and only those.
        await conn.execute("CREATE TEMP TABLE prune_ids (id text PRIMARY KEY) ON COMMIT DROP")
        cur = await conn.execute(
            "WITH gone AS (DELETE FROM publications WHERE state = ANY(%(terminal)s) "
            "AND updated_at < %(cutoff)s RETURNING id) INSERT INTO prune_ids SELECT id FROM gone",
            {"terminal": list(TERMINAL), "cutoff": cutoff},
        )
        removed["publications"] = cur.rowcount
        steps: list[tuple[str, str]] = [
            ("receipts", "DELETE FROM receipts WHERE publication_id IN (SELECT id FROM prune_ids)"),
            (
                "receipt_posts",
                "DELETE FROM receipt_posts WHERE publication_id IN (SELECT id FROM prune_ids)",
            ),
            (
                "checkpoints",
                "DELETE FROM checkpoints WHERE publication_id IN (SELECT id FROM prune_ids)",
            ),
            (
                "metric_tasks",
                "DELETE FROM metric_tasks WHERE publication_id IN (SELECT id FROM prune_ids) "
                "OR (done_at IS NOT NULL AND done_at < %(cutoff)s)",
            ),
            (
                "events",
                "DELETE FROM events WHERE publication_id IN (SELECT id FROM prune_ids) "
                "OR (publication_id IS NULL AND at < %(cutoff)s)",
            ),
            (
                # neither stored nor used within the window (``used_at``: stored again,
                # so a publication about to be added keeps it), and nothing points at it
                "revisions",
                "DELETE FROM revisions v WHERE COALESCE(v.used_at, v.created_at) < %(cutoff)s "
                "AND NOT EXISTS (SELECT 1 FROM publications p WHERE p.revision = v.revision) "
                "AND NOT EXISTS "
                "(SELECT 1 FROM rules r WHERE (r.rule::jsonb ->> 'revision') = v.revision)",
            ),
            ("workers", "DELETE FROM workers WHERE last_seen < %(cutoff)s"),
        ]
        if metrics:
            steps.append(
                ("metric_snapshots", "DELETE FROM metric_snapshots WHERE collected_at < %(cutoff)s")
            )
        for name, sql in steps:
            cur = await conn.execute(sql, {"cutoff": cutoff})
            removed[name] = cur.rowcount
    order = [name for name, _ in steps]
    order.insert(order.index("revisions"), "publications")
    return {name: removed[name] for name in order}


async def migration_blockers(
    conn: Conn, migrations: Sequence[Migration], code_version: int
) -> tuple[int, list[dict[str, Any]]]:
    """The ``min_compatible`` migrating would reach, and the live workers it would stop
    (those whose code is older than that)."""
    version, min_compatible = await read_schema(conn)
    reach = min_compatible
    for migration in migrations:
        if version < migration.version <= code_version:
            reach = max(reach, migration.min_compatible)
    if version == 0:
        return reach, []
    return reach, [w for w in await live_workers(conn) if w["code_version"] < reach]
