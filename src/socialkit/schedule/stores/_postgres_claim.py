"""Claiming due publications across many workers, and sweeping expired leases.

Every claim first **sweeps** expired leases (``FOR UPDATE SKIP LOCKED``, so sweepers
never wait on each other): ``claimed`` → ``scheduled``, ``publishing`` → ``unknown``
(reconciled one lease later), a reconciler's lease on ``unknown`` is dropped. Then:

* **Uncapped** (``per_account=None``, accounts without a rate budget): the classic queue
  statement — due rows in ``run_at`` order (reconciliation first), ``LIMIT n FOR UPDATE
  SKIP LOCKED``, updated and logged in the same statement. Concurrent claimers take
  disjoint rows and never wait.
* **Capped** (an in-flight limit, or a rate budget, that must hold across workers):

  1. *scan* the partial index of due rows in order, leaving out accounts at their limit,
     accounts that need a person or are out of budget, and paused scopes;
  2. *lock accounts* in that order with ``pg_try_advisory_xact_lock`` until their
     estimated room covers the batch — an account another worker is claiming right now
     is skipped, never waited for;
  3. *claim* in one statement whose snapshot begins after the locks were taken (so it
     sees every claim the account's previous holder committed): recount each account's
     leases, take up to its room of its due rows, lock them ``FOR UPDATE SKIP LOCKED``,
     raise ``attempt``, set the lease on the database clock, write the ``claimed`` events.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from socialkit.schedule.records import Claim
from socialkit.schedule.stores._postgres_rows import (
    NOW,
    OVERDUE,
    blocked_sql,
    checkpoints_of,
    covered_sql,
    held_accounts_sql,
    unpaused_sql,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit.schedule.records import ClaimKind
    from socialkit.schedule.stores._postgres_rows import Conn

__all__ = ["claim", "sweep"]

_SWEEP_SQL = f"""
WITH expired AS (
    SELECT p.id, p.state, p.lease_owner FROM publications p
    WHERE p.lease_expires_at IS NOT NULL AND p.lease_expires_at <= {NOW}
    FOR UPDATE OF p SKIP LOCKED
),
swept AS (
    UPDATE publications p SET
        state = CASE
            WHEN e.state = 'claimed' THEN
                CASE WHEN {covered_sql("p")} THEN 'paused' ELSE 'scheduled' END
            WHEN e.state = 'publishing' THEN 'unknown'
            ELSE p.state END,
        run_at = CASE WHEN e.state = 'publishing' THEN {NOW} + %(lease)s ELSE p.run_at END,
        attention = CASE WHEN e.state = 'publishing' THEN NULL ELSE p.attention END,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW}
    FROM expired e WHERE p.id = e.id
    RETURNING p.id, p.workspace, p.account_id, p.campaign, p.attempt, e.state AS from_state,
        p.state AS to_state, e.lease_owner
)
INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor, reason,
    attempt, from_state, to_state, data)
SELECT {NOW}, 'lease_expired', s.id, s.workspace, s.account_id, s.campaign, 'engine',
    CASE s.from_state
        WHEN 'claimed' THEN 'lease expired before sending; handed back'
        WHEN 'publishing' THEN 'lease lost while publishing; outcome unknown'
        ELSE 'reconciliation lease expired' END,
    s.attempt, s.from_state, s.to_state, jsonb_build_object('worker', s.lease_owner)
FROM swept s ORDER BY s.id
"""

_RECONCILABLE = "p.state = 'unknown' AND p.attention IS NULL AND p.lease_owner IS NULL"
_DUE = "p.state IN ('scheduled', 'retry_wait')"
# Per account: its leases (``n``), those not sent yet (``unsent``), and its unknown
# outcomes nobody holds a lease on (``waiting``), which hold the account as a lease does
# until they are settled: a publish needs room with them counted, a reconciliation (one
# of them) among the leases only.
_LEASED_CTE = """leased AS (
    SELECT workspace, account_id, count(*) FILTER (WHERE leased) AS n,
        count(*) FILTER (WHERE state = 'claimed') AS unsent,
        count(*) FILTER (WHERE NOT leased) AS waiting
    FROM (
        SELECT workspace, account_id, state, true AS leased FROM publications
        WHERE lease_expires_at IS NOT NULL
        UNION ALL SELECT workspace, account_id, state, false FROM publications
        WHERE state = 'unknown' AND lease_expires_at IS NULL
    ) x GROUP BY workspace, account_id
)"""
# Accounts whose leases and unsettled outcomes fill the in-flight limit: no publish.
_BUSY = "SELECT workspace, account_id FROM leased WHERE n + waiting >= %(per_account)s"
_BUDGETED = (
    "SELECT workspace, account_id FROM budgets WHERE scope = 'default' "
    f"AND remaining IS NOT NULL AND reset_at > {NOW}"
)
# What the misfire policy (``expire_overdue``) would miss now: a one-off past its grace
# period that may not publish late, or a rule's occurrence past its grace with a later
# one of the same rule and account already due. A claim never takes it: it waits for
# the policy, it is not sent late. False at once for every row not past its grace.
_MISSED = f"""({OVERDUE} AND CASE WHEN p.rule_id IS NULL THEN NOT p.publish_late
    ELSE EXISTS (SELECT 1 FROM publications q WHERE q.rule_id = p.rule_id
        AND q.account_id = p.account_id AND q.workspace = p.workspace
        AND q.due_at > p.due_at AND q.due_at <= {NOW}) END)"""
_OPEN = (
    "(p.workspace, p.account_id) NOT IN (SELECT workspace, account_id FROM held) "
    f"AND {unpaused_sql('p')}"
)


def _claim_tail(source: str) -> str:
    """Lease the rows of CTE ``source`` (columns ``id, state, ord``) and log them."""
    return f"""
upd AS (
    UPDATE publications p SET attempt = p.attempt + 1, lease_owner = %(worker)s,
        lease_expires_at = {NOW} + %(lease)s, updated_at = {NOW},
        state = CASE WHEN p.state = 'unknown' THEN 'unknown' ELSE 'claimed' END
    FROM {source} s WHERE p.id = s.id
    RETURNING p.id, p.attempt, p.workspace, p.account_id, p.platform, p.revision, p.due_at,
        p.local_time, p.zone, p.idempotency_key, p.campaign, p.rule_id, p.sends, p.failures,
        p.draft, p.state, p.lease_expires_at, s.state AS from_state, s.ord
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state)
    SELECT {NOW}, 'claimed', u.id, u.workspace, u.account_id, u.campaign, %(worker)s,
        CASE WHEN u.state = 'unknown' THEN 'reconcile' END, u.attempt, u.from_state, u.state
    FROM upd u ORDER BY u.ord
)
SELECT id, attempt, workspace, account_id, platform, revision, due_at, local_time, zone,
    idempotency_key, campaign, rule_id, sends, failures, draft, state, lease_expires_at
FROM upd ORDER BY ord
"""


_UNCAPPED_SQL = f"""
WITH held AS ({held_accounts_sql(capped=False)} UNION ALL {_BUDGETED}),
rec AS (
    SELECT 0 AS k, p.id, p.state, p.run_at FROM publications p
    WHERE %(reconcile)s AND {_RECONCILABLE} AND p.run_at <= {NOW} AND {_OPEN}
    ORDER BY p.run_at, p.id LIMIT %(limit)s
    FOR UPDATE OF p SKIP LOCKED
),
due AS (
    SELECT 1 AS k, p.id, p.state, p.run_at FROM publications p
    WHERE {_DUE} AND p.run_at <= {NOW} AND {_OPEN} AND NOT {_MISSED}
    ORDER BY p.run_at, p.id LIMIT %(limit)s
    FOR UPDATE OF p SKIP LOCKED
),
picked AS (
    SELECT id, state, row_number() OVER (ORDER BY k, run_at, id) AS ord
    FROM (SELECT * FROM rec UNION ALL SELECT * FROM due) x
),
chosen AS (SELECT * FROM picked WHERE ord <= %(limit)s),
{_claim_tail("chosen")}
"""


def _scan_sql(only_budgeted: bool) -> str:
    """The open accounts among the first ``window`` due rows (reconciliation first), one
    row each with how many of those rows are theirs, in the order of their first row;
    and a last row (``k = 2``) with the tallies. The scan never reads more than the
    window, however many rows of busy accounts lie ahead."""
    extra = f"AND (w.workspace, w.account_id) IN ({_BUDGETED})" if only_budgeted else ""
    return f"""
WITH {_LEASED_CTE},
held AS ({held_accounts_sql()}),
win AS (
    (SELECT 0 AS k, p.workspace, p.account_id, p.campaign, p.run_at, p.id FROM publications p
    WHERE %(reconcile)s AND {_RECONCILABLE} AND p.run_at <= {NOW}
    ORDER BY p.run_at, p.id LIMIT %(window)s)
    UNION ALL
    (SELECT 1 AS k, p.workspace, p.account_id, p.campaign, p.run_at, p.id FROM publications p
    WHERE {_DUE} AND p.run_at <= {NOW}
    ORDER BY p.run_at, p.id LIMIT %(window)s)
),
open AS (
    SELECT w.workspace, w.account_id, count(*) AS n, min(w.k) AS k, min(w.run_at) AS first
    FROM win w
    WHERE (w.workspace, w.account_id) NOT IN (SELECT workspace, account_id FROM held)
        AND (w.k = 0 OR (w.workspace, w.account_id) NOT IN ({_BUSY}))
        AND {unpaused_sql("w")} {extra}
    GROUP BY w.workspace, w.account_id
)
(SELECT o.workspace, o.account_id, o.k,
    COALESCE(l.n, 0) + CASE WHEN o.k = 1 THEN COALESCE(l.waiting, 0) ELSE 0 END,
    b.remaining - COALESCE(l.unsent, 0), o.n
FROM open o
LEFT JOIN leased l ON l.workspace = o.workspace AND l.account_id = o.account_id
LEFT JOIN budgets b ON b.workspace = o.workspace AND b.account_id = o.account_id
    AND b.scope = 'default' AND b.remaining IS NOT NULL AND b.reset_at > {NOW}
ORDER BY o.k, o.first, o.workspace, o.account_id)
UNION ALL
SELECT NULL, NULL, 2, count(*), NULL, NULL FROM win WHERE k = 1
"""


def _skip_sql(only_budgeted: bool) -> str:
    """Accounts with due work, found by skipping through the per-account index one
    account at a time (a loose index scan: a few probes per account, whatever the
    backlog), open ones only, in the order of their earliest due row."""
    extra = f"AND (s.workspace, s.account_id) IN ({_BUDGETED})" if only_budgeted else ""
    return f"""
WITH RECURSIVE {_LEASED_CTE},
held AS ({held_accounts_sql()}),
skip AS (
    (SELECT p.workspace, p.account_id FROM publications p WHERE {_DUE}
    ORDER BY p.workspace, p.account_id LIMIT 1)
    UNION ALL
    SELECT n.workspace, n.account_id FROM skip s CROSS JOIN LATERAL (
        SELECT p.workspace, p.account_id FROM publications p
        WHERE {_DUE} AND (p.workspace, p.account_id) > (s.workspace, s.account_id)
        ORDER BY p.workspace, p.account_id LIMIT 1
    ) n
)
SELECT s.workspace, s.account_id, 1, COALESCE(l.n, 0) + COALESCE(l.waiting, 0),
    b.remaining - COALESCE(l.unsent, 0)
FROM skip s
CROSS JOIN LATERAL (
    SELECT p.run_at, p.id, p.campaign FROM publications p
    WHERE p.workspace = s.workspace AND p.account_id = s.account_id AND {_DUE}
        AND p.run_at <= {NOW}
    ORDER BY p.run_at, p.id LIMIT 1
) f
LEFT JOIN leased l ON l.workspace = s.workspace AND l.account_id = s.account_id
LEFT JOIN budgets b ON b.workspace = s.workspace AND b.account_id = s.account_id
    AND b.scope = 'default' AND b.remaining IS NOT NULL AND b.reset_at > {NOW}
WHERE (s.workspace, s.account_id) NOT IN (SELECT workspace, account_id FROM held)
    AND (s.workspace, s.account_id) NOT IN ({_BUSY})
    AND s.workspace NOT IN (SELECT workspace FROM pauses WHERE kind = 'all') {extra}
ORDER BY f.run_at, f.id
LIMIT %(accounts)s
"""


_LOCK_SQL = """
SELECT w, a FROM unnest(%b::text[], %b::text[]) AS x(w, a)
WHERE pg_try_advisory_xact_lock(%s, hashtext(w || chr(31) || a))
"""

_CAPPED_SQL = f"""
WITH acc AS (SELECT * FROM unnest(%(ws)b::text[], %(accounts)b::text[]) WITH ORDINALITY
    AS a(workspace, account_id, aord)),
{_LEASED_CTE},
room AS (
    SELECT a.workspace, a.account_id, a.aord,
        LEAST(%(per_account)s - COALESCE(f.n, 0), b.remaining - COALESCE(f.unsent, 0))
            AS allowed,
        %(per_account)s - COALESCE(f.n, 0) - COALESCE(f.waiting, 0) AS publish_room
    FROM acc a
    LEFT JOIN leased f ON f.workspace = a.workspace AND f.account_id = a.account_id
    LEFT JOIN budgets b ON b.workspace = a.workspace AND b.account_id = a.account_id
        AND b.scope = 'default' AND b.remaining IS NOT NULL AND b.reset_at > {NOW}
),
cand AS (
    SELECT r.aord, r.allowed, r.publish_room, x.* FROM room r CROSS JOIN LATERAL (
        (SELECT 0 AS k, p.id, p.run_at FROM publications p
        WHERE %(reconcile)s AND p.workspace = r.workspace AND p.account_id = r.account_id
            AND {_RECONCILABLE} AND p.run_at <= {NOW}
        ORDER BY p.run_at, p.id LIMIT CASE WHEN r.allowed < 0 THEN 0 ELSE r.allowed END)
        UNION ALL
        (SELECT 1 AS k, p.id, p.run_at FROM publications p
        WHERE p.workspace = r.workspace AND p.account_id = r.account_id AND {_DUE}
            AND p.run_at <= {NOW} AND NOT {_MISSED}
        ORDER BY p.run_at, p.id LIMIT CASE WHEN LEAST(r.allowed, r.publish_room) < 0 THEN 0
            ELSE LEAST(r.allowed, r.publish_room) END)
    ) x
    WHERE r.allowed IS NULL OR r.allowed > 0
),
capped AS (
    SELECT id, k, run_at FROM (
        SELECT c.*, row_number() OVER (PARTITION BY c.aord ORDER BY c.k, c.run_at, c.id) AS n,
            row_number() OVER (PARTITION BY c.aord, c.k ORDER BY c.run_at, c.id) AS nk
        FROM cand c
    ) ranked WHERE (allowed IS NULL OR n <= allowed)
        AND (k = 0 OR publish_room IS NULL OR nk <= publish_room)
    ORDER BY k, run_at, id LIMIT %(limit)s
),
locked AS (
    SELECT p.id, p.state, p.run_at FROM publications p
    WHERE p.id = ANY(ARRAY(SELECT id FROM capped)) AND p.run_at <= {NOW}
        AND ({_DUE} OR (%(reconcile)s AND {_RECONCILABLE}))
        AND NOT {blocked_sql("p")} AND NOT {covered_sql("p")} AND NOT {_MISSED}
    FOR UPDATE OF p SKIP LOCKED
),
chosen AS (
    SELECT l.id, l.state, row_number() OVER (ORDER BY c.k, c.run_at, c.id) AS ord
    FROM locked l JOIN capped c ON c.id = l.id
),
{_claim_tail("chosen")}
"""

_MAX_ROUNDS = 3


async def sweep(conn: Conn, now: dt.datetime | None, lease: dt.timedelta) -> None:
    """Expired leases: ``claimed`` → scheduled (or paused), ``publishing`` → unknown,
    a reconciler's lease dropped; each with a ``lease_expired`` event."""
    await conn.execute(_SWEEP_SQL, {"now": now, "lease": lease})


async def claim(
    conn: Conn,
    worker: str,
    *,
    now: dt.datetime | None,
    limit: int,
    lease: dt.timedelta,
    per_account: int | None,
    reconcile: bool,
    lock_space: int,
) -> list[Claim]:
    """Sweep, then lease up to ``limit`` due publications to ``worker`` (module docstring)."""
    await sweep(conn, now, lease)
    if limit <= 0:
        return []
    params: dict[str, Any] = {
        "now": now,
        "limit": limit,
        "lease": lease,
        "worker": worker,
        "reconcile": reconcile,
        "per_account": per_account,
    }
    found: list[tuple[Any, ...]] = []
    if per_account is None:
        cur = await conn.execute(_UNCAPPED_SQL, params)
        found = list(await cur.fetchall())
    if len(found) < limit:
        accounts = await _lock_accounts(
            conn,
            params,
            limit=limit - len(found),
            only_budgeted=per_account is None,
            lock_space=lock_space,
        )
        if accounts:
            cur = await conn.execute(
                _CAPPED_SQL,
                {
                    **params,
                    "limit": limit - len(found),
                    "ws": [w for w, _ in accounts],
                    "accounts": [a for _, a in accounts],
                },
            )
            found.extend(await cur.fetchall())
    resumed = [v[0] for v in found if v[12] > 0]
    parts = await checkpoints_of(conn, resumed) if resumed else {}
    return [_claim(v, parts) for v in found]


async def _lock_accounts(
    conn: Conn,
    params: dict[str, Any],
    *,
    limit: int,
    only_budgeted: bool,
    lock_space: int,
) -> list[tuple[str, str]]:
    """Lock, in due order, accounts whose estimated room covers ``limit`` claims."""
    per_account: int | None = params["per_account"]
    window = max(2 * limit, 32)
    cur = await conn.execute(_scan_sql(only_budgeted), {**params, "window": window})
    found = await cur.fetchall()
    examined = int(found[-1][3])  # the k = 2 row: due rows examined
    order: list[tuple[str, str]] = []
    room: dict[tuple[str, str], int] = {}
    rows: dict[tuple[str, str], int] = {}

    def consider(candidates: Sequence[Sequence[Any]], *, counted: bool) -> None:
        for ws, account, _, leased, budget_left, *extra in candidates:
            key = (ws, account)
            rows[key] = rows.get(key, 0) + (int(extra[0]) if counted else limit)
            if key in room:
                continue
            caps = [
                cap
                for cap in (
                    per_account - int(leased) if per_account is not None else None,
                    int(budget_left) if budget_left is not None else None,
                )
                if cap is not None
            ]
            room[key] = max(min(caps), 0) if caps else limit
            order.append(key)

    consider(found[:-1], counted=True)
    capacity = sum(min(room[k], rows[k]) for k in order)
    if capacity < limit and examined >= window:
        # Busy accounts fill the front of the queue: find open ones further down.
        cur = await conn.execute(_skip_sql(only_budgeted), {**params, "accounts": 2 * limit})
        consider([c for c in await cur.fetchall() if (c[0], c[1]) not in room], counted=False)
    locked: list[tuple[str, str]] = []
    wanted = limit
    position = 0
    for _ in range(_MAX_ROUNDS):
        batch: list[tuple[str, str]] = []
        need = wanted
        while position < len(order) and need > 0:
            key = order[position]
            position += 1
            if room[key] > 0:
                batch.append(key)
                need -= min(room[key], rows[key])
        if not batch:
            break
        cur = await conn.execute(
            _LOCK_SQL, ([w for w, _ in batch], [a for _, a in batch], lock_space)
        )
        got = {(w, a) for w, a in await cur.fetchall()}
        for key in batch:
            if key in got:
                locked.append(key)
                wanted -= min(room[key], rows[key])
        if wanted <= 0:
            break
    return locked


def _claim(v: Sequence[Any], parts: dict[str, Any]) -> Claim:
    kind: ClaimKind = "reconcile" if v[15] == "unknown" else "publish"
    return Claim(
        id=v[0],
        attempt=v[1],
        kind=kind,
        workspace=v[2],
        account_id=v[3],
        platform=v[4],
        revision=v[5],
        due_at=v[6],
        local_time=dt.datetime.fromisoformat(v[7]),
        zone=v[8],
        idempotency_key=v[9],
        campaign=v[10],
        rule_id=v[11],
        sends=v[12],
        failures=v[13],
        lease_expires_at=v[16],
        draft_json=v[14],
        checkpoints=parts.get(v[0], ()),
    )
