"""`store prune` keeps a post revision stored again within its window: the scheduler
stores the revision, then adds the publications pointing at it, and a prune between the
two went by the revision's first storing (maybe long past) and deleted it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from socialkit.schedule.stores.ops import prune_store
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema, store_url
from tests.schedule.store_contract import POST, pub


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/prune.db"
        return
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    with fresh_schema() as schema:
        yield store_url(schema, clock="caller")


@pytest.fixture
async def store(url: str) -> AsyncIterator[Any]:
    from socialkit.schedule.stores import store_from_url

    opened = store_from_url(url)
    await opened.open()
    yield opened
    await opened.close()


async def test_a_revision_stored_again_is_kept_for_the_publication_about_to_use_it(
    store: Any, url: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    await store.put_revision(POST, now=now - dt.timedelta(days=90))  # first used long ago
    await store.put_revision(POST, now=now)  # scheduled again today
    removed = await prune_store(url, dt.timedelta(days=30))
    assert removed["revisions"] == 0
    (pub_id,) = await store.add([pub("acme", due=now)], now=now)
    assert (await store.get(pub_id)).post == POST


async def test_a_revision_nothing_stored_or_used_within_the_window_is_pruned(
    store: Any, url: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    await store.put_revision(POST, now=now - dt.timedelta(days=90))
    await store.put_revision(POST, now=now - dt.timedelta(days=60))
    assert (await prune_store(url, dt.timedelta(days=30)))["revisions"] == 1


async def _put_as_schema_5(url: str, at: dt.datetime) -> None:
    """Store ``POST`` as schema 5 code did: a second storing changes nothing."""
    post = POST.model_dump_json(exclude_none=True)
    if url.startswith("sqlite"):
        import sqlite3

        from socialkit.schedule.stores._common import to_us

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(
                "INSERT INTO revisions (revision, post, created_at) VALUES (?,?,?) "
                "ON CONFLICT DO NOTHING",
                (POST.revision(), post, to_us(at)),
            )
        return
    import psycopg
    from psycopg import sql

    schema = url.rpartition("schema=")[2].partition("&")[0]
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        await conn.execute(
            sql.SQL(
                "INSERT INTO {}.revisions (revision, post, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING"
            ).format(sql.Identifier(schema)),
            (POST.revision(), post, at),
        )


async def test_schema_6_adds_used_at_and_schema_5_code_keeps_running(url: str) -> None:
    """A store at 5 moves to 6 keeping its revisions; what schema 5 code stored (no
    ``used_at``) is pruned by when it was first stored, as before; schema 5 code may keep
    running against it."""
    from socialkit.schedule.stores.base import SCHEMA_VERSION

    if url.startswith("sqlite"):
        from socialkit.schedule.stores._sqlite_schema import MIGRATIONS
        from socialkit.schedule.stores.sqlite import SqliteStore as Store
    else:
        from socialkit.schedule.stores._postgres_schema import (  # type: ignore[assignment]
            MIGRATIONS,
        )
        from socialkit.schedule.stores.postgres import (  # type: ignore[assignment]
            PostgresStore as Store,
        )

    now = dt.datetime.now(dt.UTC)
    old = Store(url, migrations=MIGRATIONS[:5], code_version=5)
    await old.open()
    await old.close()
    await _put_as_schema_5(url, now - dt.timedelta(days=90))
    await _put_as_schema_5(url, now)  # kept the first time

    current = Store(url)
    await current.open()
    try:
        info = await current.schema()
        assert (info.version, info.min_compatible) == (SCHEMA_VERSION, 3)
        assert await current.get_revision(POST.revision()) == POST
        assert (await prune_store(url, dt.timedelta(days=30)))["revisions"] == 1
        await _put_as_schema_5(url, now - dt.timedelta(days=90))  # schema 5 code still runs
        await current.put_revision(POST, now=now)
        assert (await prune_store(url, dt.timedelta(days=30)))["revisions"] == 0
    finally:
        await current.close()
    again = Store(url, migrations=MIGRATIONS[:5], code_version=5)
    await again.open()  # not refused
    try:
        assert await again.get_revision(POST.revision()) == POST
    finally:
        await again.close()


async def test_add_with_revisions_moves_a_stored_revision_s_used_at(store: Any, url: str) -> None:
    """schedule_many stores its posts with ``add_with_revisions``: a revision first
    stored long ago and stored again through it is kept, as through ``put_revision``."""
    now = dt.datetime.now(dt.UTC)
    await store.put_revision(POST, now=now - dt.timedelta(days=90))
    assert await store.add_with_revisions([POST], [], now=now) == []
    assert (await prune_store(url, dt.timedelta(days=30)))["revisions"] == 0


async def test_add_with_revisions_on_a_store_at_schema_5(url: str) -> None:
    """Code at schema 6 or later running on a store not migrated past 5 (no ``used_at``)
    stores a batch's revisions as ``put_revision`` does there."""
    if url.startswith("sqlite"):
        from socialkit.schedule.stores._sqlite_schema import MIGRATIONS
        from socialkit.schedule.stores.sqlite import SqliteStore as Store
    else:
        from socialkit.schedule.stores._postgres_schema import (  # type: ignore[assignment]
            MIGRATIONS,
        )
        from socialkit.schedule.stores.postgres import (  # type: ignore[assignment]
            PostgresStore as Store,
        )

    now = dt.datetime.now(dt.UTC)
    old = Store(url, migrations=MIGRATIONS[:5], code_version=5)
    await old.open()
    try:
        new = pub("acme", due=now)
        assert await old.add_with_revisions([POST, POST], [new], now=now) == [new.id]
        assert await old.add_with_revisions([POST], [], now=now) == []  # stored again
        assert (await old.get(new.id)).post == POST
    finally:
        await old.close()
