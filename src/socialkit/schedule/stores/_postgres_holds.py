"""When work is next due, the misfire policy, and the pause switch, in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit.schedule.records import Moved
from socialkit.schedule.states import PublicationState
from socialkit.schedule.stores._common import DELETING, SUPERSEDED, missed_ids
from socialkit.schedule.stores._metric_waits import WAITING_FROM
from socialkit.schedule.stores._postgres_rows import (
    ABLE,
    HELD_BUDGETS,
    NOW,
    OVERDUE,
    covered_sql,
    event_row,
    insert_events,
    unpaused_sql,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from socialkit.schedule.publication import PauseScope
    from socialkit.schedule.stores._postgres_rows import Conn

__all__ = ["expire_overdue", "next_due", "pause", "resume"]

S = PublicationState

_WAITING_FROM = f"timestamptz '{WAITING_FROM.isoformat()}'"
"""Where the metric tasks of accounts waiting for a person are set aside (see
:mod:`socialkit.schedule.stores._metric_waits`)."""

_CLAIMABLE = (
    "(p.state IN ('scheduled', 'retry_wait') OR "
    "(p.state = 'unknown' AND p.attention IS NULL AND p.lease_owner IS NULL))"
)

_UNSETTLED = "state = 'unknown' AND lease_expires_at IS NULL"
"""An ``unknown`` publication nobody holds a lease on: it holds its account until settled."""
_SCAN = 64
"""How many due rows of busy accounts ``next_due`` reads past before answering."""
_DUE_OPEN = (
    "p.state IN ('scheduled', 'retry_wait') "
    "AND (p.workspace, p.account_id) NOT IN (SELECT workspace, account_id FROM held) "
    f"AND {unpaused_sql('p')}"
)

# The first-of lookups read the row (a plain index scan, not index-only), so they mark
# the index entries of rows that left the state as dead and the next lookup skips them.
_NEXT_DUE_SQL = f"""
WITH unblock AS (
    {HELD_BUDGETS}
        AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.workspace = b.workspace
            AND a.id = b.account_id AND a.status = 'needs_reauth')
),
held AS (
    SELECT workspace, account_id FROM unblock
    UNION ALL SELECT workspace, id FROM accounts WHERE status = 'needs_reauth'
    UNION ALL SELECT workspace, value FROM pauses WHERE kind = 'account'
),
-- accounts at their in-flight limit (none without one): leases, and unknown outcomes
-- nobody holds a lease on, which hold their account until settled (n: the leases alone)
busy AS (
    SELECT workspace, account_id, count(*) FILTER (WHERE leased) AS n FROM (
        SELECT workspace, account_id, true AS leased FROM publications
        WHERE lease_expires_at IS NOT NULL
        UNION ALL SELECT workspace, account_id, false FROM publications
        WHERE {_UNSETTLED}
    ) x GROUP BY workspace, account_id HAVING count(*) >= %(per_account)s
)
SELECT LEAST(
    -- the first due row; when it is due by now and its account is busy, the first of
    -- another account (or one due later) among the next {_SCAN} (past them all busy, the
    -- last one's time: early, never late); a busy account is free at the latest when a
    -- lease expires or an unknown outcome is reconciled, both counted below
    (SELECT CASE WHEN f.run_at > {NOW}
            OR (f.workspace, f.account_id) NOT IN (SELECT workspace, account_id FROM busy)
        THEN f.run_at ELSE (
            SELECT COALESCE(min(w.run_at) FILTER (WHERE NOT w.busy),
                CASE WHEN count(*) >= {_SCAN} THEN max(w.run_at) END)
            FROM (SELECT p.run_at, p.run_at <= {NOW}
                    AND (p.workspace, p.account_id) IN (SELECT workspace, account_id FROM busy)
                        AS busy
                FROM publications p WHERE {_DUE_OPEN}
                ORDER BY p.run_at, p.id LIMIT {_SCAN}) w) END
    FROM (SELECT p.run_at, p.workspace, p.account_id FROM publications p WHERE {_DUE_OPEN}
        ORDER BY p.run_at, p.id LIMIT 1) f),
    (SELECT p.run_at FROM publications p
        WHERE p.state = 'unknown' AND p.attention IS NULL AND p.lease_owner IS NULL
            AND (p.workspace, p.account_id) NOT IN (SELECT workspace, account_id FROM held)
            AND (p.workspace, p.account_id) NOT IN
                (SELECT workspace, account_id FROM busy WHERE n >= %(per_account)s)
            AND {unpaused_sql("p")}
        ORDER BY p.run_at, p.id LIMIT 1),
    (SELECT min(GREATEST(u.until, f.first)) FROM unblock u CROSS JOIN LATERAL (
        SELECT min(p.run_at) AS first FROM publications p
        WHERE p.workspace = u.workspace AND p.account_id = u.account_id AND {_CLAIMABLE}
            AND NOT {covered_sql("p")}) f
        WHERE f.first IS NOT NULL),
    (SELECT p.expires_at FROM publications p
        WHERE p.state = 'scheduled' AND p.sends = 0 AND p.expires_at IS NOT NULL AND {ABLE}
        ORDER BY p.expires_at LIMIT 1),
    (SELECT p.lease_expires_at FROM publications p WHERE p.lease_expires_at IS NOT NULL
        ORDER BY p.lease_expires_at LIMIT 1),
    -- metric collections: one in flight (leased, so due by now) is due again only when
    -- its lease runs out; an account waiting for a person holds its collections too:
    -- set aside past WAITING_FROM (schema 9), where the index scan stops instead of
    -- walking and skipping them; ABLE leaves out one left in the ordinary range
    (SELECT m.due_at FROM metric_tasks m JOIN publications p ON p.id = m.publication_id
        WHERE m.done_at IS NULL AND m.due_at < {_WAITING_FROM}
            AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= {NOW}) AND {ABLE}
        ORDER BY m.due_at, m.id LIMIT 1),
    (SELECT min(m.lease_expires_at) FROM metric_tasks m
        JOIN publications p ON p.id = m.publication_id
        WHERE m.done_at IS NULL AND m.due_at <= {NOW} AND m.lease_expires_at > {NOW}
            AND {ABLE})
)
"""

_OVERDUE_SQL = f"""
WITH past_grace AS (
    SELECT p.id, p.rule_id, p.workspace, p.account_id, p.due_at, p.publish_late, p.attempt,
        p.expires_at
    FROM publications p
    WHERE {OVERDUE}
    FOR UPDATE OF p SKIP LOCKED
),
-- rule occurrences already due, within their grace or with none: each one a later due
-- occurrence of its rule and account supersedes is missed too (a rule fires once after
-- downtime, however long its grace)
due_rules AS (
    SELECT p.id, p.rule_id, p.workspace, p.account_id, p.due_at, p.publish_late, p.attempt,
        p.expires_at
    FROM publications p
    WHERE p.state = 'scheduled' AND p.due_at <= {NOW} AND p.rule_id IS NOT NULL
        AND p.sends = 0
    FOR UPDATE OF p SKIP LOCKED
),
overdue AS (SELECT * FROM past_grace UNION SELECT * FROM due_rules)
SELECT o.id, o.rule_id, o.workspace, o.account_id, o.due_at, o.publish_late, o.attempt,
    o.expires_at,
    (SELECT max(q.due_at) FROM publications q WHERE q.rule_id = o.rule_id
        AND q.account_id = o.account_id AND q.workspace = o.workspace
        AND q.due_at <= {NOW}),
    {NOW}
FROM overdue o ORDER BY o.due_at, o.id
"""

_MISSED_SQL = """
WITH inp AS (SELECT * FROM unnest(%(ids)b::text[], %(attempts)b::int[], %(reasons)b::text[])
    WITH ORDINALITY AS i(id, attempt, reason, ord)),
upd AS (
    UPDATE publications p SET state = 'missed', attention = NULL, lease_owner = NULL,
        lease_expires_at = NULL, updated_at = %(now)s
    FROM inp i WHERE p.id = i.id AND p.state = 'scheduled' AND p.attempt = i.attempt
    RETURNING p.id, p.workspace, p.account_id, p.campaign, p.attempt, i.reason, i.ord
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state)
    SELECT %(now)s, 'transition', u.id, u.workspace, u.account_id, u.campaign, %(actor)s,
        u.reason, u.attempt, 'scheduled', 'missed'
    FROM upd u ORDER BY u.ord
)
SELECT u.id, u.workspace, u.account_id, u.campaign, u.attempt, u.reason FROM upd u ORDER BY u.ord
"""


async def next_due(
    conn: Conn, now: dt.datetime | None, per_account: int | None = 1
) -> dt.datetime | None:
    """The earliest instant anything may need a worker (see the protocol)."""
    cur = await conn.execute(_NEXT_DUE_SQL, {"now": now, "per_account": per_account})
    found = await cur.fetchone()
    value: dt.datetime | None = found[0] if found else None
    return value


async def next_due_on_db_clock(
    conn: Conn, per_account: int | None = 1
) -> tuple[dt.datetime | None, dt.datetime]:
    """:func:`next_due` on the database clock, with that clock's reading (one statement,
    so both are the same instant)."""
    cur = await conn.execute(
        f"SELECT ({_NEXT_DUE_SQL}), statement_timestamp()",
        {"now": None, "per_account": per_account},
    )
    found = await cur.fetchone()
    assert found is not None
    return found[0], found[1]


async def expire_overdue(conn: Conn, now: dt.datetime | None, actor: str) -> list[Moved]:
    """Apply the misfire policy; returns the publications moved to ``missed``."""
    cur = await conn.execute(_OVERDUE_SQL, {"now": now})
    overdue = await cur.fetchall()
    if not overdue:
        return []
    at: dt.datetime = overdue[0][9]
    latest = {(r[1], r[2], r[3]): r[8] for r in overdue if r[1] is not None and r[8] is not None}
    missed = sorted(
        missed_ids(((r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in overdue), latest)
    )
    if not missed:
        return []
    by_id = {r[0]: r for r in overdue}
    reasons = []
    for pub_id in missed:
        r = by_id[pub_id]
        if r[7] is not None and r[7] < at:
            grace = (r[7] - r[4]).total_seconds()
            reasons.append(f"not started within its grace period ({grace:g} s after due)")
        else:
            reasons.append(SUPERSEDED)
    cur = await conn.execute(
        _MISSED_SQL,
        {
            "ids": missed,
            "attempts": [by_id[i][6] for i in missed],
            "reasons": reasons,
            "now": at,
            "actor": actor,
        },
    )
    return [
        Moved(
            id=r[0],
            workspace=r[1],
            account_id=r[2],
            campaign=r[3],
            from_state=S.SCHEDULED,
            to_state=S.MISSED,
            attempt=r[4],
            at=at,
            actor=actor,
            reason=r[5],
        )
        for r in await cur.fetchall()
    ]


def _scope_clause(scope: PauseScope) -> tuple[str, dict[str, Any]]:
    if scope.kind == "all":
        return "p.workspace = %(ws)s", {"ws": scope.workspace}
    column = "account_id" if scope.kind == "account" else "campaign"
    return f"p.workspace = %(ws)s AND p.{column} = %(value)s", {
        "ws": scope.workspace,
        "value": scope.value,
    }


def _candidates_sql(where: str, from_states: str) -> str:
    # Rows without a lease and leased ones apart: the state and account indexes hold
    # only the former (see the schema), the lease index the latter.
    found = f"SELECT p.id FROM publications p WHERE p.state IN ({from_states}) AND {where}"
    return (
        f"{found} AND p.lease_expires_at IS NULL "
        f"UNION ALL {found} AND p.lease_expires_at IS NOT NULL"
    )


def _move_sql(from_states: str, target: str) -> str:
    # The candidates are found first, without a lock, by a statement of their own; this
    # one locks them by id and checks again only their state. Found and locked by one
    # condition, a row that moved while it waited for its lock (a claim committing:
    # ``scheduled`` → ``claimed``, its lease set) was dropped by the re-check on its new
    # version, and the other half of the condition had not seen it: it escaped the pause.
    # A paused thread a person's delete is taking down (marked ``deleting`` while this
    # waited for its lock, perhaps) is never resumed: see records.DELETING.
    return f"""
WITH sel AS (
    SELECT p.id, p.state FROM publications p
    WHERE p.id = ANY(%(ids)s::text[]) AND p.state IN ({from_states})
        AND p.attention IS DISTINCT FROM '{DELETING}'
    ORDER BY p.id FOR UPDATE OF p
),
upd AS (
    UPDATE publications p SET state = '{target}', updated_at = %(now)s,
        lease_owner = CASE WHEN s.state = 'claimed' THEN NULL ELSE p.lease_owner END,
        lease_expires_at = CASE WHEN s.state = 'claimed' THEN NULL ELSE p.lease_expires_at END
    FROM sel s WHERE p.id = s.id
    RETURNING p.id, p.workspace, p.account_id, p.campaign, p.attempt, s.state AS from_state
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state)
    SELECT %(now)s, 'transition', u.id, u.workspace, u.account_id, u.campaign, %(actor)s,
        %(reason)s, u.attempt, u.from_state, '{target}'
    FROM upd u ORDER BY u.id
)
SELECT u.id, u.workspace, u.account_id, u.campaign, u.attempt, u.from_state
FROM upd u ORDER BY u.id
"""


async def _move(
    conn: Conn,
    where: str,
    params: dict[str, Any],
    from_states: str,
    target: PublicationState,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> list[Moved]:
    cur = await conn.execute(_candidates_sql(where, from_states), params)
    ids = [r[0] for r in await cur.fetchall()]
    if not ids:
        return []
    cur = await conn.execute(
        _move_sql(from_states, target.value),
        {"ids": ids, "now": now, "actor": actor, "reason": reason},
    )
    return _moved(await cur.fetchall(), target, now, actor, reason)


async def pause(conn: Conn, scope: PauseScope, now: dt.datetime) -> list[Moved]:
    """Flip a pause switch on and hold what it covers; returns what it moved."""
    await conn.execute(
        "INSERT INTO pauses (workspace, kind, value, actor, reason, at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (workspace, kind, value) DO UPDATE "
        "SET actor = excluded.actor, reason = excluded.reason, at = excluded.at",
        (scope.workspace, scope.kind, scope.value, scope.actor, scope.reason, scope.at or now),
    )
    await insert_events(
        conn,
        [
            event_row(
                now,
                "pause",
                None,
                scope.workspace,
                None,
                None,
                actor=scope.actor,
                reason=scope.reason,
                data={"kind": scope.kind, "value": scope.value},
            )
        ],
    )
    where, params = _scope_clause(scope)
    reason = scope.history_reason()
    # A claimed one is not sent yet: it is handed back too, and the worker that claimed
    # it finds it moved when it marks it publishing (nothing is sent). One whose claim
    # commits after this look, or an ``unknown`` one a reconciler resends, is refused
    # when it is marked publishing: the pause covers it by then.
    return await _move(
        conn,
        where,
        params,
        "'scheduled', 'retry_wait', 'claimed'",
        S.PAUSED,
        now,
        scope.actor,
        reason,
    )


async def resume(conn: Conn, scope: PauseScope, now: dt.datetime) -> list[Moved]:
    """Flip a pause switch off; what no other switch holds is scheduled again."""
    cur = await conn.execute(
        "DELETE FROM pauses WHERE workspace = %s AND kind = %s AND value = %s RETURNING 1",
        (scope.workspace, scope.kind, scope.value),
    )
    if await cur.fetchone() is None:
        return []
    await insert_events(
        conn,
        [
            event_row(
                now,
                "resume",
                None,
                scope.workspace,
                None,
                None,
                actor=scope.actor,
                reason=scope.reason,
                data={"kind": scope.kind, "value": scope.value},
            )
        ],
    )
    where, params = _scope_clause(scope)
    reason = scope.reason or "resumed"
    return await _move(
        conn,
        f"{where} AND NOT {covered_sql('p')}",
        params,
        "'paused'",
        S.SCHEDULED,
        now,
        scope.actor,
        reason,
    )


def _moved(
    found: Sequence[tuple[Any, ...]],
    target: PublicationState,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> list[Moved]:
    return [
        Moved(
            id=r[0],
            workspace=r[1],
            account_id=r[2],
            campaign=r[3],
            from_state=S(r[5]),
            to_state=target,
            attempt=r[4],
            at=now,
            actor=actor,
            reason=reason,
        )
        for r in found
    ]
