"""The posting-slot check of a ``free_slot`` insert on PostgreSQL reads through indexes
whoever holds the slot (a leased row too).

The account index holds only rows without a lease (the schema's version 2), so one
statement looking up both kinds scanned every publication: 123 ms per ``queue()`` at
200,000 rows.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from socialkit.errors import SlotTaken
from socialkit.schedule.records import NewPublication
from tests.schedule.store_contract import LEASE, POST, SEC, T0, pub

pytestmark = pytest.mark.postgres

HOUR = 3600 * SEC


def _free(account: str = "acme", **kw: Any) -> NewPublication:
    return attrs.evolve(pub(account, **kw), free_slot=True)


def _nodes(plan: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(plan, dict):
        if "Node Type" in plan:
            found.append(plan)
        for value in plan.values():
            found.extend(_nodes(value))
    elif isinstance(plan, list):
        for value in plan:
            found.extend(_nodes(value))
    return found


class _Recording:
    """A connection that records the statements run through it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Any]] = []

    async def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append((sql, params))
        return await self.conn.execute(sql, params)


async def test_the_slot_check_reads_publications_through_indexes(open_store: Any) -> None:
    from socialkit.schedule.stores._postgres_rows import check_free_slots

    store = await open_store(clock="caller", listen="false")
    await store.put_revision(POST, now=T0)
    # 4,000 publications of 40 accounts, a few of them claimed (leased) by a worker.
    for batch in range(4):
        await store.add(
            [
                pub(f"acc{i % 40}", due=T0 + (batch * 1000 + i) * HOUR - 10 * HOUR)
                for i in range(1000)
            ],
            now=T0,
        )
    claims = await store.claim("w", now=T0, limit=10, lease=LEASE, per_account=None)
    assert len(claims) == 10
    leased = claims[0]
    # A statement of its own, outside the pool: sequential scans allowed, as the
    # planner would choose them for the statement with fresh statistics.
    conn = await store.connection()
    try:
        await conn.execute("ANALYZE publications")
        recording = _Recording(conn)
        checked = [
            _free(leased.account_id, due=leased.due_at),  # held by the claimed one
            _free("acc7", due=T0 + 2000 * HOUR + 7 * HOUR - 10 * HOUR),  # held, no lease
            _free("acc7", due=T0 + 3 * SEC),  # free
        ]
        async with conn.transaction():
            with pytest.raises(SlotTaken) as err:
                await check_free_slots(recording, checked, store.options.lock_space)
        assert {(a, d) for _, a, d in err.value.slots} == {
            (leased.account_id, leased.due_at),
            ("acc7", checked[1].due_at),
        }
        (sql, params) = next(s for s in recording.statements if "unnest" in s[0])
        cur = await conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        row = await cur.fetchone()
        assert row is not None
        plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
        nodes = _nodes(plan)
        scans = [n for n in nodes if n.get("Relation Name") == "publications"]
        assert scans, plan
        assert all(n["Node Type"] != "Seq Scan" for n in scans), plan
        assert "publications_account" in {n.get("Index Name") for n in scans}, plan
    finally:
        await conn.close()
