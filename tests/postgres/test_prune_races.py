"""`store prune` against work committing while it runs: a publication a person moves
out of a finished state while the prune waits for its row is kept, with its history
(picked first and deleted by id, it was deleted and its new event left behind).

Ordered, not timed: a second connection holds the publication's row in an open
transaction until the prune is seen waiting for it (``pg_blocking_pids``), then moves it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from socialkit.schedule.records import PublishStart, Transition
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores.ops import prune_store
from tests.postgres.support import store_url
from tests.postgres.test_pause_races import blocked_by
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres


async def test_a_publication_rescheduled_while_the_prune_waits_is_kept(
    open_store: Any, schema: str
) -> None:
    from socialkit.schedule.stores._postgres_rows import event_row, insert_events

    store = await open_store(clock="caller")
    await store.put_revision(POST, now=T0)
    (pub_id,) = await store.add([pub("acme")], now=T0)
    (claim,) = await store.claim("w", now=T0, limit=1, lease=LEASE)
    start = PublishStart(id=pub_id, attempt=claim.attempt)
    await store.mark_publishing([start], worker="w", now=T0, lease=LEASE)
    await store.transition(
        Transition(
            id=pub_id,
            expect_state=S.PUBLISHING,
            expect_attempt=claim.attempt,
            to=S.FAILED,
            reason="rejected",
        ),
        now=T0,
    )
    # T0 is long past: the failed publication is one a prune of 30 days removes
    person = await store.connection()
    try:
        async with person.transaction():
            await person.execute("SELECT 1 FROM publications WHERE id = %s FOR UPDATE", (pub_id,))
            pruning = asyncio.create_task(prune_store(store_url(schema), dt.timedelta(days=30)))
            await blocked_by(store, person)
            # a person retries it (as resolve/retry would: a move and its event)
            now = dt.datetime.now(dt.UTC)
            await person.execute(
                "UPDATE publications SET state = 'scheduled', run_at = %s, updated_at = %s "
                "WHERE id = %s",
                (now, now, pub_id),
            )
            await insert_events(
                person,
                [
                    event_row(
                        now,
                        "transition",
                        pub_id,
                        "default",
                        "acme",
                        None,
                        actor="person",
                        reason="try again",
                        attempt=claim.attempt,
                        from_state="failed",
                        to_state="scheduled",
                    )
                ],
            )
        removed = await asyncio.wait_for(pruning, 10)
    finally:
        await person.close()
    assert removed["publications"] == 0
    p = await store.get(pub_id, history=True)
    assert p.state == S.SCHEDULED
    assert [e.to_state for e in p.history][-2:] == [S.FAILED, S.SCHEDULED]
    assert p.post == POST
