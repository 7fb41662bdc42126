"""``socialkit store copy`` SQLite → PostgreSQL → SQLite with a row of every kind: every
publication state (leased ones included: a worker that died leaves them), histories,
receipts, checkpoints, metric tasks still to collect and snapshots, accounts, rules,
pause switches and budgets. What the final store answers equals what the first did."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from socialkit.schedule.records import Budget, PublishStart, Transition
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores.ops import copy_store
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.postgres.populate import populate
from tests.postgres.support import store_url
from tests.postgres.test_store_commands import snapshot
from tests.schedule.store_contract import LEASE, T0, pub

pytestmark = pytest.mark.postgres

SEC = dt.timedelta(seconds=1)
FAR = T0 + dt.timedelta(days=400)


async def _every_state(store: Any, made: dict[str, list[str]]) -> None:
    """Add what populate() leaves out: draft, claimed, publishing, missed, cancelled,
    deleted, and a budget."""
    ids = await store.add(
        [pub("acct9", state=S.DRAFT)]
        + [pub(f"acct{9 + i}", due=T0 + i * SEC) for i in range(1, 6)],
        now=T0,
    )
    _, claimed, publishing, missed, cancelled, deleted = ids
    claims = {
        c.id: c
        for c in await store.claim(
            "gone", now=T0 + 9 * SEC, limit=10, lease=LEASE, per_account=None
        )
        if c.id in ids
    }
    assert set(claims) == {claimed, publishing, missed, cancelled, deleted}
    await store.mark_publishing(
        [PublishStart(id=publishing, attempt=claims[publishing].attempt)],
        worker="gone",
        now=T0 + 9 * SEC,
        lease=LEASE,
    )
    for pid, to in ((missed, S.MISSED), (cancelled, S.CANCELLED), (deleted, S.FAILED)):
        await store.transition(
            Transition(id=pid, expect_state=S.CLAIMED, expect_attempt=claims[pid].attempt, to=to),
            now=T0 + 10 * SEC,
        )
    gone = made["published"][1]
    await store.transition(
        Transition(
            id=gone,
            expect_state=S.PUBLISHED,
            expect_attempt=(await store.get(gone)).attempt,
            to=S.DELETED,
            reason="deleted on the platform",
        ),
        now=T0 + 11 * SEC,
    )
    await store.add([pub("acct9", due=T0 + dt.timedelta(days=1))], now=T0)  # scheduled
    await store.set_budget(
        Budget(account_id="acct0", scope="media", blocked_until=T0 + 3600 * SEC), now=T0
    )


async def _full(store: Any) -> dict[str, Any]:
    found = await snapshot(store)
    found["states"] = sorted({p["state"] for p in found["publications"].values()})
    return found


async def test_copy_round_trip_of_every_kind_of_row(tmp_path: Path, schema: str) -> None:
    first_url = f"sqlite:///{tmp_path}/first.db"
    first = SqliteStore(first_url)
    await first.open()
    await _every_state(first, await populate(first))
    before = await _full(first)
    await first.close()
    assert set(before["states"]) == {s.value for s in S}, before["states"]
    assert before["budgets"]
    assert before["pauses"]

    middle_url = store_url(schema, clock="caller")
    await copy_store(first_url, middle_url)
    last_url = f"sqlite:///{tmp_path}/last.db"
    await copy_store(middle_url, last_url)
    first = SqliteStore(first_url)
    await first.open()
    tasks = await first.claim_metric_tasks("w", now=FAR, limit=100, lease=LEASE)
    await first.close()
    before_tasks = sorted((t.publication_id, t.label) for t in tasks)
    assert before_tasks

    from socialkit.schedule.stores.postgres import PostgresStore

    for store in (PostgresStore(middle_url), SqliteStore(last_url)):
        await store.open()
        try:
            assert await _full(store) == before, store
            # Metric tasks still to collect came along, with what they collect.
            tasks = await store.claim_metric_tasks("w", now=FAR, limit=100, lease=LEASE)
            assert sorted((t.publication_id, t.label) for t in tasks) == before_tasks
        finally:
            await store.close()
