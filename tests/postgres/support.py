"""What the PostgreSQL tests share: the server's URL, and a schema of their own per test.

The tests run against the real server named by ``SOCIALKIT_TEST_POSTGRES_URL`` (CI sets
it in ``.ci/run``); without it they skip and say why. Each test gets a fresh schema with
a random name and drops it afterwards, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ENV = "SOCIALKIT_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(ENV, "")
SKIP_REASON = (
    f"{ENV} is not set: the PostgreSQL store tests need a server "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
)

needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_REASON),
]


def store_url(schema: str, **options: str) -> str:
    """The test server's URL with ``schema`` and further store options."""
    query = "&".join([f"schema={schema}", *(f"{k}={v}" for k, v in options.items())])
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}{query}"


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def fresh_schema(prefix: str = "sk_test") -> Iterator[str]:
    """A schema name nobody uses; the schema is dropped when the block ends."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        drop_schema(schema)
