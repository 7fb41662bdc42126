"""Operations on a SQLite store file: its tables row by row, status figures and pruning.

These read and write the file directly (schema version 1, as
:mod:`~socialkit.schedule.stores._sqlite_schema` creates it) on a connection of their
own, in one transaction each, so a worker using the store at the same time sees either
nothing or all of it.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from socialkit.schedule.states import TERMINAL_STATES
from socialkit.schedule.stores._common import from_us, to_us
from socialkit.schedule.stores._sqlite_rows import fold_intake

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from socialkit.schedule.stores._ops_tables import Table

__all__ = ["SqliteFile"]

TERMINAL = tuple(sorted(state.value for state in TERMINAL_STATES))


class SqliteFile:
    """A connection to a SQLite store's file for copy, status and prune.

    Args:
        path: the database file (the store must have been opened once, so it has a schema).
        busy_timeout_ms: how long to wait for a worker's write lock.
    """

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        # Used from one task at a time, possibly from worker threads (asyncio.to_thread).
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        self._move_intake()

    def _move_intake(self) -> None:
        """Move publications still in the intake (schema 11) into ``publications``, as
        every call of the store does first, so a copy, a status or a prune sees them."""
        conn = self.conn
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'intake'"
        ).fetchone():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            fold_intake(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    # -- rows in the neutral form (see _ops_tables) ---------------------------------------

    def read(self, table: Table, batch: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """The table's rows, ``batch`` at a time, in key order."""
        cur = self.conn.execute(
            f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.order}"
        )
        convert = self._from_db(table)
        while rows := cur.fetchmany(batch):
            yield [convert(row) for row in rows]

    def write(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows (inside the caller's transaction)."""
        convert = self._to_db(table)
        marks = ", ".join("?" * len(table.columns))
        self.conn.executemany(
            f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})",
            [convert(row) for row in rows],
        )

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    @staticmethod
    def _from_db(table: Table) -> Any:
        kinds = _kinds(table)

        def convert(row: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(
                value
                if value is None or kind == ""
                else from_us(value)
                if kind == "time"
                else bool(value)
                for value, kind in zip(row, kinds, strict=True)
            )

        return convert

    @staticmethod
    def _to_db(table: Table) -> Any:
        kinds = _kinds(table)

        def convert(row: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(
                value
                if value is None or kind == ""
                else to_us(value)
                if kind == "time"
                else int(value)
                for value, kind in zip(row, kinds, strict=True)
            )

        return convert

    # -- status and prune -------------------------------------------------------------------

    def status(self, now: dt.datetime) -> dict[str, Any]:
        """Counts by state, due work, attention, and the workers holding leases."""
        us = to_us(now)
        conn = self.conn
        counts = dict(conn.execute("SELECT state, COUNT(*) FROM publications GROUP BY state"))
        due, oldest = conn.execute(
            "SELECT COUNT(*), MIN(run_at) FROM publications "
            "WHERE state IN ('scheduled', 'retry_wait') AND run_at <= ?",
            (us,),
        ).fetchone()
        attention = conn.execute(
            "SELECT COUNT(*) FROM publications WHERE attention IS NOT NULL"
        ).fetchone()[0]
        leases = conn.execute(
            "SELECT lease_owner, COUNT(*), MAX(updated_at) FROM publications "
            "WHERE lease_owner IS NOT NULL AND lease_expires_at > ? GROUP BY lease_owner "
            "ORDER BY lease_owner",
            (us,),
        ).fetchall()
        return {
            "counts": {str(k): int(v) for k, v in counts.items()},
            "due_now": int(due),
            "oldest_due": from_us(oldest) if oldest is not None else None,
            "needs_person": int(attention),
            "workers": [
                {"id": owner, "in_flight": int(n), "last_seen": from_us(seen)}
                for owner, n, seen in leases
            ],
        }

    def prune(self, cutoff: dt.datetime, *, metrics: bool, dry_run: bool) -> dict[str, int]:
        """Delete what finished before ``cutoff`` (see :func:`ops.prune_store`)."""
        us = to_us(cutoff)
        conn = self.conn
        removed: dict[str, int] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TEMP TABLE prune_ids (id TEXT PRIMARY KEY)")
            conn.execute(
                "INSERT INTO prune_ids SELECT id FROM publications "
                f"WHERE state IN {TERMINAL!r} AND updated_at < ?",
                (us,),
            )
            steps: list[tuple[str, str, tuple[Any, ...]]] = [
                ("receipts", "DELETE FROM receipts WHERE publication_id IN prune_ids", ()),
                (
                    "receipt_posts",
                    "DELETE FROM receipt_posts WHERE publication_id IN prune_ids",
                    (),
                ),
                ("checkpoints", "DELETE FROM checkpoints WHERE publication_id IN prune_ids", ()),
                (
                    "metric_tasks",
                    "DELETE FROM metric_tasks WHERE publication_id IN prune_ids "
                    "OR (done_at IS NOT NULL AND done_at < ?)",
                    (us,),
                ),
                (
                    "events",
                    "DELETE FROM events WHERE publication_id IN prune_ids "
                    "OR (publication_id IS NULL AND at < ?)",
                    (us,),
                ),
                ("publications", "DELETE FROM publications WHERE id IN prune_ids", ()),
                (
                    "revisions",
                    # neither stored nor used within the window (``used_at``: stored
                    # again, so a publication about to be added keeps it)
                    "DELETE FROM revisions WHERE COALESCE(used_at, created_at) < ? AND NOT EXISTS "
                    "(SELECT 1 FROM publications p WHERE p.revision = revisions.revision) "
                    "AND NOT EXISTS (SELECT 1 FROM rules r "
                    "WHERE json_extract(r.rule, '$.revision') = revisions.revision)",
                    (us,),
                ),
            ]
            if metrics:
                steps.append(
                    (
                        "metric_snapshots",
                        "DELETE FROM metric_snapshots WHERE collected_at < ?",
                        (us,),
                    )
                )
            for name, sql, params in steps:
                removed[name] = conn.execute(sql, params).rowcount
            conn.execute("DROP TABLE temp.prune_ids")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ROLLBACK" if dry_run else "COMMIT")
        return removed


def _kinds(table: Table) -> list[str]:
    return [
        "time" if c in table.times else "flag" if c in table.flags else "" for c in table.columns
    ]
