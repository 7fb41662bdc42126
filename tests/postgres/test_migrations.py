"""Versioned migrations with a minimum compatible version: a rolling deploy, simulated.

"Release 2" is the current code plus a migration that adds a column old code ignores
(``min_compatible`` stays 1); "release 3" adds one old code must not run against
(``min_compatible`` 3). The current code plays the previous release throughout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from socialkit.errors import StoreError
from socialkit.schedule.records import PublicationQuery, PublishStart, ReceiptRecord
from socialkit.schedule.stores._postgres_schema import MIGRATIONS, Migration
from socialkit.schedule.stores.base import SCHEMA_VERSION
from tests.schedule.store_contract import LEASE, POST, T0, pub, receipt

pytestmark = pytest.mark.postgres

V2 = Migration(
    version=SCHEMA_VERSION + 1,
    min_compatible=SCHEMA_VERSION,
    statements=(
        "ALTER TABLE publications ADD COLUMN priority integer NOT NULL DEFAULT 0",
        "CREATE INDEX publications_priority ON publications (priority) WHERE priority > 0",
    ),
)
V3 = Migration(
    version=SCHEMA_VERSION + 2,
    min_compatible=SCHEMA_VERSION + 2,
    statements=("ALTER TABLE publications RENAME COLUMN zone TO time_zone",),
)


async def test_old_workers_keep_running_on_a_compatible_newer_schema(open_store: Any) -> None:
    old = await open_store(clock="caller")
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub("a")], now=T0)

    new = await open_store(
        clock="caller", migrations=(*MIGRATIONS, V2), code_version=SCHEMA_VERSION + 1
    )
    info = await new.schema()
    assert (info.version, info.min_compatible) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert (await new.get(kept)).id == kept

    # The old worker, already running, goes on working against the migrated schema…
    (claim,) = await old.claim("old-worker", now=T0, limit=5, lease=LEASE)
    start = PublishStart(id=claim.id, attempt=claim.attempt)
    assert await old.mark_publishing([start], worker="old-worker", now=T0, lease=LEASE) == [True]
    record = ReceiptRecord(id=claim.id, attempt=claim.attempt, receipt=receipt())
    assert await old.record_receipts([record], now=T0) == [True]
    # …and an old worker that starts now may open it too.
    restarted = await open_store(clock="caller")
    assert (await restarted.schema()).version == SCHEMA_VERSION + 1
    await restarted.add([pub("b")], now=T0)
    # The new release sees what the old one wrote, with its own column's default.
    assert len((await new.list_publications(PublicationQuery())).items) == 2
    assert (await new.get(kept)).state == "published"


async def test_an_incompatible_migration_stops_old_workers(open_store: Any, schema: str) -> None:
    old = await open_store(clock="caller")
    await old.put_revision(POST, now=T0)
    await old.add([pub("a")], now=T0)
    await old.claim("old-worker", now=T0, limit=5, lease=LEASE)  # starts its liveness beat

    await open_store(
        clock="caller", migrations=(*MIGRATIONS, V2, V3), code_version=SCHEMA_VERSION + 2
    )
    # The running old worker notices at its next liveness beat (or when it reads the
    # schema, as the beat does) and stops claiming.
    info = await old.schema()
    assert (info.version, info.min_compatible) == (SCHEMA_VERSION + 2, SCHEMA_VERSION + 2)
    with pytest.raises(StoreError, match=rf"needs socialkit schema {SCHEMA_VERSION + 2} or newer"):
        await old.claim("old-worker", now=T0, limit=5, lease=LEASE)
    # An old worker starting now is refused at once, with the version it needs.
    with pytest.raises(StoreError, match="upgrade socialkit"):
        await open_store(clock="caller")


async def test_migrate_on_open_can_be_left_to_the_operator(schema: str) -> None:
    from socialkit.schedule.stores.postgres import PostgresStore
    from tests.postgres.support import store_url

    cautious = PostgresStore(store_url(schema), migrate_on_open=False)
    with pytest.raises(StoreError, match="socialkit store migrate"):
        await cautious.open()
    await cautious.close()


async def test_two_workers_opening_together_migrate_once(schema: str) -> None:
    from socialkit.schedule.stores.postgres import PostgresStore
    from tests.postgres.support import store_url

    stores = [PostgresStore(store_url(schema)) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        infos = await asyncio.gather(*(s.schema() for s in stores))
        assert {(i.version, i.min_compatible) for i in infos} == {(SCHEMA_VERSION, 1)}
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_version_2_lets_a_version_1_store_hold_deleted_publications(
    open_store: Any,
) -> None:
    """A store made by schema 1 (whose check refused ``deleted``) takes the new state once
    the current code opens it; the rows already there are untouched."""
    from socialkit.schedule.records import Transition
    from socialkit.schedule.states import PublicationState as S

    first = await open_store(clock="caller", migrations=MIGRATIONS[:1], code_version=1)
    await first.put_revision(POST, now=T0)
    (kept,) = await first.add([pub("a")], now=T0)
    (claim,) = await first.claim("w", now=T0, limit=5, lease=LEASE)
    await first.mark_publishing(
        [PublishStart(id=claim.id, attempt=claim.attempt)], worker="w", now=T0, lease=LEASE
    )
    await first.record_receipts(
        [ReceiptRecord(id=claim.id, attempt=claim.attempt, receipt=receipt())], now=T0
    )
    take_down = Transition(
        id=kept,
        expect_state=S.PUBLISHED,
        expect_attempt=claim.attempt,
        to=S.DELETED,
        kind="deleted",
    )
    with pytest.raises(Exception, match="publications_state_check"):
        await first.transition(take_down, now=T0)

    current = await open_store(clock="caller")
    info = await current.schema()
    assert (info.version, info.min_compatible) == (2, 1)
    await current.transition(take_down, now=T0)
    assert (await current.get(kept)).state == S.DELETED
    # a receipt arriving late leaves it deleted
    late = ReceiptRecord(id=kept, attempt=claim.attempt, receipt=receipt(), source="reconcile")
    assert await current.record_receipts([late], now=T0) == [False]
    assert (await current.get(kept)).state == S.DELETED
