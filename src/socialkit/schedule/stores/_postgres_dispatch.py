"""Leases after the claim, in batches: heartbeats, sending, handing back, receipts and
checkpoints — each batch one statement fenced by ``id``, ``attempt`` and lease owner —
and what a person's delete took down (never fenced)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit.errors import StoreError
from socialkit.schedule.stores._common import from_us, metric_steps
from socialkit.schedule.stores._postgres_rows import NOW_CTE, covered_sql, event_row, insert_events

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from socialkit.schedule.records import (
        CheckpointRecord,
        DeletionRecord,
        PublishStart,
        ReceiptRecord,
    )
    from socialkit.schedule.stores._postgres_rows import Conn

__all__ = [
    "heartbeat",
    "mark_publishing",
    "record_checkpoint",
    "record_deletion",
    "record_receipts",
    "release",
]


def _fenced(condition: str) -> str:
    """``condition`` and a live lease (``p.lease_expires_at > t.now``) as one opaque
    test, so no index serves it and the statement reaches rows by primary key from its
    input. As plain conditions, a generic plan (trusting the queue's lagging statistics)
    read every live lease through the lease index once per input row: 256 x 256 rows
    for a batch of 256."""
    return f"CASE WHEN {condition} AND p.lease_expires_at > t.now THEN true ELSE false END"


# Not under a pause switch either: one flipped on after the claim (or while an ``unknown``
# one is reconciled, which a pause does not move) stops the send; the worker hands the
# claim back, and a claimed one becomes ``paused``.
_PUBLISHING_FENCE = _fenced(
    "p.state = i.from_state AND p.attempt = i.attempt AND p.lease_owner = %(worker)s "
    f"AND NOT {covered_sql('p')}"
)

_HEARTBEAT_SQL = f"""
WITH {NOW_CTE},
inp AS (SELECT * FROM unnest(%(ids)b::text[], %(attempts)b::int[]) WITH ORDINALITY
    AS i(id, attempt, ord)),
kept AS (
    UPDATE publications p SET lease_expires_at = t.now + %(lease)s
    FROM inp i, t
    WHERE p.id = i.id AND {_fenced("p.attempt = i.attempt AND p.lease_owner = %(worker)s")}
    RETURNING p.id, p.attempt
)
SELECT i.id FROM inp i WHERE (i.id, i.attempt) NOT IN (SELECT id, attempt FROM kept)
ORDER BY i.ord
"""

_PUBLISHING_SQL = f"""
WITH {NOW_CTE},
inp AS (SELECT * FROM unnest(%(ids)b::text[], %(attempts)b::int[], %(froms)b::text[],
    %(drafts)b::text[]) WITH ORDINALITY AS i(id, attempt, from_state, draft, ord)),
upd AS (
    UPDATE publications p SET state = 'publishing', sends = p.sends + 1,
        draft = COALESCE(p.draft, i.draft), lease_expires_at = t.now + %(lease)s,
        updated_at = t.now
    FROM inp i, t
    WHERE p.id = i.id AND {_PUBLISHING_FENCE}
    RETURNING p.id, p.workspace, p.account_id, p.campaign, p.sends, i.from_state, i.attempt,
        i.ord
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state, data)
    SELECT t.now, 'transition', u.id, u.workspace, u.account_id, u.campaign, %(worker)s,
        'sending', u.attempt, u.from_state, 'publishing', jsonb_build_object('send', u.sends)
    FROM upd u, t ORDER BY u.ord
),
spent AS (SELECT workspace, account_id, count(*) AS n FROM upd GROUP BY workspace, account_id),
budget AS (
    UPDATE budgets b SET remaining = b.remaining - s.n FROM spent s, t
    WHERE b.workspace = s.workspace AND b.account_id = s.account_id AND b.scope = 'default'
        AND b.remaining IS NOT NULL AND b.reset_at > t.now
)
SELECT ord FROM upd
"""

_RELEASE_SQL = f"""
WITH {NOW_CTE},
inp AS (SELECT * FROM unnest(%(ids)b::text[], %(attempts)b::int[]) WITH ORDINALITY
    AS i(id, attempt, ord)),
sel AS (
    SELECT p.id, p.state, i.ord FROM publications p JOIN inp i ON p.id = i.id
        AND p.attempt = i.attempt
    WHERE p.state IN ('claimed', 'unknown') AND p.lease_owner IS NOT NULL
    ORDER BY p.id FOR UPDATE OF p
),
upd AS (
    UPDATE publications p SET
        state = CASE WHEN s.state = 'claimed' THEN
            CASE WHEN {covered_sql("p")} THEN 'paused' ELSE 'scheduled' END
            ELSE p.state END,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = t.now
    FROM sel s, t WHERE p.id = s.id
    RETURNING p.id, p.workspace, p.account_id, p.campaign, p.attempt, s.state AS from_state,
        p.state AS to_state, p.run_at, s.ord
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state)
    SELECT t.now, 'released', u.id, u.workspace, u.account_id, u.campaign, %(actor)s,
        %(reason)s, u.attempt, u.from_state, u.to_state
    FROM upd u, t ORDER BY u.ord
)
SELECT i.ord, u.id IS NOT NULL, u.to_state, u.run_at
FROM inp i LEFT JOIN upd u ON u.ord = i.ord ORDER BY i.ord
"""

_RECEIPTS_SQL = f"""
WITH {NOW_CTE},
inp AS (SELECT * FROM unnest(%(ids)b::text[], %(attempts)b::int[], %(sources)b::text[],
    %(post_ids)b::text[], %(bodies)b::text[], %(actors)b::text[], %(reasons)b::text[])
    WITH ORDINALITY AS i(id, attempt, source, post_id, body, actor, reason, ord)),
pub AS (
    SELECT p.id, p.state, p.platform, p.workspace, p.account_id, p.campaign, p.attempt
    FROM publications p WHERE p.id = ANY(%(ids)b::text[]) ORDER BY p.id FOR UPDATE
),
ins AS (
    INSERT INTO receipts (publication_id, attempt, source, platform, post_id, receipt,
        recorded_at)
    SELECT i.id, i.attempt, i.source, pub.platform, i.post_id, i.body, t.now
    FROM inp i JOIN pub ON pub.id = i.id, t
    WHERE (SELECT count(*) FROM pub) = %(n)s::int
    ORDER BY i.ord
    ON CONFLICT DO NOTHING
    RETURNING publication_id AS id
),
moved AS (
    UPDATE publications p SET state = 'published', lease_owner = NULL,
        lease_expires_at = NULL, attention = NULL, updated_at = t.now
    FROM pub, t
    WHERE p.id = pub.id AND pub.state NOT IN ('published', 'deleted')
        AND pub.id IN (SELECT id FROM ins)
    RETURNING p.id
),
revived AS (
    -- live again after it was taken down: a person deletes it again
    UPDATE publications p SET attention = 'delete', updated_at = t.now
    FROM pub, t
    WHERE p.id = pub.id AND pub.state = 'deleted' AND pub.id IN (SELECT id FROM ins)
),
parts AS (
    INSERT INTO receipt_posts (platform, post_id, publication_id)
    SELECT pub.platform, x.post_id, x.id
    FROM unnest(%(part_ids)b::text[], %(part_posts)b::text[]) AS x(id, post_id)
    JOIN pub ON pub.id = x.id
    WHERE x.id IN (SELECT id FROM ins)
    ON CONFLICT DO NOTHING
),
tasks AS (
    INSERT INTO metric_tasks (publication_id, due_at, label, rest)
    SELECT m.id, m.due_at, m.label, m.rest
    FROM unnest(%(task_ids)b::text[], %(task_due)b::timestamptz[], %(task_labels)b::text[],
        %(task_rest)b::text[]) AS m(id, due_at, label, rest)
    WHERE m.id IN (SELECT id FROM moved)
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, from_state, to_state, data)
    SELECT t.now, 'receipt', i.id, pub.workspace, pub.account_id, pub.campaign, i.actor,
        i.reason, pub.attempt,
        CASE WHEN m.id IS NOT NULL THEN pub.state END,
        CASE WHEN m.id IS NOT NULL THEN 'published' END,
        jsonb_build_object('post_id', i.post_id, 'source', i.source,
            'receipt_attempt', i.attempt)
    FROM inp i JOIN pub ON pub.id = i.id JOIN ins ON ins.id = i.id
        LEFT JOIN moved m ON m.id = i.id, t
    ORDER BY i.ord
)
SELECT i.ord, pub.id IS NOT NULL, m.id IS NOT NULL
FROM inp i LEFT JOIN pub ON pub.id = i.id LEFT JOIN moved m ON m.id = i.id ORDER BY i.ord
"""


async def heartbeat(
    conn: Conn,
    worker: str,
    claims: Sequence[tuple[str, int]],
    now: dt.datetime | None,
    lease: dt.timedelta,
) -> list[str]:
    """Extend live leases; returns the ids whose lease was lost."""
    if not claims:
        return []
    cur = await conn.execute(
        _HEARTBEAT_SQL,
        {
            "now": now,
            "ids": [c[0] for c in claims],
            "attempts": [c[1] for c in claims],
            "worker": worker,
            "lease": lease,
        },
    )
    return [row[0] for row in await cur.fetchall()]


async def mark_publishing(
    conn: Conn,
    starts: Sequence[PublishStart],
    worker: str,
    now: dt.datetime | None,
    lease: dt.timedelta,
) -> list[bool]:
    """``claimed``/``unknown`` → ``publishing`` for live leases; spends the budget."""
    if not starts:
        return []
    cur = await conn.execute(
        _PUBLISHING_SQL,
        {
            "now": now,
            "ids": [s.id for s in starts],
            "attempts": [s.attempt for s in starts],
            "froms": [s.from_state.value for s in starts],
            "drafts": [s.draft_json for s in starts],
            "worker": worker,
            "lease": lease,
        },
    )
    sent = {row[0] for row in await cur.fetchall()}
    return [i + 1 in sent for i in range(len(starts))]


async def release(
    conn: Conn,
    claims: Sequence[tuple[str, int]],
    now: dt.datetime | None,
    actor: str,
    reason: str,
) -> tuple[list[bool], list[dt.datetime]]:
    """Hand unsent claims back; returns per item whether it applied, and the ``run_at``
    of those that became claimable again."""
    if not claims:
        return [], []
    cur = await conn.execute(
        _RELEASE_SQL,
        {
            "now": now,
            "ids": [c[0] for c in claims],
            "attempts": [c[1] for c in claims],
            "actor": actor,
            "reason": reason,
        },
    )
    rows = await cur.fetchall()
    due = [r[3] for r in rows if r[1] and r[2] == "scheduled"]
    return [bool(r[1]) for r in rows], due


async def record_receipts(
    conn: Conn, receipts: Sequence[ReceiptRecord], now: dt.datetime | None
) -> list[bool]:
    """Keep receipts (append-only) and publish their publications from any state.

    Atomic on an autocommit connection: one statement writes nothing when a publication
    is missing; several (for repeated publications) run in a transaction of their own.
    """
    # Items for the same publication go in separate statements, in order, so a later
    # one sees what an earlier one did (as the other stores do, one by one): an item
    # goes in the round after the last one holding its publication.
    rounds: list[list[ReceiptRecord]] = []
    last: dict[str, int] = {}
    for record in receipts:
        k = last.get(record.id, -1) + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(record)
        last[record.id] = k
    if len(rounds) == 1:
        return await _record_batch(conn, rounds[0], now)
    outcome: dict[int, bool] = {}
    async with conn.transaction():
        for batch in rounds:
            for item, moved in zip(batch, await _record_batch(conn, batch, now), strict=True):
                outcome[id(item)] = moved
    return [outcome[id(r)] for r in receipts]


async def _record_batch(
    conn: Conn, batch: Sequence[ReceiptRecord], now: dt.datetime | None
) -> list[bool]:
    parts = [(r.id, ref.id) for r in batch for ref in r.receipt.parts]
    # One task per publish: its ``rest`` holds the later collections.
    tasks = [
        (r.id, *first)
        for r in batch
        for first in (metric_steps(r.receipt.published_at, r.metrics),)
        if first is not None
    ]
    cur = await conn.execute(
        _RECEIPTS_SQL,
        {
            "now": now,
            "n": len(batch),
            "ids": [r.id for r in batch],
            "attempts": [r.attempt for r in batch],
            "sources": [r.source for r in batch],
            "post_ids": [r.receipt.ref.id for r in batch],
            "bodies": [r.receipt.model_dump_json(exclude_none=True) for r in batch],
            "actors": [r.actor for r in batch],
            "reasons": [r.reason for r in batch],
            "part_ids": [p[0] for p in parts],
            "part_posts": [p[1] for p in parts],
            "task_ids": [t[0] for t in tasks],
            "task_labels": [t[1] for t in tasks],
            "task_due": [from_us(t[2]) for t in tasks],
            "task_rest": [t[3] for t in tasks],
        },
    )
    rows = await cur.fetchall()
    for (_, found, _), record in zip(rows, batch, strict=True):
        if not found:
            raise StoreError(f"no publication {record.id!r}")
    return [bool(moved) for _, _, moved in rows]


async def _event_keys(conn: Conn, pub_id: str) -> tuple[str, str, str | None, int]:
    """``(workspace, account_id, campaign, attempt)`` of publication ``pub_id``, for an
    event about it that moves nothing; :class:`StoreError` when there is none."""
    cur = await conn.execute(
        "SELECT workspace, account_id, campaign, attempt FROM publications WHERE id = %s",
        (pub_id,),
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no publication {pub_id!r}")
    workspace, account_id, campaign, attempt = found
    return workspace, account_id, campaign, attempt


async def record_checkpoint(conn: Conn, checkpoint: CheckpointRecord, now: dt.datetime) -> None:
    """Record a published thread part (append-only, never fenced)."""
    workspace, account_id, campaign, attempt = await _event_keys(conn, checkpoint.id)
    await conn.execute(
        "INSERT INTO checkpoints (publication_id, part, attempt, ref, recorded_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (publication_id, part, attempt) "
        "DO UPDATE SET ref = excluded.ref",
        (
            checkpoint.id,
            checkpoint.part,
            checkpoint.attempt,
            checkpoint.ref.model_dump_json(exclude_none=True),
            now,
        ),
    )
    data: dict[str, Any] = {
        "part": checkpoint.part,
        "post_id": checkpoint.ref.id,
        "checkpoint_attempt": checkpoint.attempt,
    }
    await insert_events(
        conn,
        [
            event_row(
                now,
                "checkpoint",
                checkpoint.id,
                workspace,
                account_id,
                campaign,
                attempt=attempt,
                data=data,
            )
        ],
    )


async def record_deletion(conn: Conn, deletion: DeletionRecord, now: dt.datetime) -> None:
    """What a delete took down, in the history (append-only, never fenced)."""
    *where, attempt = await _event_keys(conn, deletion.id)
    fields = deletion.event_fields()
    await insert_events(
        conn, [event_row(now, deletion.kind, deletion.id, *where, attempt=attempt, **fields)]
    )
