"""``socialkit store migrate|status|prune|copy`` against SQLite files and the real server.

The copy tests fill a SQLite store with a bit of everything, copy it to PostgreSQL (and
back), and compare what the stores answer through the protocol: every publication with
its history, receipts and checkpoints, the event log, metric series, accounts, rules,
budgets and pause switches.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from socialkit.cli.store import parse_age
from socialkit.errors import StoreError
from socialkit.schedule.records import PublicationQuery
from socialkit.schedule.stores._postgres_schema import MIGRATIONS
from socialkit.schedule.stores.base import MIN_COMPATIBLE_SCHEMA, SCHEMA_VERSION
from socialkit.schedule.stores.ops import copy_store, migrate_store, prune_store
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.postgres.populate import populate
from tests.postgres.support import fresh_schema, store_url
from tests.postgres.test_migrations import LATEST, V2, V3
from tests.schedule.store_contract import LEASE, POST, T0, pub

pytestmark = pytest.mark.postgres


async def snapshot(store: Any) -> dict[str, Any]:
    """Everything a store answers about its contents, in comparable form."""
    page = await store.list_publications(PublicationQuery(limit=1000, include_post=True))
    pubs = {p.id: await store.get(p.id, history=True) for p in page.items}
    return {
        "publications": {k: v.model_dump(mode="json") for k, v in pubs.items()},
        "events": [e.model_dump(mode="json") for e in await store.events(limit=10_000)],
        "metrics": [m.model_dump(mode="json") for m in await store.metric_series()],
        "accounts": [
            (a.account.model_dump(mode="json"), a.status, a.status_reason)
            for a in await store.list_accounts()
        ],
        "rules": [r.model_dump(mode="json") for r in await store.list_rules()],
        "budgets": [repr(b) for b in await store.budgets()],
        "pauses": [p.model_dump(mode="json") for p in await store.pauses()],
    }


async def test_copy_sqlite_to_postgres_and_back_loses_nothing(tmp_path: Path, schema: str) -> None:
    from socialkit.schedule.stores.postgres import PostgresStore

    source_url = f"sqlite:///{tmp_path}/team.db"
    source = SqliteStore(source_url)
    await source.open()
    made = await populate(source)
    before = await snapshot(source)
    await source.close()
    assert len(before["publications"]) == 12 + 4 + 1
    assert before["metrics"]
    assert before["events"]
    assert {p["state"] for p in before["publications"].values()} >= {
        "published",
        "failed",
        "paused",
        "unknown",
        "pending_approval",
        "scheduled",
    }

    target_url = store_url(schema, clock="caller")
    copied = await copy_store(source_url, target_url)
    assert copied["publications"] == 17
    assert copied["events"] == len(before["events"])
    target = PostgresStore(target_url)
    await target.open()
    try:
        after = await snapshot(target)
        assert after == before
        # The copy is a working store: numbering and keys go on after the copied ones.
        (new_id,) = await target.add([pub("acct0", due=T0)], now=T0)
        events = await target.events(since=before["events"][-1]["seq"])
        assert [(e.kind, e.publication_id) for e in events] == [("created", new_id)]
        assert (
            await target.receipt_owner("feed", f"p-{made['published'][0]}") == made["published"][0]
        )
    finally:
        await target.close()

    with fresh_schema("sk_copy") as _:
        back_url = f"sqlite:///{tmp_path}/back.db"
        await copy_store(target_url, back_url)
        back = SqliteStore(back_url)
        await back.open()
        try:
            round_trip = await snapshot(back)
        finally:
            await back.close()
        assert round_trip["events"][: len(before["events"])] == before["events"]
        assert round_trip["metrics"] == before["metrics"]
        assert len(round_trip["publications"]) == 18


async def test_copy_refuses_a_target_with_data(
    tmp_path: Path, open_store: Any, schema: str
) -> None:
    busy = await open_store(clock="caller")
    await busy.put_revision(POST, now=T0)
    await busy.add([pub("a")], now=T0)
    source_url = f"sqlite:///{tmp_path}/small.db"
    source = SqliteStore(source_url)
    await source.open()
    await populate(source, n=4)
    await source.close()
    with pytest.raises(StoreError, match="already holds 1 publications rows"):
        await copy_store(source_url, store_url(schema))
    assert len((await busy.list_publications(PublicationQuery())).items) == 1


def test_copy_command(cli: Any, tmp_path: Path, schema: str) -> None:
    import asyncio

    source_url = f"sqlite:///{tmp_path}/cli.db"

    async def fill() -> None:
        source = SqliteStore(source_url)
        await source.open()
        await populate(source, n=4)
        await source.close()

    asyncio.run(fill())
    run = cli("store", "copy", source_url, store_url(schema), "--json")
    assert run.code == 0, run.err
    assert run.json()["copied"]["publications"] == 4 + 4 + 1
    again = cli("store", "copy", source_url, store_url(schema))
    assert again.code == 2
    assert "copy needs an empty store" in again.err


def test_status_command_shows_workers_states_and_pauses(
    cli: Any, tmp_path: Path, schema: str
) -> None:
    import asyncio

    from socialkit.schedule.stores.postgres import PostgresStore

    url = store_url(schema)

    async def scene() -> None:
        store = PostgresStore(url)
        await store.open()
        await store.put_revision(POST)
        now = dt.datetime.now(dt.UTC)
        await store.add(
            [
                pub("a", due=now - dt.timedelta(minutes=5)),
                pub("b", due=now - dt.timedelta(minutes=1)),
                pub("c", due=now + dt.timedelta(hours=1)),
            ]
        )
        await store.claim("worker-7", limit=1, lease=LEASE)  # a live worker holding one
        from socialkit.schedule.publication import PauseScope

        await store.pause(PauseScope(kind="account", value="z", actor="ann", reason="crisis"))
        run = cli("--store", url, "store", "status", "--json")
        assert run.code == 0, run.err
        status = run.json()
        assert status["counts"]["claimed"] == 1
        assert status["counts"]["scheduled"] == 2
        assert status["due_now"] == 1
        assert status["oldest_due"] is not None
        assert [w["id"] for w in status["workers"]] == ["worker-7"]
        assert status["workers"][0]["in_flight"] == 1
        assert status["workers_from"] == "liveness"
        assert status["paused"][0]["kind"] == "account"
        assert status["schema"]["version"] == SCHEMA_VERSION
        text = cli("--store", url, "store", "status")
        for shown in ("worker-7", "due now   1", "crisis"):
            assert shown in text.out
        await store.close()

    asyncio.run(scene())
    # A cleanly stopped worker is no longer live.
    after = cli("--store", url, "store", "status", "--json").json()
    assert after["workers"] == []


def test_status_of_a_sqlite_store(cli: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    assert cli("--store", url, "store", "migrate").code == 0  # status never creates a store
    run = cli("--store", url, "store", "status", "--json")
    assert run.code == 0, run.err
    assert run.json()["counts"]["scheduled"] == 0
    assert run.json()["workers_from"] == "leases"
    memory = cli("--store", "memory://", "store", "status")
    assert memory.code == 2
    assert "memory:// store lives inside one process" in memory.err


async def test_prune_removes_what_finished_long_ago(tmp_path: Path, schema: str) -> None:
    from socialkit.schedule.stores.postgres import PostgresStore

    url = store_url(schema, clock="caller")
    store = PostgresStore(url)
    await store.open()
    try:
        made = await populate(store)  # written at T0, months before the database's now
        fresh = await store.add(
            [pub("acct0", due=dt.datetime.now(dt.UTC))], now=dt.datetime.now(dt.UTC)
        )
        dry = await prune_store(url, dt.timedelta(days=30), dry_run=True)
        assert dry["publications"] == len(made["published"]) + len(made["failed"])
        assert dry.get("metric_snapshots") is None
        assert len((await store.list_publications(PublicationQuery(limit=100))).items) == 18
        removed = await prune_store(url, dt.timedelta(days=30))
        assert removed == dry
        left = {p.id for p in (await store.list_publications(PublicationQuery(limit=100))).items}
        assert left.isdisjoint(made["published"] + made["failed"])
        assert set(made["retry"] + made["unknown"] + fresh) <= left
        assert await store.metric_series()  # the analytics series stays
        assert await store.get_revision(POST.revision()) == POST
        assert (await prune_store(url, dt.timedelta(days=30), metrics=True))["metric_snapshots"] > 0
        assert await store.metric_series() == []
    finally:
        await store.close()


def test_prune_command_on_sqlite(cli: Any, tmp_path: Path) -> None:
    import asyncio

    url = f"sqlite:///{tmp_path}/p.db"

    async def fill() -> dict[str, list[str]]:
        store = SqliteStore(url)
        await store.open()
        made = await populate(store, n=8)
        await store.close()
        return made

    made = asyncio.run(fill())
    run = cli("--store", url, "store", "prune", "--older-than", "30d", "--json")
    assert run.code == 0, run.err
    assert run.json()["removed"]["publications"] == len(made["published"]) + len(made["failed"])
    bad = cli("--store", url, "store", "prune", "--older-than", "soon")
    assert bad.code == 2
    assert "like 90d" in bad.err


def test_parse_age() -> None:
    assert parse_age("90d") == dt.timedelta(days=90)
    assert parse_age("1d12h") == dt.timedelta(hours=36)
    assert parse_age(" 2w ") == dt.timedelta(weeks=2)
    for bad in ("", "0d", "10", "d", "3 days", "1d-2h"):
        with pytest.raises(ValueError, match="--older-than"):
            parse_age(bad)


async def test_migrate_waits_for_live_workers_on_old_code(open_store: Any, schema: str) -> None:
    url = store_url(schema)
    before, after = await migrate_store(url)
    now = SCHEMA_VERSION
    assert (before.version, after.version) == (0, now)  # a new schema
    old = await open_store()
    await old.claim("old-worker", limit=1, lease=LEASE)  # alive, on the current code
    # A compatible migration goes ahead while it runs…
    _, v2 = await migrate_store(url, migrations=(*MIGRATIONS, V2), code_version=LATEST + 1)
    assert v2.version == LATEST + 1
    # …an incompatible one waits for it to be upgraded, unless forced.
    with pytest.raises(StoreError, match=rf"old-worker \(schema {now}\)"):
        await migrate_store(url, migrations=(*MIGRATIONS, V2, V3), code_version=LATEST + 2)
    _, v3 = await migrate_store(
        url, migrations=(*MIGRATIONS, V2, V3), code_version=LATEST + 2, force=True
    )
    assert (v3.version, v3.min_compatible) == (LATEST + 2, LATEST + 2)
    await old.schema()  # as its next liveness beat does
    with pytest.raises(StoreError, match=f"needs socialkit schema {LATEST + 2}"):
        await old.claim("old-worker", limit=1, lease=LEASE)


def test_migrate_command(cli: Any, tmp_path: Path, schema: str) -> None:
    url = store_url(schema)  # a schema nobody created yet
    first = cli("--store", url, "store", "migrate")
    assert first.code == 0, first.err
    expected = (
        f"migrated from schema 0 to {SCHEMA_VERSION} (compatible from {MIN_COMPATIBLE_SCHEMA})"
    )
    assert first.out.strip() == expected
    again = cli("--store", url, "store", "migrate", "--json")
    assert again.json()["after"]["version"] == SCHEMA_VERSION
    assert "current" in cli("--store", url, "store", "migrate").out
    lite = cli("--store", f"sqlite:///{tmp_path}/m.db", "store", "migrate")
    assert lite.out.strip() == expected


def test_a_missing_postgres_store_is_named_not_created(
    cli: Any, tmp_path: Path, schema: str
) -> None:
    import asyncio

    from socialkit.cli.store import _postgres_version
    from socialkit.schedule.stores._postgres_url import parse_postgres_url

    url = store_url(schema)
    shown = parse_postgres_url(url).display
    target = tmp_path / "copy.db"
    run = cli("store", "copy", url, f"sqlite:///{target}")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        f"error: SOURCE: no store in schema '{schema}' at {shown} "
        "(create one with `socialkit store migrate`)\n"
    )
    assert not target.exists()
    for args in (["store", "status"], ["store", "prune", "--older-than", "30d"]):
        run = cli("--store", url, *args)
        assert run.code == 2
        assert run.err.startswith(f"error: store: no store in schema '{schema}'")
    assert asyncio.run(_postgres_version(url)) == 0  # nothing was created on the way


async def test_prune_refuses_a_store_not_migrated_yet(schema: str) -> None:
    """Prune opens without migrating; on a store still at an older schema it failed with
    a raw ``UndefinedColumn`` (revisions.used_at). It now says to migrate first, and the
    store is left as it was."""
    from socialkit.schedule.stores.postgres import PostgresStore

    url = store_url(schema)
    old = PostgresStore(url, migrations=MIGRATIONS[:3], code_version=3)
    await old.open()
    await old.close()
    with pytest.raises(StoreError, match=r"schema version 3, older .* store migrate` first"):
        await prune_store(url, dt.timedelta(days=90), dry_run=True)
    again = PostgresStore(url, migrations=MIGRATIONS[:3], code_version=3)
    await again.open()
    assert (await again.schema()).version == 3
    await again.close()
