"""Publication rows, transitions and the event log in SQLite (run on the store's thread)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from socialkit.errors import StoreError
from socialkit.models.receipt import PostRef, Receipt
from socialkit.schedule.publication import Event, Page, PauseScope, Publication, StoredReceipt
from socialkit.schedule.states import PublicationState
from socialkit.schedule.stores._common import (
    HOLDABLE,
    Row,
    contiguous_parts,
    covered,
    decode_cursor,
    dumps,
    encode_cursor,
    from_us,
    move_rows,
    to_us,
)
from socialkit.schedule.stores._slots import (
    HOLDING_SLOTS,
    refuse_taken_slots,
    slot_of,
    slots_to_check,
)
from socialkit.schedule.stores._sqlite_schema import mark_unregistered_sql

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from socialkit.models.content import Post
    from socialkit.schedule.records import NewPublication, PublicationQuery, Transition

S = PublicationState

ROW_COLUMNS = (
    "id, workspace, account_id, platform, revision, draft, due_at, local_time, zone, state, "
    "run_at, expires_at, attempt, sends, failures, lease_owner, lease_expires_at, "
    "idempotency_key, campaign, rule_id, approvals_required, approvals, grace_s, "
    "publish_late, problems, last_error, attention, created_at, updated_at"
)

EVENT_HEAD = (
    "INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor, "
    "reason, attempt, from_state, to_state, error, data) VALUES "
)
EVENT_SQL = EVENT_HEAD + "(?,?,?,?,?,?,?,?,?,?,?,?,?)"

_NEW_COLUMNS = (
    "id, workspace, account_id, platform, revision, due_at, local_time, zone, state, run_at, "
    "expires_at, idempotency_key, campaign, rule_id, approvals_required, grace_s, "
    "publish_late, created_at, updated_at"
)
_INSERT_HEAD = f"INSERT INTO publications ({_NEW_COLUMNS}) VALUES "
_INSERT_TAIL = " ON CONFLICT DO NOTHING"
# The created events of the rows an insert added (those past the last rowid before it).
_TOP_ROWID_SQL = "SELECT max(rowid) FROM publications"
_ADDED_IDS_SQL = "SELECT json_group_array(id) FROM publications WHERE rowid > ?"
_CREATED_SQL = (
    "INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor, "
    "reason, attempt, from_state, to_state, error, data) "
    "SELECT ?1, 'created', id, workspace, account_id, campaign, ?2, ?3, 0, NULL, state, "
    "NULL, NULL FROM publications WHERE rowid > ?4 ORDER BY rowid"
)
# the batch's accounts, given as a JSON array of [workspace, account_id]
_MARK_UNREGISTERED_SQL = mark_unregistered_sql(
    "json_each(?) j", "json_extract(j.value, '$[0]')", "json_extract(j.value, '$[1]')"
)

# Rows per multi-row statement: powers of two up to 64, then multiples of 128 up to
# 1024, so few distinct statements are prepared and all stay in the connection's
# statement cache, within the build's limit on parameters per statement (999 on SQLite
# before 3.32, 32766 since). Few statements matter: every statement step lets the event
# loop's thread take the GIL, and getting it back costs up to the interpreter's switch
# interval (5 ms) while that thread is busy.
_SIZES = (1, 2, 4, 8, 16, 32, 64, *range(128, 1025, 128))
_statements: dict[tuple[str, str, int, int, bool], str] = {}  # head, tail, width, rows, padded
# A list of ids bound as one JSON array parameter: one statement (one step, so one GIL
# round trip) for any number of ids, where a list of placeholders takes a statement per
# chunk.
JSON_IDS = "(SELECT value FROM json_each(?))"
# Batches bound as JSON text: a lone surrogate stays in it (and fails to bind, as in a
# plain parameter).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_ids(ids: Iterable[str]) -> str:
    """The parameter for :data:`JSON_IDS`: ``ids`` (each once) as a JSON array."""
    return _JSON.encode(list(dict.fromkeys(ids)))


def json_value(value: dict[str, Any] | list[Any]) -> str:
    """``value`` as JSON text, for ``json_each(?)``: one parameter for a whole batch."""
    return _JSON.encode(value)


def _max_params(conn: sqlite3.Connection) -> int:
    return min(32766, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


_fitting: dict[tuple[int, int], tuple[int, ...]] = {}  # (parameter limit, width) -> sizes


def _sizes_for(conn: sqlite3.Connection, width: int) -> tuple[int, ...]:
    """The sizes in ``_SIZES`` whose statements of ``width`` columns the connection's
    limit on parameters allows (looked up once per limit and width)."""
    limit = _max_params(conn)
    found = _fitting.get((limit, width))
    if found is None:
        found = _fitting[(limit, width)] = tuple(n for n in _SIZES if n * width <= limit)
    return found


def insert_rows(
    conn: sqlite3.Connection,
    head: str,
    rows: Sequence[Sequence[Any]],
    *,
    tail: str = "",
) -> None:
    """``INSERT … VALUES (…), (…), …`` with many rows per statement.

    A batch costs one statement, or a few for more than 1024 rows, instead of one step
    per row. Each step is a round trip through the GIL, which the event loop's thread
    holds while it is busy; one long step inserts while that thread runs. The rows go
    in a statement of the next size in ``_SIZES``, padded with NULL rows that its
    ``LIMIT`` (the real row count) leaves unread, when the padding is small: under 128
    rows, or at most a quarter of them (binding the padding costs about what inserting
    costs, so 300 rows go as 256 and 64, not 384). (The ``WHERE`` lets an upsert clause
    follow the ``SELECT``.)
    """
    if not rows:
        return
    width = len(rows[0])
    fits = _sizes_for(conn, width)
    start = 0
    total = len(rows)
    while start < total:
        left = total - start
        size = next((n for n in fits if n >= left), fits[-1])
        pad = size - left if size > left else 0
        if pad and left >= 128 and pad > left // 4:
            size, pad = max(n for n in fits if n <= left), 0
        key = (head, tail, width, size, pad > 0)
        sql = _statements.get(key)
        if sql is None:
            if len(_statements) > 512:
                _statements.clear()
            group = "(" + ",".join("?" * width) + ")"
            values = ",".join([group] * size)
            sql = _statements[key] = (
                head + values + tail
                if pad == 0
                else head.removesuffix("VALUES ")
                + f"SELECT * FROM (VALUES {values}) WHERE 1 LIMIT ?{tail}"
            )
        params = list(itertools.chain.from_iterable(rows[start : start + size - pad]))
        if pad:
            params.extend(itertools.repeat(None, pad * width))
            params.append(size - pad)
        conn.execute(sql, params)
        start += size - pad


def update_ids(
    conn: sqlite3.Connection, head: str, params: Sequence[Any], ids: Sequence[str]
) -> None:
    """``{head} WHERE id IN (…)`` over ``ids``, in one statement however many there are
    (the ids go in as one JSON array)."""
    if ids:
        conn.execute(f"{head} WHERE id IN {JSON_IDS}", (*params, json_ids(ids)))


def rows_by_id(conn: sqlite3.Connection, columns: str, ids: Sequence[str]) -> dict[str, list[Any]]:
    """``{id: [columns…]}`` for the publications in ``ids`` (plain column names).

    One statement, and its rows come back as one JSON array: one statement step however
    many rows (a cursor would take one step, so one GIL round trip, per row).
    """
    if not ids:
        return {}
    (text,) = conn.execute(
        f"SELECT json_group_array(json_array(id, {columns})) FROM publications "
        f"WHERE id IN {JSON_IDS}",
        (json_ids(ids),),
    ).fetchone()
    return {values[0]: values[1:] for values in json.loads(text)}


def insert_events(conn: sqlite3.Connection, events: Sequence[Sequence[Any]]) -> None:
    """Append rows built by :func:`event_row` to the event log."""
    insert_rows(conn, EVENT_HEAD, events)


# Rows moved by transitions, written as one JSON array of Row.moved_values() (times in
# microseconds).
_UPDATE_MANY_SQL = (
    "UPDATE publications SET "
    "state = json_extract(r.value, '$[1]'), "
    "run_at = json_extract(r.value, '$[2]'), "
    "due_at = json_extract(r.value, '$[3]'), "
    "expires_at = json_extract(r.value, '$[4]'), "
    "local_time = json_extract(r.value, '$[5]'), "
    "zone = json_extract(r.value, '$[6]'), "
    "revision = json_extract(r.value, '$[7]'), "
    "draft = json_extract(r.value, '$[8]'), "
    "approvals = json_extract(r.value, '$[9]'), "
    "approvals_required = json_extract(r.value, '$[10]'), "
    "problems = json_extract(r.value, '$[11]'), "
    "last_error = json_extract(r.value, '$[12]'), "
    "failures = json_extract(r.value, '$[13]'), "
    "attention = json_extract(r.value, '$[14]'), "
    "lease_owner = json_extract(r.value, '$[15]'), "
    "lease_expires_at = json_extract(r.value, '$[16]'), "
    "updated_at = json_extract(r.value, '$[17]') FROM json_each(?) AS r "
    "WHERE publications.id = json_extract(r.value, '$[0]')"
)
_ROW_COLUMNS_AFTER_ID = ROW_COLUMNS.removeprefix("id, ")
_GRACE_AFTER_ID = _ROW_COLUMNS_AFTER_ID.split(", ").index("grace_s")


def _opt_time(value: int | None) -> dt.datetime | None:
    return from_us(value) if value is not None else None


def row_from_db(v: Sequence[Any]) -> Row:
    """A :class:`Row` from a ``SELECT {ROW_COLUMNS}`` tuple."""
    return Row(
        id=v[0],
        workspace=v[1],
        account_id=v[2],
        platform=v[3],
        revision=v[4],
        draft=v[5],
        due_at=from_us(v[6]),
        local_time=v[7],
        zone=v[8],
        state=PublicationState(v[9]),
        run_at=from_us(v[10]),
        expires_at=_opt_time(v[11]),
        attempt=v[12],
        sends=v[13],
        failures=v[14],
        lease_owner=v[15],
        lease_expires_at=_opt_time(v[16]),
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
        created_at=from_us(v[27]),
        updated_at=from_us(v[28]),
    )


def event_row(
    at: int,
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
    """Parameters for :data:`EVENT_SQL`."""
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


def event_from_db(v: Sequence[Any]) -> Event:
    return Event(
        seq=v[0],
        at=from_us(v[1]),
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
        error=json.loads(v[12]) if v[12] else None,
        data=json.loads(v[13]) if v[13] else {},
    )


def load_pauses(conn: sqlite3.Connection) -> list[PauseScope]:
    return [
        PauseScope(kind=kind, value=value, workspace=ws, actor=actor, reason=reason, at=from_us(at))
        for ws, kind, value, actor, reason, at in conn.execute(
            "SELECT workspace, kind, value, actor, reason, at FROM pauses "
            "ORDER BY workspace, kind, value"
        )
    ]


def load_row(conn: sqlite3.Connection, publication_id: str) -> Row:
    found = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM publications WHERE id = ?", (publication_id,)
    ).fetchone()
    if found is None:
        raise StoreError(f"no publication {publication_id!r}")
    return row_from_db(found)


# -- writes -------------------------------------------------------------------------------


def insert_params(publications: Sequence[NewPublication], now: int) -> list[tuple[Any, ...]]:
    """Row parameters for :func:`add` (pure: built before the write, off the store's
    thread, which then only runs the statements)."""
    params = []
    for new in publications:
        due = to_us(new.due_at)
        params.append(
            (
                new.id,
                new.workspace,
                new.account_id,
                new.platform,
                new.revision,
                due,
                new.local_time.isoformat(),
                new.zone,
                new.state.value,
                due,
                due + int(new.grace_s * 1_000_000) if new.grace_s is not None else None,
                new.idempotency_key,
                new.campaign,
                new.rule_id,
                new.approvals_required,
                new.grace_s,
                int(new.publish_late),
                now,
                now,
            )
        )
    return params


def created_events(
    publications: Sequence[NewPublication],
    params: Sequence[tuple[Any, ...]],
    now: int,
    indices: Sequence[int] | None = None,
) -> list[tuple[Any, ...]]:
    """``created`` events for the rows at ``indices`` (all by default): the
    :func:`event_row` of each, built inline (a bulk add makes one per publication)."""
    out = []
    for i in range(len(publications)) if indices is None else indices:
        new = publications[i]
        out.append(
            (
                now,
                "created",
                new.id,
                new.workspace,
                new.account_id,
                new.campaign,
                new.actor,
                new.reason,
                0,
                None,
                params[i][8],
                None,
                None,
            )
        )
    return out


def add(
    conn: sqlite3.Connection,
    publications: Sequence[NewPublication],
    now: int,
    prepared: list[tuple[Any, ...]] | None = None,
    states: list[PublicationState | None] | None = None,
) -> list[str]:
    """Insert publications (skipping taken idempotency keys); one id per item.

    ``prepared`` is ``insert_params(publications, now)``, built beforehand. ``states``,
    when given, receives the state each item was stored in (``paused`` when a pause
    switch covered it), or ``None`` for one not inserted (its key was taken), from this
    transaction: no read after it.
    """
    if not publications:
        return []
    params = insert_params(publications, now) if prepared is None else list(prepared)
    if any(new.free_slot for new in publications):
        _check_free_slots(conn, publications)
    pauses = load_pauses(conn)
    if pauses:
        for i, new in enumerate(publications):
            if new.state in HOLDABLE and covered(
                pauses, new.workspace, new.account_id, new.campaign
            ):
                params[i] = (*params[i][:8], S.PAUSED.value, *params[i][9:])
    first = publications[0]
    uniform = all(new.actor == first.actor and new.reason == first.reason for new in publications)
    # The rows this insert adds are those past the table's last rowid before it (the
    # table has rowids, and the write transaction holds the only writer's lock).
    (top,) = conn.execute(_TOP_ROWID_SQL).fetchone()
    top = top or 0
    before = conn.total_changes
    insert_rows(conn, _INSERT_HEAD, params, tail=_INSERT_TAIL)
    inserted = conn.total_changes - before
    # One statement for the batch: note an account the store does not hold (claims
    # count due accounts differently once there is one; see _sqlite_schema.UNREGISTERED).
    accounts = sorted({(new.workspace, new.account_id) for new in publications})
    conn.execute(_MARK_UNREGISTERED_SQL, (json.dumps(accounts),))
    ids = [new.id for new in publications]
    fresh: list[int] | None = None  # the rows inserted, when not all of them
    if inserted != len(publications):
        existing = _ids_by_key(conn, [new.idempotency_key for new in publications])
        for i, new in enumerate(publications):
            owner = existing.get(new.idempotency_key)
            if owner is None:
                raise StoreError(f"publication id {new.id!r} is taken")
            ids[i] = owner
        if inserted and (not uniform or states is not None):
            (text,) = conn.execute(_ADDED_IDS_SQL, (top,)).fetchone()
            added = set(json.loads(text))
            fresh = []
            for i, new in enumerate(publications):
                if new.id in added:
                    fresh.append(i)
                    added.discard(new.id)  # a repeated id was inserted once, first
    if states is not None:
        if inserted == len(publications):
            states.extend(PublicationState(row[8]) for row in params)
        else:
            chosen = set(fresh or ())
            states.extend(
                PublicationState(params[i][8]) if i in chosen else None
                for i in range(len(publications))
            )
    if not inserted:
        return ids
    if uniform:
        # Their created events in one statement, with nothing bound per row.
        conn.execute(_CREATED_SQL, (now, first.actor, first.reason, top))
    else:
        insert_events(conn, created_events(publications, params, now, fresh))
    return ids


# -- the intake -----------------------------------------------------------------------------
#
# An add of a few publications without a key and without a slot to take (a user's
# ``schedule``) is committed as rows of the unindexed ``intake`` table: one page written
# per commit, where an insert into ``publications`` writes a page of each of its indexes
# and of the event log (a dozen, each a WAL frame). Every other call of the store moves
# the intake into ``publications`` first, in its own transaction (``fold_intake``), so
# nothing reads around it; the moved rows get their ``created`` events then, stamped
# with the time they were added.

INTAKE_SINCE = 11
"""The schema version from which the ``intake`` table exists."""

_INTAKE_HEAD = f"INSERT INTO intake ({_NEW_COLUMNS}, actor, reason) VALUES "
_INTAKE_ONE_SQL = (
    _INTAKE_HEAD.removesuffix("VALUES ")
    + "SELECT "
    + ",".join("?" * (_NEW_COLUMNS.count(",") + 3))
    + " WHERE NOT EXISTS (SELECT 1 FROM publications WHERE id = ?)"
)
_INTAKE_WAITING_SQL = "SELECT 1 FROM intake LIMIT 1"
_FOLD_SQL = (
    f"INSERT INTO publications ({_NEW_COLUMNS}) SELECT {_NEW_COLUMNS} FROM intake "
    "WHERE 1 ORDER BY rowid ON CONFLICT DO NOTHING"
)
# The rows the move inserted are those past the last rowid before it; each is looked up
# by id (CROSS JOIN keeps the intake the outer loop: it has no index to look up in). An
# id waiting in the intake more than once (added again before a move) was inserted from
# its first row, so that row alone gets the event (min() picks the row whose other
# columns are read).
_FOLD_EVENTS_SQL = (
    "INSERT INTO events (at, kind, publication_id, workspace, account_id, campaign, actor, "
    "reason, attempt, from_state, to_state, error, data) "
    "SELECT at, 'created', id, workspace, account_id, campaign, actor, reason, 0, NULL, "
    "state, NULL, NULL FROM (SELECT min(i.rowid) AS first, i.created_at AS at, i.id AS id, "
    "i.workspace AS workspace, i.account_id AS account_id, i.campaign AS campaign, "
    "i.actor AS actor, i.reason AS reason, i.state AS state "
    "FROM intake i CROSS JOIN publications p ON p.id = i.id WHERE p.rowid > ? GROUP BY i.id) "
    "ORDER BY first"
)
# The intake rows a pause switch holds or would hold (see fold_intake), and freeing every
# row added paused once no switch is left.
_INTAKE_HOLDABLE_SQL = (
    "SELECT rowid, state, workspace, account_id, campaign FROM intake "
    "WHERE state IN ('scheduled', 'paused')"
)
_INTAKE_RESUMED_SQL = "UPDATE intake SET state = 'scheduled' WHERE state = 'paused'"
_FOLD_UNREGISTERED_SQL = mark_unregistered_sql("intake i", "i.workspace", "i.account_id")


def intake_fits(publications: Sequence[NewPublication]) -> bool:
    """Whether ``publications`` may be added through the intake: none has a key of its
    own (a key is checked against every stored one, which the intake does not index) or
    takes a posting slot (checked against the slots held)."""
    return all(new.idempotency_key == new.id and not new.free_slot for new in publications)


def intake_waiting(conn: sqlite3.Connection) -> bool:
    """Whether the intake holds rows to move (one index-free probe of its first page)."""
    return conn.execute(_INTAKE_WAITING_SQL).fetchone() is not None


def add_to_intake(
    conn: sqlite3.Connection,
    publications: Sequence[NewPublication],
    params: Sequence[tuple[Any, ...]],
    states: list[PublicationState | None],
    now: int,
) -> list[str]:
    """Commit ``publications`` (:func:`intake_fits`) to the intake; one id each, and in
    ``states`` the state each was stored in (``paused`` when a pause switch, read in this
    transaction, covers it), as :func:`add` does. An id already in ``publications`` (a
    caller adding the same publication again) goes through :func:`add` instead, which
    returns the stored one, or refuses an id taken by another key: the move would skip
    it unsaid."""
    single = len(publications) == 1
    if not single and _stored_already(conn, publications):
        return add(conn, publications, now, list(params), states)
    pauses = load_pauses(conn)
    stored = []
    seen: set[str] = set()
    for new, values in zip(publications, params, strict=True):
        if new.id in seen:  # a repeated item is stored once, as add does
            states.append(None)
            continue
        seen.add(new.id)
        state = values[8]
        if (
            pauses
            and new.state in HOLDABLE
            and covered(pauses, new.workspace, new.account_id, new.campaign)
        ):
            state = S.PAUSED.value
        stored.append((*values[:8], state, *values[9:], new.actor, new.reason))
        states.append(PublicationState(state))
    if single:
        # The usual one, checked in its own insert (one statement, not a probe first):
        # nothing is inserted when its id is stored already.
        if not conn.execute(_INTAKE_ONE_SQL, (*stored[0], stored[0][0])).rowcount:
            states.clear()
            return add(conn, publications, now, list(params), states)
    else:
        insert_rows(conn, _INTAKE_HEAD, stored)
    return [new.id for new in publications]


def _stored_already(conn: sqlite3.Connection, publications: Sequence[NewPublication]) -> bool:
    """Whether any of ``publications``' ids is in ``publications`` (a primary-key probe)."""
    found = conn.execute(
        f"SELECT 1 FROM publications WHERE id IN {JSON_IDS} LIMIT 1",
        (json_ids(new.id for new in publications),),
    ).fetchone()
    return found is not None


def fold_intake(conn: sqlite3.Connection) -> int:
    """Move every row of the intake into ``publications``, with its ``created`` event;
    how many moved. Run in a write transaction (the caller's)."""
    if not intake_waiting(conn):
        return 0
    # A row's state says what the pause switches held when it was added. Older code (no
    # intake) may have switched one on or off since, moving only what was in
    # ``publications``: the rows come in as the switches hold them now, as a pause or a
    # resume would have moved them.
    pauses = load_pauses(conn)
    if not pauses:
        conn.execute(_INTAKE_RESUMED_SQL)
    else:
        moved_by = [
            ("paused" if held else "scheduled", rowid)
            for rowid, state, ws, account, campaign in conn.execute(_INTAKE_HOLDABLE_SQL)
            if (held := covered(pauses, ws, account, campaign)) != (state == "paused")
        ]
        if moved_by:
            conn.executemany("UPDATE intake SET state = ? WHERE rowid = ?", moved_by)
    (top,) = conn.execute(_TOP_ROWID_SQL).fetchone()
    before = conn.total_changes
    conn.execute(_FOLD_SQL)
    moved = conn.total_changes - before
    conn.execute(_FOLD_UNREGISTERED_SQL)
    # An id already in ``publications`` gets no event (it was not inserted).
    conn.execute(_FOLD_EVENTS_SQL, (top or 0,))
    conn.execute("DELETE FROM intake")
    return moved


_SLOT_HELD_SQL = f"""
SELECT 1 FROM publications WHERE account_id = ? AND due_at = ? AND workspace = ?
    AND state IN ({", ".join(f"'{state.value}'" for state in HOLDING_SLOTS)}) LIMIT 1
"""


def _check_free_slots(conn: sqlite3.Connection, publications: Sequence[NewPublication]) -> None:
    """:func:`refuse_taken_slots` for the items marked ``free_slot``. The write
    transaction is ``BEGIN IMMEDIATE`` (the only writer of the file, whichever process
    holds it), so no other process takes a slot between this read and the insert."""
    keys = _ids_by_key(conn, [new.idempotency_key for new in publications if new.free_slot])
    checked = slots_to_check(publications, keys.keys())
    held = {
        slot_of(new)
        for new in checked
        if conn.execute(
            _SLOT_HELD_SQL, (new.account_id, to_us(new.due_at), new.workspace)
        ).fetchone()
        is not None
    }
    refuse_taken_slots(checked, held)


def _ids_by_key(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(
            conn.execute(
                f"SELECT idempotency_key, id FROM publications WHERE idempotency_key IN ({marks})",
                chunk,
            ).fetchall()
        )
    return out


def apply_transitions(
    conn: sqlite3.Connection,
    transitions: Sequence[Transition],
    now: int,
    pauses: Sequence[PauseScope],
    *,
    strict: bool = False,
) -> list[PublicationState | None]:
    """Conditional transitions, in order; one result each: the state written (``paused``
    when a pause switch held it), or ``None`` when its fence failed
    (:class:`StaleTransition` instead with ``strict``).

    A few statements for the batch, not three per transition: the rows are read in
    one, each transition is fenced and applied in Python (a second one of the same
    publication sees the first), and the rows it moved are written in one ``UPDATE``,
    their events in one ``INSERT``. The rows are read in this write transaction, so
    nothing else changes them before they are written.
    """
    found = rows_by_id(conn, _ROW_COLUMNS_AFTER_ID, [t.id for t in transitions])
    moving = [t.id for t in transitions if t.due_at is not None]
    if moving:
        # A new due time recomputes the grace deadline from grace_s, which JSON carries
        # to 15 significant digits only: read exactly, from a plain cursor.
        exact = dict(
            conn.execute(
                f"SELECT id, grace_s FROM publications WHERE id IN {JSON_IDS}",
                (json_ids(moving),),
            )
        )
        for pub_id, grace_s in exact.items():
            found[pub_id][_GRACE_AFTER_ID] = grace_s
    rows = {pub_id: row_from_db([pub_id, *values]) for pub_id, values in found.items()}
    results, changed, events = move_rows(
        rows, transitions, from_us(now), pauses, functools.partial(event_row, now), strict=strict
    )
    if changed:
        moved = [
            [to_us(v) if isinstance(v, dt.datetime) else v for v in row.moved_values()]
            for row in changed.values()
        ]
        conn.execute(_UPDATE_MANY_SQL, (json_value(moved),))
        insert_events(conn, events)
    return results


# -- reads --------------------------------------------------------------------------------


def receipts_of(conn: sqlite3.Connection, publication_id: str) -> list[StoredReceipt]:
    return [
        StoredReceipt(
            attempt=attempt,
            source=source,
            recorded_at=from_us(at),
            receipt=Receipt.model_validate_json(body),
        )
        for attempt, source, at, body in conn.execute(
            "SELECT attempt, source, recorded_at, receipt FROM receipts "
            "WHERE publication_id = ? ORDER BY id",
            (publication_id,),
        )
    ]


def checkpoints_of(
    conn: sqlite3.Connection, publication_ids: Sequence[str]
) -> dict[str, tuple[PostRef, ...]]:
    """Contiguous checkpointed parts per publication (latest attempt per part wins)."""
    parts: dict[str, dict[int, PostRef]] = {}
    for start in range(0, len(publication_ids), 500):
        chunk = list(publication_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for pub_id, part, ref in conn.execute(
            f"SELECT publication_id, part, ref FROM checkpoints WHERE publication_id IN ({marks}) "
            "ORDER BY publication_id, part, attempt",
            chunk,
        ):
            parts.setdefault(pub_id, {})[part] = PostRef.model_validate_json(ref)
    return {pub_id: contiguous_parts(found) for pub_id, found in parts.items()}


def post_of(conn: sqlite3.Connection, revision: str) -> Post | None:
    from socialkit.models.content import Post

    found = conn.execute("SELECT post FROM revisions WHERE revision = ?", (revision,)).fetchone()
    return Post.model_validate_json(found[0]) if found else None


def history_of(conn: sqlite3.Connection, publication_id: str) -> list[Event]:
    return [
        event_from_db(v)
        for v in conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE publication_id = ? ORDER BY seq",
            (publication_id,),
        )
    ]


EVENT_COLUMNS = (
    "seq, at, kind, publication_id, workspace, account_id, campaign, actor, reason, attempt, "
    "from_state, to_state, error, data"
)


def publication(
    conn: sqlite3.Connection, row: Row, *, history: bool = False, with_post: bool = True
) -> Publication:
    return row.to_publication(
        post=post_of(conn, row.revision) if with_post else None,
        receipts=receipts_of(conn, row.id),
        checkpoints=checkpoints_of(conn, [row.id]).get(row.id, ()),
        history=history_of(conn, row.id) if history else (),
    )


def list_page(conn: sqlite3.Connection, q: PublicationQuery) -> Page:
    where: list[str] = []
    params: list[Any] = []
    if q.states:
        where.append(f"state IN ({','.join('?' * len(q.states))})")
        params.extend(s.value for s in q.states)
    for column, value in (
        ("workspace", q.workspace),
        ("campaign", q.campaign),
        ("account_id", q.account_id),
        ("rule_id", q.rule_id),
        ("attention", q.attention),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if q.between is not None:
        where.append("due_at >= ? AND due_at < ?")
        params.extend((to_us(q.between[0]), to_us(q.between[1])))
    if q.cursor:
        due, pub_id = decode_cursor(q.cursor)
        where.append("(due_at, id) > (?, ?)")
        params.extend((due, pub_id))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = [
        row_from_db(v)
        for v in conn.execute(
            f"SELECT {ROW_COLUMNS} FROM publications {clause} ORDER BY due_at, id LIMIT ?",
            (*params, q.limit + 1),
        )
    ]
    page = rows[: q.limit]
    items = tuple(publication(conn, r, with_post=q.include_post) for r in page)
    cursor = encode_cursor(page[-1].due_at, page[-1].id) if len(rows) > q.limit and page else None
    return Page(items=items, next_cursor=cursor)


def events_since(
    conn: sqlite3.Connection,
    since: int,
    limit: int,
    publication_id: str | None,
    workspace: str | None = None,
    until: int | None = None,
) -> list[Event]:
    tenant = " AND workspace = ?" if workspace is not None else ""
    tenant_params: tuple[Any, ...] = (workspace,) if workspace is not None else ()
    if until is not None:
        tenant += " AND seq <= ?"
        tenant_params += (until,)
    if publication_id is None:
        cur = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?{tenant} ORDER BY seq LIMIT ?",
            (since, *tenant_params, limit),
        )
    else:
        cur = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE publication_id = ? AND seq > ?{tenant} "
            "ORDER BY seq LIMIT ?",
            (publication_id, since, *tenant_params, limit),
        )
    return [event_from_db(v) for v in cur]
