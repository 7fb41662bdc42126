"""Limits that must hold across workers, checked by the database itself while several
stores (each with its own connections) claim, send and finish at the same time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.errors import StaleTransition
from socialkit.schedule.records import Budget, PublicationQuery, PublishStart, ReceiptRecord
from socialkit.schedule.states import PublicationState as S
from tests.schedule.store_contract import LEASE, POST, T0, daily_rule, pub, receipt

pytestmark = pytest.mark.postgres

# A referee inside the database: at every commit that leases or releases a row, count
# the account's leased rows, serialised per account, so no race can hide a violation.
IN_FLIGHT_REFEREE = """
CREATE FUNCTION referee_in_flight() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    leased integer;
BEGIN
    PERFORM pg_advisory_xact_lock(424242, hashtext(NEW.workspace || '/' || NEW.account_id));
    SELECT count(*) INTO leased FROM publications
    WHERE workspace = NEW.workspace AND account_id = NEW.account_id
        AND lease_expires_at IS NOT NULL;
    IF leased > 1 THEN
        RAISE EXCEPTION 'account % has % publications in flight', NEW.account_id, leased;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER referee_in_flight AFTER UPDATE ON publications
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION referee_in_flight();
"""


async def _execute(store: Any, sql: str) -> None:
    async def run(conn: Any) -> None:
        await conn.execute(sql)

    await store._run(run)


async def _work(store: Any, worker: str, *, per_account: int | None) -> int:
    """Claim, send and finish until nothing is claimable; returns how many it sent."""
    sent = 0
    idle = 0
    while idle < 3:
        claims = await store.claim(
            worker, now=T0, limit=8, lease=LEASE, per_account=per_account, reconcile=False
        )
        if not claims:
            idle += 1
            await asyncio.sleep(0)
            continue
        idle = 0
        starts = [PublishStart(id=c.id, attempt=c.attempt) for c in claims]
        ok = await store.mark_publishing(starts, worker=worker, now=T0, lease=LEASE)
        records = [
            ReceiptRecord(id=c.id, attempt=c.attempt, receipt=receipt(c.account_id, f"x-{c.id}"))
            for c, sending in zip(claims, ok, strict=True)
            if sending
        ]
        sent += len(records)
        await store.record_receipts(records, now=T0)
    return sent


async def test_one_in_flight_per_account_across_workers(open_store: Any) -> None:
    stores = [await open_store(clock="caller") for _ in range(4)]
    await _execute(stores[0], IN_FLIGHT_REFEREE)
    await stores[0].put_revision(POST, now=T0)
    items = [pub(f"acct{i % 12}", due=T0 - i * dt.timedelta(seconds=1)) for i in range(240)]
    await stores[0].add(items, now=T0)
    for _ in range(3):  # stragglers: an account busy in another worker is skipped, not lost
        sent = await asyncio.gather(
            *(_work(s, f"w{i}", per_account=1) for i, s in enumerate(stores))
        )
        if sum(sent) == 0:
            break
    page = await stores[0].list_publications(PublicationQuery(limit=500))
    assert {p.state for p in page.items} == {S.PUBLISHED}
    assert all(len(p.receipts) == 1 and p.sends == 1 for p in page.items)


async def test_a_rate_budget_holds_across_workers(open_store: Any) -> None:
    stores = [await open_store(clock="caller") for _ in range(4)]
    # The referee here is a constraint: the budget can never go below zero.
    await _execute(
        stores[0], "ALTER TABLE budgets ADD CONSTRAINT never_overspent CHECK (remaining >= 0)"
    )
    await stores[0].put_revision(POST, now=T0)
    await stores[0].add(
        [pub("limited") for _ in range(40)] + [pub("free") for _ in range(20)], now=T0
    )
    reset = T0 + dt.timedelta(hours=1)
    await stores[0].set_budget(Budget(account_id="limited", remaining=7, reset_at=reset), now=T0)
    sent = await asyncio.gather(
        *(_work(s, f"w{i}", per_account=None) for i, s in enumerate(stores))
    )
    assert sum(sent) == 7 + 20
    limited = await stores[0].list_publications(PublicationQuery(account_id="limited", limit=100))
    assert sum(p.sends for p in limited.items) == 7
    (budget,) = [b for b in await stores[0].budgets() if b.account_id == "limited"]
    assert budget.remaining == 0


async def test_a_rule_advances_once_when_two_workers_race(open_store: Any) -> None:
    a, b = await open_store(clock="caller"), await open_store(clock="caller")
    revision = await a.put_revision(POST, now=T0)
    rule = daily_rule(revision, "daily", "acme")
    await a.add_rule(rule, now=T0)
    day = dt.timedelta(days=1)

    async def advance(store: Any) -> list[str] | StaleTransition:
        batch = [pub("acme", due=T0 + i * day, key=f"daily:acme:{i}") for i in range(5)]
        try:
            result: list[str] = await store.advance_rule(
                "daily", expect_cursor=None, cursor="c5", publications=batch, now=T0
            )
        except StaleTransition as exc:
            return exc
        return result

    results = await asyncio.gather(advance(a), advance(b))
    winners = [r for r in results if isinstance(r, list)]
    assert len(winners) == 1
    assert len(winners[0]) == 5
    assert isinstance(next(r for r in results if not isinstance(r, list)), StaleTransition)
    page = await a.list_publications(PublicationQuery(limit=50))
    assert len(page.items) == 5
    assert (await b.get_rule("daily")).cursor == "c5"


async def test_a_cursor_reader_never_misses_a_late_commit(open_store: Any) -> None:
    """Writers commit concurrently (insertion order is not commit order); a consumer
    following the log with a cursor still sees every event exactly once, in order."""
    writers = [await open_store(clock="caller") for _ in range(4)]
    reader = await open_store(clock="caller")
    await writers[0].put_revision(POST, now=T0)
    done = asyncio.Event()

    async def write(store: Any, n: int) -> None:
        for i in range(30):
            await store.add([pub(f"w{n}-{i}-{j}") for j in range(3)], now=T0)

    seen: list[tuple[int, str | None]] = []

    async def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            events = await reader.events(since=cursor, limit=50)
            seen.extend((e.seq, e.publication_id) for e in events)
            if events:
                cursor = events[-1].seq
            elif finished:
                return
            await asyncio.sleep(0)

    follower = asyncio.create_task(follow())
    await asyncio.gather(*(write(s, n) for n, s in enumerate(writers)))
    done.set()
    await follower
    seqs = [seq for seq, _ in seen]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert len({pid for _, pid in seen}) == 4 * 30 * 3
