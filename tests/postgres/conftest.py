"""Fixtures for the PostgreSQL tests: a fresh schema per test, and stores on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.cli.conftest import cli
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema, store_url

__all__ = ["cli", "open_store", "schema"]


@pytest.fixture
def schema() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    with fresh_schema() as name:
        yield name


@pytest.fixture
async def open_store(schema: str) -> AsyncIterator[Callable[..., Any]]:
    """``await open_store(**options)``: an opened store on this test's schema."""
    from socialkit.schedule.stores.postgres import PostgresStore

    opened: list[PostgresStore] = []

    async def make(*, schema_name: str | None = None, **options: Any) -> PostgresStore:
        kwargs = {
            k: options.pop(k)
            for k in ("migrations", "code_version", "migrate_on_open")
            if k in options
        }
        store = PostgresStore(
            store_url(schema_name or schema, **{k: str(v) for k, v in options.items()}), **kwargs
        )
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in reversed(opened):
        await store.close()
