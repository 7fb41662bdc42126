"""A pause against work committing while it runs: a claim or a hand-back that commits
while pause() waits for the row's lock is still paused (pause() found it in one state
and locked it in another; it escaped the pause, and the claim was sent).

Each race is ordered, not timed: a second connection holds the row's lock in an open
transaction until pause() is seen waiting for it (``pg_blocking_pids``), then commits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from socialkit.schedule.publication import PauseScope
from socialkit.schedule.records import PublishStart
from socialkit.schedule.states import PublicationState as S
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres


async def blocked_by(store: Any, holder: Any) -> None:
    """Return once some session waits for a lock ``holder`` (a connection) holds."""
    pid = holder.info.backend_pid
    watcher = await store.connection()
    try:
        async with asyncio.timeout(10):
            while True:
                cur = await watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (pid,),
                )
                found = await cur.fetchone()
                if found is not None and found[0] > 0:
                    return
                await asyncio.sleep(0.005)
    finally:
        await watcher.close()


async def test_a_claim_committing_while_pause_waits_is_paused(open_store) -> None:
    from socialkit.schedule.stores import _postgres_claim as claiming

    store = await open_store(clock="caller")
    await store.put_revision(POST, now=T0)
    (pub_id,) = await store.add([pub("acme")], now=T0)
    holder = await store.connection()
    try:
        async with holder.transaction():
            (claim,) = await claiming.claim(
                holder,
                "w1",
                now=T0,
                limit=5,
                lease=LEASE,
                per_account=None,
                reconcile=True,
                lock_space=store.options.lock_space,
            )
            pausing = asyncio.create_task(store.pause(PauseScope(kind="all"), now=T0))
            await blocked_by(store, holder)
        moved = await asyncio.wait_for(pausing, 10)
    finally:
        await holder.close()
    assert [(m.id, m.from_state) for m in moved] == [(pub_id, S.CLAIMED)]
    p = await store.get(pub_id)
    assert (p.state, p.lease_owner) == (S.PAUSED, None)
    start = PublishStart(id=pub_id, attempt=claim.attempt)
    assert await store.mark_publishing([start], worker="w1", now=T0, lease=LEASE) == [False]


async def test_a_claim_handed_back_while_pause_waits_is_paused(open_store) -> None:
    from socialkit.schedule.stores import _postgres_dispatch as dispatch

    store = await open_store(clock="caller")
    await store.put_revision(POST, now=T0)
    (pub_id,) = await store.add([pub("acme")], now=T0)
    (claim,) = await store.claim("w1", now=T0, limit=1, lease=LEASE)
    holder = await store.connection()
    try:
        async with holder.transaction():
            (done,), _ = await dispatch.release(
                holder, [(pub_id, claim.attempt)], T0, "engine", "handed back"
            )
            assert done
            pausing = asyncio.create_task(store.pause(PauseScope(kind="all"), now=T0))
            await blocked_by(store, holder)
        moved = await asyncio.wait_for(pausing, 10)
    finally:
        await holder.close()
    assert [(m.id, m.from_state) for m in moved] == [(pub_id, S.SCHEDULED)]
    assert (await store.get(pub_id)).state == S.PAUSED
