"""The tables a store keeps, as ``socialkit store copy`` moves them between backends.

SQLite and PostgreSQL hold the same tables with the same columns (schema version 1);
they differ in types: SQLite keeps times as integer microseconds and flags as integers,
PostgreSQL as ``timestamptz`` and ``boolean`` (and two JSON columns as ``jsonb``).
Rows travel between them in a neutral form: aware datetimes, ``bool``, JSON as text.
"""

from __future__ import annotations

import attrs

__all__ = ["TABLES", "Table"]


@attrs.frozen(kw_only=True)
class Table:
    """One table: its columns, which of them are times, flags or JSON, and its key order.

    Attributes:
        name: the table name (the same in both backends).
        columns: the columns copied, in order.
        times, flags, jsons: columns stored as times, booleans, JSON.
        order: the ``ORDER BY`` that reads it deterministically.
        identity: a generated integer key whose sequence must move past copied rows.
    """

    name: str
    columns: tuple[str, ...]
    times: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    jsons: frozenset[str] = frozenset()
    order: str
    identity: str | None = None


def _table(
    name: str,
    columns: str,
    *,
    order: str,
    times: str = "",
    flags: str = "",
    jsons: str = "",
    identity: str | None = None,
) -> Table:
    def split(text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())

    return Table(
        name=name,
        columns=split(columns),
        times=frozenset(split(times)),
        flags=frozenset(split(flags)),
        jsons=frozenset(split(jsons)),
        order=order,
        identity=identity,
    )


TABLES: tuple[Table, ...] = (
    _table(
        "revisions",
        "revision, post, created_at, used_at",
        order="revision",
        times="created_at, used_at",
    ),
    _table(
        "accounts",
        "workspace, id, platform, account, status, status_reason, updated_at",
        order="workspace, id",
        times="updated_at",
    ),
    _table("rules", "id, workspace, active, rule", order="id", flags="active"),
    _table(
        "publications",
        "id, workspace, account_id, platform, revision, draft, due_at, local_time, zone, state, "
        "run_at, expires_at, attempt, sends, failures, lease_owner, lease_expires_at, "
        "idempotency_key, campaign, rule_id, approvals_required, approvals, grace_s, "
        "publish_late, problems, last_error, attention, created_at, updated_at",
        order="id",
        times="due_at, run_at, expires_at, lease_expires_at, created_at, updated_at",
        flags="publish_late",
    ),
    _table(
        "receipts",
        "id, publication_id, attempt, source, platform, post_id, receipt, recorded_at",
        order="id",
        times="recorded_at",
        identity="id",
    ),
    _table("receipt_posts", "platform, post_id, publication_id", order="platform, post_id"),
    _table(
        "checkpoints",
        "publication_id, part, attempt, ref, recorded_at",
        order="publication_id, part, attempt",
        times="recorded_at",
    ),
    _table(
        "pauses",
        "workspace, kind, value, actor, reason, at",
        order="workspace, kind, value",
        times="at",
    ),
    _table(
        "budgets",
        "workspace, account_id, scope, remaining, lim, reset_at, blocked_until, updated_at",
        order="workspace, account_id, scope",
        times="reset_at, blocked_until, updated_at",
    ),
    _table(
        "metric_tasks",
        "id, publication_id, due_at, label, done_at, lease_owner, lease_expires_at, error, rest, "
        "failures, skipped",
        order="id",
        times="due_at, done_at, lease_expires_at",
        identity="id",
    ),
    _table(
        "metric_snapshots",
        "id, publication_id, workspace, account_id, campaign, collected_at, snapshot, after_s, "
        "age_s, skipped_s",
        order="id",
        times="collected_at",
        identity="id",
    ),
    _table(
        "events",
        "seq, at, kind, publication_id, workspace, account_id, campaign, actor, reason, "
        "attempt, from_state, to_state, error, data",
        order="seq",
        times="at",
        jsons="error, data",
    ),
)
"""Every table, in an order that copies referenced rows before their references."""
