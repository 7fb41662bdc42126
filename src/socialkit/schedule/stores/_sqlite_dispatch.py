"""Claims, leases, receipts, misfires and pauses in SQLite (run on the store's thread)."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.schedule.records import Budget, Claim, Moved, Transition
from socialkit.schedule.states import RECEIPT_KEEPS, PublicationState
from socialkit.schedule.stores._common import (
    DELETING,
    SUPERSEDED,
    covered,
    from_us,
    metric_steps,
    missed_ids,
    select_claims,
    to_us,
)
from socialkit.schedule.stores._metric_waits import WAITING_FROM_US
from socialkit.schedule.stores._sqlite_rows import (
    EVENT_SQL,
    JSON_IDS,
    apply_transitions,
    checkpoints_of,
    event_row,
    insert_events,
    insert_rows,
    json_ids,
    json_value,
    load_pauses,
    rows_by_id,
    update_ids,
)
from socialkit.schedule.stores._sqlite_schema import UNREGISTERED
from socialkit.schedule.stores._sqlite_thread import RunOnThread

if TYPE_CHECKING:
    import datetime as dt
    import sqlite3
    from collections.abc import Callable, Iterator, Sequence

    from socialkit.schedule.publication import PauseScope
    from socialkit.schedule.records import (
        CheckpointRecord,
        ClaimKind,
        DeletionRecord,
        PublishStart,
        ReceiptRecord,
    )

S = PublicationState
AccountKey = tuple[str, str]

_CLAIM_COLUMNS = (
    "attempt,workspace,account_id,platform,revision,due_at,local_time,zone,"
    "idempotency_key,campaign,rule_id,sends,failures,draft,state"
)


def load_budgets(conn: sqlite3.Connection, workspace: str | None = None) -> list[Budget]:
    sql = (
        "SELECT workspace, account_id, scope, remaining, lim, reset_at, blocked_until FROM budgets"
    )
    params: tuple[Any, ...] = ()
    if workspace is not None:
        sql += " WHERE workspace = ?"
        params = (workspace,)
    return [
        Budget(
            workspace=ws,
            account_id=account_id,
            scope=scope,
            remaining=remaining,
            limit=lim,
            reset_at=from_us(reset) if reset is not None else None,
            blocked_until=from_us(until) if until is not None else None,
        )
        for ws, account_id, scope, remaining, lim, reset, until in conn.execute(
            sql + " ORDER BY workspace, account_id, scope", params
        )
    ]


def holds(
    conn: sqlite3.Connection, now: dt.datetime
) -> tuple[set[AccountKey], dict[AccountKey, int], dict[AccountKey, dt.datetime]]:
    """Blocked accounts, per-account budget left, and when budget-blocked ones unblock."""
    blocked: set[AccountKey] = set(
        conn.execute("SELECT workspace, id FROM accounts WHERE status = 'needs_reauth'")
    )
    left: dict[AccountKey, int] = {}
    unblock: dict[AccountKey, dt.datetime] = {}
    for budget in load_budgets(conn):
        if budget.scope != "default":
            continue
        key = (budget.workspace, budget.account_id)
        until = budget.blocks(now)
        if until is not None:
            unblock[key] = until
        elif budget.remaining is not None and budget.reset_at is not None and budget.reset_at > now:
            # A claim not yet sent takes its request at mark_publishing: count it now,
            # or two workers' claims could share the last request.
            (unsent,) = conn.execute(
                "SELECT COUNT(*) FROM publications "
                "WHERE workspace = ? AND account_id = ? AND state = 'claimed'",
                key,
            ).fetchone()
            left[key] = budget.remaining - unsent
    return blocked, left, unblock


def sweep(conn: sqlite3.Connection, now: int, lease: int, pauses: Sequence[PauseScope]) -> None:
    """Expired leases: claimed → scheduled, publishing → unknown, a reconciler's dropped."""
    expired = conn.execute(
        "SELECT id, state, workspace, account_id, campaign, attempt, lease_owner "
        "FROM publications WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ?",
        (now,),
    ).fetchall()
    events = []
    for pub_id, state, workspace, account_id, campaign, attempt, owner in expired:
        if state == S.CLAIMED:
            held = bool(pauses) and covered(pauses, workspace, account_id, campaign)
            target = S.PAUSED if held else S.SCHEDULED
            conn.execute(
                "UPDATE publications SET state = ?, lease_owner = NULL, lease_expires_at = NULL, "
                "updated_at = ? WHERE id = ?",
                (target.value, now, pub_id),
            )
            reason = "lease expired before sending; handed back"
        elif state == S.PUBLISHING:
            target = S.UNKNOWN
            conn.execute(
                "UPDATE publications SET state = 'unknown', run_at = ?, attention = NULL, "
                "lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?",
                (now + lease, now, pub_id),
            )
            reason = "lease lost while publishing; outcome unknown"
        else:
            target = S(state)
            conn.execute(
                "UPDATE publications SET lease_owner = NULL, lease_expires_at = NULL, "
                "updated_at = ? WHERE id = ?",
                (now, pub_id),
            )
            reason = "reconciliation lease expired"
        events.append(
            event_row(
                now,
                "lease_expired",
                pub_id,
                workspace,
                account_id,
                campaign,
                reason=reason,
                attempt=attempt,
                from_state=state,
                to_state=target.value,
                data={"worker": owner},
            )
        )
    insert_events(conn, events)


# Accounts at their in-flight limit. A claim skips their due rows in SQL: handing each
# of them to Python only to skip it there costs a statement step (a GIL round trip) per
# row, and busy accounts can hold most of the due rows. In flight: leases held (by any
# worker), and ``unknown`` publications nobody holds a lease on, which hold their account
# until they are settled (see ``select_claims``). A reconciliation needs room among the
# leases only (``_LEASES_FULL``): the publication it takes is one of those counted.
_UNSETTLED = "state = 'unknown' AND lease_expires_at IS NULL"
_BUSY = (
    "(workspace, account_id) NOT IN (SELECT workspace, account_id FROM ("
    "SELECT workspace, account_id FROM publications WHERE lease_expires_at IS NOT NULL "
    f"UNION ALL SELECT workspace, account_id FROM publications WHERE {_UNSETTLED}) "
    "GROUP BY workspace, account_id HAVING COUNT(*) >= ?)"
)
_LEASES_FULL = (
    "(workspace, account_id) NOT IN (SELECT workspace, account_id FROM publications "
    "WHERE lease_expires_at IS NOT NULL GROUP BY workspace, account_id HAVING COUNT(*) >= ?)"
)


def _due_rows(
    conn: sqlite3.Connection,
    now: int,
    busy: str,
    busy_params: tuple[Any, ...],
    *,
    page: int,
    missed: Callable[[list[str]], list[str]] | None = None,
) -> Iterator[list[Any]]:
    """Due rows ``[id, workspace, account_id, campaign, state, run_at]`` of accounts that
    are not busy, in due order, a page per statement (as JSON: one statement step per
    page, where a cursor takes one per row). Pages grow: the first fits the claim.
    ``missed(ids)`` names rows of a page to leave out."""
    after: tuple[int, str] | None = None
    while True:
        where = "state IN ('scheduled', 'retry_wait') AND run_at <= ?"
        params: tuple[Any, ...] = (now,)
        if after is not None:
            where += " AND (run_at, id) > (?, ?)"
            params += after
        (text,) = conn.execute(
            "SELECT json_group_array(json_array(id, workspace, account_id, campaign, state, "
            "run_at)) FROM (SELECT id, workspace, account_id, campaign, state, run_at "
            f"FROM publications INDEXED BY publications_due WHERE {where}{busy} "
            "ORDER BY run_at, id LIMIT ?)",
            (*params, *busy_params, page),
        ).fetchone()
        rows: list[list[Any]] = json.loads(text)
        rows.sort(key=lambda row: (row[5], row[0]))
        gone = set(missed([row[0] for row in rows])) if missed is not None and rows else ()
        yield from (row for row in rows if row[0] not in gone) if gone else rows
        if len(rows) < page:
            return
        after = (rows[-1][5], rows[-1][0])
        page *= 4  # the first page did not fill the claim: busy accounts' rows


def _due_accounts(
    conn: sqlite3.Connection, now: int, enough: int, per_account: int, registered: int | None
) -> set[AccountKey]:
    """Accounts with due rows that are below ``per_account``, found by reading due rows
    until ``enough`` distinct accounts are met.

    No more accounts can be met than are registered while every publication belongs to
    a registered account, so the read then also stops once it has met every registered
    one: a backlog of due rows spread over fewer accounts than ``enough`` (40,000 due
    over 100 accounts, say) is otherwise read to its end by every claim. A store that
    holds a publication of an unregistered account (the engine registers every account
    it schedules for; the store API does not insist) notes it (``UNREGISTERED``), and
    its claims read on: that account's rows may come after every registered one's.
    ``registered`` is ``None`` then (see :class:`_Probe`).
    """
    stop = enough if not registered else min(enough, registered)
    # One JSON value, so the statement takes one step (a GIL round trip) in all, not one
    # per account: a busy event loop can hold each step up for its switch interval.
    (text,) = conn.execute(
        "WITH due AS MATERIALIZED (SELECT DISTINCT workspace, account_id "
        "FROM publications INDEXED BY publications_due "
        "WHERE state IN ('scheduled', 'retry_wait') AND run_at <= ? LIMIT ?) "
        f"SELECT json_group_array(json_array(workspace, account_id)) FROM due WHERE {_BUSY}",
        (now, stop, per_account),
    ).fetchone()
    return {(workspace, account_id) for workspace, account_id in json.loads(text)}


_OVERDUE = "state = 'scheduled' AND sends = 0 AND expires_at IS NOT NULL AND expires_at < ?"
# Not an account waiting to be reconnected: its publications wait for a person, and
# their grace period starts again when it is reconnected (set_account_status).
_ABLE = (
    "NOT EXISTS (SELECT 1 FROM accounts AS a WHERE a.status = 'needs_reauth' "
    "AND a.workspace = publications.workspace AND a.id = publications.account_id)"
)
_TASK_ABLE = (
    "NOT EXISTS (SELECT 1 FROM accounts AS a WHERE a.status = 'needs_reauth' "
    "AND a.workspace = p.workspace AND a.id = p.account_id)"
)
"""A metric task's publication ``p`` is of an account not waiting for a person."""
_OVERDUE_COLUMNS = (
    "id, rule_id, workspace, account_id, due_at, publish_late, attempt, expires_at, campaign"
)


@attrs.frozen
class _Probe:
    """What a claim needs to know before it reads due rows, read in one statement (one
    GIL round trip, where a statement per question took a dozen): the common claim then
    reads no table it would find empty."""

    paused: bool  # a pause switch is on
    expired: bool  # a lease has expired (the sweep has work)
    held: bool  # an account needs a person, or a rate budget is kept
    reconcilable: bool  # an unknown publication is due for reconciling
    overdue: bool  # a publication is past its grace period
    busy: int  # accounts at their in-flight limit (0 without a limit)
    # registered accounts; None when the store holds a publication of an unregistered
    # account (see _due_accounts)
    registered: int | None

    @classmethod
    def read(cls, conn: sqlite3.Connection, now: int, per_account: int | None) -> _Probe:
        return cls(*conn.execute(_PROBE_SQL, (now, now, now, per_account)).fetchone())


_PROBE_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pauses), "
    "EXISTS (SELECT 1 FROM publications INDEXED BY publications_lease "
    "WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ?), "
    "EXISTS (SELECT 1 FROM accounts WHERE status = 'needs_reauth') "
    "OR EXISTS (SELECT 1 FROM budgets), "
    "EXISTS (SELECT 1 FROM publications INDEXED BY publications_reconcile "
    "WHERE state = 'unknown' AND attention IS NULL AND run_at <= ? AND lease_owner IS NULL), "
    f"EXISTS (SELECT 1 FROM publications INDEXED BY publications_grace WHERE {_OVERDUE}), "
    # the last two are only counted under a per-account limit (?4, the limit)
    "CASE WHEN ?4 IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM (SELECT 1 FROM ("
    "SELECT workspace, account_id FROM publications WHERE lease_expires_at IS NOT NULL "
    f"UNION ALL SELECT workspace, account_id FROM publications WHERE {_UNSETTLED}) "
    "GROUP BY workspace, account_id HAVING COUNT(*) >= ?4)) END, "
    f"CASE WHEN ?4 IS NULL OR EXISTS (SELECT 1 FROM meta WHERE key = '{UNREGISTERED}') "
    "THEN NULL ELSE (SELECT COUNT(*) FROM accounts) END"
)


def claim(
    conn: sqlite3.Connection,
    worker: str,
    now_dt: dt.datetime,
    limit: int,
    lease: int,
    per_account: int | None,
    reconcile: bool,
    *,
    may_sweep: bool = True,
) -> list[Claim]:
    """Claim what is due. With ``may_sweep`` false (a claim running on an event loop's
    thread), a claim that would first hand back expired leases (a crashed worker's: one
    statement each, so thousands of them keep the loop for a while) raises
    :class:`RunOnThread` instead, to run on the store's thread."""
    now = to_us(now_dt)
    probe = _Probe.read(conn, now, per_account)
    pauses = load_pauses(conn) if probe.paused else []
    if probe.expired:
        if not may_sweep:
            raise RunOnThread
        sweep(conn, now, lease, pauses)
        # What it handed back may be reconcilable or past its grace by now: ask again.
        probe = _Probe.read(conn, now, per_account)
    busy = f" AND {_BUSY}" if per_account is not None else ""
    leases_full = f" AND {_LEASES_FULL}" if per_account is not None else ""
    busy_params: tuple[Any, ...] = (per_account,) if per_account is not None else ()
    # Only accounts below the limit: the busy ones never reach Python.
    in_flight: dict[AccountKey, int] = {}
    unsettled: dict[AccountKey, int] = {}
    if per_account is not None and per_account > 1:
        in_flight = {
            (ws, account_id): n
            for ws, account_id, n in conn.execute(
                "SELECT workspace, account_id, COUNT(*) FROM publications "
                "WHERE lease_expires_at IS NOT NULL GROUP BY workspace, account_id "
                "HAVING COUNT(*) < ?",
                (per_account,),
            )
        }
        unsettled = {
            (ws, account_id): n
            for ws, account_id, n in conn.execute(
                "SELECT workspace, account_id, COUNT(*) FROM publications "
                f"WHERE {_UNSETTLED} GROUP BY workspace, account_id"
            )
        }
    blocked: set[AccountKey] = set()
    left: dict[AccountKey, int] = {}
    if probe.held:
        blocked, left, unblock = holds(conn, now_dt)
        blocked |= set(unblock)
    reconcile = reconcile and probe.reconcilable
    reconcilable = (
        conn.execute(
            "SELECT id, workspace, account_id, campaign, state FROM publications "
            "INDEXED BY publications_reconcile "
            "WHERE state = 'unknown' AND attention IS NULL AND run_at <= ? AND lease_owner IS NULL"
            f"{leases_full} ORDER BY run_at, id",
            (now, *busy_params),
        ).fetchall()
        if reconcile
        else []
    )

    # Never what the misfire policy would miss: a post past its grace period waits for
    # expire_overdue (the worker's next chores), it is not sent late. Checked a page of
    # due rows at a time, and only when anything is overdue at all (one probe of the
    # grace index), so a backlog of posts allowed to publish late costs no more than
    # the rows a claim reads anyway.
    def missed(ids: list[str]) -> list[str]:
        return _missed(conn, now, among=ids)[1]

    if per_account is not None:
        # How many claims can succeed at all, counted in SQL: without it, a claim while
        # every free account has taken its share would walk every due row to find
        # nothing more. The busy accounts are left out after DISTINCT (once per
        # account), not row by row. The count stops once it has met enough accounts to
        # fill the claim whichever of them are busy or blocked (each other one can take
        # at least one), so a burst of due rows is not read to its end by every claim.
        accounts = _due_accounts(
            conn, now, limit + len(blocked) + probe.busy, per_account, probe.registered
        )
        if reconcile:
            accounts.update(
                conn.execute(
                    "SELECT DISTINCT workspace, account_id FROM publications "
                    "INDEXED BY publications_reconcile WHERE state = 'unknown' "
                    f"AND attention IS NULL AND run_at <= ? AND lease_owner IS NULL{leases_full}",
                    (now, per_account),
                )
            )
        # Each account's share is at least 0: a budget overdrawn by its unsent claims
        # (``left`` below 0) takes nothing from what the other accounts may claim.
        possible = sum(
            max(0, min(per_account - in_flight.get(key, 0), left.get(key, per_account)))
            for key in accounts
            if key not in blocked
        )
        limit = min(limit, max(0, possible))
    # The first page of due rows fits the claim as it now stands: sized before
    # ``possible`` cut it, a page read (and handed to Python) every due row of busy
    # accounts interleaved with the few that can be claimed.
    due = _due_rows(
        conn, now, busy, busy_params, page=limit + 16, missed=missed if probe.overdue else None
    )
    chosen = select_claims(
        itertools.chain(reconcilable, due),
        limit=limit,
        per_account=per_account,
        in_flight=in_flight,
        unsettled=unsettled,
        blocked=blocked,
        budget_left=left,
        pauses=pauses,
    )
    if not chosen:
        return []
    before = {row[0]: row[4] for row in chosen}
    expires = now + lease
    chosen_ids = [row[0] for row in chosen]
    update_ids(
        conn,
        "UPDATE publications SET attempt = attempt + 1, lease_owner = ?, "
        "lease_expires_at = ?, updated_at = ?, "
        "state = CASE WHEN state = 'unknown' THEN 'unknown' ELSE 'claimed' END",
        (worker, expires, now),
        chosen_ids,
    )
    returned = {
        pub_id: [pub_id, *values]
        for pub_id, values in rows_by_id(conn, _CLAIM_COLUMNS, chosen_ids).items()
    }
    resumed = [pub_id for pub_id, values in returned.items() if values[12] > 0]
    parts = checkpoints_of(conn, resumed) if resumed else {}
    claims: list[Claim] = []
    events = []
    lease_end = from_us(expires)
    from datetime import datetime

    for row in chosen:
        v = returned[row[0]]
        kind: ClaimKind = "reconcile" if v[15] == "unknown" else "publish"
        claims.append(
            Claim(
                id=v[0],
                attempt=v[1],
                kind=kind,
                workspace=v[2],
                account_id=v[3],
                platform=v[4],
                revision=v[5],
                due_at=from_us(v[6]),
                local_time=datetime.fromisoformat(v[7]),
                zone=v[8],
                idempotency_key=v[9],
                campaign=v[10],
                rule_id=v[11],
                sends=v[12],
                failures=v[13],
                lease_expires_at=lease_end,
                draft_json=v[14],
                checkpoints=parts.get(v[0], ()),
            )
        )
        events.append(
            event_row(
                now,
                "claimed",
                v[0],
                v[2],
                v[3],
                v[10],
                actor=worker,
                reason="reconcile" if kind == "reconcile" else None,
                attempt=v[1],
                from_state=before[v[0]],
                to_state=v[15],
            )
        )
    insert_events(conn, events)
    return claims


def heartbeat(
    conn: sqlite3.Connection,
    worker: str,
    claims: Sequence[tuple[str, int]],
    now: int,
    lease: int,
) -> list[str]:
    if not claims:
        return []
    # Two statements for any number of claims (a statement each was a GIL round trip
    # each, a few hundred every heartbeat for a busy worker). A claim whose row now
    # holds this lease end was extended: the update's conditions held for it.
    held = json_value([[pub_id, attempt] for pub_id, attempt in claims])
    claimed = (
        "(SELECT key AS position, json_extract(value, '$[0]') AS id, "
        "json_extract(value, '$[1]') AS attempt FROM json_each(?)) AS c"
    )
    expires = now + lease
    conn.execute(
        f"UPDATE publications SET lease_expires_at = ? FROM {claimed} "
        "WHERE publications.id = c.id AND publications.attempt = c.attempt "
        "AND lease_owner = ? AND lease_expires_at > ?",
        (expires, held, worker, now),
    )
    # by position in ``claims``: a repeated id at a stale attempt is still reported
    (text,) = conn.execute(
        f"SELECT json_group_array(c.position) FROM {claimed} CROSS JOIN publications AS p "
        "ON p.id = c.id WHERE p.attempt = c.attempt AND p.lease_owner = ? "
        "AND p.lease_expires_at = ?",
        (held, worker, expires),
    ).fetchone()
    extended = set(json.loads(text))
    return [pub_id for i, (pub_id, _) in enumerate(claims) if i not in extended]


def _fetch(conn: sqlite3.Connection, columns: str, ids: Sequence[str]) -> dict[str, list[Any]]:
    """``{id: [columns…]}`` for the publications in ``ids``."""
    return rows_by_id(conn, columns.replace(" ", ""), ids)


def mark_publishing(
    conn: sqlite3.Connection,
    starts: Sequence[PublishStart],
    worker: str,
    now: int,
    lease: int,
) -> list[bool]:
    rows = _fetch(
        conn,
        "state, attempt, lease_owner, lease_expires_at, workspace, account_id, campaign, sends",
        [start.id for start in starts],
    )
    # A pause flipped on since the claim (or during a reconciliation, which it does not
    # move) stops the send.
    pauses = load_pauses(conn)
    results: list[bool] = []
    drafts: dict[str, str | None] = {}  # the draft each one pins (None: already pinned)
    events: list[tuple[Any, ...]] = []
    spent: dict[AccountKey, int] = {}
    for start in starts:
        found = rows.get(start.id)
        if (
            found is None
            or found[0] != start.from_state.value
            or found[1] != start.attempt
            or found[2] != worker
            or found[3] is None
            or found[3] <= now
            or (bool(pauses) and covered(pauses, found[4], found[5], found[6]))
        ):
            results.append(False)
            continue
        _, attempt, _, _, workspace, account_id, campaign, sends = found
        rows[start.id] = ["publishing", *found[1:]]  # a repeat in this batch is refused
        drafts[start.id] = start.draft_json
        spent[(workspace, account_id)] = spent.get((workspace, account_id), 0) + 1
        events.append(
            event_row(
                now,
                "transition",
                start.id,
                workspace,
                account_id,
                campaign,
                actor=worker,
                reason="sending",
                attempt=attempt,
                from_state=start.from_state.value,
                to_state="publishing",
                data={"send": sends + 1},
            )
        )
        results.append(True)
    if drafts:
        # One statement for the batch, whatever drafts its posts pin (a statement per
        # distinct draft was one per publication when each is a different post).
        conn.execute(
            "UPDATE publications SET state = 'publishing', sends = sends + 1, "
            "draft = COALESCE(publications.draft, d.value), lease_expires_at = ?, "
            "updated_at = ? FROM (SELECT key, value FROM json_each(?)) AS d "
            "WHERE publications.id = d.key",
            (now + lease, now, json_value(drafts)),
        )
    insert_events(conn, events)
    if (
        spent
        and conn.execute(
            "SELECT EXISTS (SELECT 1 FROM budgets WHERE remaining IS NOT NULL)"
        ).fetchone()[0]
    ):
        conn.executemany(
            "UPDATE budgets SET remaining = remaining - ? WHERE workspace = ? AND account_id = ? "
            "AND scope = 'default' AND remaining IS NOT NULL AND reset_at > ?",
            [(n, ws, account_id, now) for (ws, account_id), n in spent.items()],
        )
    return results


def release(
    conn: sqlite3.Connection,
    claims: Sequence[tuple[str, int]],
    now: int,
    actor: str,
    reason: str,
) -> list[bool]:
    pauses = load_pauses(conn)
    results = []
    for pub_id, attempt in claims:
        found = conn.execute(
            "SELECT state, workspace, account_id, campaign FROM publications WHERE id = ? "
            "AND attempt = ? AND state IN ('claimed', 'unknown') AND lease_owner IS NOT NULL",
            (pub_id, attempt),
        ).fetchone()
        if found is None:
            results.append(False)
            continue
        state, workspace, account_id, campaign = found
        target = state
        if state == S.CLAIMED:
            held = bool(pauses) and covered(pauses, workspace, account_id, campaign)
            target = S.PAUSED.value if held else S.SCHEDULED.value
        conn.execute(
            "UPDATE publications SET state = ?, lease_owner = NULL, lease_expires_at = NULL, "
            "updated_at = ? WHERE id = ?",
            (target, now, pub_id),
        )
        conn.execute(
            EVENT_SQL,
            event_row(
                now,
                "released",
                pub_id,
                workspace,
                account_id,
                campaign,
                actor=actor,
                reason=reason,
                attempt=attempt,
                from_state=state,
                to_state=target,
            ),
        )
        results.append(True)
    return results


def record_receipts(
    conn: sqlite3.Connection, receipts: Sequence[ReceiptRecord], now: int
) -> list[bool]:
    from socialkit.errors import StoreError

    if not receipts:
        return []
    ids = [record.id for record in receipts]
    rows = _fetch(conn, "state, platform, workspace, account_id, campaign, attempt", ids)
    for pub_id in ids:
        if pub_id not in rows:
            raise StoreError(f"no publication {pub_id!r}")
    kept: set[tuple[str, int, str]] = set(
        conn.execute(
            f"SELECT publication_id, attempt, source FROM receipts WHERE publication_id IN "
            f"{JSON_IDS}",
            (json_ids(ids),),
        )
    )
    results: list[bool] = []
    inserts: list[tuple[Any, ...]] = []
    posts: list[tuple[str, str, str]] = []
    published: list[str] = []
    events: list[tuple[Any, ...]] = []
    tasks: list[tuple[str, str, int, str | None]] = []
    revived: list[str] = []
    for record in receipts:
        key = (record.id, record.attempt, record.source)
        if key in kept:
            results.append(False)
            continue
        kept.add(key)
        state, platform, workspace, account_id, campaign, attempt = rows[record.id]
        inserts.append(
            (
                record.id,
                record.attempt,
                record.source,
                platform,
                record.receipt.ref.id,
                record.receipt.model_dump_json(exclude_none=True),
                now,
            )
        )
        posts.extend((platform, ref.id, record.id) for ref in record.receipt.parts)
        moved = state not in RECEIPT_KEEPS
        if state == S.DELETED:
            revived.append(record.id)  # live again after it was taken down: a person
        if moved:
            rows[record.id] = ["published", *rows[record.id][1:]]
            published.append(record.id)
            first = metric_steps(record.receipt.published_at, record.metrics)
            if first is not None:
                tasks.append((record.id, *first))
        events.append(
            event_row(
                now,
                "receipt",
                record.id,
                workspace,
                account_id,
                campaign,
                actor=record.actor,
                reason=record.reason,
                attempt=attempt,
                from_state=state if moved else None,
                to_state="published" if moved else None,
                data={
                    "post_id": record.receipt.ref.id,
                    "source": record.source,
                    "receipt_attempt": record.attempt,
                },
            )
        )
        results.append(moved)
    insert_rows(
        conn,
        "INSERT INTO receipts (publication_id, attempt, source, platform, post_id, receipt, "
        "recorded_at) VALUES ",
        inserts,
        tail=" ON CONFLICT DO NOTHING",
    )
    insert_rows(
        conn,
        "INSERT INTO receipt_posts (platform, post_id, publication_id) VALUES ",
        posts,
        tail=" ON CONFLICT DO NOTHING",
    )
    update_ids(
        conn,
        "UPDATE publications SET state = 'published', lease_owner = NULL, "
        "lease_expires_at = NULL, attention = NULL, updated_at = ?",
        (now,),
        published,
    )
    update_ids(
        conn, "UPDATE publications SET attention = 'delete', updated_at = ?", (now,), revived
    )
    insert_events(conn, events)
    insert_rows(
        conn, "INSERT INTO metric_tasks (publication_id, label, due_at, rest) VALUES ", tasks
    )
    return results


def _event_keys(conn: sqlite3.Connection, pub_id: str) -> tuple[str, str, str | None, int]:
    """``(workspace, account_id, campaign, attempt)`` of publication ``pub_id``, for an
    event about it that moves nothing; :class:`StoreError` when there is none."""
    from socialkit.errors import StoreError

    found = conn.execute(
        "SELECT workspace, account_id, campaign, attempt FROM publications WHERE id = ?",
        (pub_id,),
    ).fetchone()
    if found is None:
        raise StoreError(f"no publication {pub_id!r}")
    workspace, account_id, campaign, attempt = found
    return workspace, account_id, campaign, attempt


def record_checkpoint(conn: sqlite3.Connection, checkpoint: CheckpointRecord, now: int) -> None:
    workspace, account_id, campaign, attempt = _event_keys(conn, checkpoint.id)
    conn.execute(
        "INSERT INTO checkpoints (publication_id, part, attempt, ref, recorded_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET ref = excluded.ref",
        (
            checkpoint.id,
            checkpoint.part,
            checkpoint.attempt,
            checkpoint.ref.model_dump_json(exclude_none=True),
            now,
        ),
    )
    conn.execute(
        EVENT_SQL,
        event_row(
            now,
            "checkpoint",
            checkpoint.id,
            workspace,
            account_id,
            campaign,
            attempt=attempt,
            data={
                "part": checkpoint.part,
                "post_id": checkpoint.ref.id,
                "checkpoint_attempt": checkpoint.attempt,
            },
        ),
    )


def record_deletion(conn: sqlite3.Connection, deletion: DeletionRecord, now: int) -> None:
    """What a delete took down, in the history (append-only, never fenced)."""
    *where, attempt = _event_keys(conn, deletion.id)
    fields = deletion.event_fields()
    conn.execute(
        EVENT_SQL, event_row(now, deletion.kind, deletion.id, *where, attempt=attempt, **fields)
    )


# How many due rows of busy accounts ``next_due`` reads past before it answers with the
# due time it has reached (the answer may come too early, never too late).
_NEXT_DUE_SCAN = 64


def _busy_accounts(
    conn: sqlite3.Connection, per_account: int | None
) -> tuple[set[AccountKey], set[AccountKey]]:
    """Accounts at their in-flight limit: by their leases alone (nothing of theirs can be
    claimed, a reconciliation neither), and with their unsettled ``unknown`` publications
    counted too (no publish)."""
    if per_account is None:
        return set(), set()
    full: set[AccountKey] = set()
    busy: set[AccountKey] = set()
    for workspace, account_id, leased in conn.execute(
        "SELECT workspace, account_id, SUM(leased) FROM ("
        "SELECT workspace, account_id, 1 AS leased FROM publications "
        "WHERE lease_expires_at IS NOT NULL "
        f"UNION ALL SELECT workspace, account_id, 0 FROM publications WHERE {_UNSETTLED}) "
        "GROUP BY workspace, account_id HAVING COUNT(*) >= ?",
        (per_account,),
    ):
        busy.add((workspace, account_id))
        if leased >= per_account:
            full.add((workspace, account_id))
    return full, busy


def _pages(
    conn: sqlite3.Connection, index: str, where: str, skip: set[AccountKey]
) -> Iterator[list[Any]]:
    """Rows ``[run_at, id, workspace, account_id, campaign]`` matching ``where``, in
    ``run_at`` order through ``index``, a page (one JSON value: one statement step, where
    a cursor takes one per row) at a time, leaving out the accounts in ``skip`` in SQL
    (an account waiting for a person may hold a month of posts: they never reach
    Python). Pages grow: the first row is most often the answer."""
    after: tuple[Any, ...] = ()
    page = 4
    skipped = ""
    skip_params: tuple[Any, ...] = ()
    if skip:
        skipped = (
            " AND (workspace, account_id) NOT IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(?))"
        )
        skip_params = (json_value([list(key) for key in skip]),)
    while True:
        (text,) = conn.execute(
            "SELECT json_group_array(json_array(run_at, id, workspace, account_id, campaign)) "
            "FROM (SELECT run_at, id, workspace, account_id, campaign FROM publications "
            f"INDEXED BY {index} WHERE {where}{skipped}"
            + (" AND (run_at, id) > (?, ?)" if after else "")
            + " ORDER BY run_at, id LIMIT ?)",
            (*skip_params, *after, page),
        ).fetchone()
        rows: list[list[Any]] = json.loads(text)
        rows.sort(key=lambda row: (row[0], row[1]))
        yield from rows
        if len(rows) < page:
            return
        after = (rows[-1][0], rows[-1][1])
        page *= 4


def next_due(
    conn: sqlite3.Connection, now_dt: dt.datetime, per_account: int | None = 1
) -> dt.datetime | None:
    best: int | None = None

    def consider(value: int | None) -> None:
        nonlocal best
        if value is not None and (best is None or value < best):
            best = value

    # First what bounds the scans below: a lease's expiry, a grace period's end.
    for sql in (
        "SELECT MIN(expires_at) FROM publications INDEXED BY publications_grace "
        f"WHERE state = 'scheduled' AND sends = 0 AND expires_at IS NOT NULL AND {_ABLE}",
        "SELECT MIN(lease_expires_at) FROM publications WHERE lease_expires_at IS NOT NULL",
    ):
        consider(conn.execute(sql).fetchone()[0])
    blocked, _, unblock = holds(conn, now_dt)
    pauses = load_pauses(conn)
    unblock_us = {key: to_us(when) for key, when in unblock.items()}
    now = to_us(now_dt)
    # Accounts at their in-flight limit, read once a row due by now is met: a row due
    # later counts as it is (its account may be free by then).
    busy_sets: tuple[set[AccountKey], set[AccountKey]] | None = None
    for index, where, reconciling in (
        ("publications_due", "state IN ('scheduled', 'retry_wait')", False),
        (
            "publications_reconcile",
            "state = 'unknown' AND attention IS NULL AND lease_owner IS NULL",
            True,
        ),
    ):
        passed = 0
        for run_at, _, workspace, account_id, campaign in _pages(conn, index, where, blocked):
            if best is not None and run_at >= best:
                break
            key = (workspace, account_id)
            if run_at <= now and per_account is not None and busy_sets is None:
                busy_sets = _busy_accounts(conn, per_account)
            if (
                run_at <= now
                and busy_sets is not None
                and key in busy_sets[0 if reconciling else 1]
            ):
                # Free at the latest when a lease expires (considered above) or its
                # unknown publication is reconciled (the second scan).
                passed += 1
                if passed >= _NEXT_DUE_SCAN:
                    consider(run_at)
                    break
                continue
            if pauses and covered(pauses, workspace, account_id, campaign):
                continue  # (the blocked accounts' rows were left out by _pages)
            consider(max(run_at, unblock_us[key]) if key in unblock_us else run_at)
    # Metric collections: the first due in due order (the partial index), and one in
    # flight is due again only when its lease runs out. Those of an account waiting for
    # a person to re-authorise it wait with it: set aside past WAITING_FROM (schema 9),
    # where the scan stops, not walked and skipped; one left in the ordinary range (its
    # lease ran out after the account was marked) is left out by the NOT EXISTS.
    for sql in (
        "SELECT t.due_at FROM metric_tasks t INDEXED BY metric_tasks_due "
        "JOIN publications p ON p.id = t.publication_id "
        "WHERE t.done_at IS NULL AND t.due_at < :waiting "
        "AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= :now) "
        f"AND {_TASK_ABLE} ORDER BY t.due_at, t.id LIMIT 1",
        "SELECT MIN(t.lease_expires_at) FROM metric_tasks t INDEXED BY metric_tasks_due "
        "JOIN publications p ON p.id = t.publication_id "
        "WHERE t.done_at IS NULL AND t.due_at <= :now AND t.lease_expires_at > :now "
        f"AND {_TASK_ABLE}",
    ):
        found = conn.execute(sql, {"now": now, "waiting": WAITING_FROM_US}).fetchone()
        consider(found[0] if found is not None else None)
    return from_us(best) if best is not None else None


def _missed(
    conn: sqlite3.Connection, now: int, *, among: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The overdue rows by id, and the ids the misfire policy misses at ``now`` (of
    every overdue publication, or of those in ``among``)."""
    if among is None:
        overdue = conn.execute(
            f"SELECT {_OVERDUE_COLUMNS} FROM publications INDEXED BY publications_grace "
            f"WHERE {_OVERDUE} AND {_ABLE}",
            (now,),
        ).fetchall()
        # Rule occurrences already due, within their grace or with none: each one that
        # a later due occurrence of its rule and account supersedes is missed too, so a
        # rule fires once after downtime however long its grace.
        seen = {r[0] for r in overdue}
        overdue += [
            r
            for r in conn.execute(
                f"SELECT {_OVERDUE_COLUMNS} FROM publications INDEXED BY publications_state "
                "WHERE state = 'scheduled' AND due_at <= ? AND rule_id IS NOT NULL "
                "AND sends = 0",
                (now,),
            )
            if r[0] not in seen
        ]
    else:
        # Driven by the ids, each looked up by its key: without statistics (the store
        # never runs ANALYZE) the planner would walk every scheduled row instead.
        overdue = conn.execute(
            f"SELECT {_OVERDUE_COLUMNS} FROM (SELECT value FROM json_each(?)) AS j "
            f"CROSS JOIN publications ON publications.id = j.value "
            f"WHERE {_OVERDUE} AND {_ABLE}",
            (json_ids(among), now),
        ).fetchall()
    if not overdue:
        return {}, []
    latest: dict[tuple[str, str, str], Any] = {}
    for rule_id, workspace, account_id in {(r[1], r[2], r[3]) for r in overdue if r[1]}:
        found = conn.execute(
            "SELECT MAX(due_at) FROM publications WHERE rule_id = ? AND account_id = ? "
            "AND workspace = ? AND due_at <= ?",
            (rule_id, account_id, workspace, now),
        ).fetchone()[0]
        if found is not None:
            latest[(rule_id, workspace, account_id)] = from_us(found)
    missed = missed_ids(
        ((r[0], r[1], r[2], r[3], from_us(r[4]), bool(r[5])) for r in overdue), latest
    )
    return {r[0]: r for r in overdue}, missed


def expire_overdue(conn: sqlite3.Connection, now: int, actor: str) -> list[Moved]:
    by_id, missed = _missed(conn, now)
    if not missed:
        return []
    at = from_us(now)
    moved = []
    transitions = []
    for pub_id in sorted(missed):
        r = by_id[pub_id]
        reason = (
            f"not started within its grace period ({(r[7] - r[4]) / 1_000_000:g} s after due)"
            if r[7] is not None and r[7] < now
            else SUPERSEDED
        )
        transitions.append(
            Transition(
                id=pub_id,
                expect_state=S.SCHEDULED,
                expect_attempt=r[6],
                to=S.MISSED,
                actor=actor,
                reason=reason,
            )
        )
        moved.append(
            Moved(
                id=pub_id,
                workspace=r[2],
                account_id=r[3],
                campaign=r[8],
                from_state=S.SCHEDULED,
                to_state=S.MISSED,
                attempt=r[6],
                at=at,
                actor=actor,
                reason=reason,
            )
        )
    # read in this transaction: none is stale
    apply_transitions(conn, transitions, now, load_pauses(conn), strict=True)
    return moved


def pause(conn: sqlite3.Connection, scope: PauseScope, now: int) -> list[Moved]:
    conn.execute(
        "INSERT OR REPLACE INTO pauses (workspace, kind, value, actor, reason, at) "
        "VALUES (?,?,?,?,?,?)",
        (
            scope.workspace,
            scope.kind,
            scope.value,
            scope.actor,
            scope.reason,
            to_us(scope.at) if scope.at else now,
        ),
    )
    conn.execute(
        EVENT_SQL,
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
        ),
    )
    where, params = _scope_clause(scope)
    # A claimed one is not sent yet: it is handed back too, and the worker that claimed
    # it finds it moved when it marks it publishing (nothing is sent).
    rows = conn.execute(
        "SELECT id, state, account_id, campaign, attempt FROM publications "
        f"WHERE state IN ('scheduled', 'retry_wait', 'claimed') AND {where} ORDER BY id",
        params,
    ).fetchall()
    reason = scope.history_reason()
    return _move(conn, rows, S.PAUSED, scope.workspace, scope.actor, reason, now)


def resume(conn: sqlite3.Connection, scope: PauseScope, now: int) -> list[Moved]:
    cur = conn.execute(
        "DELETE FROM pauses WHERE workspace = ? AND kind = ? AND value = ?",
        (scope.workspace, scope.kind, scope.value),
    )
    if cur.rowcount == 0:
        return []
    conn.execute(
        EVENT_SQL,
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
        ),
    )
    remaining = load_pauses(conn)
    where, params = _scope_clause(scope)
    rows = [
        r
        for r in conn.execute(
            # One a person's delete is taking down stays paused (see records.DELETING).
            f"SELECT id, state, account_id, campaign, attempt FROM publications "
            f"WHERE state = 'paused' AND attention IS NOT '{DELETING}' AND {where} ORDER BY id",
            params,
        ).fetchall()
        if not covered(remaining, scope.workspace, r[2], r[3])
    ]
    reason = scope.reason or "resumed"
    return _move(conn, rows, S.SCHEDULED, scope.workspace, scope.actor, reason, now)


def _scope_clause(scope: PauseScope) -> tuple[str, tuple[Any, ...]]:
    if scope.kind == "all":
        return "workspace = ?", (scope.workspace,)
    column = "account_id" if scope.kind == "account" else "campaign"
    return f"workspace = ? AND {column} = ?", (scope.workspace, scope.value)


def _move(
    conn: sqlite3.Connection,
    rows: Sequence[tuple[Any, ...]],
    target: PublicationState,
    workspace: str,
    actor: str,
    reason: str,
    now: int,
) -> list[Moved]:
    conn.executemany(
        "UPDATE publications SET state = ?, updated_at = ?, "
        "lease_owner = CASE WHEN state = 'claimed' THEN NULL ELSE lease_owner END, "
        "lease_expires_at = CASE WHEN state = 'claimed' THEN NULL ELSE lease_expires_at END "
        "WHERE id = ?",
        [(target.value, now, r[0]) for r in rows],
    )
    conn.executemany(
        EVENT_SQL,
        [
            event_row(
                now,
                "transition",
                r[0],
                workspace,
                r[2],
                r[3],
                actor=actor,
                reason=reason,
                attempt=r[4],
                from_state=r[1],
                to_state=target.value,
            )
            for r in rows
        ],
    )
    at = from_us(now)
    return [
        Moved(
            id=r[0],
            workspace=workspace,
            account_id=r[2],
            campaign=r[3],
            from_state=S(r[1]),
            to_state=target,
            attempt=r[4],
            at=at,
            actor=actor,
            reason=reason,
        )
        for r in rows
    ]


__all__ = [
    "claim",
    "expire_overdue",
    "heartbeat",
    "load_budgets",
    "mark_publishing",
    "next_due",
    "pause",
    "record_checkpoint",
    "record_deletion",
    "record_receipts",
    "release",
    "resume",
]
