"""Revisions, accounts, budgets, rules and metrics in SQLite (run on the store's thread)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from socialkit.errors import StaleTransition, StoreError
from socialkit.schedule.records import AccountRecord, Budget, ClearedRateLimit, MetricTask
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores._common import (
    cleared_budgets_data,
    from_us,
    late_metric_step,
    merge_budget,
    metric_hold_ends,
    next_metric_step,
    rate_limit_releases,
    skipped_labels,
    snapshot_columns,
    snapshot_from_row,
    snapshot_json,
    to_us,
    waits_for_rate_limit,
)
from socialkit.schedule.stores._sqlite_dispatch import load_budgets
from socialkit.schedule.stores._sqlite_rows import (
    EVENT_SQL,
    add,
    apply_transitions,
    event_row,
    insert_rows,
    load_pauses,
)

if TYPE_CHECKING:
    import datetime as dt
    import sqlite3
    from collections.abc import Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.schedule.records import AccountStatus, NewPublication
    from socialkit.schedule.recurring import Rule


def put_revision(
    conn: sqlite3.Connection, revision: str, post: Post, now: int, *, used_at: bool = True
) -> None:
    """Keep ``post``; stored again, its ``used_at`` moves on, so a prune keeps it for a
    new publication about to point at it (by its first ``created_at``, maybe long past,
    it did not). Without ``used_at`` (a store not yet at schema 6), as before."""
    text = post.model_dump_json(exclude_none=True)
    if not used_at:
        conn.execute(
            "INSERT INTO revisions (revision, post, created_at) VALUES (?,?,?) "
            "ON CONFLICT DO NOTHING",
            (revision, text, now),
        )
        return
    conn.execute(
        "INSERT INTO revisions (revision, post, created_at, used_at) VALUES (?,?,?,?) "
        "ON CONFLICT (revision) DO UPDATE SET used_at = excluded.used_at "
        "WHERE revisions.used_at IS NULL OR revisions.used_at < excluded.used_at",
        (revision, text, now, now),
    )


_REVISIONS_HEAD = "INSERT INTO revisions (revision, post, created_at, used_at) VALUES "
_REVISIONS_TAIL = (
    " ON CONFLICT (revision) DO UPDATE SET used_at = excluded.used_at "
    "WHERE revisions.used_at IS NULL OR revisions.used_at < excluded.used_at"
)
_REVISIONS_HEAD_V5 = "INSERT INTO revisions (revision, post, created_at) VALUES "


def put_revisions(
    conn: sqlite3.Connection,
    revisions: Sequence[tuple[str, str]],
    now: int,
    *,
    used_at: bool = True,
) -> None:
    """:func:`put_revision` for many ``(revision, post JSON)`` pairs (each revision
    once), in one statement per 1,024 (or fewer) of them."""
    if used_at:
        insert_rows(
            conn,
            _REVISIONS_HEAD,
            [(r, text, now, now) for r, text in revisions],
            tail=_REVISIONS_TAIL,
        )
    else:
        insert_rows(
            conn,
            _REVISIONS_HEAD_V5,
            [(r, text, now) for r, text in revisions],
            tail=" ON CONFLICT DO NOTHING",
        )


def get_revision(conn: sqlite3.Connection, revision: str) -> Post:
    from socialkit.models.content import Post

    found = conn.execute("SELECT post FROM revisions WHERE revision = ?", (revision,)).fetchone()
    if found is None:
        raise StoreError(f"no post revision {revision!r}")
    return Post.model_validate_json(found[0])


def put_account(conn: sqlite3.Connection, account: Account, now: int) -> None:
    conn.execute(
        "INSERT INTO accounts (workspace, id, platform, account, updated_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT (workspace, id) DO UPDATE SET platform = excluded.platform, "
        "account = excluded.account, updated_at = excluded.updated_at",
        (
            account.workspace,
            account.id,
            account.platform,
            account.model_dump_json(exclude_none=True),
            now,
        ),
    )


def _account(values: Sequence[Any]) -> AccountRecord:
    from socialkit.models.account import Account

    body, status, reason, updated = values
    return AccountRecord(
        account=Account.model_validate_json(body),
        status=status,
        status_reason=reason,
        updated_at=from_us(updated),
    )


def get_account(conn: sqlite3.Connection, account_id: str, workspace: str) -> AccountRecord:
    found = conn.execute(
        "SELECT account, status, status_reason, updated_at FROM accounts "
        "WHERE workspace = ? AND id = ?",
        (workspace, account_id),
    ).fetchone()
    if found is None:
        raise StoreError(f"no account {account_id!r} in workspace {workspace!r}")
    return _account(found)


def list_accounts(conn: sqlite3.Connection, workspace: str | None) -> list[AccountRecord]:
    sql = "SELECT account, status, status_reason, updated_at FROM accounts"
    params: tuple[Any, ...] = ()
    if workspace is not None:
        sql += " WHERE workspace = ?"
        params = (workspace,)
    return [_account(v) for v in conn.execute(sql + " ORDER BY workspace, id", params)]


def set_account_status(
    conn: sqlite3.Connection,
    account_id: str,
    status: AccountStatus,
    workspace: str,
    reason: str | None,
    actor: str,
    now: int,
) -> None:
    before = conn.execute(
        "SELECT status FROM accounts WHERE workspace = ? AND id = ?", (workspace, account_id)
    ).fetchone()
    if before is None:
        raise StoreError(f"no account {account_id!r} in workspace {workspace!r}")
    conn.execute(
        "UPDATE accounts SET status = ?, status_reason = ?, updated_at = ? "
        "WHERE workspace = ? AND id = ?",
        (status, reason, now, workspace, account_id),
    )
    if before[0] == "needs_reauth" and status != "needs_reauth":
        # Its publications waited for a person: each one past its grace period gets that
        # period again, counted from now.
        conn.execute(
            "UPDATE publications SET expires_at = ? + expires_at - due_at "
            "WHERE workspace = ? AND account_id = ? AND state = 'scheduled' AND sends = 0 "
            "AND expires_at IS NOT NULL AND expires_at < ?",
            (now, workspace, account_id, now),
        )
        # An outcome that could not be looked up for want of credentials: looked up now.
        conn.execute(
            "UPDATE publications SET attention = NULL, run_at = ? "
            "WHERE workspace = ? AND account_id = ? AND state = 'unknown' "
            "AND attention = 'reauth'",
            (now, workspace, account_id),
        )
    conn.execute(
        EVENT_SQL,
        event_row(
            now,
            "account",
            None,
            workspace,
            account_id,
            None,
            actor=actor,
            reason=reason,
            data={"status": status},
        ),
    )


def set_budget(conn: sqlite3.Connection, budget: Budget, now: int) -> None:
    """Merge ``budget`` into the stored one of its scope (``merge_budget``): on the
    store's thread, in the write's transaction, so nothing comes between the read and
    the write."""
    found = conn.execute(
        "SELECT remaining, lim, reset_at, blocked_until FROM budgets "
        "WHERE workspace = ? AND account_id = ? AND scope = ?",
        (budget.workspace, budget.account_id, budget.scope),
    ).fetchone()
    if found is not None:
        remaining, lim, reset, until = found
        stored = Budget(
            workspace=budget.workspace,
            account_id=budget.account_id,
            scope=budget.scope,
            remaining=remaining,
            limit=lim,
            reset_at=from_us(reset) if reset is not None else None,
            blocked_until=from_us(until) if until is not None else None,
        )
        budget = merge_budget(stored, budget, from_us(now))
    conn.execute(
        "INSERT OR REPLACE INTO budgets (workspace, account_id, scope, remaining, lim, reset_at, "
        "blocked_until, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        (
            budget.workspace,
            budget.account_id,
            budget.scope,
            budget.remaining,
            budget.limit,
            to_us(budget.reset_at) if budget.reset_at else None,
            to_us(budget.blocked_until) if budget.blocked_until else None,
            now,
        ),
    )


def clear_budget(
    conn: sqlite3.Connection,
    workspace: str,
    account_id: str,
    actor: str,
    reason: str | None,
    now: int,
) -> ClearedRateLimit:
    """Drop the account's budgets and release its publications waiting for the rate
    limit (``rate_limit_releases``), logging both when there was either."""
    cleared = tuple(b for b in load_budgets(conn, workspace) if b.account_id == account_id)
    waiting = conn.execute(
        "SELECT id, attempt, last_error FROM publications WHERE workspace = ? "
        "AND account_id = ? AND state = ? AND attention IS NULL AND run_at > ?",
        (workspace, account_id, S.RETRY_WAIT.value, now),
    ).fetchall()
    moves = rate_limit_releases(waiting, actor, reason, from_us(now))
    ends = metric_hold_ends(cleared)
    tasks = [
        task_id
        for task_id, due_at, error in conn.execute(_HELD_TASKS_SQL, (now, workspace, account_id))
        if waits_for_rate_limit(due_at, error, now, ends)
    ]
    if not cleared and not moves and not tasks:
        return ClearedRateLimit()
    released = tuple(t.id for t in moves)
    conn.execute(
        "DELETE FROM budgets WHERE workspace = ? AND account_id = ?", (workspace, account_id)
    )
    if tasks:
        conn.execute(
            "UPDATE metric_tasks SET due_at = ? WHERE id IN (SELECT value FROM json_each(?))",
            (now, json.dumps(tasks)),
        )
    conn.execute(
        EVENT_SQL,
        event_row(
            now,
            "rate_limit_cleared",
            None,
            workspace,
            account_id,
            None,
            actor=actor,
            reason=reason,
            data=cleared_budgets_data(cleared, released, len(tasks)),
        ),
    )
    if moves:
        # Read in this write transaction: nothing moved them since.
        apply_transitions(conn, moves, now, load_pauses(conn), strict=True)
    return ClearedRateLimit(budgets=cleared, released=released, metrics_released=len(tasks))


# The account's undone metric tasks, not leased, due later, unless the account waits for
# a person (``clear_budget`` keeps those ``waits_for_rate_limit`` picks).
_HELD_TASKS_SQL = (
    "SELECT t.id, t.due_at, t.error FROM metric_tasks t "
    "JOIN publications p ON p.id = t.publication_id "
    "WHERE t.done_at IS NULL AND t.due_at > ?1 "
    "AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= ?1) "
    "AND p.workspace = ?2 AND p.account_id = ?3 AND NOT EXISTS (SELECT 1 FROM accounts a "
    "WHERE a.workspace = ?2 AND a.id = ?3 AND a.status = 'needs_reauth')"
)


# -- rules --------------------------------------------------------------------------------


def _rule(body: str) -> Rule:
    from socialkit.schedule.recurring import Rule

    return Rule.model_validate_json(body)


def add_rule(conn: sqlite3.Connection, rule: Rule, now: int, actor: str = "engine") -> None:
    cur = conn.execute(
        "INSERT INTO rules (id, workspace, active, rule) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
        (rule.id, rule.workspace, int(rule.active), rule.model_dump_json()),
    )
    if cur.rowcount != 1:
        raise StoreError(f"rule id {rule.id!r} is taken")
    conn.execute(
        EVENT_SQL,
        event_row(
            now,
            "rule",
            None,
            rule.workspace,
            None,
            None,
            actor=actor,
            reason="created",
            data={"rule_id": rule.id},
        ),
    )


def get_rule(conn: sqlite3.Connection, rule_id: str) -> Rule:
    found = conn.execute("SELECT rule FROM rules WHERE id = ?", (rule_id,)).fetchone()
    if found is None:
        raise StoreError(f"no rule {rule_id!r}")
    return _rule(found[0])


def list_rules(conn: sqlite3.Connection, workspace: str | None, active: bool | None) -> list[Rule]:
    where: list[str] = []
    params: list[Any] = []
    if workspace is not None:
        where.append("workspace = ?")
        params.append(workspace)
    if active is not None:
        where.append("active = ?")
        params.append(int(active))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [
        _rule(v[0]) for v in conn.execute(f"SELECT rule FROM rules{clause} ORDER BY id", params)
    ]


def _save_rule(conn: sqlite3.Connection, rule: Rule) -> None:
    conn.execute(
        "UPDATE rules SET active = ?, rule = ? WHERE id = ?",
        (int(rule.active), rule.model_dump_json(), rule.id),
    )


def advance_rule(
    conn: sqlite3.Connection,
    rule_id: str,
    expect_cursor: str | None,
    cursor: str | None,
    publications: Sequence[NewPublication],
    now_dt: dt.datetime,
    remaining: int | None,
    active: bool | None,
) -> list[str]:
    now = to_us(now_dt)
    rule = get_rule(conn, rule_id)
    if rule.cursor != expect_cursor:
        raise StaleTransition(
            f"rule {rule_id} moved on to {rule.cursor!r} (expected {expect_cursor!r})"
        )
    if not rule.active:  # stopped since the caller read it: it creates nothing more
        raise StaleTransition(f"rule {rule_id} was stopped")
    ids = add(conn, publications, now)
    created = [ids[i] for i, new in enumerate(publications) if ids[i] == new.id]
    update: dict[str, Any] = {"cursor": cursor, "updated_at": now_dt}
    if remaining is not None:
        update["remaining"] = remaining
    if active is not None:
        update["active"] = active
    _save_rule(conn, rule.model_copy(update=update))
    conn.execute(
        EVENT_SQL,
        event_row(
            now,
            "rule",
            None,
            rule.workspace,
            None,
            None,
            reason="advanced",
            data={"rule_id": rule_id, "cursor": cursor, "created": len(created)},
        ),
    )
    return created


def set_rule_active(
    conn: sqlite3.Connection, rule_id: str, active: bool, now_dt: dt.datetime, actor: str
) -> None:
    rule = get_rule(conn, rule_id)
    _save_rule(conn, rule.model_copy(update={"active": active, "updated_at": now_dt}))
    conn.execute(
        EVENT_SQL,
        event_row(
            to_us(now_dt),
            "rule",
            None,
            rule.workspace,
            None,
            None,
            actor=actor,
            reason="activated" if active else "stopped",
            data={"rule_id": rule_id},
        ),
    )


# -- metrics ------------------------------------------------------------------------------


def add_metric_tasks(
    conn: sqlite3.Connection, tasks: Sequence[tuple[str, dt.datetime, str]]
) -> None:
    ids = {pub_id for pub_id, _, _ in tasks}
    for pub_id in ids:
        if conn.execute("SELECT 1 FROM publications WHERE id = ?", (pub_id,)).fetchone() is None:
            raise StoreError(f"no publication {pub_id!r}")
    conn.executemany(
        "INSERT INTO metric_tasks (publication_id, due_at, label) VALUES (?,?,?)",
        [(pub_id, to_us(due), label) for pub_id, due, label in tasks],
    )


# The accounts a rate limit holds now (their default budget spent before its reset, or
# blocked until a Retry-After), with the instant each hold ends (as Budget.blocks).
_HELD_SQL = (
    "SELECT workspace, account_id, MAX("
    "COALESCE(CASE WHEN remaining IS NOT NULL AND remaining <= 0 AND reset_at > :now "
    "THEN reset_at END, 0), "
    "COALESCE(CASE WHEN blocked_until > :now THEN blocked_until END, 0)) "
    "FROM budgets WHERE scope = 'default' AND ("
    "(remaining IS NOT NULL AND remaining <= 0 AND reset_at > :now) OR blocked_until > :now)"
)


def claim_metric_tasks(
    conn: sqlite3.Connection, worker: str, now: int, limit: int, lease: int
) -> list[MetricTask]:
    # An account a rate limit holds is asked nothing: its due collections are put back
    # until the hold ends, as its publications wait. One waiting for a person to
    # re-authorise it is asked nothing either: its collections stay due until it is.
    for workspace, account_id, until in conn.execute(_HELD_SQL, {"now": now}).fetchall():
        conn.execute(
            "UPDATE metric_tasks SET due_at = ? WHERE id IN ("
            "SELECT t.id FROM metric_tasks t JOIN publications p ON p.id = t.publication_id "
            "WHERE t.done_at IS NULL AND t.due_at <= ? "
            "AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= ?) "
            "AND p.workspace = ? AND p.account_id = ?)",
            (until, now, now, workspace, account_id),
        )
    rows = conn.execute(
        "SELECT t.id, t.publication_id, t.due_at, t.label, p.workspace, p.account_id, "
        "p.platform, p.campaign, t.failures, t.rest, t.skipped "
        "FROM metric_tasks t JOIN publications p ON p.id = t.publication_id "
        "WHERE t.done_at IS NULL AND t.due_at <= ? "
        "AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= ?) "
        "AND (p.workspace, p.account_id) NOT IN "
        "(SELECT workspace, id FROM accounts WHERE status = 'needs_reauth') "
        "ORDER BY t.due_at, t.id LIMIT ?",
        (now, now, limit),
    ).fetchall()
    tasks = []
    for r in rows:
        task = MetricTask(
            id=r[0],
            publication_id=r[1],
            due_at=from_us(r[2]),
            label=r[3],
            workspace=r[4],
            account_id=r[5],
            platform=r[6],
            campaign=r[7],
            failures=r[8],
            skipped=skipped_labels(r[10]),
        )
        late = late_metric_step(task.label, r[9], task.skipped, now)
        if late is None:
            conn.execute(
                "UPDATE metric_tasks SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                (worker, now + lease, task.id),
            )
        else:
            # Later collections are due too: the last one is collected instead.
            conn.execute(
                "UPDATE metric_tasks SET done_at = ?, error = ?, lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = ?",
                (now, late.error, task.id),
            )
            (instead,) = conn.execute(
                "INSERT INTO metric_tasks (publication_id, label, due_at, rest, skipped, "
                "lease_owner, lease_expires_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
                (
                    task.publication_id,
                    late.label,
                    late.due_us,
                    late.rest,
                    late.skipped_json,
                    worker,
                    now + lease,
                ),
            ).fetchone()
            task = late.instead_of(task, instead)
        tasks.append(task)
    return tasks


def retry_metric_task(
    conn: sqlite3.Connection, task_id: int, run_at: int, error: str, count_failure: bool
) -> None:
    found = conn.execute("SELECT done_at FROM metric_tasks WHERE id = ?", (task_id,)).fetchone()
    if found is None:
        raise StoreError(f"no metric task {task_id}")
    if found[0] is not None:
        return
    conn.execute(
        "UPDATE metric_tasks SET due_at = ?, error = ?, failures = failures + ?, "
        "lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
        (run_at, error, 1 if count_failure else 0, task_id),
    )


def complete_metric_task(
    conn: sqlite3.Connection,
    task_id: int,
    snapshots: Sequence[MetricSnapshot],
    now: int,
    error: str | None,
) -> None:
    found = conn.execute(
        "SELECT t.done_at, t.rest, p.id, p.workspace, p.campaign, p.state FROM metric_tasks t "
        "JOIN publications p ON p.id = t.publication_id WHERE t.id = ?",
        (task_id,),
    ).fetchone()
    if found is None:
        raise StoreError(f"no metric task {task_id}")
    done, rest, pub_id, workspace, campaign, state = found
    if done is not None:
        return
    conn.execute(
        "UPDATE metric_tasks SET done_at = ?, error = ?, lease_owner = NULL, "
        "lease_expires_at = NULL WHERE id = ?",
        (now, error, task_id),
    )
    step = next_metric_step(rest, S(state))
    if step is not None:
        conn.execute(
            "INSERT INTO metric_tasks (publication_id, label, due_at, rest) VALUES (?,?,?,?)",
            (pub_id, *step),
        )
    conn.executemany(
        "INSERT INTO metric_snapshots (publication_id, workspace, account_id, campaign, "
        "collected_at, snapshot, after_s, age_s, skipped_s) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                s.publication_id or pub_id,
                workspace,
                s.account_id,
                campaign,
                to_us(s.collected_at),
                snapshot_json(s),
                *snapshot_columns(s),
            )
            for s in snapshots
        ],
    )


def metric_series(
    conn: sqlite3.Connection,
    publication_id: str | None,
    account_id: str | None,
    campaign: str | None,
    workspace: str | None,
) -> list[MetricSnapshot]:
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("publication_id", publication_id),
        ("account_id", account_id),
        ("campaign", campaign),
        ("workspace", workspace),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [
        snapshot_from_row(*v)
        for v in conn.execute(
            f"SELECT snapshot, after_s, age_s, skipped_s FROM metric_snapshots{clause} "
            "ORDER BY collected_at, id",
            params,
        )
    ]
