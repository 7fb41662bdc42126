"""The metric tasks of an account waiting for a person to re-authorise it are set aside
in PostgreSQL (schema 9, triggers): next_due and a claim of metric tasks read none of
them (the plans are checked here, not timed: with 20,000 waiting, next_due took 35 ms
and a claim 62 ms, each walking and skipping every one; 1.7 ms and 2.8 ms set aside)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from socialkit.models.account import Account
from socialkit.schedule.stores import SCHEMA_VERSION
from tests.schedule.store_contract import LEASE, POST, SEC, T0, pub, waiting_backlog

pytestmark = pytest.mark.postgres

DAY = 86400 * SEC


def rows_read(plan: Any) -> int:
    """The metric_tasks rows (or index entries) the plan's nodes read, kept or not."""
    total = 0
    if isinstance(plan, dict):
        if plan.get("Relation Name") == "metric_tasks" or str(
            plan.get("Index Name", "")
        ).startswith("metric_tasks"):
            total += int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1))
            total += int(plan.get("Rows Removed by Filter", 0))
        for value in plan.values():
            total += rows_read(value)
    elif isinstance(plan, list):
        for value in plan:
            total += rows_read(value)
    return total


async def explained(conn: Any, sql: str, params: dict[str, Any]) -> Any:
    cur = await conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
    row = await cur.fetchone()
    assert row is not None
    return row[0] if not isinstance(row[0], str) else json.loads(row[0])


async def test_next_due_and_claims_read_none_of_a_waiting_account_s_backlog(
    open_store: Any,
) -> None:
    from socialkit.schedule.stores._postgres_holds import _NEXT_DUE_SQL
    from socialkit.schedule.stores._postgres_misc import _CLAIM_TASKS_SQL

    store = await open_store(clock="caller", listen="false")
    await waiting_backlog(store, 2000)
    assert await store.next_due(now=T0) == T0 - SEC
    conn = await store.connection()
    try:
        await conn.execute("ANALYZE metric_tasks")
        plan = await explained(conn, _NEXT_DUE_SQL, {"now": T0, "per_account": 1})
        assert rows_read(plan) < 20, plan
        async with conn.transaction(force_rollback=True):
            params = {"now": T0, "limit": 1, "worker": "w", "lease": LEASE}
            plan = await explained(conn, _CLAIM_TASKS_SQL, params)
            assert rows_read(plan) < 20, plan
    finally:
        await conn.close()
    (task,) = await store.claim_metric_tasks("w", now=T0, limit=1, lease=LEASE)
    assert (task.account_id, task.due_at) == ("healthy", T0 - SEC)


async def test_an_account_reconnected_by_any_code_brings_its_metric_tasks_back(
    open_store: Any,
) -> None:
    """A store migrated to schema 9 sets aside the backlog of the accounts already
    waiting; a reconnect by code that knows nothing of it (a version 3 to 8 worker still
    running during a rolling deploy, which only updates the account's status) brings it
    back, each task with its own due time."""
    from socialkit.schedule.stores._postgres_schema import MIGRATIONS

    old = await open_store(
        clock="caller", listen="false", migrations=MIGRATIONS[:8], code_version=8
    )
    await waiting_backlog(old, 10)
    await old.close()
    store = await open_store(clock="caller", listen="false")  # migrated to schema 9
    assert (await store.schema()).version == SCHEMA_VERSION
    (task,) = await store.claim_metric_tasks("w", now=T0, limit=5, lease=LEASE)
    assert task.account_id == "healthy"
    await store.complete_metric_task(task.id, [], now=T0)
    later = T0 + 60 * SEC
    conn = await store.connection()
    try:  # what set_account_status did before schema 9, and older code still does
        await conn.execute(
            "UPDATE accounts SET status = 'ok', status_reason = NULL, updated_at = %s "
            "WHERE workspace = 'default' AND id = 'waiting'",
            (later,),
        )
        await conn.commit()
    finally:
        await conn.close()
    back = await store.claim_metric_tasks("w", now=later, limit=50, lease=LEASE)
    assert [(t.account_id, t.due_at) for t in back] == [
        ("waiting", T0 - 3600 * SEC + i * SEC) for i in range(10)
    ]


async def test_a_task_put_back_while_the_account_is_reconnected_is_not_left_aside(
    open_store: Any,
) -> None:
    """A worker puts a task back (its transaction still open) while the account waits;
    a person reconnects the account meanwhile. The reconnect waits for the put-back to
    commit and then brings the task back with the others. Schema 9's trigger read the
    account without a lock: the reconnect moved back what it saw, the put-back then
    committed its task set aside, and it was never due again (year 5000)."""
    store = await open_store(clock="caller", listen="false")
    await store.put_account(Account(id="acme", platform="feed", handle="acme"), now=T0)
    await store.put_revision(POST, now=T0)
    (p,) = await store.add([pub("acme", due=T0 + DAY)], now=T0)
    await store.add_metric_tasks([(p, T0, "1h")], now=T0)
    (task,) = await store.claim_metric_tasks("w1", now=T0, limit=5, lease=LEASE)
    # The credentials are refused: the account is marked (its task in flight stays put).
    await store.set_account_status("acme", "needs_reauth", now=T0 + SEC, reason="revoked")
    worker = await store.connection()
    watcher = await store.connection()
    try:
        async with worker.transaction():
            # The worker puts the task back (as retry_metric_task does), not yet committed.
            await worker.execute(
                "UPDATE metric_tasks SET due_at = %s, lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = %s",
                (T0 + 2 * SEC, task.id),
            )
            reconnect = asyncio.create_task(
                store.set_account_status("acme", "ok", now=T0 + 3 * SEC, reason=None)
            )
            # It waits for the put-back now; schema 9's reconnect went through at once.
            waiting = asyncio.create_task(_until_a_lock_is_awaited(watcher))
            await asyncio.wait({reconnect, waiting}, timeout=10, return_when="FIRST_COMPLETED")
            waited = waiting.done()
            waiting.cancel()
        await asyncio.wait_for(reconnect, 10)
    finally:
        await worker.close()
        await watcher.close()
    back = await store.claim_metric_tasks("w2", now=T0 + 4 * SEC, limit=5, lease=LEASE)
    assert [(t.id, t.due_at) for t in back] == [(task.id, T0 + 2 * SEC)]
    assert waited


async def _until_a_lock_is_awaited(conn: Any) -> None:
    """Return once some session of this database waits for a row lock."""
    while True:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        row = await cur.fetchone()
        if row and row[0]:
            return
        await conn.commit()
