"""The holds every claim and next_due look up (accounts that need a person, spent or
blocked budgets) are read through partial indexes of those few rows (schema 7): with
every account and budget scanned, a claim took 134 ms and next_due 119 ms at 300,000
accounts (tests/postgres: plans checked here, not timed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.schedule.store_contract import LEASE, T0

pytestmark = pytest.mark.postgres


def _indexes(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for value in plan.values():
            found |= _indexes(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _indexes(value)
    return found


async def test_claims_and_next_due_read_holds_through_partial_indexes(open_store: Any) -> None:
    from socialkit.schedule.stores._postgres_holds import _NEXT_DUE_SQL
    from socialkit.schedule.stores._postgres_rows import held_accounts_sql

    store = await open_store(clock="caller", listen="false")
    conn = await store.connection()
    try:
        await conn.execute(
            "INSERT INTO accounts (workspace, id, platform, account, status, updated_at) "
            "SELECT 'default', 'acc' || g, 'feed', '{}', "
            "CASE WHEN g % 1000 = 0 THEN 'needs_reauth' ELSE 'ok' END, now() "
            "FROM generate_series(1, 20000) g"
        )
        await conn.execute(
            "INSERT INTO budgets (workspace, account_id, scope, remaining, lim, reset_at, "
            "updated_at) SELECT 'default', 'acc' || g, 'default', "
            "CASE WHEN g %% 1000 = 0 THEN 0 ELSE 100 END, 100, %s, now() "
            "FROM generate_series(1, 20000) g",
            (T0 + 60 * LEASE,),
        )
        await conn.execute("ANALYZE accounts")
        await conn.execute("ANALYZE budgets")
        held = f"SELECT * FROM ({held_accounts_sql(capped=False)}) h"
        for sql in (held, _NEXT_DUE_SQL):
            cur = await conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", {"now": T0, "per_account": 1})
            row = await cur.fetchone()
            assert row is not None
            plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
            used = _indexes(plan)
            assert {"accounts_needs_reauth", "budgets_held"} <= used, used
        cur = await conn.execute(held, {"now": T0})
        assert len(await cur.fetchall()) == 40  # 20 needing a person, 20 out of budget
    finally:
        await conn.close()
