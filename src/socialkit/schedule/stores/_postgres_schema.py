"""The PostgreSQL schema, its versioned migrations, and the rolling-deploy rule.

Each migration names the oldest code schema that can still run against the database
once it is applied (``min_compatible``). Opening a store migrates it forward to the
code's version under an advisory lock (two workers starting together migrate once). A
database *newer* than the code is used as it is while the code is at least its
``min_compatible`` — during a rolling deploy the previous release keeps working — and
refused otherwise, with a message naming the version needed. A running worker checks
this again with every liveness beat, so it stops claiming as soon as an incompatible
migration lands.

Tables mirror the SQLite store's (times are ``timestamptz``); what only PostgreSQL needs:

* ``events.raw_id`` is the insertion order; ``events.seq`` is given out *after* commit by
  :func:`~socialkit.schedule.stores._postgres_rows.sequence_events`, so a consumer
  reading ``seq > cursor`` never skips an event that committed late (with concurrent
  writers, insertion order is not commit order).
* ``workers`` holds each worker's liveness beat (``socialkit store status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from socialkit.errors import StoreError
from socialkit.schedule.records import SchemaInfo
from socialkit.schedule.stores._metric_waits import POSTGRES_STATEMENTS, POSTGRES_STATEMENTS_10

if TYPE_CHECKING:
    from collections.abc import Sequence

    from psycopg import AsyncConnection

__all__ = ["MIGRATIONS", "Migration", "migrate", "read_schema"]

# The states version 1 allowed (kept as they were: a migration's statements never change).
_STATES = (
    "'draft', 'pending_approval', 'scheduled', 'claimed', 'publishing', 'published', "
    "'retry_wait', 'failed', 'unknown', 'missed', 'paused', 'cancelled'"
)


@attrs.frozen(kw_only=True)
class Migration:
    """Statements that move the schema to ``version``; code older than
    ``min_compatible`` must not run against the result."""

    version: int
    min_compatible: int
    statements: tuple[str, ...]


_V1 = (
    "CREATE TABLE revisions (revision text PRIMARY KEY, post text NOT NULL, "
    "created_at timestamptz NOT NULL)",
    """CREATE TABLE accounts (
        workspace text NOT NULL,
        id text NOT NULL,
        platform text NOT NULL,
        account text NOT NULL,
        status text NOT NULL DEFAULT 'ok',
        status_reason text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (workspace, id)
    )""",
    f"""CREATE TABLE publications (
        id text PRIMARY KEY,
        workspace text NOT NULL,
        account_id text NOT NULL,
        platform text NOT NULL,
        revision text NOT NULL,
        draft text,
        due_at timestamptz NOT NULL,
        local_time text NOT NULL,
        zone text NOT NULL,
        state text NOT NULL CHECK (state IN ({_STATES})),
        run_at timestamptz NOT NULL,
        expires_at timestamptz,
        attempt integer NOT NULL DEFAULT 0,
        sends integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        lease_owner text,
        lease_expires_at timestamptz,
        idempotency_key text NOT NULL UNIQUE,
        campaign text,
        rule_id text,
        approvals_required integer NOT NULL DEFAULT 0,
        approvals text,
        grace_s double precision,
        publish_late boolean NOT NULL DEFAULT false,
        problems text,
        last_error text,
        attention text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    # Claims walk this partial index in due order; it holds only claimable rows, so a
    # million publications due next year cost a claim nothing.
    """CREATE INDEX publications_due ON publications (run_at, id)
        WHERE state IN ('scheduled', 'retry_wait')""",
    """CREATE INDEX publications_account_due ON publications
        (workspace, account_id, run_at, id) WHERE state IN ('scheduled', 'retry_wait')""",
    """CREATE INDEX publications_reconcile ON publications (run_at, id)
        WHERE state = 'unknown' AND attention IS NULL""",
    """CREATE INDEX publications_account_reconcile ON publications
        (workspace, account_id, run_at, id) WHERE state = 'unknown' AND attention IS NULL""",
    """CREATE INDEX publications_lease ON publications (lease_expires_at)
        WHERE lease_expires_at IS NOT NULL""",
    """CREATE INDEX publications_grace ON publications (expires_at)
        WHERE state = 'scheduled' AND sends = 0 AND expires_at IS NOT NULL""",
    "CREATE INDEX publications_listing ON publications (due_at, id)",
    "CREATE INDEX publications_state ON publications (state, due_at)",
    "CREATE INDEX publications_account ON publications (account_id, due_at)",
    """CREATE INDEX publications_campaign ON publications (campaign, due_at)
        WHERE campaign IS NOT NULL""",
    """CREATE INDEX publications_rule ON publications (rule_id, account_id, due_at)
        WHERE rule_id IS NOT NULL""",
    """CREATE TABLE events (
        raw_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        seq bigint,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        publication_id text,
        workspace text,
        account_id text,
        campaign text,
        actor text NOT NULL,
        reason text,
        attempt integer NOT NULL,
        from_state text,
        to_state text,
        error jsonb,
        data jsonb
    )""",
    # Numbered rows only: a new event costs no entry here until it is numbered.
    "CREATE UNIQUE INDEX events_seq ON events (seq) WHERE seq IS NOT NULL",
    "CREATE INDEX events_unsequenced ON events (raw_id) WHERE seq IS NULL",
    """CREATE INDEX events_publication ON events (publication_id, raw_id)
        WHERE publication_id IS NOT NULL""",
    """CREATE TABLE event_counter (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        last bigint NOT NULL
    )""",
    "INSERT INTO event_counter (one, last) VALUES (true, 0)",
    """CREATE TABLE receipts (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        publication_id text NOT NULL,
        attempt integer NOT NULL,
        source text NOT NULL,
        platform text NOT NULL,
        post_id text NOT NULL,
        receipt text NOT NULL,
        recorded_at timestamptz NOT NULL,
        UNIQUE (publication_id, attempt, source)
    )""",
    """CREATE TABLE receipt_posts (
        platform text NOT NULL,
        post_id text NOT NULL,
        publication_id text NOT NULL,
        PRIMARY KEY (platform, post_id)
    )""",
    "CREATE INDEX receipt_posts_publication ON receipt_posts (publication_id)",
    """CREATE TABLE checkpoints (
        publication_id text NOT NULL,
        part integer NOT NULL,
        attempt integer NOT NULL,
        ref text NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (publication_id, part, attempt)
    )""",
    """CREATE TABLE pauses (
        workspace text NOT NULL,
        kind text NOT NULL,
        value text NOT NULL,
        actor text NOT NULL,
        reason text,
        at timestamptz NOT NULL,
        PRIMARY KEY (workspace, kind, value)
    )""",
    """CREATE TABLE budgets (
        workspace text NOT NULL,
        account_id text NOT NULL,
        scope text NOT NULL,
        remaining integer,
        lim integer,
        reset_at timestamptz,
        blocked_until timestamptz,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (workspace, account_id, scope)
    )""",
    """CREATE TABLE rules (
        id text PRIMARY KEY,
        workspace text NOT NULL,
        active boolean NOT NULL,
        rule text NOT NULL
    )""",
    """CREATE TABLE metric_tasks (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        publication_id text NOT NULL,
        due_at timestamptz NOT NULL,
        label text NOT NULL,
        done_at timestamptz,
        lease_owner text,
        lease_expires_at timestamptz,
        error text
    )""",
    "CREATE INDEX metric_tasks_due ON metric_tasks (due_at, id) WHERE done_at IS NULL",
    "CREATE INDEX metric_tasks_publication ON metric_tasks (publication_id)",
    """CREATE TABLE metric_snapshots (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        publication_id text,
        workspace text NOT NULL,
        account_id text NOT NULL,
        campaign text,
        collected_at timestamptz NOT NULL,
        snapshot text NOT NULL
    )""",
    """CREATE INDEX metric_snapshots_publication ON metric_snapshots
        (publication_id, collected_at)""",
    "CREATE INDEX metric_snapshots_account ON metric_snapshots (account_id, collected_at)",
    """CREATE INDEX metric_snapshots_campaign ON metric_snapshots (campaign, collected_at)
        WHERE campaign IS NOT NULL""",
    """CREATE TABLE workers (
        id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        code_version integer NOT NULL,
        beat_s double precision NOT NULL,
        started_at timestamptz NOT NULL,
        last_seen timestamptz NOT NULL
    )""",
)

# Version 2 allows ``deleted`` (a published post taken down by a person). The new check
# admits every state the old one did, so rows already there need no scan (NOT VALID:
# instant, and still enforced on every write). Code of version 1 must stop: it cannot read
# a deleted publication back (an event-log follower would stop at the first deletion),
# and a receipt it records would publish a deleted one again.
_V2 = (
    "ALTER TABLE publications DROP CONSTRAINT IF EXISTS publications_state_check",
    f"ALTER TABLE publications ADD CONSTRAINT publications_state_check "
    f"CHECK (state IN ({_STATES}, 'deleted')) NOT VALID",
)

# Version 2 also makes each dispatch step write fewer, cheaper index entries (it was not
# released before these were added to it):
#
# * The listing indexes (by due time, state, account) hold only rows without a lease. A
#   row is not updated in place when an indexed column changes, so every index used to
#   get a new entry at the claim, at ``publishing`` and at ``published``; now the claim
#   and the send add none to these three. Lists read the leased rows (a worker's
#   in-flight few) through the lease index.
# * Key text columns compare bytewise (``COLLATE "C"``, the SQLite store's order): an
#   index entry costs a ``memcmp`` per comparison instead of the locale's ``strcoll``.
#   Changing only the collation leaves the rows where they are; the indexes on those
#   columns are rebuilt, under lock (writers wait for the migration).
# * Metric tasks and receipt posts lose their index by publication: it served only
#   ``socialkit store prune``, which now reads those tables once instead; every receipt
#   wrote four entries to them (three tasks and a post).
_C = 'TYPE text COLLATE "C"'
_V2_INDEXES = (
    "DROP INDEX publications_listing, publications_state, publications_account",
    "DROP INDEX metric_tasks_publication, receipt_posts_publication",
    f"ALTER TABLE publications ALTER id {_C}, ALTER workspace {_C}, ALTER account_id {_C}, "
    f"ALTER idempotency_key {_C}, ALTER campaign {_C}, ALTER rule_id {_C}",
    f"ALTER TABLE events ALTER publication_id {_C}",
    f"ALTER TABLE receipts ALTER publication_id {_C}, ALTER source {_C}",
    f"ALTER TABLE receipt_posts ALTER platform {_C}, ALTER post_id {_C}, ALTER publication_id {_C}",
    f"ALTER TABLE checkpoints ALTER publication_id {_C}",
    f"ALTER TABLE metric_tasks ALTER publication_id {_C}",
    f"ALTER TABLE accounts ALTER workspace {_C}, ALTER id {_C}",
    f"ALTER TABLE budgets ALTER workspace {_C}, ALTER account_id {_C}",
    f"ALTER TABLE pauses ALTER workspace {_C}, ALTER value {_C}",
    "CREATE INDEX publications_listing ON publications (due_at, id) WHERE lease_expires_at IS NULL",
    "CREATE INDEX publications_state ON publications (state, due_at) "
    "WHERE lease_expires_at IS NULL",
    "CREATE INDEX publications_account ON publications (account_id, due_at) "
    "WHERE lease_expires_at IS NULL",
)

MIGRATION_LOCK_TIMEOUT = 10.0
"""Seconds a migration waits for a table lock before it gives up (see :func:`migrate`)."""

REVISIONS_USED_AT = 6
"""The schema version from which ``revisions.used_at`` exists."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(version=1, min_compatible=1, statements=_V1),
    Migration(version=2, min_compatible=2, statements=(*_V2, *_V2_INDEXES)),
    # Version 3: a publish writes one metric task, whose ``rest`` holds the later
    # collections; completing it inserts the next (a nullable column: no rewrite).
    # Version 2 code must stop: it would complete such a task and never collect the rest.
    Migration(
        version=3,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_tasks ADD COLUMN IF NOT EXISTS rest text",
            # `list --attention`: the few rows waiting for a person, not a walk of the
            # listing index (its build scans the table once, under a write lock).
            "CREATE INDEX IF NOT EXISTS publications_attention ON publications "
            "(attention, due_at, id) WHERE attention IS NOT NULL",
        ),
    ),
    # Version 4: a metric collection the platform rate-limited, or that met a transient
    # error, is put back (due again later) instead of dropped; ``failures`` counts its
    # transient errors, to bound them (a constant default: no table rewrite). Version 3
    # code can keep running (min_compatible stays 3): it never reads the column, its
    # inserts get the default, and it completes a task put back like any other (it drops
    # a rate-limited collection, as it did).
    Migration(
        version=4,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_tasks ADD COLUMN IF NOT EXISTS failures integer NOT NULL DEFAULT 0",
        ),
    ),
    # Version 5: a snapshot records which scheduled collection it answers, as its offset
    # after publication in seconds (``after_s``, nullable, no default: no table rewrite;
    # snapshots already stored, and those older code writes, read back with ``after``
    # None). Kept out of the snapshot's JSON, which older code reads with a model that
    # refuses unknown fields. So version 3 and 4 code can keep running (min_compatible
    # stays 3): it never reads the column and its inserts leave it NULL.
    Migration(
        version=5,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_snapshots ADD COLUMN IF NOT EXISTS after_s double precision",
        ),
    ),
    # Version 6: a revision stored again records when (``used_at``, nullable, no default:
    # no table rewrite), and a prune keeps a revision stored or used within its window:
    # by its first ``created_at`` alone, a prune between ``put_revision`` and ``add``
    # deleted the revision a new publication was about to point at. Version 3 to 5 code
    # can keep running (min_compatible stays 3): it never reads the column, its inserts
    # leave it NULL (a prune then goes by ``created_at``, as before).
    Migration(
        version=6,
        min_compatible=3,
        statements=("ALTER TABLE revisions ADD COLUMN IF NOT EXISTS used_at timestamptz",),
    ),
    # Version 7: the holds every claim and next_due look up (accounts that need a person,
    # budgets spent or blocked) are found through partial indexes of those few rows; they
    # were a scan of every account and budget (134 ms per claim, 119 ms per next_due with
    # 300,000 accounts; 6 ms and 3 ms with these). Indexes only: any code runs on it.
    Migration(
        version=7,
        min_compatible=3,
        statements=(
            "CREATE INDEX IF NOT EXISTS accounts_needs_reauth ON accounts (workspace, id) "
            "WHERE status = 'needs_reauth'",
            "CREATE INDEX IF NOT EXISTS budgets_held ON budgets (workspace, account_id) "
            "WHERE scope = 'default' AND ((remaining IS NOT NULL AND remaining <= 0) "
            "OR blocked_until IS NOT NULL)",
        ),
    ),
    # Version 8: a snapshot records how long after publication it was really taken
    # (``age_s``) and the earlier scheduled collections it was taken instead of
    # (``skipped_s``, a JSON list of seconds), and the task collecting it their labels
    # (``skipped``): a task claimed so late that later ones are due too is made as the
    # last one due. All nullable with no default (no table rewrite);
    # the snapshot's are kept out of its JSON as ``after_s`` is. Version 3 to 7 code can
    # keep running (min_compatible stays 3): it never reads the columns, its inserts
    # leave them NULL, and it completes a task handed out that way like any other.
    Migration(
        version=8,
        min_compatible=3,
        statements=(
            "ALTER TABLE metric_snapshots ADD COLUMN IF NOT EXISTS age_s double precision",
            "ALTER TABLE metric_snapshots ADD COLUMN IF NOT EXISTS skipped_s text",
            "ALTER TABLE metric_tasks ADD COLUMN IF NOT EXISTS skipped text",
        ),
    ),
    # Version 9: the metric tasks of an account waiting for a person to re-authorise it
    # (``needs_reauth``) are set aside: triggers move their ``due_at`` far ahead when the
    # account is marked, and back when it is reconnected (see ``_metric_waits``), so
    # ``next_due`` and ``claim_metric_tasks`` no longer walk that backlog on every call.
    # Triggers, not code, so older code still running (min_compatible stays 3) moves
    # them too whenever it marks or reconnects an account, adds or puts back a task; it
    # never hands out a task set aside (it is not due) and its ``next_due`` skips them.
    Migration(version=9, min_compatible=3, statements=POSTGRES_STATEMENTS),
    # Version 10: the task trigger of version 9 locks the account row it reads, so a
    # reconnect committed while a task was being put back cannot leave it set aside.
    Migration(version=10, min_compatible=3, statements=POSTGRES_STATEMENTS_10),
    # Version 11 adds SQLite's intake (see the SQLite migration); PostgreSQL commits an
    # add without rewriting every index page of a file, so it has nothing to change.
    Migration(version=11, min_compatible=3, statements=()),
)


async def read_schema(conn: AsyncConnection[tuple[object, ...]]) -> tuple[int, int]:
    """``(version, min_compatible)`` of the store's schema; ``(0, 0)`` when it is empty."""
    cur = await conn.execute("SELECT to_regclass('meta') IS NOT NULL")
    found = await cur.fetchone()
    if not found or not found[0]:
        return 0, 0
    cur = await conn.execute("SELECT key, value FROM meta")
    values = {str(k): str(v) for k, v in await cur.fetchall()}
    return int(values.get("schema_version", 0)), int(values.get("min_compatible", 0))


def incompatible(version: int, min_compatible: int, code_version: int, where: str) -> str | None:
    """The refusal message when code at ``code_version`` must not use the store."""
    if min_compatible <= code_version:
        return None
    return (
        f"the store at {where} has schema version {version}, which needs socialkit schema "
        f"{min_compatible} or newer; this socialkit has schema {code_version}: "
        "upgrade socialkit to use this store"
    )


async def _refuse_to_strand(
    conn: AsyncConnection[tuple[object, ...]],
    migrations: Sequence[Migration],
    version: int,
    min_compatible: int,
    code_version: int,
    where: str,
) -> None:
    from socialkit.schedule.stores._ops_postgres import live_workers

    reach = min_compatible
    for migration in migrations:
        if version < migration.version <= code_version:
            reach = max(reach, migration.min_compatible)
    if reach <= min_compatible:
        return
    blockers = [w for w in await live_workers(conn) if w["code_version"] < reach]
    if blockers:
        names = ", ".join(f"{w['id']} (schema {w['code_version']})" for w in blockers)
        raise StoreError(
            f"opening the store at {where} would migrate it to schema {code_version}, which "
            f"needs socialkit schema {reach} or newer, but these live workers run older "
            f"code: {names}; upgrade them first, or run `socialkit store migrate --force` "
            "to stop them at their next beat (nothing was changed)"
        )


async def migrate(
    conn: AsyncConnection[tuple[object, ...]],
    *,
    schema: str,
    lock_space: int,
    where: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    code_version: int,
    apply: bool = True,
    lock_timeout: float | None = None,
    spare_workers: bool = False,
) -> SchemaInfo:
    """Bring ``schema`` forward to ``code_version`` in one transaction (``apply=False``
    only checks compatibility).

    With ``spare_workers`` it refuses, changing nothing, to apply migrations whose
    ``min_compatible`` would stop workers alive now on older code (as ``socialkit store
    migrate`` does without ``--force``), checked under the migration lock.

    A migration's ``ALTER`` waits for every query on its table to end, and while it waits
    every worker's claim waits behind it: it gives up after ``lock_timeout`` seconds
    (:data:`MIGRATION_LOCK_TIMEOUT` by default) instead, changing nothing, so a long
    report or a backup cannot stall the workers.

    Raises:
        StoreError: the store needs newer code (its ``min_compatible`` is above
            ``code_version``), it is empty and ``apply`` is off, a table stayed
            locked longer than ``lock_timeout``, or (``spare_workers``) migrating would
            strand live workers.
    """
    from psycopg import errors, sql

    if lock_timeout is None:
        lock_timeout = MIGRATION_LOCK_TIMEOUT
    try:
        async with conn.transaction():
            # One migrator at a time per schema; the others wait, then find nothing to do.
            await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (lock_space,))
            await conn.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(f"{int(lock_timeout * 1000)}ms")
                )
            )
            # A store that is current is only read: workers may run as a role that can
            # read and write rows but create nothing (no CREATE on the database or the
            # schema), leaving migrations to the schema's owner.
            version, min_compatible = await read_schema(conn)
            refusal = incompatible(version, min_compatible, code_version, where)
            if refusal:
                raise StoreError(refusal)
            if version == 0 and not apply:
                raise StoreError(
                    f"the store at {where} has no schema yet: run `socialkit store migrate`"
                )
            if version == 0:
                cur = await conn.execute("SELECT to_regnamespace(%s) IS NULL", (schema,))
                missing = await cur.fetchone()
                if missing and missing[0]:  # one made beforehand by its owner is used as is
                    await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                await conn.execute("CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)")
            if apply and spare_workers and version:
                await _refuse_to_strand(
                    conn, migrations, version, min_compatible, code_version, where
                )
            if apply:
                found = version
                for migration in migrations:
                    if version < migration.version <= code_version:
                        for statement in migration.statements:
                            await conn.execute(statement)
                        version = migration.version
                        min_compatible = max(min_compatible, migration.min_compatible)
                if found == 0 or version != found:
                    await conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', %s), "
                        "('min_compatible', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(version), str(min_compatible)),
                    )
    except errors.LockNotAvailable:
        raise StoreError(
            f"migrating the store at {where} waited more than {lock_timeout:g} s for a table "
            "another session is using (a long query, a backup?); nothing was changed: "
            "migrate again once it is done"
        ) from None
    return SchemaInfo(version=version, min_compatible=min_compatible, code_version=code_version)
