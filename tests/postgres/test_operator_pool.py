"""A pool smaller than what a worker does at once: store calls queue for a connection
(no deadlock), and a wait that runs out says which option to change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from socialkit.errors import StoreError
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres


async def test_a_worker_on_one_connection_gets_everything_done(open_store: Any) -> None:
    store = await open_store(clock="caller", pool_max=1)
    await store.put_revision(POST, now=T0)
    await store.add([pub(f"a{i}", due=T0) for i in range(6)], now=T0)
    # What a worker does at once: claims, heartbeats, metric claims, next_due, beats.
    claims = await store.claim("w", now=T0, limit=3, lease=LEASE, per_account=None)
    results = await asyncio.wait_for(
        asyncio.gather(
            store.claim("w", now=T0, limit=3, lease=LEASE, per_account=None),
            store.heartbeat("w", [(c.id, c.attempt) for c in claims], now=T0, lease=LEASE),
            store.claim_metric_tasks("w", now=T0, limit=5, lease=LEASE),
            store.next_due(now=T0),
            store.events(),
        ),
        timeout=30,
    )
    assert len(results[0]) == 3
    assert results[1] == []


async def test_a_pool_timeout_names_pool_max(open_store: Any) -> None:
    store = await open_store(clock="caller", pool_max=1)
    pool = store._pool
    pool.timeout = 0.2  # the default is 30 s
    held = await pool.getconn()  # every connection busy
    try:
        with pytest.raises(StoreError) as raised:
            await store.next_due(now=T0)
    finally:
        await pool.putconn(held)
    message = str(raised.value)
    assert "pool_max=1" in message
    assert "0.2 s" in message
    assert await store.next_due(now=T0) is None
