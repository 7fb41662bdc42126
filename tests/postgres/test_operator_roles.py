"""Workers as a least-privilege role: the schema's owner migrates, and the workers' role
may only read and write rows. Opening a current store, claiming, beating and
``socialkit store status`` must need nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from socialkit.schedule.stores.ops import store_status
from tests.postgres.support import POSTGRES_URL, store_url
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres


@pytest.fixture
def worker_role(schema: str) -> Iterator[str]:
    """A login role with row rights on ``schema``'s tables only (``meta`` read-only)."""
    import psycopg
    from psycopg import sql

    role = f"sk_worker_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _grant(schema: str, role: str) -> None:
    import psycopg
    from psycopg import sql

    s, r = sql.Identifier(schema), sql.Identifier(role)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                s, r
            )
        )
        conn.execute(
            sql.SQL("GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r)
        )
        conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {}.meta FROM {}").format(s, r))


def _as(role: str, url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


async def test_a_worker_role_without_create_rights_opens_and_works(
    open_store: Any, schema: str, worker_role: str
) -> None:
    from socialkit.schedule.stores.postgres import PostgresStore

    owner = await open_store(clock="caller")  # migrates, as the schema's owner
    await owner.put_revision(POST, now=T0)
    (pid,) = await owner.add([pub("a", due=T0)], now=T0)
    _grant(schema, worker_role)

    url = _as(worker_role, store_url(schema, clock="caller"))
    worker = PostgresStore(url)
    await worker.open()
    try:
        (claim,) = await worker.claim("w1", now=T0, limit=5, lease=LEASE)
        assert claim.id == pid
        assert await worker.heartbeat("w1", [(pid, claim.attempt)], now=T0, lease=LEASE) == []
        assert (await worker.schema()).version >= 3
        status = await store_status(url)
        assert [w["id"] for w in status.workers] == ["w1"]
    finally:
        await worker.close()
