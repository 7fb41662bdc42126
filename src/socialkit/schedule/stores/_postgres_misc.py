"""Revisions, accounts, budgets, rules and metrics in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit.errors import StaleTransition, StoreError
from socialkit.schedule.records import AccountRecord, Budget, ClearedRateLimit, MetricTask
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores._common import (
    cleared_budgets_data,
    from_us,
    late_metric_step,
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
from socialkit.schedule.stores._metric_waits import WAITING_FROM
from socialkit.schedule.stores._postgres_rows import (
    ABLE,
    HELD_BUDGETS,
    NOW,
    NOW_CTE,
    add,
    apply_transitions,
    event_row,
    insert_events,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.schedule.records import AccountStatus, NewPublication
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.stores._postgres_rows import Conn


async def put_revision(
    conn: Conn, revision: str, post: Post, now: dt.datetime | None, *, used_at: bool = True
) -> None:
    """Keep ``post``; stored again, its ``used_at`` moves on, so a prune keeps it for a
    new publication about to point at it (by its first ``created_at``, maybe long past,
    it did not). Without ``used_at`` (a store not yet at schema 6), as before."""
    upsert = (
        "(revision, post, created_at, used_at) SELECT %(revision)s, %(post)s, t.now, t.now "
        "FROM t ON CONFLICT (revision) DO UPDATE SET used_at = excluded.used_at "
        "WHERE revisions.used_at IS NULL OR revisions.used_at < excluded.used_at"
        if used_at
        else "(revision, post, created_at) SELECT %(revision)s, %(post)s, t.now FROM t "
        "ON CONFLICT DO NOTHING"
    )
    await conn.execute(
        f"WITH {NOW_CTE} INSERT INTO revisions {upsert}",
        {"now": now, "revision": revision, "post": post.model_dump_json(exclude_none=True)},
    )


async def put_revisions(
    conn: Conn,
    revisions: Sequence[tuple[str, str]],
    now: dt.datetime | None,
    *,
    used_at: bool = True,
) -> None:
    """:func:`put_revision` for many ``(revision, post JSON)`` pairs (each revision
    once: an upsert may not touch a row twice), in one statement."""
    if not revisions:
        return
    rows = (
        "SELECT r.revision, r.post, t.now, t.now" if used_at else "SELECT r.revision, r.post, t.now"
    )
    upsert = (
        "(revision, post, created_at, used_at) "
        f"{rows} FROM t, unnest(%(revision)s::text[], %(post)s::text[]) AS r(revision, post) "
        "ON CONFLICT (revision) DO UPDATE SET used_at = excluded.used_at "
        "WHERE revisions.used_at IS NULL OR revisions.used_at < excluded.used_at"
        if used_at
        else "(revision, post, created_at) "
        f"{rows} FROM t, unnest(%(revision)s::text[], %(post)s::text[]) AS r(revision, post) "
        "ON CONFLICT DO NOTHING"
    )
    await conn.execute(
        f"WITH {NOW_CTE} INSERT INTO revisions {upsert}",
        {
            "now": now,
            "revision": [revision for revision, _ in revisions],
            "post": [text for _, text in revisions],
        },
    )


async def get_revision(conn: Conn, revision: str) -> Post:
    from socialkit.models.content import Post

    cur = await conn.execute("SELECT post FROM revisions WHERE revision = %s", (revision,))
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no post revision {revision!r}")
    return Post.model_validate_json(found[0])


# -- accounts -----------------------------------------------------------------------------


async def put_account(conn: Conn, account: Account, now: dt.datetime | None) -> None:
    await conn.execute(
        f"WITH {NOW_CTE} INSERT INTO accounts (workspace, id, platform, account, updated_at) "
        "SELECT %(workspace)s, %(id)s, %(platform)s, %(account)s, t.now FROM t "
        "ON CONFLICT (workspace, id) DO UPDATE SET platform = excluded.platform, "
        "account = excluded.account, updated_at = excluded.updated_at",
        {
            "now": now,
            "workspace": account.workspace,
            "id": account.id,
            "platform": account.platform,
            "account": account.model_dump_json(exclude_none=True),
        },
    )


def _account(values: Sequence[Any]) -> AccountRecord:
    from socialkit.models.account import Account

    body, status, reason, updated = values
    return AccountRecord(
        account=Account.model_validate_json(body),
        status=status,
        status_reason=reason,
        updated_at=updated,
    )


_ACCOUNT_COLUMNS = "account, status, status_reason, updated_at"


async def get_account(conn: Conn, account_id: str, workspace: str) -> AccountRecord:
    cur = await conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE workspace = %s AND id = %s",
        (workspace, account_id),
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no account {account_id!r} in workspace {workspace!r}")
    return _account(found)


async def list_accounts(conn: Conn, workspace: str | None) -> list[AccountRecord]:
    if workspace is None:
        cur = await conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY workspace, id")
    else:
        cur = await conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE workspace = %s ORDER BY id",
            (workspace,),
        )
    return [_account(v) for v in await cur.fetchall()]


async def set_account_status(
    conn: Conn,
    account_id: str,
    status: AccountStatus,
    workspace: str,
    reason: str | None,
    actor: str,
    now: dt.datetime,
) -> None:
    # The status before, read under the row's lock the update takes.
    cur = await conn.execute(
        "UPDATE accounts a SET status = %s, status_reason = %s, updated_at = %s "
        "FROM (SELECT status FROM accounts WHERE workspace = %s AND id = %s FOR UPDATE) b "
        "WHERE a.workspace = %s AND a.id = %s RETURNING b.status",
        (status, reason, now, workspace, account_id, workspace, account_id),
    )
    before = await cur.fetchone()
    if before is None:
        raise StoreError(f"no account {account_id!r} in workspace {workspace!r}")
    if before[0] == "needs_reauth" and status != "needs_reauth":
        # Its publications waited for a person: each one past its grace period gets that
        # period again, counted from now.
        await conn.execute(
            "UPDATE publications SET expires_at = %(now)s + (expires_at - due_at) "
            "WHERE workspace = %(ws)s AND account_id = %(account)s AND state = 'scheduled' "
            "AND sends = 0 AND expires_at IS NOT NULL AND expires_at < %(now)s",
            {"now": now, "ws": workspace, "account": account_id},
        )
        # An outcome that could not be looked up for want of credentials: looked up now.
        await conn.execute(
            "UPDATE publications SET attention = NULL, run_at = %(now)s "
            "WHERE workspace = %(ws)s AND account_id = %(account)s AND state = 'unknown' "
            "AND attention = 'reauth'",
            {"now": now, "ws": workspace, "account": account_id},
        )
    await insert_events(
        conn,
        [
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
            )
        ],
    )


# -- budgets ------------------------------------------------------------------------------


# Figures of a window still open (``excluded.updated_at`` is the write's now): what
# claims count and mark_publishing spends.
_OPEN = (
    "({0}.remaining IS NOT NULL AND {0}.reset_at IS NOT NULL "
    "AND {0}.reset_at > excluded.updated_at)"
)
# Whether the stored figures are kept (``_common.merge_budget``, which this mirrors): the
# new ones have none; theirs have ended while the stored are open; or both are open and
# the stored remaining is not larger.
_KEEP = (
    "(excluded.remaining IS NULL "
    f"OR (NOT {_OPEN.format('excluded')} AND {_OPEN.format('b')}) "
    f"OR ({_OPEN.format('excluded')} AND {_OPEN.format('b')} "
    "AND b.remaining <= excluded.remaining))"
)

_SET_BUDGET_SQL = f"""
WITH {NOW_CTE}
INSERT INTO budgets AS b (workspace, account_id, scope, remaining, lim, reset_at,
    blocked_until, updated_at)
SELECT %(workspace)s, %(account_id)s, %(scope)s, %(remaining)s, %(lim)s, %(reset_at)s,
    %(blocked_until)s, t.now FROM t
ON CONFLICT (workspace, account_id, scope) DO UPDATE SET
    remaining = CASE WHEN {_KEEP} THEN b.remaining ELSE excluded.remaining END,
    lim = CASE WHEN {_KEEP} THEN COALESCE(b.lim, excluded.lim)
        ELSE COALESCE(excluded.lim, b.lim) END,
    reset_at = CASE WHEN {_KEEP} THEN b.reset_at ELSE excluded.reset_at END,
    blocked_until = GREATEST(b.blocked_until, excluded.blocked_until),
    updated_at = excluded.updated_at
"""


async def set_budget(conn: Conn, budget: Budget, now: dt.datetime | None) -> None:
    """Merge ``budget`` into the stored one of its scope, as ``_common.merge_budget``
    does (one statement: the conflicting row is locked while it is merged)."""
    await conn.execute(
        _SET_BUDGET_SQL,
        {
            "now": now,
            "workspace": budget.workspace,
            "account_id": budget.account_id,
            "scope": budget.scope,
            "remaining": budget.remaining,
            "lim": budget.limit,
            "reset_at": budget.reset_at,
            "blocked_until": budget.blocked_until,
        },
    )


async def load_budgets(conn: Conn, workspace: str | None) -> list[Budget]:
    sql = (
        "SELECT workspace, account_id, scope, remaining, lim, reset_at, blocked_until FROM budgets"
    )
    params: tuple[Any, ...] = ()
    if workspace is not None:
        sql += " WHERE workspace = %s"
        params = (workspace,)
    cur = await conn.execute(sql + " ORDER BY workspace, account_id, scope", params)
    return [_budget(v) for v in await cur.fetchall()]


async def clear_budget(
    conn: Conn,
    workspace: str,
    account_id: str,
    actor: str,
    reason: str | None,
    now: dt.datetime,
) -> ClearedRateLimit:
    """Drop the account's budgets and release its publications waiting for the rate
    limit (``rate_limit_releases``), logging both when there was either. The
    publications are locked first (in id order, as every transition locks them), then
    the budgets, as a send locks them."""
    cur = await conn.execute(
        "SELECT id, attempt, last_error FROM publications WHERE workspace = %s "
        "AND account_id = %s AND state = 'retry_wait' AND attention IS NULL AND run_at > %s "
        "ORDER BY id FOR UPDATE",
        (workspace, account_id, now),
    )
    moves = rate_limit_releases(await cur.fetchall(), actor, reason, now)
    cur = await conn.execute(
        "DELETE FROM budgets WHERE workspace = %s AND account_id = %s "
        "RETURNING workspace, account_id, scope, remaining, lim, reset_at, blocked_until",
        (workspace, account_id),
    )
    cleared = tuple(sorted((_budget(v) for v in await cur.fetchall()), key=lambda b: b.scope))
    ends, now_us = metric_hold_ends(cleared), to_us(now)
    cur = await conn.execute(_HELD_TASKS_SQL, {"now": now, "ws": workspace, "acc": account_id})
    tasks = [
        task_id
        for task_id, due_at, error in await cur.fetchall()
        if waits_for_rate_limit(to_us(due_at), error, now_us, ends)
    ]
    if not cleared and not moves and not tasks:
        return ClearedRateLimit()
    released = tuple(t.id for t in moves)
    if tasks:
        await conn.execute(
            "UPDATE metric_tasks SET due_at = %s WHERE id = ANY(%s)", (now, sorted(tasks))
        )
    await insert_events(
        conn,
        [
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
            )
        ],
    )
    if moves:
        # Locked above: nothing moved them since they were read.
        await apply_transitions(conn, moves, now, strict=True)
    return ClearedRateLimit(budgets=cleared, released=released, metrics_released=len(tasks))


# The account's undone metric tasks, not leased, due later than now but not set aside
# for a person (nor of an account waiting for one) (``clear_budget`` keeps those ``waits_for_rate_limit`` picks). Locked as
# a claim locks them, skipping one a claim or a worker holds this moment: a manual
# clear, not worth a wait (and a lock order) of its own.
_HELD_TASKS_SQL = f"""
SELECT m.id, m.due_at, m.error FROM metric_tasks m
JOIN publications p ON p.id = m.publication_id
WHERE m.done_at IS NULL AND m.due_at > %(now)s
    AND m.due_at < timestamptz '{WAITING_FROM.isoformat()}'
    AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= %(now)s)
    AND p.workspace = %(ws)s AND p.account_id = %(acc)s
    AND NOT EXISTS (SELECT 1 FROM accounts a
        WHERE a.workspace = %(ws)s AND a.id = %(acc)s AND a.status = 'needs_reauth')
FOR UPDATE OF m SKIP LOCKED
"""


def _budget(v: Sequence[Any]) -> Budget:
    """A ``budgets`` row (its columns in table order) as a :class:`Budget`."""
    ws, account_id, scope, remaining, lim, reset, until = v
    return Budget(
        workspace=ws,
        account_id=account_id,
        scope=scope,
        remaining=remaining,
        limit=lim,
        reset_at=reset,
        blocked_until=until,
    )


# -- rules --------------------------------------------------------------------------------


def _rule(body: str) -> Rule:
    from socialkit.schedule.recurring import Rule

    return Rule.model_validate_json(body)


async def add_rule(conn: Conn, rule: Rule, now: dt.datetime, actor: str = "engine") -> None:
    cur = await conn.execute(
        "INSERT INTO rules (id, workspace, active, rule) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (rule.id, rule.workspace, rule.active, rule.model_dump_json()),
    )
    if cur.rowcount != 1:
        raise StoreError(f"rule id {rule.id!r} is taken")
    await insert_events(
        conn,
        [
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
            )
        ],
    )


async def get_rule(conn: Conn, rule_id: str, *, lock: bool = False) -> Rule:
    cur = await conn.execute(
        "SELECT rule FROM rules WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (rule_id,),
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no rule {rule_id!r}")
    return _rule(found[0])


async def list_rules(conn: Conn, workspace: str | None, active: bool | None) -> list[Rule]:
    where: list[str] = []
    params: list[Any] = []
    if workspace is not None:
        where.append("workspace = %s")
        params.append(workspace)
    if active is not None:
        where.append("active = %s")
        params.append(active)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = await conn.execute(f"SELECT rule FROM rules{clause} ORDER BY id", params)
    return [_rule(v[0]) for v in await cur.fetchall()]


async def _save_rule(conn: Conn, rule: Rule) -> None:
    await conn.execute(
        "UPDATE rules SET active = %s, rule = %s WHERE id = %s",
        (rule.active, rule.model_dump_json(), rule.id),
    )


async def advance_rule(
    conn: Conn,
    rule_id: str,
    expect_cursor: str | None,
    cursor: str | None,
    publications: Sequence[NewPublication],
    now: dt.datetime,
    remaining: int | None,
    active: bool | None,
    lock_space: int,
) -> list[str]:
    """Insert occurrences (``ON CONFLICT DO NOTHING`` on their idempotency keys) and move
    the rule's cursor, in the caller's transaction, under the rule's row lock
    (``lock_space``: for :func:`~._postgres_rows.check_free_slots`)."""
    rule = await get_rule(conn, rule_id, lock=True)
    if rule.cursor != expect_cursor:
        raise StaleTransition(
            f"rule {rule_id} moved on to {rule.cursor!r} (expected {expect_cursor!r})"
        )
    if not rule.active:  # stopped since the caller read it: it creates nothing more
        raise StaleTransition(f"rule {rule_id} was stopped")
    ids = await add(conn, publications, now, lock_space)
    created = [ids[i] for i, new in enumerate(publications) if ids[i] == new.id]
    update: dict[str, Any] = {"cursor": cursor, "updated_at": now}
    if remaining is not None:
        update["remaining"] = remaining
    if active is not None:
        update["active"] = active
    await _save_rule(conn, rule.model_copy(update=update))
    await insert_events(
        conn,
        [
            event_row(
                now,
                "rule",
                None,
                rule.workspace,
                None,
                None,
                reason="advanced",
                data={"rule_id": rule_id, "cursor": cursor, "created": len(created)},
            )
        ],
    )
    return created


async def set_rule_active(
    conn: Conn, rule_id: str, active: bool, now: dt.datetime, actor: str
) -> None:
    rule = await get_rule(conn, rule_id, lock=True)
    await _save_rule(conn, rule.model_copy(update={"active": active, "updated_at": now}))
    await insert_events(
        conn,
        [
            event_row(
                now,
                "rule",
                None,
                rule.workspace,
                None,
                None,
                actor=actor,
                reason="activated" if active else "stopped",
                data={"rule_id": rule_id},
            )
        ],
    )


# -- metrics ------------------------------------------------------------------------------


async def add_metric_tasks(conn: Conn, tasks: Sequence[tuple[str, dt.datetime, str]]) -> None:
    ids = sorted({pub_id for pub_id, _, _ in tasks})
    cur = await conn.execute("SELECT id FROM publications WHERE id = ANY(%s)", (ids,))
    known = {row[0] for row in await cur.fetchall()}
    for pub_id in ids:
        if pub_id not in known:
            raise StoreError(f"no publication {pub_id!r}")
    await conn.execute(
        "INSERT INTO metric_tasks (publication_id, due_at, label) "
        "SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::text[])",
        ([t[0] for t in tasks], [t[1] for t in tasks], [t[2] for t in tasks]),
    )


_CLAIM_TASKS_SQL = f"""
WITH due AS (
    SELECT m.id FROM metric_tasks m JOIN publications p ON p.id = m.publication_id
    WHERE m.done_at IS NULL AND m.due_at <= {NOW}
        AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= {NOW})
        -- an account waiting for a person to re-authorise it is asked nothing: its
        -- collections stay due (not failed, not dropped) until it is
        AND {ABLE}
    ORDER BY m.due_at, m.id LIMIT %(limit)s
    FOR UPDATE OF m SKIP LOCKED
),
upd AS (
    UPDATE metric_tasks m SET lease_owner = %(worker)s, lease_expires_at = {NOW} + %(lease)s
    FROM due d WHERE m.id = d.id
    RETURNING m.id, m.publication_id, m.due_at, m.label, m.failures, m.rest, m.skipped
)
SELECT u.id, u.publication_id, u.due_at, u.label, p.workspace, p.account_id, p.platform,
    p.campaign, u.failures, u.rest, u.skipped, {NOW}
FROM upd u JOIN publications p ON p.id = u.publication_id ORDER BY u.due_at, u.id
"""


# An account a rate limit holds (its default budget spent before its reset, or blocked
# until a Retry-After) is asked nothing: its due collections are put back until the hold
# ends (as Budget.blocks), as its publications wait.
_HOLD_TASKS_SQL = f"""
WITH held AS (
    {HELD_BUDGETS}
),
back AS (
    SELECT m.id, h.until FROM metric_tasks m
    JOIN publications p ON p.id = m.publication_id
    JOIN held h ON h.workspace = p.workspace AND h.account_id = p.account_id
    WHERE m.done_at IS NULL AND m.due_at <= {NOW}
        AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= {NOW})
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE metric_tasks m SET due_at = b.until FROM back b WHERE m.id = b.id
"""


async def claim_metric_tasks(
    conn: Conn, worker: str, now: dt.datetime | None, limit: int, lease: dt.timedelta
) -> list[MetricTask]:
    await conn.execute(_HOLD_TASKS_SQL, {"now": now})
    cur = await conn.execute(
        _CLAIM_TASKS_SQL, {"now": now, "limit": limit, "worker": worker, "lease": lease}
    )
    tasks = []
    for r in await cur.fetchall():
        task = MetricTask(
            id=r[0],
            publication_id=r[1],
            due_at=r[2],
            label=r[3],
            workspace=r[4],
            account_id=r[5],
            platform=r[6],
            campaign=r[7],
            failures=r[8],
            skipped=skipped_labels(r[10]),
        )
        at: dt.datetime = r[11]
        late = late_metric_step(task.label, r[9], task.skipped, to_us(at))
        if late is not None:
            # Later collections are due too: the last one is collected instead.
            inserted = await conn.execute(
                "INSERT INTO metric_tasks (publication_id, label, due_at, rest, skipped, "
                "lease_owner, lease_expires_at) SELECT publication_id, %s, %s, %s, %s, "
                "lease_owner, lease_expires_at FROM metric_tasks WHERE id = %s RETURNING id",
                (late.label, from_us(late.due_us), late.rest, late.skipped_json, task.id),
            )
            found = await inserted.fetchone()
            assert found is not None  # INSERT … RETURNING of one row
            await conn.execute(
                "UPDATE metric_tasks SET done_at = %s, error = %s, lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = %s",
                (at, late.error, task.id),
            )
            task = late.instead_of(task, found[0])
        tasks.append(task)
    return tasks


async def retry_metric_task(
    conn: Conn, task_id: int, run_at: dt.datetime, error: str, count_failure: bool
) -> None:
    cur = await conn.execute(
        "SELECT done_at FROM metric_tasks WHERE id = %s FOR UPDATE", (task_id,)
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no metric task {task_id}")
    if found[0] is not None:
        return
    await conn.execute(
        "UPDATE metric_tasks SET due_at = %s, error = %s, failures = failures + %s, "
        "lease_owner = NULL, lease_expires_at = NULL WHERE id = %s",
        (run_at, error, 1 if count_failure else 0, task_id),
    )


async def complete_metric_task(
    conn: Conn,
    task_id: int,
    snapshots: Sequence[MetricSnapshot],
    now: dt.datetime | None,
    error: str | None,
) -> None:
    cur = await conn.execute(
        "SELECT t.done_at, t.rest, p.id, p.workspace, p.campaign, p.state FROM metric_tasks t "
        "JOIN publications p ON p.id = t.publication_id WHERE t.id = %s FOR UPDATE OF t",
        (task_id,),
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no metric task {task_id}")
    done, rest, pub_id, workspace, campaign, state = found
    if done is not None:
        return
    await conn.execute(
        f"WITH {NOW_CTE} UPDATE metric_tasks SET done_at = t.now, error = %(error)s, "
        "lease_owner = NULL, lease_expires_at = NULL FROM t WHERE id = %(id)s",
        {"now": now, "error": error, "id": task_id},
    )
    step = next_metric_step(rest, S(state))
    if step is not None:
        label, due, later = step
        await conn.execute(
            "INSERT INTO metric_tasks (publication_id, label, due_at, rest) VALUES (%s,%s,%s,%s)",
            (pub_id, label, from_us(due), later),
        )
    if snapshots:
        await conn.execute(
            "INSERT INTO metric_snapshots (publication_id, workspace, account_id, campaign, "
            "collected_at, snapshot, after_s, age_s, skipped_s) SELECT * FROM unnest("
            "%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], "
            "%b::float8[], %b::float8[], %b::text[])",
            (
                [s.publication_id or pub_id for s in snapshots],
                [workspace] * len(snapshots),
                [s.account_id for s in snapshots],
                [campaign] * len(snapshots),
                [s.collected_at for s in snapshots],
                [snapshot_json(s) for s in snapshots],
                *map(list, zip(*map(snapshot_columns, snapshots), strict=True)),
            ),
        )


async def metric_series(
    conn: Conn,
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
            where.append(f"{column} = %s")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = await conn.execute(
        f"SELECT snapshot, after_s, age_s, skipped_s FROM metric_snapshots{clause} "
        "ORDER BY collected_at, id",
        params,
    )
    return [snapshot_from_row(*v) for v in await cur.fetchall()]
