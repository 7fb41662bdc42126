"""The store contract on the in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from socialkit.schedule.stores.memory import MemoryStore
from tests.schedule.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[MemoryStore]:
        store = MemoryStore()
        await store.open()
        yield store
        await store.close()


async def test_a_transition_whose_event_cannot_be_recorded_changes_nothing() -> None:
    """The event is built before the row changes (review t02): an actor the event log
    refuses leaves the publication as it was, with no event, as a rolled-back
    transaction does on SQLite and PostgreSQL (before, it was cancelled, unlogged)."""
    from pydantic import ValidationError

    from socialkit.schedule.records import Transition
    from socialkit.schedule.states import PublicationState as S
    from tests.schedule.store_contract import T0, pub

    store = MemoryStore()
    await store.open()
    [pub_id] = await store.add([pub()], now=T0)
    before = await store.get(pub_id, history=True)
    cancel = Transition(
        id=pub_id,
        expect_state=S.SCHEDULED,
        expect_attempt=0,
        to=S.CANCELLED,
        kind="cancelled",
        actor=None,  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError, match="actor"):
        await store.transition(cancel, now=T0)
    assert await store.get(pub_id, history=True) == before
    await store.close()
