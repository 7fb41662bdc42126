"""What an operator does to a running worker's connections: ``pg_terminate_backend``
(by hand, an idle-session timeout, a failover). The store must carry on by itself — the
pool replaces the connections the server closed before they are used, ``LISTEN`` comes
back — and say so in one line each, never a traceback per connection."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest

from tests.postgres.support import POSTGRES_URL
from tests.postgres.test_wakeups import Wakes
from tests.schedule.store_contract import LEASE, POST, T0, pub, receipt

pytestmark = pytest.mark.postgres


def _terminate(application_name: str) -> int:
    """End every backend of ``application_name`` as an operator would, and wait (bounded)
    until they have exited, so their last words are on the client's sockets; how many."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        found = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
        pids = [row[0] for row in found]
        conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        for _ in range(2000):
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone()
            if left and left[0] == 0:
                return len(pids)
            conn.execute("SELECT pg_sleep(0.005)")
    raise AssertionError(f"backends {pids} did not exit")


async def test_terminated_pool_connections_are_replaced_before_use(
    open_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"h2op_{uuid.uuid4().hex[:8]}"
    store = await open_store(clock="caller", pool_min=3, pool_max=3, application_name=name)
    await store.put_revision(POST, now=T0)
    # Three calls at once: the pool holds three open, idle connections afterwards.
    await asyncio.gather(*(store.next_due(now=T0) for _ in range(3)))
    assert _terminate(name) >= 3
    # The server has closed them; the client has not used them since. Every call
    # works on the first try: none of the dead connections is handed out.
    caplog.set_level(logging.WARNING)
    ids = await store.add([pub("a", due=T0)], now=T0)
    results = await asyncio.gather(*(store.next_due(now=T0) for _ in range(3)))
    assert results == [T0, T0, T0]
    claims = await store.claim("w1", now=T0, limit=5, lease=LEASE)
    assert [c.id for c in claims] == ids
    assert not [r for r in caplog.records if r.name.startswith("socialkit") and r.exc_info]


async def test_listen_comes_back_after_its_connection_is_terminated(
    open_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"h2op_{uuid.uuid4().hex[:8]}"
    idle = await open_store(clock="caller", application_name=name)
    busy = await open_store(clock="caller")
    await busy.put_revision(POST, now=T0)
    wakes = Wakes()
    idle.subscribe(wakes)
    assert await idle.listening()
    caplog.set_level(logging.WARNING, logger="socialkit.store")
    assert _terminate(name) >= 1
    # Reconnected, the listener wakes everyone once (notifications may have been missed).
    assert await wakes.next() == 1
    assert await idle.listening()
    # And it hears other workers again.
    await busy.add([pub("a", due=T0)], now=T0)
    assert await wakes.next() == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "socialkit.store"]
    lost = [line for line in lines if "LISTEN connection lost" in line]
    assert len(lost) == 1, lines
    assert "\n" not in lost[0]
    assert any("LISTEN connection back" in line for line in lines), lines


async def test_a_publication_sent_when_the_worker_lost_everything_is_reconciled(
    open_store: Any,
) -> None:
    """The worker's connections die after it marked a publication ``publishing`` and
    before it recorded the receipt (and the worker with them). The lease runs out, the
    publication is ``unknown``, and the next claim hands it out to be reconciled, never
    as a plain send."""
    import datetime as dt

    name = f"h2op_{uuid.uuid4().hex[:8]}"
    dying = await open_store(clock="caller", application_name=name)
    other = await open_store(clock="caller")
    await other.put_revision(POST, now=T0)
    (pid,) = await other.add([pub("a", due=T0)], now=T0)
    (claim,) = await dying.claim("dying", now=T0, limit=1, lease=LEASE)
    from socialkit.schedule.records import PublishStart

    assert await dying.mark_publishing(
        [PublishStart(id=claim.id, attempt=claim.attempt)], worker="dying", now=T0, lease=LEASE
    ) == [True]
    assert _terminate(name) >= 1
    later = T0 + LEASE + dt.timedelta(seconds=1)
    assert await other.claim("other", now=later, limit=5, lease=LEASE) == []
    assert (await other.get(pid)).state.value == "unknown"
    (again,) = await other.claim("other", now=later + LEASE, limit=5, lease=LEASE)
    assert (again.id, again.kind) == (pid, "reconcile")
    assert again.attempt > claim.attempt
    # The dying store's pool recovers too, but its old attempt is fenced off.
    from socialkit.schedule.records import ReceiptRecord

    late = ReceiptRecord(id=pid, attempt=claim.attempt, receipt=receipt("a", "x-late"))
    await dying.record_receipts([late], now=later)


def _terminate_when_sleeping(application_name: str) -> None:
    """Wait (bounded) until a backend of ``application_name`` runs ``pg_sleep``, then end
    it: the connection dies in the middle of a statement."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for _ in range(2000):
            found = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                "AND state = 'active' AND query LIKE '%%pg_sleep%%'",
                (application_name,),
            ).fetchall()
            if found:
                conn.execute("SELECT pg_terminate_backend(%s)", (found[0][0],))
                return
            conn.execute("SELECT pg_sleep(0.005)")
    raise AssertionError("the statement never started")


def _slow_once(calls: list[str]) -> Any:
    """A store statement that sleeps (until terminated) the first time it runs."""

    async def fn(conn: Any) -> int:
        calls.append("run")
        if len(calls) == 1:
            await conn.execute("SELECT pg_sleep(60)")
        cur = await conn.execute("SELECT 7")
        found = await cur.fetchone()
        return int(found[0])

    return fn


@pytest.mark.parametrize(
    ("transaction", "idempotent"), [(True, False), (False, True)], ids=["transaction", "read"]
)
async def test_a_connection_lost_mid_statement_is_retried_when_that_is_safe(
    open_store: Any, caplog: pytest.LogCaptureFixture, transaction: bool, idempotent: bool
) -> None:
    name = f"h2op_{uuid.uuid4().hex[:8]}"
    store = await open_store(clock="caller", application_name=name)
    caplog.set_level(logging.WARNING, logger="socialkit.store")
    calls: list[str] = []
    killer = asyncio.create_task(asyncio.to_thread(_terminate_when_sleeping, name))
    result = await store._run(_slow_once(calls), transaction=transaction, idempotent=idempotent)
    await killer
    assert (result, len(calls)) == (7, 2)
    lines = [r.getMessage() for r in caplog.records if r.name == "socialkit.store"]
    assert len(lines) == 1, lines
    assert "connection lost" in lines[0]
    assert "\n" not in lines[0]


async def test_a_write_outside_a_transaction_is_not_run_twice(open_store: Any) -> None:
    """An autocommit write whose connection died may have been done: it is an error the
    caller sees (the engine's fences make its own retry safe), never silently run again."""
    from socialkit.errors import StoreError

    name = f"h2op_{uuid.uuid4().hex[:8]}"
    store = await open_store(clock="caller", application_name=name)
    calls: list[str] = []
    killer = asyncio.create_task(asyncio.to_thread(_terminate_when_sleeping, name))
    with pytest.raises(StoreError, match="terminating connection") as raised:
        await store._run(_slow_once(calls), transaction=False)
    await killer
    assert calls == ["run"]
    assert "\n" not in str(raised.value)
    # The next call gets a working connection.
    assert await store.next_due(now=T0) is None
