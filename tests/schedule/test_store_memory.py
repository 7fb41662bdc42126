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
