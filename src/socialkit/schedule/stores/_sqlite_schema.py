"""The SQLite schema and its forward migrations.

Each migration names the oldest code schema that can still run against the database
once it is applied (``min_compatible``). Opening a database migrates it forward to the
code's version; a database *newer* than the code is used as it is while the code is at
least its ``min_compatible`` (a rolling deploy: old workers keep running), and refused
otherwise with a message that says which version is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from socialkit.errors import StoreError
from socialkit.schedule.records import SchemaInfo
from socialkit.schedule.stores._metric_waits import SQLITE_STATEMENTS

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

__all__ = [
    "MARK_UNREGISTERED",
    "MIGRATIONS",
    "UNREGISTERED",
    "Migration",
    "mark_unregistered_sql",
    "migrate",
]


@attrs.frozen(kw_only=True)
class Migration:
    """Statements that move the schema to ``version``."""

    version: int
    min_compatible: int
    statements: tuple[str, ...]


_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE revisions (
        revision TEXT PRIMARY KEY,
        post TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE accounts (
        workspace TEXT NOT NULL,
        id TEXT NOT NULL,
        platform TEXT NOT NULL,
        account TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'ok',
        status_reason TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (workspace, id)
    ) WITHOUT ROWID""",
    """CREATE TABLE publications (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        account_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        revision TEXT NOT NULL,
        draft TEXT,
        due_at INTEGER NOT NULL,
        local_time TEXT NOT NULL,
        zone TEXT NOT NULL,
        state TEXT NOT NULL,
        run_at INTEGER NOT NULL,
        expires_at INTEGER,
        attempt INTEGER NOT NULL DEFAULT 0,
        sends INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        idempotency_key TEXT NOT NULL UNIQUE,
        campaign TEXT,
        rule_id TEXT,
        approvals_required INTEGER NOT NULL DEFAULT 0,
        approvals TEXT,
        grace_s REAL,
        publish_late INTEGER NOT NULL DEFAULT 0,
        problems TEXT,
        last_error TEXT,
        attention TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    # Claims walk this partial index in due order; it holds only claimable rows and
    # covers what a claim reads, so skipping busy accounts never touches the table.
    """CREATE INDEX publications_due
        ON publications (run_at, id, workspace, account_id, campaign, state)
        WHERE state IN ('scheduled', 'retry_wait')""",
    """CREATE INDEX publications_reconcile ON publications (run_at, id)
        WHERE state = 'unknown' AND attention IS NULL""",
    """CREATE INDEX publications_lease ON publications (lease_expires_at)
        WHERE lease_expires_at IS NOT NULL""",
    """CREATE INDEX publications_grace ON publications (expires_at)
        WHERE state = 'scheduled' AND sends = 0 AND expires_at IS NOT NULL""",
    "CREATE INDEX publications_listing ON publications (due_at, id)",
    "CREATE INDEX publications_state ON publications (state, due_at, id)",
    "CREATE INDEX publications_account ON publications (account_id, due_at)",
    """CREATE INDEX publications_campaign ON publications (campaign, due_at)
        WHERE campaign IS NOT NULL""",
    """CREATE INDEX publications_rule ON publications (rule_id, account_id, due_at)
        WHERE rule_id IS NOT NULL""",
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        publication_id TEXT,
        workspace TEXT,
        account_id TEXT,
        campaign TEXT,
        actor TEXT NOT NULL,
        reason TEXT,
        attempt INTEGER NOT NULL,
        from_state TEXT,
        to_state TEXT,
        error TEXT,
        data TEXT
    )""",
    """CREATE INDEX events_publication ON events (publication_id, seq)
        WHERE publication_id IS NOT NULL""",
    """CREATE TABLE receipts (
        id INTEGER PRIMARY KEY,
        publication_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        source TEXT NOT NULL,
        platform TEXT NOT NULL,
        post_id TEXT NOT NULL,
        receipt TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        UNIQUE (publication_id, attempt, source)
    )""",
    """CREATE TABLE receipt_posts (
        platform TEXT NOT NULL,
        post_id TEXT NOT NULL,
        publication_id TEXT NOT NULL,
        PRIMARY KEY (platform, post_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE checkpoints (
        publication_id TEXT NOT NULL,
        part INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        ref TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (publication_id, part, attempt)
    ) WITHOUT ROWID""",
    """CREATE TABLE pauses (
        workspace TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (workspace, kind, value)
    ) WITHOUT ROWID""",
    """CREATE TABLE budgets (
        workspace TEXT NOT NULL,
        account_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        remaining INTEGER,
        lim INTEGER,
        reset_at INTEGER,
        blocked_until INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (workspace, account_id, scope)
    ) WITHOUT ROWID""",
    """CREATE TABLE rules (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        active INTEGER NOT NULL,
        rule TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE metric_tasks (
        id INTEGER PRIMARY KEY,
        publication_id TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        label TEXT NOT NULL,
        done_at INTEGER,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        error TEXT
    )""",
    "CREATE INDEX metric_tasks_due ON metric_tasks (due_at) WHERE done_at IS NULL",
    """CREATE TABLE metric_snapshots (
        id INTEGER PRIMARY KEY,
        publication_id TEXT,
        workspace TEXT NOT NULL,
        account_id TEXT NOT NULL,
        campaign TEXT,
        collected_at INTEGER NOT NULL,
        snapshot TEXT NOT NULL
    )""",
    "CREATE INDEX metric_snapshots_publication ON metric_snapshots (publication_id, collected_at)",
    "CREATE INDEX metric_snapshots_account ON metric_snapshots (account_id, collected_at)",
    """CREATE INDEX metric_snapshots_campaign ON metric_snapshots (campaign, collected_at)
        WHERE campaign IS NOT NULL""",
)

# A ``meta`` key set once the store holds a publication of an account it does not hold
# (the engine registers every account it schedules for; the store API does not insist).
# A claim stops counting due accounts once it has met every registered one only while
# it is unset: past that, rows of unregistered accounts may follow. Never unset again.
UNREGISTERED = "unregistered_accounts"


def mark_unregistered_sql(source: str, workspace: str, account_id: str) -> str:
    """SQL setting the ``UNREGISTERED`` note when a ``(workspace, account_id)`` read from
    ``source`` names no account of the store."""
    return (
        f"INSERT OR IGNORE INTO meta (key, value) SELECT '{UNREGISTERED}', '1' WHERE EXISTS "
        f"(SELECT 1 FROM {source} WHERE NOT EXISTS (SELECT 1 FROM accounts a "
        f"WHERE a.workspace = {workspace} AND a.id = {account_id}))"
    )


MARK_UNREGISTERED = mark_unregistered_sql("publications p", "p.workspace", "p.account_id")

REVISIONS_USED_AT = 6
"""The schema version from which ``revisions.used_at`` exists."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(version=1, min_compatible=1, statements=_V1),
    # Version 2 adds the ``deleted`` state. SQLite keeps states unchecked, so only the
    # number changes; version 1 code must stop (it cannot read a deleted publication,
    # and a receipt it records would publish one again).
    Migration(version=2, min_compatible=2, statements=()),
    # Version 3: a publish writes one metric task, whose ``rest`` holds the later
    # collections; completing it inserts the next. Version 2 code must stop: it would
    # complete such a task and never collect the rest. It also notes whether the store
    # already holds publications of unregistered accounts (see UNREGISTERED).
    Migration(
        version=3,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_tasks ADD COLUMN rest TEXT",
            MARK_UNREGISTERED,
            # `list --attention`: the few rows waiting for a person.
            "CREATE INDEX publications_attention ON publications (attention, due_at, id) "
            "WHERE attention IS NOT NULL",
        ),
    ),
    # Version 4: a metric collection the platform rate-limited, or that met a transient
    # error, is put back (due again later) instead of dropped; ``failures`` counts its
    # transient errors, to bound them. Version 3 code can keep running (min_compatible
    # stays 3): it never reads the column, its inserts get the default, and it completes
    # a task put back like any other (it drops a rate-limited collection, as it did).
    Migration(
        version=4,
        min_compatible=3,
        statements=("ALTER TABLE metric_tasks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",),
    ),
    # Version 5: a snapshot records which scheduled collection it answers, as its offset
    # after publication in seconds (``after_s``, nullable: snapshots already stored, and
    # those older code writes, read back with ``after`` None). Kept out of the snapshot's
    # JSON, which older code reads with a model that refuses unknown fields. So version
    # 3 and 4 code can keep running (min_compatible stays 3): it never reads the column
    # and its inserts leave it NULL.
    Migration(
        version=5,
        min_compatible=3,
        statements=("ALTER TABLE metric_snapshots ADD COLUMN after_s REAL",),
    ),
    # Version 6: a revision stored again records when (``used_at``, nullable), and a prune
    # keeps a revision stored or used within its window: by its first ``created_at``
    # alone, a prune between ``put_revision`` and ``add`` deleted the revision a new
    # publication was about to point at. Version 3 to 5 code can keep running
    # (min_compatible stays 3): it never reads the column, its inserts leave it NULL (a
    # prune then goes by ``created_at``, as before).
    Migration(
        version=6,
        min_compatible=3,
        statements=("ALTER TABLE revisions ADD COLUMN used_at INTEGER",),
    ),
    # Version 7: the accounts that need a person, which claims look up, are found through
    # a partial index of those few rows instead of a scan of every account (PostgreSQL
    # also indexes its held budgets; SQLite reads its budgets whole). An index only: any
    # code runs on it.
    Migration(
        version=7,
        min_compatible=3,
        statements=(
            "CREATE INDEX accounts_needs_reauth ON accounts (workspace, id) "
            "WHERE status = 'needs_reauth'",
        ),
    ),
    # Version 8: a snapshot records how long after publication it was really taken
    # (``age_s``) and the earlier scheduled collections it was taken instead of
    # (``skipped_s``, a JSON list of seconds), and the task collecting it their labels
    # (``skipped``): a task claimed so late that later ones are due too is made as the
    # last one due. All nullable;
    # the snapshot's are kept out of its JSON as ``after_s`` is. Version 3 to 7 code can
    # keep running (min_compatible stays 3): it never reads the columns, its inserts
    # leave them NULL, and it completes a task handed out that way like any other.
    Migration(
        version=8,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_snapshots ADD COLUMN age_s REAL",
            "ALTER TABLE metric_snapshots ADD COLUMN skipped_s TEXT",
            "ALTER TABLE metric_tasks ADD COLUMN skipped TEXT",
        ),
    ),
    # Version 9: the metric tasks of an account waiting for a person to re-authorise it
    # (``needs_reauth``) are set aside: triggers move their ``due_at`` far ahead when the
    # account is marked, and back when it is reconnected (see ``_metric_waits``), so
    # ``next_due`` and ``claim_metric_tasks`` no longer walk that backlog on every call.
    # Triggers, not code, so older code still running (min_compatible stays 3) moves
    # them too whenever it marks or reconnects an account, adds or puts back a task; it
    # never hands out a task set aside (it is not due) and its ``next_due`` skips them.
    Migration(version=9, min_compatible=3, statements=SQLITE_STATEMENTS),
    # Version 10 fixes a race in PostgreSQL's version 9 trigger; SQLite serialises its
    # writers (BEGIN IMMEDIATE), so it has nothing to change.
    Migration(version=10, min_compatible=3, statements=()),
    # Version 11: the intake, where a single add of a few publications without a key is
    # committed as one unindexed row each (a commit then writes one page, not one per B-tree
    # the publications table's indexes and the event log take), to be moved into
    # ``publications`` (with their ``created`` events) by the next other call of any
    # process of this version (see ``_sqlite_rows.fold_intake``). Older code can keep
    # running (min_compatible stays 3): it never adds to the intake, and it sees what a
    # newer process added there once that process (or another) has moved it, which each
    # does on its next read or write, in the background after a few hundred adds, and
    # when it closes the store; a claim of older code never misses a pause, which claims
    # read from the pauses table.
    Migration(
        version=11,
        min_compatible=3,
        statements=(
            """CREATE TABLE intake (
                id TEXT NOT NULL,
                workspace TEXT NOT NULL,
                account_id TEXT NOT NULL,
                platform TEXT NOT NULL,
                revision TEXT NOT NULL,
                due_at INTEGER NOT NULL,
                local_time TEXT NOT NULL,
                zone TEXT NOT NULL,
                state TEXT NOT NULL,
                run_at INTEGER NOT NULL,
                expires_at INTEGER,
                idempotency_key TEXT NOT NULL,
                campaign TEXT,
                rule_id TEXT,
                approvals_required INTEGER NOT NULL,
                grace_s REAL,
                publish_late INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                actor TEXT NOT NULL,
                reason TEXT
            )""",
        ),
    ),
)


def read_schema(conn: sqlite3.Connection) -> tuple[int, int]:
    """``(version, min_compatible)`` of the database; ``(0, 0)`` when it is empty."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not exists:
        return 0, 0
    values = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    return int(values.get("schema_version", 0)), int(values.get("min_compatible", 0))


def migrate(
    conn: sqlite3.Connection,
    *,
    where: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    code_version: int,
) -> SchemaInfo:
    """Bring the database forward to ``code_version`` in one transaction.

    Raises:
        StoreError: the database needs newer code (its ``min_compatible`` is above
            ``code_version``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version, min_compatible = read_schema(conn)
        if min_compatible > code_version:
            raise StoreError(
                f"the store at {where} has schema version {version}, which needs socialkit "
                f"schema {min_compatible} or newer; this socialkit has schema {code_version}: "
                "upgrade socialkit to use this store"
            )
        for migration in migrations:
            if version < migration.version <= code_version:
                for statement in migration.statements:
                    conn.execute(statement)
                version = migration.version
                min_compatible = max(min_compatible, migration.min_compatible)
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("schema_version", str(version)), ("min_compatible", str(min_compatible))],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SchemaInfo(version=version, min_compatible=min_compatible, code_version=code_version)
