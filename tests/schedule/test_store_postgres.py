"""The store contract on the PostgreSQL store (the caller's clock, as the suite injects
it), against the real server in ``SOCIALKIT_TEST_POSTGRES_URL``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.postgres.support import fresh_schema, needs_postgres, store_url
from tests.schedule.store_contract import StoreContract

pytestmark = needs_postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema() as name:
        yield name


class TestPostgresStore(StoreContract):
    @pytest.fixture
    async def store(self, schema: str) -> AsyncIterator[object]:
        from socialkit.schedule.stores.postgres import PostgresStore

        store = PostgresStore(store_url(schema, clock="caller"))
        await store.open()
        yield store
        await store.close()

    @pytest.fixture
    async def peer(self, store: object, schema: str) -> AsyncIterator[object]:
        from socialkit.schedule.stores.postgres import PostgresStore

        other = PostgresStore(store_url(schema, clock="caller"))
        await other.open()
        yield other
        await other.close()
