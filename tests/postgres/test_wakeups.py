"""LISTEN/NOTIFY: an idle worker hears another worker's commit when it makes work due
sooner than the worker would look anyway — and only then."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.schedule.records import Transition
from socialkit.schedule.states import PublicationState as S
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres

HOUR = dt.timedelta(hours=1)


class Wakes:
    """Counts wake-ups; ``await wakes.next()`` waits for the next one (bounded)."""

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def __call__(self) -> None:
        self._loop.call_soon_threadsafe(self._hit)

    def _hit(self) -> None:
        self.count += 1
        self._event.set()

    async def next(self) -> int:
        await asyncio.wait_for(self._event.wait(), timeout=10)
        self._event.clear()
        return self.count


async def test_another_workers_commit_wakes_an_idle_worker(open_store: Any) -> None:
    idle, busy = await open_store(clock="caller"), await open_store(clock="caller")
    wakes = Wakes()
    idle.subscribe(wakes)
    assert await idle.listening()
    await busy.put_revision(POST, now=T0)
    await busy.add([pub("a", due=T0 + 2 * HOUR)], now=T0)
    assert await wakes.next() == 1
    # The idle worker now sleeps until its next due time, two hours away.
    assert await idle.next_due(now=T0) == T0 + 2 * HOUR
    # Work due later than that does not wake it; work due sooner does. Notifications
    # arrive in commit order, so by the second wake-up the first was already ignored.
    await busy.add([pub("b", due=T0 + 3 * HOUR)], now=T0)
    await busy.add([pub("c", due=T0 + HOUR)], now=T0)
    assert await wakes.next() == 2


async def test_a_retry_scheduled_by_another_worker_wakes(open_store: Any) -> None:
    idle, busy = await open_store(clock="caller"), await open_store(clock="caller")
    await busy.put_revision(POST, now=T0)
    (pub_id,) = await busy.add([pub("a")], now=T0)
    (claim,) = await busy.claim("busy", now=T0, limit=1, lease=LEASE)
    wakes = Wakes()
    idle.subscribe(wakes)
    assert await idle.listening()
    assert await idle.next_due(now=T0) == T0 + LEASE  # only the lease is pending
    await busy.transition(
        Transition(
            id=pub_id,
            expect_state=S.CLAIMED,
            expect_attempt=claim.attempt,
            to=S.RETRY_WAIT,
            run_at=T0 + dt.timedelta(seconds=30),
        ),
        now=T0,
    )
    assert await wakes.next() == 1


async def test_unsubscribed_callbacks_stay_quiet_and_listen_can_be_off(open_store: Any) -> None:
    quiet = await open_store(clock="caller", listen="false")
    wakes = Wakes()
    quiet.subscribe(wakes)
    assert not await quiet.listening(within=0.1)
    await quiet.put_revision(POST, now=T0)
    await quiet.add([pub("a")], now=T0)  # this process's own commits still wake it
    assert await wakes.next() == 1


async def test_a_commit_heard_while_next_due_runs_wakes_the_worker(open_store: Any) -> None:
    """The query's snapshot may predate a commit whose NOTIFY arrives before its answer is
    in: that work is not in the answer, and it was judged by the previous answer (work due
    later than that was dropped) so the worker slept past it. Ordered, not timed: the
    commit is made, and heard, between the query and its return."""
    from socialkit.schedule.records import ReceiptRecord
    from socialkit.schedule.stores import postgres as pg
    from tests.schedule.store_contract import receipt

    worker, planner = await open_store(clock="caller"), await open_store(clock="caller")
    await planner.put_revision(POST, now=T0)
    await planner.add([pub("a", due=T0)], now=T0)
    assert await worker.next_due(now=T0) == T0  # the previous answer
    (claim,) = await worker.claim("w", now=T0, limit=1, lease=LEASE)
    record = ReceiptRecord(id=claim.id, attempt=claim.attempt, receipt=receipt())
    await worker.record_receipts([record], now=T0)
    await planner.add([pub("b", due=T0 + 6 * HOUR)], now=T0)
    heard = asyncio.Event()
    real_heard = worker._heard

    def hearing(payload: str) -> None:
        real_heard(payload)
        heard.set()

    worker._heard = hearing  # before the listener starts: it is given this one
    wakes = Wakes()
    worker.subscribe(wakes)  # listening from here: nothing from the set-up is heard
    assert await worker.listening()
    real_next_due = pg.holds.next_due

    async def next_due_then_a_commit(conn: Any, now: Any, *args: Any) -> Any:
        value = await real_next_due(conn, now, *args)  # its snapshot: before the commit
        await planner.add([pub("c", due=T0 + dt.timedelta(minutes=1))], now=T0)
        await asyncio.wait_for(heard.wait(), 10)
        return value

    pg.holds.next_due = next_due_then_a_commit
    try:
        assert await worker.next_due(now=T0) == T0 + 6 * HOUR  # "c" is not in it
    finally:
        pg.holds.next_due = real_next_due
    assert await wakes.next() == 1  # the worker wakes and asks again
    assert await worker.next_due(now=T0) == T0 + dt.timedelta(minutes=1)
