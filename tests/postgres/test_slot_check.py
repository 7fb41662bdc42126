"""The posting-slot check of a ``free_slot`` insert on PostgreSQL: read through indexes
whoever holds the slot (a leased row too), and correct whatever isolation level the
server, the database or the role defaults to.

The account index holds only rows without a lease (the schema's version 2), so one
statement looking up both kinds scanned every publication: 123 ms per ``queue()`` at
200,000 rows. The check runs after the account's advisory lock and must see what the
lock's previous holder committed: under a ``default_transaction_isolation`` of
``repeatable read`` its snapshot was taken before the wait, and two processes took one
slot.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import pytest

from socialkit.errors import SlotTaken
from socialkit.schedule.records import NewPublication, PublicationQuery
from tests.schedule.store_contract import LEASE, POST, SEC, T0, pub

pytestmark = pytest.mark.postgres

HOUR = 3600 * SEC
# libpq's options, as a URL writes them: the server's default for every transaction
# is ``repeatable read``, as postgresql.conf or ALTER ROLE / DATABASE ... SET can make it.
REPEATABLE_READ = "-c%20default_transaction_isolation%3Drepeatable%5C%20read"


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


async def _show_isolation(conn: Any) -> str:
    cur = await conn.execute("SHOW transaction_isolation")
    row = await cur.fetchone()
    return str(row[0])


async def test_store_transactions_read_committed_whatever_the_servers_default(
    open_store: Any,
) -> None:
    store = await open_store(options=REPEATABLE_READ)
    assert await store._run(_show_isolation) == "read committed"
    conn = await store.connection()  # LISTEN's, migrations' and maintenance's
    try:
        async with conn.transaction():
            assert await _show_isolation(conn) == "read committed"
    finally:
        await conn.close()


async def test_a_slot_committed_while_the_check_waits_for_the_lock_is_seen(
    open_store: Any,
) -> None:
    """Another process holds the account's slot lock and takes the slot; this store's
    insert, waiting for the lock meanwhile, must find the slot taken when it gets it,
    with the server defaulting to ``repeatable read``."""
    from socialkit.schedule.stores._postgres_rows import add

    store = await open_store(clock="caller", listen="false", options=REPEATABLE_READ)
    await store.put_revision(POST, now=T0)
    slot = T0 + HOUR
    other = await store.connection()
    watcher = await store.connection()
    try:
        async with other.transaction():
            # The other process: the account's slot lock, its post in the slot.
            await add(other, [_free(due=slot)], T0, store.options.lock_space)
            waiting = asyncio.create_task(store.add([_free(due=slot)], now=T0))
            await asyncio.wait_for(_until_waiting_for_a_slot_lock(watcher, store), 10)
        with pytest.raises(SlotTaken):
            await waiting
    finally:
        await other.close()
        await watcher.close()
    page = await store.list_publications(PublicationQuery(limit=10))
    assert [p.due_at for p in page.items] == [slot]  # was two: one slot, two posts


async def _until_waiting_for_a_slot_lock(conn: Any, store: Any) -> None:
    """Return once a session waits for acme's slot lock (polls the server's locks)."""
    while True:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND objsubid = 1 AND classid = (%s::bigint & 4294967295)::oid "
            "AND objid = (hashtext('default' || chr(31) || 'acme')::bigint & 4294967295)::oid",
            (store.options.lock_space,),
        )
        row = await cur.fetchone()
        if row and row[0]:
            return
