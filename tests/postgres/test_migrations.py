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
from socialkit.schedule.stores.base import MIN_COMPATIBLE_SCHEMA, SCHEMA_VERSION
from tests.schedule.store_contract import LEASE, POST, T0, collected_again_at_24h, pub, receipt

pytestmark = pytest.mark.postgres

# The simulated releases come after every migration this code knows.
LATEST = MIGRATIONS[-1].version

V2 = Migration(
    version=LATEST + 1,
    min_compatible=SCHEMA_VERSION,
    statements=(
        "ALTER TABLE publications ADD COLUMN priority integer NOT NULL DEFAULT 0",
        "CREATE INDEX publications_priority ON publications (priority) WHERE priority > 0",
    ),
)
# Schema 1 as this code (playing the version-1 code) can write to it: with the metric
# tasks' ``rest`` column of schema 3, which a receipt writes (its migration adds the
# column only where it is missing).
V1 = Migration(
    version=1,
    min_compatible=1,
    statements=(*MIGRATIONS[0].statements, "ALTER TABLE metric_tasks ADD COLUMN rest text"),
)
V3 = Migration(
    version=LATEST + 2,
    min_compatible=LATEST + 2,
    statements=("ALTER TABLE publications RENAME COLUMN zone TO time_zone",),
)


async def test_old_workers_keep_running_on_a_compatible_newer_schema(open_store: Any) -> None:
    old = await open_store(clock="caller")
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub("a")], now=T0)

    new = await open_store(clock="caller", migrations=(*MIGRATIONS, V2), code_version=LATEST + 1)
    info = await new.schema()
    assert (info.version, info.min_compatible) == (LATEST + 1, SCHEMA_VERSION)
    assert (await new.get(kept)).id == kept

    # The old worker, already running, goes on working against the migrated schema…
    (claim,) = await old.claim("old-worker", now=T0, limit=5, lease=LEASE)
    start = PublishStart(id=claim.id, attempt=claim.attempt)
    assert await old.mark_publishing([start], worker="old-worker", now=T0, lease=LEASE) == [True]
    record = ReceiptRecord(id=claim.id, attempt=claim.attempt, receipt=receipt())
    assert await old.record_receipts([record], now=T0) == [True]
    # …and an old worker that starts now may open it too.
    restarted = await open_store(clock="caller")
    assert (await restarted.schema()).version == LATEST + 1
    await restarted.add([pub("b")], now=T0)
    # The new release sees what the old one wrote, with its own column's default.
    assert len((await new.list_publications(PublicationQuery())).items) == 2
    assert (await new.get(kept)).state == "published"


async def test_an_incompatible_migration_stops_old_workers(open_store: Any, schema: str) -> None:
    old = await open_store(clock="caller")
    await old.put_revision(POST, now=T0)
    await old.add([pub("a")], now=T0)
    await old.claim("old-worker", now=T0, limit=5, lease=LEASE)  # starts its liveness beat

    # (forced: by default opening refuses to strand it, see the test below)
    await open_store(
        clock="caller",
        migrations=(*MIGRATIONS, V2, V3),
        code_version=LATEST + 2,
        migrate_on_open="force",
    )
    # The running old worker notices at its next liveness beat (or when it reads the
    # schema, as the beat does) and stops claiming.
    info = await old.schema()
    assert (info.version, info.min_compatible) == (LATEST + 2, LATEST + 2)
    with pytest.raises(StoreError, match=rf"needs socialkit schema {LATEST + 2} or newer"):
        await old.claim("old-worker", now=T0, limit=5, lease=LEASE)
    # An old worker starting now is refused at once, with the version it needs.
    with pytest.raises(StoreError, match="upgrade socialkit"):
        await open_store(clock="caller")


async def test_opening_a_newer_store_does_not_strand_live_workers(
    open_store: Any, schema: str
) -> None:
    """Opening migrates forward, but not past live workers the migration would stop (as
    `socialkit store migrate` refuses without --force): the opener is refused, naming
    them and the command; nothing changes and they keep working."""
    old = await open_store(clock="caller")
    await old.put_revision(POST, now=T0)
    await old.add([pub("a"), pub("b")], now=T0)
    await old.claim("old-worker", now=T0, limit=1, lease=LEASE)  # starts its liveness beat

    with pytest.raises(StoreError) as refused:
        await open_store(clock="caller", migrations=(*MIGRATIONS, V2, V3), code_version=LATEST + 2)
    message = str(refused.value)
    assert f"old-worker (schema {SCHEMA_VERSION})" in message
    assert "socialkit store migrate --force" in message
    assert "nothing was changed" in message
    info = await old.schema()
    assert (info.version, info.min_compatible) == (LATEST, MIN_COMPATIBLE_SCHEMA)
    assert len(await old.claim("old-worker", now=T0, limit=1, lease=LEASE)) == 1  # still works
    # A compatible migration does not stop it: opening applies it.
    compatible = await open_store(
        clock="caller", migrations=(*MIGRATIONS, V2), code_version=LATEST + 1
    )
    assert (await compatible.schema()).version == LATEST + 1
    # Forced, opening migrates anyway; the old worker stops at its next beat.
    await open_store(
        clock="caller",
        migrations=(*MIGRATIONS, V2, V3),
        code_version=LATEST + 2,
        migrate_on_open="force",
    )
    assert (await old.schema()).version == LATEST + 2  # as its next beat reads it
    with pytest.raises(StoreError, match=rf"needs socialkit schema {LATEST + 2} or newer"):
        await old.claim("old-worker", now=T0, limit=5, lease=LEASE)


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
        assert {(i.version, i.min_compatible) for i in infos} == {
            (SCHEMA_VERSION, MIN_COMPATIBLE_SCHEMA)
        }
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_version_2_lets_a_version_1_store_hold_deleted_publications(
    open_store: Any,
) -> None:
    """A store made by schema 1 (whose check refused ``deleted``) takes the new state once
    the current code opens it; the rows already there are untouched."""
    from socialkit.schedule.records import Transition
    from socialkit.schedule.states import PublicationState as S

    first = await open_store(clock="caller", migrations=(V1,), code_version=1)
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

    # forced: the schema-1 store is still open (alive), and would be stranded
    current = await open_store(clock="caller", migrate_on_open="force")
    info = await current.schema()
    assert (info.version, info.min_compatible) == (SCHEMA_VERSION, MIN_COMPATIBLE_SCHEMA)
    await current.transition(take_down, now=T0)
    assert (await current.get(kept)).state == S.DELETED
    # a receipt arriving late leaves it deleted
    late = ReceiptRecord(id=kept, attempt=claim.attempt, receipt=receipt(), source="reconcile")
    assert await current.record_receipts([late], now=T0) == [False]
    assert (await current.get(kept)).state == S.DELETED


async def test_version_2_lists_every_row_with_leased_ones_kept_out_of_the_listing_indexes(
    open_store: Any, schema: str
) -> None:
    """A store made by schema 1 with publications in every phase of a send, migrated to
    2: the listing indexes hold only rows without a lease, key columns compare bytewise,
    the indexes by publication are gone, and lists still return every row once, in
    order; dispatch goes on."""
    import datetime as dt

    import psycopg

    from socialkit.schedule.states import PublicationState as S
    from tests.postgres.support import POSTGRES_URL

    first = await open_store(clock="caller", migrations=(V1,), code_version=1)
    await first.put_revision(POST, now=T0)
    minute = dt.timedelta(minutes=1)
    ids = await first.add([pub(f"acct-{i % 2}", due=T0 + i * minute) for i in range(6)], now=T0)
    later = T0 + 10 * minute
    claims = await first.claim("w", now=later, limit=3, lease=LEASE, per_account=None)
    sent, published, held = claims
    starts = [PublishStart(id=c.id, attempt=c.attempt) for c in (sent, published)]
    assert await first.mark_publishing(starts, worker="w", now=later, lease=LEASE) == [True] * 2
    record = ReceiptRecord(id=published.id, attempt=published.attempt, receipt=receipt())
    assert await first.record_receipts([record], now=later) == [True]

    # forced: the schema-1 store is still open (alive), and would be stranded
    current = await open_store(clock="caller", migrate_on_open="force")
    assert (await current.schema()).version == SCHEMA_VERSION
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        found = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND indexname IN ('publications_listing', 'publications_state', "
            "'publications_account', 'metric_tasks_publication', 'receipt_posts_publication')",
            (schema,),
        ).fetchall()
        collations = conn.execute(
            "SELECT c.relname, a.attname, a.attcollation::regcollation::text "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND (c.relname, a.attname) IN (('publications', 'id'), "
            "('publications', 'account_id'), ('events', 'publication_id'), ('accounts', 'id'))",
            (schema,),
        ).fetchall()
    assert len(found) == 3  # the indexes by publication are gone
    assert all(d.endswith("WHERE (lease_expires_at IS NULL)") for _, d in found), found
    assert {c for _, _, c in collations} == {'"C"'}, collations

    expected = {
        ids[0]: S.PUBLISHING,
        ids[1]: S.PUBLISHED,
        ids[2]: S.CLAIMED,
        **{i: S.SCHEDULED for i in ids[3:]},
    }
    assert [sent.id, published.id, held.id] == ids[:3]
    seen, cursor = [], None
    while True:  # two at a time: pages end on leased and unleased rows alike
        page = await current.list_publications(PublicationQuery(limit=2, cursor=cursor))
        seen.extend((p.id, p.state) for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(expected.items())
    one_account = await current.list_publications(PublicationQuery(account_id="acct-0"))
    assert [p.id for p in one_account.items] == ids[0::2]
    leased = await current.list_publications(PublicationQuery(states=(S.CLAIMED, S.PUBLISHING)))
    assert [p.id for p in leased.items] == ids[:1] + ids[2:3]

    # Dispatch goes on: the leases taken before the migration hold, the rest is claimed.
    rest = await current.claim("new", now=later, limit=5, lease=LEASE, per_account=None)
    assert [c.id for c in rest] == ids[3:]
    start = PublishStart(id=held.id, attempt=held.attempt)
    assert await current.mark_publishing([start], worker="w", now=later, lease=LEASE) == [True]
    done = ReceiptRecord(id=held.id, attempt=held.attempt, receipt=receipt(post_id="p2"))
    assert await current.record_receipts([done], now=later) == [True]
    assert (await current.get(held.id)).state == S.PUBLISHED


async def test_a_migration_gives_up_on_a_table_another_session_holds(
    open_store: Any, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long report holds the table: the migration stops after its lock timeout, changes
    nothing and says why, instead of queueing every worker's claim behind its ALTER."""
    import psycopg

    from socialkit.schedule.stores import _postgres_schema
    from tests.postgres.support import POSTGRES_URL

    store = await open_store(clock="caller")
    await store.put_revision(POST, now=T0)
    await store.add([pub("a")], now=T0)
    monkeypatch.setattr(_postgres_schema, "MIGRATION_LOCK_TIMEOUT", 0.2)
    report = await psycopg.AsyncConnection.connect(POSTGRES_URL)
    async with report, report.transaction():
        await report.execute(f'SELECT count(*) FROM "{schema}".publications')
        with pytest.raises(StoreError, match=r"waited more than 0\.2 s .*nothing was changed"):
            await open_store(clock="caller", migrations=(*MIGRATIONS, V2), code_version=LATEST + 1)
    assert (await store.schema()).version == SCHEMA_VERSION  # unchanged
    migrated = await open_store(
        clock="caller", migrations=(*MIGRATIONS, V2), code_version=LATEST + 1
    )
    assert (await migrated.schema()).version == LATEST + 1


async def test_version_4_keeps_pending_metric_tasks_and_lets_version_3_code_run(
    open_store: Any,
) -> None:
    """A metric task written by schema 3 is kept by the migration to 4 (no failures yet)
    and can be put back; a database at 4 still opens for schema 3 code."""
    import datetime as dt

    old = await open_store(clock="caller", migrations=MIGRATIONS[:3], code_version=3)
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub("a")], now=T0)
    second = dt.timedelta(seconds=1)
    await old.add_metric_tasks([(kept, T0 + second, "1h")], now=T0)

    current = await open_store(clock="caller")
    info = await current.schema()
    assert (info.version, info.min_compatible) == (SCHEMA_VERSION, 3)
    (task,) = await current.claim_metric_tasks("w", now=T0 + second, limit=5, lease=LEASE)
    assert (task.publication_id, task.label, task.failures) == (kept, "1h", 0)
    await current.retry_metric_task(
        task.id, run_at=T0 + 9 * second, now=T0 + second, error="Transient", count_failure=True
    )
    (back,) = await current.claim_metric_tasks("w", now=T0 + 9 * second, limit=5, lease=LEASE)
    assert (back.id, back.failures) == (task.id, 1)

    again = await open_store(clock="caller", migrations=MIGRATIONS[:3], code_version=3)
    # not refused: schema 3 code may keep running
    assert (await again.schema()).version == SCHEMA_VERSION


async def test_version_5_reads_snapshots_stored_before_it_without_their_collection(
    open_store: Any, schema: str
) -> None:
    """A snapshot stored at schema 4 (its JSON, no ``after_s``) reads back with ``after``
    None once the store is at 5; new ones keep theirs; schema 4 code may keep running."""
    import datetime as dt

    import psycopg
    from psycopg import sql

    from socialkit.models.metrics import MetricSnapshot
    from tests.postgres.support import POSTGRES_URL

    old = await open_store(clock="caller", migrations=MIGRATIONS[:4], code_version=4)
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub("a")], now=T0)
    before = MetricSnapshot(platform="feed", account_id="a", post_id="p", collected_at=T0, likes=1)
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        await conn.execute(  # as schema 4 code wrote one
            sql.SQL(
                "INSERT INTO {}.metric_snapshots (publication_id, workspace, account_id, "
                "campaign, collected_at, snapshot) VALUES (%s, 'default', 'a', NULL, %s, %s)"
            ).format(sql.Identifier(schema)),
            (kept, T0, before.model_dump_json(exclude_none=True)),
        )

    current = await open_store(clock="caller")
    info = await current.schema()
    assert (info.version, info.min_compatible) == (SCHEMA_VERSION, 3)
    series = await collected_again_at_24h(current, kept, before)
    assert [(s.likes, s.after) for s in series] == [(1, None), (2, dt.timedelta(hours=24))]
    # schema 4 code reads both (the JSON has no field its model would refuse)
    assert [s.likes for s in await old.metric_series(publication_id=kept)] == [1, 2]
