"""``clock=database``: a worker whose machine clock is 5 minutes off publishes neither
early nor late. What is due is decided by the database's clock; ``next_due`` answers on
the caller's clock, since the caller sleeps on it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.models.content import Post
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.clock import SystemClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.schedule.states import PublicationState as S
from tests.postgres.support import store_url
from tests.schedule.conftest import account
from tests.schedule.fakes import make_platform
from tests.schedule.store_contract import LEASE, POST, pub

pytestmark = pytest.mark.postgres

OFF = dt.timedelta(minutes=5)
SEC = dt.timedelta(seconds=1)


async def _db_now(store: Any) -> dt.datetime:
    async def read(conn: Any) -> dt.datetime:
        cur = await conn.execute("SELECT statement_timestamp()")
        found = await cur.fetchone()
        return found[0]  # type: ignore[no-any-return]

    return await store._run(read, transaction=False)


async def test_next_due_is_given_on_the_callers_clock(open_store: Any) -> None:
    store = await open_store()
    await store.put_revision(POST)
    due = (await _db_now(store)) + 60 * SEC
    await store.add([pub("a", due=due)])
    assert await store.next_due() == due
    # A caller in step with the database (within a second): the due time as stored.
    assert await store.next_due(now=await _db_now(store)) == due
    for skew in (-OFF, OFF):
        answer = await store.next_due(now=(await _db_now(store)) + skew)
        assert answer is not None
        # The round trip's time is the only error.
        assert abs(answer - (due + skew)) < SEC, (skew, answer, due)
    # What is due is still the database's business: a caller 5 minutes ahead claims
    # nothing that is due in a minute.
    assert await store.claim("w", now=due + OFF, limit=5, lease=LEASE) == []


class SkewedClock(SystemClock):
    """The system clock, ``offset`` off (a machine whose NTP is broken)."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    def now(self) -> dt.datetime:
        return super().now() + self.offset


@pytest.mark.parametrize("offset", [-OFF, OFF], ids=["behind", "ahead"])
async def test_a_worker_with_a_clock_5_minutes_off_publishes_on_time(
    schema: str, offset: dt.timedelta
) -> None:
    registry = Registry(load_entry_points=False)
    fake = make_platform("fake")
    registry.register(fake)
    url = store_url(schema)

    def scheduler(clock: SystemClock) -> AsyncScheduler:
        return AsyncScheduler(
            url,
            registry=registry,
            clock=clock,
            config=EngineConfig(worker_id=f"w{clock.now():%S%f}"),
            credentials=MemoryCredentialProvider({}),
            accounts=[account("acme")],
        )

    async with scheduler(SystemClock()) as planner, scheduler(SkewedClock(offset)) as worker:
        due = (await _db_now(planner.store)) + 2 * SEC
        (p,) = await planner.schedule(Post(text="on time"), ["acme"], at=due)
        stop = asyncio.Event()
        serving = asyncio.create_task(worker.serve(stop))
        try:
            for _ in range(600):  # bounded: 30 s; on time is 2 s
                found = await planner.get(p.id, history=True)
                if found.state == S.PUBLISHED:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"not published 30 s after it was due: {found.state}")
        finally:
            stop.set()
            await serving
    # Event times are the database's clock: never before the due time, and not late.
    sending = [e for e in found.history if e.to_state == S.PUBLISHING]
    assert sending
    assert due <= sending[0].at < due + 3 * SEC, (due, sending[0].at)
