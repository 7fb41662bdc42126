"""Publication rows, conditional transitions and the event log in PostgreSQL.

Every function takes an open connection inside the caller's transaction. ``now`` is the
caller's instant or ``None`` for the database clock; SQL reads it as
``COALESCE(%(now)s, statement_timestamp())``: one instant per statement (:data:`NOW`).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from socialkit.errors import StoreError
from socialkit.models.receipt import PostRef, Receipt
from socialkit.schedule.publication import Event, Page, PauseScope, Publication, StoredReceipt
from socialkit.schedule.states import PublicationState
from socialkit.schedule.stores._common import (
    Row,
    contiguous_parts,
    decode_cursor,
    dumps,
    encode_cursor,
    from_us,
    move_rows,
    to_us,
)
from socialkit.schedule.stores._slots import HOLDING_SLOTS, refuse_taken_slots, slots_to_check

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from psycopg import AsyncConnection

    from socialkit.models.content import Post
    from socialkit.schedule.records import NewPublication, PublicationQuery, Transition

    Conn = AsyncConnection[tuple[Any, ...]]

S = PublicationState

NOW = "COALESCE(%(now)s::timestamptz, statement_timestamp())"
"""The statement's one instant: the caller's ``now``, or the database clock as the
statement began (stable within it, so the planner can use it in index conditions)."""

# The accounts a rate limit holds, with until when (as Budget.blocks): the default budget
# spent before its reset, or blocked until a Retry-After. A CTE body (or a FROM's query).
HELD_BUDGETS = f"""SELECT b.workspace, b.account_id, GREATEST(
        CASE WHEN b.remaining IS NOT NULL AND b.remaining <= 0 AND b.reset_at > {NOW}
            THEN b.reset_at END,
        CASE WHEN b.blocked_until > {NOW} THEN b.blocked_until END) AS until
    FROM budgets b
    WHERE b.scope = 'default' AND ((b.remaining IS NOT NULL AND b.remaining <= 0
        AND b.reset_at > {NOW}) OR b.blocked_until > {NOW})"""

NOW_CTE = f"t AS (SELECT {NOW} AS now)"
# A publication the misfire policy looks at: scheduled, never sent, past its grace
# period. Shared by expire_overdue (_postgres_holds) and the claims that leave out what
# it would miss (_postgres_claim), so the two cannot drift apart.
# Never of an account waiting to be reconnected: its publications wait for a person, and
# their grace period starts again when it is reconnected (set_account_status).
ABLE = (
    "NOT EXISTS (SELECT 1 FROM accounts a WHERE a.status = 'needs_reauth' "
    "AND a.workspace = p.workspace AND a.id = p.account_id)"
)
OVERDUE = (
    f"p.state = 'scheduled' AND p.sends = 0 AND p.expires_at IS NOT NULL AND p.expires_at < {NOW} "
    f"AND {ABLE}"
)
""":data:`NOW` as a one-row CTE ``t``, for statements that use it in many places."""

ROW_COLUMNS = (
    "id, workspace, account_id, platform, revision, draft, due_at, local_time, zone, state, "
    "run_at, expires_at, attempt, sends, failures, lease_owner, lease_expires_at, "
    "idempotency_key, campaign, rule_id, approvals_required, approvals, grace_s, "
    "publish_late, problems, last_error, attention, created_at, updated_at"
)

EVENT_COLUMNS = (
    "seq, at, kind, publication_id, workspace, account_id, campaign, actor, reason, attempt, "
    "from_state, to_state, error, data"
)

_EVENT_INSERT = (
    "INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor, "
    "reason, attempt, from_state, to_state, error, data) SELECT * FROM unnest("
    "%b::timestamptz[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
    "%b::text[], %b::text[], %b::int[], %b::text[], %b::text[], %b::jsonb[], %b::jsonb[])"
)


def covered_sql(alias: str) -> str:
    """SQL that is true when a pause switch holds the publication row ``alias``."""
    return (
        f"EXISTS (SELECT 1 FROM pauses z WHERE z.workspace = {alias}.workspace AND "
        f"(z.kind = 'all' OR (z.kind = 'account' AND z.value = {alias}.account_id) OR "
        f"(z.kind = 'campaign' AND z.value = {alias}.campaign)))"
    )


def unpaused_sql(alias: str) -> str:
    """SQL that is true when no ``all`` or ``campaign`` pause switch holds row ``alias``
    (hashed look-ups, for scans over many rows; account switches go with other holds)."""
    return (
        f"{alias}.workspace NOT IN (SELECT workspace FROM pauses WHERE kind = 'all') AND "
        f"({alias}.campaign IS NULL OR ({alias}.workspace, {alias}.campaign) NOT IN "
        "(SELECT workspace, value FROM pauses WHERE kind = 'campaign'))"
    )


def held_accounts_sql(*, capped: bool = True) -> str:
    """SQL selecting ``(workspace, account_id)`` of accounts nothing may be sent to now:
    at their in-flight limit (``%(per_account)s``; needs the ``leased`` CTE; left out
    unless ``capped``), needing a person, out of budget or blocked, or under an account
    pause switch."""
    at_limit = "SELECT workspace, account_id FROM leased WHERE n >= %(per_account)s UNION ALL "
    return (
        f"{at_limit if capped else ''}"
        "SELECT workspace, id AS account_id FROM accounts WHERE status = 'needs_reauth' "
        "UNION ALL SELECT workspace, account_id FROM budgets WHERE scope = 'default' AND "
        f"((remaining IS NOT NULL AND remaining <= 0 AND reset_at > {NOW}) "
        f"OR blocked_until > {NOW}) "
        "UNION ALL SELECT workspace, value FROM pauses WHERE kind = 'account'"
    )


def blocked_sql(alias: str) -> str:
    """SQL that is true when the account of row ``alias`` may not be sent to now: it needs
    a person, its budget is spent before its reset, or it is blocked (``Retry-After``)."""
    return (
        f"(EXISTS (SELECT 1 FROM accounts a WHERE a.workspace = {alias}.workspace "
        f"AND a.id = {alias}.account_id AND a.status = 'needs_reauth') OR "
        f"EXISTS (SELECT 1 FROM budgets b WHERE b.workspace = {alias}.workspace "
        f"AND b.account_id = {alias}.account_id AND b.scope = 'default' AND "
        f"((b.remaining IS NOT NULL AND b.remaining <= 0 AND b.reset_at > {NOW}) "
        f"OR b.blocked_until > {NOW})))"
    )


def row_from_db(v: Sequence[Any]) -> Row:
    """A :class:`Row` from a ``SELECT {ROW_COLUMNS}`` tuple."""
    return Row(
        id=v[0],
        workspace=v[1],
        account_id=v[2],
        platform=v[3],
        revision=v[4],
        draft=v[5],
        due_at=v[6],
        local_time=v[7],
        zone=v[8],
        state=PublicationState(v[9]),
        run_at=v[10],
        expires_at=v[11],
        attempt=v[12],
        sends=v[13],
        failures=v[14],
        lease_owner=v[15],
        lease_expires_at=v[16],
        idempotency_key=v[17],
        campaign=v[18],
        rule_id=v[19],
        approvals_required=v[20],
        approvals=v[21],
        grace_s=v[22],
        publish_late=bool(v[23]),
        problems=v[24],
        last_error=v[25],
        attention=v[26],
        created_at=v[27],
        updated_at=v[28],
    )


def event_row(
    at: dt.datetime,
    kind: str,
    pub_id: str | None,
    workspace: str | None,
    account_id: str | None,
    campaign: str | None,
    *,
    actor: str = "engine",
    reason: str | None = None,
    attempt: int = 0,
    from_state: str | None = None,
    to_state: str | None = None,
    error: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """One event, as :func:`insert_events` takes it."""
    return (
        at,
        kind,
        pub_id,
        workspace,
        account_id,
        campaign,
        actor,
        reason,
        attempt,
        from_state,
        to_state,
        dumps(error) if error is not None else None,
        dumps(data) if data else None,
    )


async def insert_events(conn: Conn, events: Sequence[tuple[Any, ...]]) -> None:
    """Append events (in order) with one statement."""
    if events:
        await conn.execute(_EVENT_INSERT, [list(column) for column in zip(*events, strict=True)])


def event_from_db(v: Sequence[Any]) -> Event:
    return Event(
        seq=v[0],
        at=v[1],
        kind=v[2],
        publication_id=v[3],
        workspace=v[4],
        account_id=v[5],
        campaign=v[6],
        actor=v[7],
        reason=v[8],
        attempt=v[9],
        from_state=PublicationState(v[10]) if v[10] else None,
        to_state=PublicationState(v[11]) if v[11] else None,
        error=v[12],
        data=v[13] or {},
    )


async def db_now(conn: Conn, now: dt.datetime | None) -> dt.datetime:
    """``now``, or the database clock when it is ``None``."""
    if now is not None:
        return now
    cur = await conn.execute("SELECT statement_timestamp()")
    found = await cur.fetchone()
    assert found is not None
    value: dt.datetime = found[0]
    return value


async def load_pauses(conn: Conn) -> list[PauseScope]:
    cur = await conn.execute(
        "SELECT workspace, kind, value, actor, reason, at FROM pauses ORDER BY workspace, kind, value"
    )
    return [
        PauseScope(kind=kind, value=value, workspace=ws, actor=actor, reason=reason, at=at)
        for ws, kind, value, actor, reason, at in await cur.fetchall()
    ]


async def load_row(conn: Conn, publication_id: str) -> Row:
    cur = await conn.execute(
        f"SELECT {ROW_COLUMNS} FROM publications WHERE id = %s", (publication_id,)
    )
    found = await cur.fetchone()
    if found is None:
        raise StoreError(f"no publication {publication_id!r}")
    return row_from_db(found)


# -- inserting ----------------------------------------------------------------------------

_ADD_SQL = f"""
WITH {NOW_CTE},
inp AS (
    SELECT * FROM unnest(
        %(id)b::text[], %(workspace)b::text[], %(account_id)b::text[], %(platform)b::text[],
        %(revision)b::text[], %(due_at)b::timestamptz[], %(local_time)b::text[], %(zone)b::text[],
        %(state)b::text[], %(expires_at)b::timestamptz[], %(key)b::text[], %(campaign)b::text[],
        %(rule_id)b::text[], %(approvals_required)b::int[], %(grace_s)b::float8[],
        %(publish_late)b::bool[], %(actor)b::text[], %(reason)b::text[]
    ) WITH ORDINALITY AS i(id, workspace, account_id, platform, revision, due_at, local_time,
        zone, state, expires_at, idempotency_key, campaign, rule_id, approvals_required,
        grace_s, publish_late, actor, reason, ord)
),
held AS (
    SELECT i.*, CASE WHEN i.state IN ('scheduled', 'retry_wait') AND {covered_sql("i")}
        THEN 'paused' ELSE i.state END AS stored
    FROM inp i
),
ins AS (
    INSERT INTO publications (id, workspace, account_id, platform, revision, due_at,
        local_time, zone, state, run_at, expires_at, idempotency_key, campaign, rule_id,
        approvals_required, grace_s, publish_late, created_at, updated_at)
    SELECT h.id, h.workspace, h.account_id, h.platform, h.revision, h.due_at, h.local_time,
        h.zone, h.stored, h.due_at, h.expires_at, h.idempotency_key, h.campaign, h.rule_id,
        h.approvals_required, h.grace_s, h.publish_late, t.now, t.now
    FROM held h, t ORDER BY h.ord
    ON CONFLICT DO NOTHING
    RETURNING id, state
),
fresh AS (
    SELECT DISTINCT ON (h.id) h.* FROM held h JOIN ins ON ins.id = h.id ORDER BY h.id, h.ord
),
ev AS (
    INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor,
        reason, attempt, to_state)
    SELECT t.now, 'created', f.id, f.workspace, f.account_id, f.campaign, f.actor, f.reason,
        0, f.stored
    FROM fresh f, t ORDER BY f.ord
)
SELECT id, state FROM ins
"""


# The one-key form of advisory locks is a lock space of its own, apart from the two-key
# form of the claims' per-account locks: a slot check never waits for a claim of the
# account, nor holds one up. The high half is the schema's lock space, the low half a
# hash of the account.
_SLOT_LOCK_SQL = """
SELECT pg_advisory_xact_lock((%s::bigint << 32) | (hashtext(%s || chr(31) || %s)::bigint & 4294967295))
"""


def _slots_held_sql() -> str:
    # Rows without a lease and leased ones (claimed, publishing) apart, as the holds
    # do: the account index holds only the former (see the schema), the lease index the
    # latter. One condition for both found no index and read every publication. A slot
    # held by both kinds is named twice; the caller makes a set of them.
    held = (
        "SELECT s.w, s.a, s.d FROM unnest(%(w)s::text[], %(a)s::text[], "
        "%(d)s::timestamptz[]) AS s(w, a, d) "
        "WHERE EXISTS (SELECT 1 FROM publications p WHERE p.account_id = s.a "
        "AND p.due_at = s.d AND p.workspace = s.w AND p.state = ANY(%(states)s) "
        "AND p.lease_expires_at IS {})"
    )
    return f"{held.format('NULL')} UNION ALL {held.format('NOT NULL')}"


_SLOTS_HELD_SQL = _slots_held_sql()


async def check_free_slots(
    conn: Conn, publications: Sequence[NewPublication], lock_space: int
) -> None:
    """:func:`refuse_taken_slots` for the items marked ``free_slot``, under an advisory
    lock of each of their accounts held to the end of the transaction (taken in one
    order, so two inserts never wait for each other). Another transaction checking the
    same account waits for this one's commit, and its next statement (read committed,
    which the store's connections begin every transaction with, whatever the server's
    default) sees the rows this one inserted: two cannot both find a slot free and take
    it."""
    for workspace, account_id in sorted(
        {(new.workspace, new.account_id) for new in publications if new.free_slot}
    ):
        await conn.execute(_SLOT_LOCK_SQL, (lock_space, workspace, account_id))
    cur = await conn.execute(
        "SELECT idempotency_key FROM publications WHERE idempotency_key = ANY(%s)",
        ([new.idempotency_key for new in publications if new.free_slot],),
    )
    checked = slots_to_check(publications, {str(row[0]) for row in await cur.fetchall()})
    cur = await conn.execute(
        _SLOTS_HELD_SQL,
        {
            "w": [new.workspace for new in checked],
            "a": [new.account_id for new in checked],
            "d": [new.due_at for new in checked],
            "states": [state.value for state in HOLDING_SLOTS],
        },
    )
    held = {(str(w), str(a), to_us(d)) for w, a, d in await cur.fetchall()}
    refuse_taken_slots(checked, held)


async def add(
    conn: Conn,
    publications: Sequence[NewPublication],
    now: dt.datetime | None,
    lock_space: int,
    states: list[PublicationState | None] | None = None,
) -> list[str]:
    """Insert publications (skipping taken idempotency keys); one id per item.

    ``lock_space`` is the schema's first advisory lock key (:func:`check_free_slots`).
    ``states``, when given, receives the state each item was stored in (``paused`` when
    a pause switch covered it), or ``None`` for one not inserted (its key was taken),
    as the insert returned it.
    """
    if not publications:
        return []
    if any(new.free_slot for new in publications):
        await check_free_slots(conn, publications, lock_space)
    params: dict[str, Any] = {
        "now": now,
        "id": [p.id for p in publications],
        "workspace": [p.workspace for p in publications],
        "account_id": [p.account_id for p in publications],
        "platform": [p.platform for p in publications],
        "revision": [p.revision for p in publications],
        "due_at": [p.due_at for p in publications],
        "local_time": [p.local_time.isoformat() for p in publications],
        "zone": [p.zone for p in publications],
        "state": [p.state.value for p in publications],
        # microseconds truncated, as the other stores do
        "expires_at": [
            from_us(to_us(p.due_at) + int(p.grace_s * 1_000_000)) if p.grace_s is not None else None
            for p in publications
        ],
        "key": [p.idempotency_key for p in publications],
        "campaign": [p.campaign for p in publications],
        "rule_id": [p.rule_id for p in publications],
        "approvals_required": [p.approvals_required for p in publications],
        "grace_s": [float(p.grace_s) if p.grace_s is not None else None for p in publications],
        "publish_late": [p.publish_late for p in publications],
        "actor": [p.actor for p in publications],
        "reason": [p.reason for p in publications],
    }
    for p in publications:
        to_us(p.due_at)  # refuses naive times with the stores' message
    cur = await conn.execute(_ADD_SQL, params)
    inserted = {str(row[0]): PublicationState(row[1]) for row in await cur.fetchall()}
    ids = [p.id for p in publications]
    if states is not None:
        states.clear()  # a transaction retried starts again
        seen: set[str] = set()
        for p in publications:  # a repeated id was inserted once, first
            states.append(inserted.get(p.id) if p.id not in seen else None)
            seen.add(p.id)
    if len(inserted) == len(publications):
        return ids
    cur = await conn.execute(
        "SELECT idempotency_key, id FROM publications WHERE idempotency_key = ANY(%s)",
        (list({p.idempotency_key for p in publications}),),
    )
    owners = {str(k): str(v) for k, v in await cur.fetchall()}
    for i, new in enumerate(publications):
        owner = owners.get(new.idempotency_key)
        if owner is None:
            raise StoreError(f"publication id {new.id!r} is taken")
        ids[i] = owner
    return ids


# -- transitions --------------------------------------------------------------------------

_UPDATE_SQL = """
UPDATE publications p SET state = u.state, run_at = u.run_at, due_at = u.due_at,
    expires_at = u.expires_at, local_time = u.local_time, zone = u.zone,
    revision = u.revision, draft = u.draft, approvals = u.approvals,
    approvals_required = u.approvals_required, problems = u.problems,
    last_error = u.last_error, failures = u.failures, attention = u.attention,
    lease_owner = u.lease_owner, lease_expires_at = u.lease_expires_at,
    updated_at = u.updated_at
FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[],
    %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::int[], %b::text[],
    %b::text[], %b::int[], %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[])
    AS u(id, state, run_at, due_at, expires_at, local_time, zone, revision, draft, approvals,
        approvals_required, problems, last_error, failures, attention, lease_owner,
        lease_expires_at, updated_at)
WHERE p.id = u.id
"""


async def apply_transitions(
    conn: Conn, transitions: Sequence[Transition], now: dt.datetime | None, *, strict: bool
) -> tuple[list[PublicationState | None], list[Row]]:
    """Apply conditional transitions in order, under row locks taken in id order.

    A stale item raises :class:`StaleTransition` when ``strict``, else its result is
    ``None``; an unknown publication or an illegal move raises :class:`StoreError`.
    Returns the results (each the state written: ``paused`` when a pause switch held
    it) and the rows as they now are (for wake-up decisions).
    """
    ids = sorted({t.id for t in transitions})
    cur = await conn.execute(
        f"SELECT {ROW_COLUMNS}, statement_timestamp() FROM publications WHERE id = ANY(%s) "
        "ORDER BY id FOR UPDATE",
        (ids,),
    )
    found = await cur.fetchall()
    rows = {v[0]: row_from_db(v) for v in found}
    if now is None:
        now = found[0][-1] if found else await db_now(conn, None)
    pauses = await load_pauses(conn)
    results, changed, events = move_rows(
        rows, transitions, now, pauses, functools.partial(event_row, now), strict=strict
    )
    if changed:
        values = [row.moved_values() for row in changed.values()]
        await conn.execute(_UPDATE_SQL, [list(column) for column in zip(*values, strict=True)])
    await insert_events(conn, events)
    return results, list(changed.values())


# -- reads --------------------------------------------------------------------------------


async def receipts_of(conn: Conn, publication_id: str) -> list[StoredReceipt]:
    cur = await conn.execute(
        "SELECT attempt, source, recorded_at, receipt FROM receipts "
        "WHERE publication_id = %s ORDER BY id",
        (publication_id,),
    )
    return [
        StoredReceipt(
            attempt=attempt,
            source=source,
            recorded_at=at,
            receipt=Receipt.model_validate_json(body),
        )
        for attempt, source, at, body in await cur.fetchall()
    ]


async def checkpoints_of(
    conn: Conn, publication_ids: Sequence[str]
) -> dict[str, tuple[PostRef, ...]]:
    """Contiguous checkpointed parts per publication (latest attempt per part wins)."""
    if not publication_ids:
        return {}
    cur = await conn.execute(
        "SELECT publication_id, part, ref FROM checkpoints WHERE publication_id = ANY(%s) "
        "ORDER BY publication_id, part, attempt",
        (list(publication_ids),),
    )
    parts: dict[str, dict[int, PostRef]] = {}
    for pub_id, part, ref in await cur.fetchall():
        parts.setdefault(pub_id, {})[part] = PostRef.model_validate_json(ref)
    return {pub_id: contiguous_parts(found) for pub_id, found in parts.items()}


async def post_of(conn: Conn, revision: str) -> Post | None:
    from socialkit.models.content import Post

    cur = await conn.execute("SELECT post FROM revisions WHERE revision = %s", (revision,))
    found = await cur.fetchone()
    return Post.model_validate_json(found[0]) if found else None


async def history_of(conn: Conn, publication_id: str) -> list[Event]:
    cur = await conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE publication_id = %s AND seq IS NOT NULL "
        "ORDER BY seq",
        (publication_id,),
    )
    return [event_from_db(v) for v in await cur.fetchall()]


async def publication(
    conn: Conn, row: Row, *, history: bool = False, with_post: bool = True
) -> Publication:
    return row.to_publication(
        post=await post_of(conn, row.revision) if with_post else None,
        receipts=await receipts_of(conn, row.id),
        checkpoints=(await checkpoints_of(conn, [row.id])).get(row.id, ()),
        history=await history_of(conn, row.id) if history else (),
    )


async def list_page(conn: Conn, q: PublicationQuery) -> Page:
    where: list[str] = []
    params: list[Any] = []
    if q.states:
        # Inlined (they are the enum's values), so even a generic plan knows how rare
        # they are and walks the state index for a rare one instead of every row.
        where.append(f"state IN ({', '.join(repr(S(s).value) for s in q.states)})")
    for column, value in (
        ("workspace", q.workspace),
        ("campaign", q.campaign),
        ("account_id", q.account_id),
        ("rule_id", q.rule_id),
        ("attention", q.attention),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if q.between is not None:
        where.append("due_at >= %s AND due_at < %s")
        params.extend(q.between)
    if q.cursor:
        due, pub_id = decode_cursor(q.cursor)
        where.append("(due_at, id) > (%s, %s)")
        params.extend((from_us(due), pub_id))
    # Two halves, each a short ordered index scan: rows without a lease (the listing
    # indexes hold only those, so a claim or a send adds no entry to them) and the few
    # leased ones (through the lease index).
    clause = " AND ".join(where) or "true"
    half = f"SELECT {ROW_COLUMNS} FROM publications WHERE {clause} AND lease_expires_at IS"
    cur = await conn.execute(
        f"SELECT * FROM (({half} NULL ORDER BY due_at, id LIMIT %s) UNION ALL "
        f"({half} NOT NULL ORDER BY due_at, id LIMIT %s)) page ORDER BY due_at, id LIMIT %s",
        (*params, q.limit + 1, *params, q.limit + 1, q.limit + 1),
    )
    rows = [row_from_db(v) for v in await cur.fetchall()]
    page = rows[: q.limit]
    items = tuple([await publication(conn, r, with_post=q.include_post) for r in page])
    cursor = encode_cursor(page[-1].due_at, page[-1].id) if len(rows) > q.limit and page else None
    return Page(items=items, next_cursor=cursor)


# -- the event log ------------------------------------------------------------------------

_SEQUENCE_SQL = """
WITH pending AS (
    SELECT raw_id, row_number() OVER (ORDER BY raw_id) AS n FROM events WHERE seq IS NULL
),
numbered AS (
    UPDATE events e SET seq = c.last + p.n FROM pending p, event_counter c
    WHERE e.raw_id = p.raw_id RETURNING e.seq
)
UPDATE event_counter SET last = last + (SELECT count(*) FROM numbered)
"""


async def sequence_events(conn: Conn) -> None:
    """Number committed events that have no ``seq`` yet, after the last number given.

    Writers insert events without a number; this gives numbers in one serialised step
    (the counter row's lock), only to rows already committed. So a reader that has seen
    ``seq = n`` can never later find an event with a smaller number: a transaction that
    committed late is numbered late.
    """
    async with conn.transaction():
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM events WHERE seq IS NULL)")
        pending = await cur.fetchone()
        if not pending or not pending[0]:
            return
        await conn.execute("SELECT last FROM event_counter FOR UPDATE")
        # A new statement: its snapshot includes everything committed before the lock.
        await conn.execute(_SEQUENCE_SQL)


async def events_since(
    conn: Conn,
    since: int,
    limit: int,
    publication_id: str | None,
    workspace: str | None = None,
    until: int | None = None,
) -> list[Event]:
    tenant = " AND workspace = %s" if workspace is not None else ""
    tenant_params: tuple[Any, ...] = (workspace,) if workspace is not None else ()
    if until is not None:
        tenant += " AND seq <= %s"
        tenant_params += (until,)
    if publication_id is None:
        cur = await conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > %s{tenant} ORDER BY seq LIMIT %s",
            (since, *tenant_params, limit),
        )
    else:
        cur = await conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE publication_id = %s AND seq > %s"
            f"{tenant} ORDER BY seq LIMIT %s",
            (publication_id, since, *tenant_params, limit),
        )
    return [event_from_db(v) for v in await cur.fetchall()]


def event_data(value: str | None) -> Any:
    """A stored JSON column as Python (``None`` stays ``None``)."""
    return json.loads(value) if value else None
