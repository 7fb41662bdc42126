"""The store contract on the SQLite store, plus what only SQLite promises: URL options,
forward migrations with a minimum compatible version, wake-ups from other processes,
and durability when the writing process is killed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from socialkit.errors import ConfigError, StoreError
from socialkit.models.account import Account
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.records import PublicationQuery, Transition
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores._common import to_us
from socialkit.schedule.stores._sqlite_schema import MIGRATIONS, Migration
from socialkit.schedule.stores._sqlite_thread import Checkpointer
from socialkit.schedule.stores.base import SCHEMA_VERSION, Store
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.schedule import store_contract
from tests.schedule.store_contract import (
    LEASE,
    POST,
    SEC,
    T0,
    StoreContract,
    collected_again_at_24h,
    pub,
    waiting_backlog,
)


class TestSqliteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/contract.db")
        await store.open()
        yield store
        await store.close()

    @pytest.fixture
    async def peer(self, store: SqliteStore, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        other = SqliteStore(f"sqlite:///{tmp_path}/contract.db")
        await other.open()
        yield other
        await other.close()

    async def test_a_new_due_time_keeps_the_exact_grace(self, store: SqliteStore) -> None:
        # A batch of transitions reads rows as JSON (15 significant digits for a REAL);
        # the grace deadline of a rescheduled publication comes from the exact grace.
        grace = 3153600000.000001  # a century and a microsecond: 16 digits
        await store.put_revision(POST, now=T0)
        (pub_id,) = await store.add([pub(grace_s=grace)], now=T0)
        later = T0 + 10 * SEC
        t = Transition(
            id=pub_id, expect_state=S.SCHEDULED, expect_attempt=0, to=S.SCHEDULED, due_at=later
        )
        assert await store.apply([t], now=T0) == [S.SCHEDULED]
        conn = sqlite3.connect(store.path)
        try:
            (expires,) = conn.execute(
                "SELECT expires_at FROM publications WHERE id = ?", (pub_id,)
            ).fetchone()
        finally:
            conn.close()
        assert expires == to_us(later + dt.timedelta(seconds=grace))


class TestSqliteStoreThroughTheIntake(TestSqliteStore):
    """The contract again with publications that have no key of their own (their key is
    their id), as ``schedule`` makes them: adds of a few go through the intake, and every
    other call must see them as if they had been inserted into ``publications``."""

    @pytest.fixture(autouse=True)
    def unkeyed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        keyed = store_contract.pub

        def pub_without_key(*args: Any, key: str | None = None, **kwargs: Any) -> Any:
            new = keyed(*args, key=key, **kwargs)
            return new if key is not None else attrs.evolve(new, idempotency_key=new.id)

        monkeypatch.setattr(store_contract, "pub", pub_without_key)

    async def test_a_free_slot_insert_refuses_a_held_slot_and_takes_a_freed_one(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # An add that takes a slot never goes through the intake, and this test names a
        # taken key in the form keyed publications have: run it with keys.
        monkeypatch.setattr(store_contract, "pub", pub)
        await super().test_a_free_slot_insert_refuses_a_held_slot_and_takes_a_freed_one(store)


def test_url_forms_and_options(tmp_path: Path) -> None:
    relative = SqliteStore("sqlite:///data/socialkit.db")
    assert relative.path == Path("data/socialkit.db")
    absolute = SqliteStore(f"sqlite:///{tmp_path}/x.db?synchronous=full&busy_timeout=250&poll=0.5")
    assert absolute.path == tmp_path / "x.db"
    assert (absolute.synchronous, absolute.busy_timeout_ms, absolute.poll) == ("FULL", 250, 0.5)
    with pytest.raises(ConfigError, match="synchronous must be NORMAL or FULL"):
        SqliteStore("sqlite:///x.db?synchronous=OFF")
    with pytest.raises(ConfigError, match=r"unknown SQLite store option.*journal"):
        SqliteStore("sqlite:///x.db?journal=memory")
    with pytest.raises(ConfigError, match=r"sqlite:///relative\.db"):
        SqliteStore("sqlite://host/x.db")


async def test_wal_and_synchronous_are_applied(tmp_path: Path) -> None:
    for mode, expected in (("NORMAL", 1), ("FULL", 2)):
        store = SqliteStore(f"sqlite:///{tmp_path}/{mode}.db?synchronous={mode}")
        await store.open()
        try:
            journal, synchronous = await store._read(
                lambda c: (
                    c.execute("PRAGMA journal_mode").fetchone()[0],
                    c.execute("PRAGMA synchronous").fetchone()[0],
                )
            )
        finally:
            await store.close()
        assert (journal, synchronous) == ("wal", expected)


async def test_forward_migration_and_minimum_compatible_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    v1 = SqliteStore(url)
    await v1.open()
    await v1.put_revision(POST, now=T0)
    (kept,) = await v1.add([pub()], now=T0)
    await v1.close()

    # The next release adds a column old code ignores: old workers may keep running.
    now = SCHEMA_VERSION
    nxt = Migration(
        version=now + 1,
        min_compatible=now,
        statements=("ALTER TABLE publications ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",),
    )
    v2 = SqliteStore(url, migrations=(*MIGRATIONS, nxt), code_version=now + 1)
    await v2.open()
    info = await v2.schema()
    assert (info.version, info.min_compatible, info.code_version) == (now + 1, now, now + 1)
    assert (await v2.get(kept)).id == kept  # nothing was dropped
    assert await v2._read(lambda c: c.execute("SELECT priority FROM publications").fetchall())
    await v2.close()

    old = SqliteStore(url)  # this code against the next release's database: compatible
    await old.open()
    assert (await old.schema()).version == now + 1
    assert len((await old.list_publications(PublicationQuery())).items) == 1
    await old.close()

    # The release after changes something old code would get wrong: it must refuse to run
    after = Migration(
        version=now + 2, min_compatible=now + 2, statements=("CREATE TABLE v3_only (x INTEGER)",)
    )
    v3 = SqliteStore(url, migrations=(*MIGRATIONS, nxt, after), code_version=now + 2)
    await v3.open()
    await v3.close()
    refused = SqliteStore(url)
    with pytest.raises(StoreError, match=f"needs socialkit schema {now + 2} or newer"):
        await refused.open()


async def test_version_4_keeps_pending_metric_tasks_and_lets_version_3_code_run(
    tmp_path: Path,
) -> None:
    """A metric task written by schema 3 is kept by the migration to 4 (no failures yet)
    and can be put back; a database at 4 still opens for schema 3 code."""
    url = f"sqlite:///{tmp_path}/v3.db"
    old = SqliteStore(url, migrations=MIGRATIONS[:3], code_version=3)
    await old.open()
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub()], now=T0)
    await old.add_metric_tasks([(kept, T0 + SEC, "1h")], now=T0)
    await old.close()

    current = SqliteStore(url)
    await current.open()
    try:
        info = await current.schema()
        assert (info.version, info.min_compatible) == (SCHEMA_VERSION, 3)
        (task,) = await current.claim_metric_tasks("w", now=T0 + SEC, limit=5, lease=LEASE)
        assert (task.publication_id, task.label, task.failures) == (kept, "1h", 0)
        await current.retry_metric_task(
            task.id, run_at=T0 + 9 * SEC, now=T0 + SEC, error="Transient", count_failure=True
        )
    finally:
        await current.close()

    again = SqliteStore(url, migrations=MIGRATIONS[:3], code_version=3)
    await again.open()  # not refused: schema 3 code may keep running
    try:
        assert (await again.schema()).version == SCHEMA_VERSION
    finally:
        await again.close()


async def test_version_5_reads_snapshots_stored_before_it_without_their_collection(
    tmp_path: Path,
) -> None:
    """A snapshot stored at schema 4 (its JSON, no ``after_s``) reads back with ``after``
    None once the store is at 5; new ones keep theirs; schema 4 code may keep running."""
    from socialkit.models.metrics import MetricSnapshot

    path = tmp_path / "v4.db"
    old = SqliteStore(f"sqlite:///{path}", migrations=MIGRATIONS[:4], code_version=4)
    await old.open()
    await old.put_revision(POST, now=T0)
    (kept,) = await old.add([pub()], now=T0)
    await old.close()
    before = MetricSnapshot(
        platform="feed", account_id="acme", post_id="p", collected_at=T0, likes=1
    )
    with sqlite3.connect(path) as conn:  # as schema 4 code wrote one
        conn.execute(
            "INSERT INTO metric_snapshots (publication_id, workspace, account_id, campaign, "
            "collected_at, snapshot) VALUES (?, 'default', 'acme', NULL, ?, ?)",
            (kept, to_us(T0), before.model_dump_json(exclude_none=True)),
        )

    current = SqliteStore(f"sqlite:///{path}")
    await current.open()
    try:
        info = await current.schema()
        assert (info.version, info.min_compatible) == (SCHEMA_VERSION, 3)
        series = await collected_again_at_24h(current, kept, before)
        assert [(s.likes, s.after) for s in series] == [(1, None), (2, dt.timedelta(hours=24))]
        # the JSON stays what schema 4 code reads (its model refuses unknown fields)
        stored = await current._read(
            lambda c: c.execute("SELECT snapshot, after_s FROM metric_snapshots").fetchall()
        )
        assert [a for _, a in stored] == [None, 86400.0]
        assert all("after" not in text for text, _ in stored)
    finally:
        await current.close()

    again = SqliteStore(f"sqlite:///{path}", migrations=MIGRATIONS[:4], code_version=4)
    await again.open()  # not refused
    await again.close()


async def _claims_past_a_busy_registered_account(store: SqliteStore) -> list[str]:
    """What a claim takes when the one registered account is busy and an unregistered
    one has due rows after its rows (see test_claims_reach_accounts_the_store_does_not_
    know_past_busy_ones in the contract)."""
    (claim,) = await store.claim("w", now=T0, limit=1, lease=LEASE)
    assert claim.account_id == "known"
    return [c.account_id for c in await store.claim("w", now=T0, limit=10, lease=LEASE)]


async def _known_and_stranger(store: SqliteStore) -> None:
    await store.put_revision(POST, now=T0)
    await store.put_account(Account(id="known", platform="feed", handle="k"), now=T0)
    await store.add([pub("known", due=T0 - (20 - i) * SEC) for i in range(5)], now=T0)
    await store.add([pub("stranger", due=T0 - (10 - i) * SEC) for i in range(5)], now=T0)


async def test_a_copy_claims_unregistered_accounts_past_busy_ones(tmp_path: Path) -> None:
    from socialkit.schedule.stores.ops import copy_store

    source, target = f"sqlite:///{tmp_path}/source.db", f"sqlite:///{tmp_path}/target.db"
    store = SqliteStore(source)
    await store.open()
    await _known_and_stranger(store)
    await store.close()
    await copy_store(source, target)
    copied = SqliteStore(target)
    await copied.open()
    try:
        assert await _claims_past_a_busy_registered_account(copied) == ["stranger"]
    finally:
        await copied.close()


async def test_a_migrated_store_claims_unregistered_accounts_past_busy_ones(
    tmp_path: Path,
) -> None:
    # written by version 2 code, which noted nothing about unregistered accounts
    url = f"sqlite:///{tmp_path}/v2.db"
    old = SqliteStore(url, migrations=MIGRATIONS[:2], code_version=2)
    await old.open()
    await _known_and_stranger(old)
    await old.close()
    with sqlite3.connect(f"{tmp_path}/v2.db") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'unregistered_accounts'")
    current = SqliteStore(url)
    await current.open()
    try:
        assert (await current.schema()).version == SCHEMA_VERSION
        assert await _claims_past_a_busy_registered_account(current) == ["stranger"]
    finally:
        await current.close()


async def test_another_process_commit_wakes_a_subscriber(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/wake.db?poll=0.01"
    watcher, writer = SqliteStore(url), SqliteStore(url)
    # The writer first: opening a store commits (the schema), and the watcher notices
    # every commit made after it opened.
    await writer.open()
    await watcher.open()
    woke = threading.Event()
    try:
        watcher.subscribe(woke.set)
        # let the watcher read its first data_version, then commit from the other connection
        await watcher.next_due(now=T0)
        assert not woke.wait(0.05)
        await writer.put_revision(POST, now=T0)
        await writer.add([pub()], now=T0)
        assert woke.wait(5), "the watcher never noticed the other connection's insert"
    finally:
        await watcher.close()
        await writer.close()


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from socialkit.schedule.stores.sqlite import SqliteStore
    from tests.schedule.store_contract import POST, T0, pub

    async def main():
        store = SqliteStore(sys.argv[1])
        await store.open()
        await store.put_revision(POST, now=T0)
        while True:
            batch = [pub(f"acct{i % 7}") for i in range(50)]
            ids = await store.add(batch, now=T0)
            print(" ".join(ids), flush=True)

    asyncio.run(main())
    """
)


def _killed_writer(code: str, db: Path, lines: int) -> list[str]:
    """Run ``code`` (a writer printing the ids it has committed, a line per commit) on
    ``db`` in a subprocess, read ``lines`` lines, SIGKILL it; the ids it printed."""
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", code, f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        text=True,
    )
    committed: list[str] = []
    try:
        assert child.stdout is not None
        for _ in range(lines):
            line = child.stdout.readline()
            assert line, "the writer died before it was killed"
            committed.extend(line.split())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return committed


def test_survives_sigkill_during_writes(tmp_path: Path) -> None:
    """Kill a process that is committing batches as fast as it can; nothing committed is
    lost and the file is not corrupt."""
    db = tmp_path / "killed.db"
    committed = _killed_writer(_CHILD, db, 40)  # 40 committed batches, then killed
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM publications")}
        created = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'created'").fetchone()[0]
    finally:
        conn.close()
    assert set(committed) <= stored
    assert len(stored) >= 40 * 50
    assert created == len(stored)  # every row has its event: transactions were whole


_INTAKE_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import attrs
    from socialkit.schedule.stores.sqlite import SqliteStore
    from tests.schedule.store_contract import POST, T0, pub

    async def main():
        store = SqliteStore(sys.argv[1])
        await store.open()
        await store.put_revision(POST, now=T0)
        i = 0
        while True:
            i += 1
            new = pub(f"acct{i % 7}")
            (added,) = await store.add([attrs.evolve(new, idempotency_key=new.id)], now=T0)
            print(added, flush=True)

    asyncio.run(main())
    """
)


def _raw_counts(db: Path) -> tuple[int, int, int]:
    """``(intake rows, publications, created events)`` read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        return tuple(  # type: ignore[return-value]
            conn.execute(sql).fetchone()[0]
            for sql in (
                "SELECT COUNT(*) FROM intake",
                "SELECT COUNT(*) FROM publications",
                "SELECT COUNT(*) FROM events WHERE kind = 'created'",
            )
        )
    finally:
        conn.close()


def unkeyed(account: str = "acme", **kwargs: Any) -> Any:
    """A publication whose key is its id, as ``schedule`` makes them."""
    new = pub(account, **kwargs)
    return attrs.evolve(new, idempotency_key=new.id)


def test_adds_through_the_intake_survive_sigkill(tmp_path: Path) -> None:
    """Kill a process adding one publication at a time (each through the intake): every
    add it was told of is stored, and the next process that opens the store sees it in
    ``publications`` with its ``created`` event."""
    db = tmp_path / "killed.db"
    # past a background move of the intake, then killed
    committed = _killed_writer(_INTAKE_CHILD, db, 600)

    async def read() -> set[str]:
        store = SqliteStore(f"sqlite:///{db}")
        await store.open()
        try:
            page = await store.list_publications(PublicationQuery(limit=10_000))
            return {p.id for p in page.items}
        finally:
            await store.close()

    assert _raw_counts(db)[0] > 0  # the killed process left rows in the intake
    stored = asyncio.run(read())
    assert set(committed) <= stored
    intake, publications, created = _raw_counts(db)
    assert (intake, publications, created) == (0, len(stored), len(stored))


async def test_an_add_waits_in_the_intake_and_every_call_sees_it(tmp_path: Path) -> None:
    db = tmp_path / "intake.db"
    store = SqliteStore(f"sqlite:///{db}")
    peer = SqliteStore(f"sqlite:///{db}")
    await store.open()
    await peer.open()
    try:
        await store.put_revision(POST, now=T0)
        later = T0 + 5 * SEC
        # The state comes back from the add's own transaction, a pause switch included.
        await store.pause(PauseScope(kind="account", value="held"), now=T0)
        first, paused = await store.add_returning(
            [unkeyed("acme"), unkeyed("held", campaign="c1")], now=later
        )
        assert (first.state, paused.state) == (S.SCHEDULED, S.PAUSED)
        assert _raw_counts(db) == (2, 0, 0)  # committed, one page: nothing indexed yet
        # Another store on the file (another process) reads them: moved first.
        got = await peer.get(first.id, history=True)
        assert (got.state, got.created_at) == (S.SCHEDULED, later)
        assert [(e.kind, e.at, e.actor, e.to_state) for e in got.history] == [
            ("created", later, "engine", S.SCHEDULED)
        ]
        assert _raw_counts(db) == (0, 2, 2)
        assert (await store.get(paused.id)).state == S.PAUSED
        # A key of its own, or a slot to take, goes straight into publications.
        (keyed,) = await store.add([pub("acme", key="k1")], now=later)
        assert _raw_counts(db) == (0, 3, 3)
        # A write moves the intake in its own transaction: a transition of a publication
        # still waiting there finds it.
        (waiting,) = await store.add([unkeyed("acme")], now=later)
        cancel = Transition(id=waiting, expect_state=S.SCHEDULED, expect_attempt=0, to=S.CANCELLED)
        assert await peer.transition(cancel, now=later) == S.CANCELLED
        events = await store.events(since=0, limit=1000)
        assert [(e.kind, e.publication_id) for e in events[-2:]] == [
            ("created", waiting),
            ("transition", waiting),
        ]
        assert keyed in {e.publication_id for e in events}
    finally:
        await peer.close()
        await store.close()


async def test_store_status_and_copy_see_publications_still_in_the_intake(
    tmp_path: Path,
) -> None:
    """``store status`` and ``store copy`` read the file on a connection of their own:
    they move the intake first, as every call of the store does."""
    from socialkit.schedule.stores.ops import copy_store, store_status

    source, target = f"sqlite:///{tmp_path}/source.db", f"sqlite:///{tmp_path}/target.db"
    store = SqliteStore(source)
    await store.open()
    try:
        await store.put_revision(POST, now=T0)
        ids = [(await store.add([unkeyed(f"a{i}")], now=T0))[0] for i in range(3)]
        assert _raw_counts(tmp_path / "source.db")[0] == 3  # still there: nothing read
        status = await store_status(source)
        assert status.counts["scheduled"] == 3
        (more,) = await store.add([unkeyed("a9")], now=T0)  # in the intake again
        await copy_store(source, target)
    finally:
        await store.close()
    copied = SqliteStore(target)
    await copied.open()
    try:
        page = await copied.list_publications(PublicationQuery(limit=10))
        assert sorted(p.id for p in page.items) == sorted([*ids, more])
        assert len(await copied.events(since=0)) == 4
    finally:
        await copied.close()


async def test_the_intake_is_moved_in_the_background_and_at_close_for_older_code(
    tmp_path: Path,
) -> None:
    """A process adding one at a time moves its intake every few hundred adds, without a
    read; and at close, so code of schema 10 (which has no intake) sees every row."""
    from socialkit.schedule.stores import sqlite as sqlite_module

    url = f"sqlite:///{tmp_path}/moved.db"
    store = SqliteStore(url)
    await store.open()
    await store.put_revision(POST, now=T0)
    count = sqlite_module._FOLD_AFTER + 10
    ids = [(await store.add([unkeyed(f"a{i % 5}")], now=T0))[0] for i in range(count)]
    await asyncio.gather(*store._folds)
    intake, publications, _ = _raw_counts(tmp_path / "moved.db")
    assert publications >= sqlite_module._FOLD_AFTER
    assert intake == count - publications
    await store.close()
    assert _raw_counts(tmp_path / "moved.db") == (0, count, count)

    old = SqliteStore(url, migrations=MIGRATIONS[:10], code_version=10)
    await old.open()  # not refused: schema 10 code may keep running
    try:
        page = await old.list_publications(PublicationQuery(limit=1000))
        assert sorted(p.id for p in page.items) == sorted(ids)
    finally:
        await old.close()


@contextlib.asynccontextmanager
async def opened(db: Path) -> AsyncIterator[SqliteStore]:
    """A SQLite store on ``db``, open, holding ``POST``; closed on the way out."""
    store = SqliteStore(f"sqlite:///{db}")
    await store.open()
    try:
        await store.put_revision(POST, now=T0)
        yield store
    finally:
        await store.close()


async def test_an_unkeyed_publication_added_twice_through_the_intake_is_created_once(
    tmp_path: Path,
) -> None:
    """As ``add`` does in ``publications``: a repeated item of a batch is inserted once
    (the repeat stored as ``None``), and a publication added again before the intake is
    moved gets one row and one ``created`` event."""
    db = tmp_path / "twice.db"
    async with opened(db) as store:
        fresh = unkeyed("acme")
        added = await store.add_returning([fresh, fresh], now=T0)
        assert [(a.id, a.state) for a in added] == [(fresh.id, S.SCHEDULED), (fresh.id, None)]
        again = unkeyed("beta")
        await store.add([again], now=T0)
        await store.add([again], now=T0)  # again, still in the intake
        created = [e.publication_id for e in await store.events() if e.kind == "created"]
        assert sorted(created) == sorted([fresh.id, again.id])
        assert _raw_counts(db) == (0, 2, 2)


async def test_an_id_already_stored_is_added_as_add_does_not_through_the_intake(
    tmp_path: Path,
) -> None:
    """Adding again a publication already in ``publications`` returns it (state
    ``None``, nothing stored twice); an id a publication of another key holds is refused,
    as ``add`` refuses it, not accepted and then skipped unsaid by the move."""
    db = tmp_path / "stored.db"
    async with opened(db) as store:
        first = unkeyed("acme")
        await store.add([first], now=T0)
        await store.get(first.id)  # moved into publications
        (again,) = await store.add_returning([first], now=T0)
        assert (again.id, again.state) == (first.id, None)
        assert _raw_counts(db) == (0, 1, 1)
        keyed = pub("beta", key="k1")
        await store.add([keyed], now=T0)
        clash = attrs.evolve(unkeyed("beta"), id=keyed.id, idempotency_key=keyed.id)
        with pytest.raises(StoreError, match="is taken"):
            await store.add_returning([clash], now=T0)
        assert _raw_counts(db) == (0, 2, 2)


async def test_older_code_resuming_a_pause_frees_a_publication_paused_in_the_intake(
    tmp_path: Path,
) -> None:
    """A publication added under a pause waits in the intake as ``paused``; schema 10 code
    (no intake) resumes the pause; once moved, the publication is not left paused with
    no switch holding it."""
    url = f"sqlite:///{tmp_path}/resumed.db"
    store = SqliteStore(url)
    await store.open()
    old = SqliteStore(url, migrations=MIGRATIONS[:10], code_version=10)
    try:
        await store.put_revision(POST, now=T0)
        scope = PauseScope(kind="account", value="held")
        await store.pause(scope, now=T0)
        (added,) = await store.add_returning([unkeyed("held")], now=T0)
        assert added.state == S.PAUSED
        await old.open()
        await old.resume(scope, now=T0 + SEC)  # older code: the intake is not its to move
        assert _raw_counts(tmp_path / "resumed.db")[0] == 1
        assert await store.pauses() == []
        assert (await store.get(added.id)).state == S.SCHEDULED
        # The other way: added while nothing held it, then paused by older code.
        (free,) = await store.add_returning([unkeyed("held")], now=T0)
        (other,) = await store.add_returning([unkeyed("other")], now=T0)
        assert (free.state, other.state) == (S.SCHEDULED, S.SCHEDULED)
        await old.pause(scope, now=T0 + 2 * SEC)
        assert _raw_counts(tmp_path / "resumed.db")[0] == 2
        assert (await store.get(free.id, history=True)).state == S.PAUSED
        assert (await store.get(other.id)).state == S.SCHEDULED  # not covered
        # and a resume (by any code) brings it back
        await old.resume(scope, now=T0 + 3 * SEC)
        assert (await store.get(free.id)).state == S.SCHEDULED
    finally:
        await old.close()
        await store.close()


async def test_queued_writes_share_a_commit_and_a_failing_one_rolls_back_alone(
    tmp_path: Path,
) -> None:
    """Writes queued while the store's thread is busy run in one transaction, each in a
    savepoint: the one that fails leaves nothing behind, the others are committed, and
    every caller hears its own outcome."""
    import asyncio

    store = SqliteStore(f"sqlite:///{tmp_path}/group.db")
    statements: list[str] = []
    connect = store._connect

    def traced() -> sqlite3.Connection:
        conn = connect()
        conn.set_trace_callback(statements.append)
        return conn

    store._connect = traced  # type: ignore[method-assign]
    await store.open()
    try:
        entered, release = threading.Event(), threading.Event()

        def block(conn: sqlite3.Connection) -> bool:
            entered.set()
            return release.wait(10)

        busy = asyncio.ensure_future(store._read(block))
        assert await asyncio.to_thread(entered.wait, 10)  # the store's thread is held

        def insert(key: str, *, fail: bool = False) -> object:
            def write(conn: sqlite3.Connection) -> str:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (key,))
                if fail:
                    raise StoreError(f"{key} refused")
                return key

            return store._write(write)

        writes = [
            asyncio.ensure_future(insert(key, fail=key == "k2"))  # type: ignore[arg-type]
            for key in ("k1", "k2", "k3")
        ]
        await asyncio.sleep(0)  # a yield, not a wait: each write task queues its call
        statements.clear()
        release.set()
        assert await busy is True
        results = await asyncio.gather(*writes, return_exceptions=True)
        assert statements.count("BEGIN IMMEDIATE") == 1  # one transaction for the three
        assert statements.count("COMMIT") == 1
        assert statements.count("ROLLBACK TO socialkit_call") == 1
        assert results[0] == "k1"
        assert results[2] == "k3"
        assert isinstance(results[1], StoreError)
        assert "k2 refused" in str(results[1])
    finally:
        await store.close()
    conn = sqlite3.connect(tmp_path / "group.db")
    try:
        keys = {row[0] for row in conn.execute("SELECT key FROM meta WHERE key LIKE 'k%'")}
    finally:
        conn.close()
    assert keys == {"k1", "k3"}


async def _queued_together(store: SqliteStore, writes: list[Any]) -> list[object]:
    """Run the ``store._write`` calls ``writes`` queued together behind a busy thread
    (so they share one group) and return their outcomes (an error as the value)."""
    import asyncio

    entered, release = threading.Event(), threading.Event()

    def block(conn: sqlite3.Connection) -> bool:
        entered.set()
        return release.wait(10)

    busy = asyncio.ensure_future(store._read(block))
    assert await asyncio.to_thread(entered.wait, 10)  # the store's thread is held
    tasks = [asyncio.ensure_future(store._write(fn)) for fn in writes]
    await asyncio.sleep(0)  # a yield, not a wait: each write task queues its call
    release.set()
    assert await busy is True
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def _meta_keys(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM meta WHERE key LIKE 'k%'")}
    finally:
        conn.close()


async def test_a_write_that_rolls_back_the_whole_group_fails_alone(tmp_path: Path) -> None:
    """A write that fills the disk makes SQLite roll back the whole group's transaction,
    the writes queued before it included: only it fails; the others (before and after it)
    run again and are committed."""
    store = SqliteStore(f"sqlite:///{tmp_path}/group.db")
    await store.open()
    runs: list[str] = []
    try:

        def limit(conn: sqlite3.Connection) -> None:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            conn.execute(f"PRAGMA max_page_count = {pages + 8}")  # a nearly full disk

        await store._read(limit)

        def insert(key: str, size: int = 1) -> Any:
            def write(conn: sqlite3.Connection) -> str:
                runs.append(key)
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, "x" * size))
                return key

            return write

        results = await _queued_together(
            store, [insert("k1"), insert("k2", size=200_000), insert("k3")]
        )
        assert results[0] == "k1"
        assert isinstance(results[1], sqlite3.OperationalError)
        assert "full" in str(results[1])
        assert results[2] == "k3"
        assert runs == ["k1", "k2", "k1", "k3"]  # k1 again, k2 not
    finally:
        await store.close()
    assert _meta_keys(tmp_path / "group.db") == {"k1", "k3"}


async def test_writes_that_each_roll_back_the_whole_group_each_fail_once(
    tmp_path: Path,
) -> None:
    """Every write of a group rolls the whole transaction back (as a full disk would):
    each fails with its own error, each runs at most once per round and the rounds end,
    and a write that failed in its own savepoint is not run again."""
    store = SqliteStore(f"sqlite:///{tmp_path}/group.db")
    await store.open()
    runs: list[str] = []
    try:

        def undo(key: str) -> Any:
            def write(conn: sqlite3.Connection) -> str:
                runs.append(key)
                conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (key,))
                conn.execute("ROLLBACK")  # the whole transaction, as SQLITE_FULL does
                raise StoreError(f"{key} undone")

            return write

        def refused(conn: sqlite3.Connection) -> str:
            runs.append("k0")
            conn.execute("INSERT INTO meta (key, value) VALUES ('k0', 'x')")
            raise StoreError("k0 refused")

        results = await _queued_together(store, [refused, undo("k1"), undo("k2"), undo("k3")])
        assert [str(r) for r in results] == ["k0 refused", "k1 undone", "k2 undone", "k3 undone"]
        assert runs == ["k0", "k1", "k2", "k3"]
    finally:
        await store.close()
    assert _meta_keys(tmp_path / "group.db") == set()


async def test_a_failure_while_building_a_group_reaches_its_callers(tmp_path: Path) -> None:
    """The thread fails between calls, while gathering the writes queued behind the first
    (a MemoryError, say): the write it had taken hears that error instead of waiting
    forever, and the thread goes on serving the next ones."""
    import asyncio
    import queue

    class Failing(queue.SimpleQueue):  # type: ignore[type-arg]
        armed = True

        def get_nowait(self) -> Any:
            if self.armed:
                self.armed = False
                raise MemoryError("building the group")
            return super().get_nowait()

    store = SqliteStore(f"sqlite:///{tmp_path}/group.db")
    await store.open()
    try:
        thread = store._thread
        assert thread is not None
        entered, release = threading.Event(), threading.Event()

        def block(conn: sqlite3.Connection) -> bool:
            entered.set()
            return release.wait(10)

        busy = asyncio.ensure_future(store._read(block))
        assert await asyncio.to_thread(entered.wait, 10)  # the thread holds no queue call
        thread._queue = Failing()

        def insert(key: str) -> Any:
            def write(conn: sqlite3.Connection) -> str:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (key,))
                return key

            return write

        first = asyncio.ensure_future(store._write(insert("k1")))
        await asyncio.sleep(0)  # a yield, not a wait: the write queues its call
        release.set()
        assert await busy is True
        # A guard against the hang only: without the fix ``first`` never settles.
        with pytest.raises(MemoryError, match="building the group"):
            await asyncio.wait_for(first, 30)
        assert await asyncio.wait_for(store._write(insert("k2")), 30) == "k2"
        assert thread._pending == 0  # inline calls are not held back by a lost count
    finally:
        await store.close()
    assert _meta_keys(tmp_path / "group.db") == {"k2"}


def test_multi_row_inserts_fit_the_build_parameter_limit() -> None:
    """Bulk and small batches split into statements within SQLite's parameter limit (999
    on old builds), and every row goes in once."""
    from socialkit.schedule.stores._sqlite_rows import insert_rows

    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b, c)")
        for limit in (999, 100, 32766):
            conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
            for size in (1, 3, 100, 777, 2500):
                rows = [(i, "x", None) for i in range(size)]
                conn.execute("DELETE FROM t")
                insert_rows(conn, "INSERT INTO t (a, b, c) VALUES ", rows)
                assert conn.execute("SELECT COUNT(*), MAX(a) FROM t").fetchone() == (
                    size,
                    size - 1,
                )
    finally:
        conn.close()


async def test_a_long_wal_is_started_over(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/wal.db")
    await store.open()
    try:
        await store.put_revision(POST, now=T0)
        for _ in range(10):
            await store.add([pub()], now=T0)
        limit = await store._read(lambda c: c.execute("PRAGMA journal_size_limit").fetchone()[0])
        assert limit == 64 * 1024 * 1024  # a WAL started over is cut back to this
    finally:
        await store.close()
    conn = sqlite3.connect(tmp_path / "wal.db", isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 1000")
        writer = sqlite3.connect(tmp_path / "wal.db", isolation_level=None)
        for i in range(10):
            writer.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"k{i}",))
        frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        assert frames >= 10
        # shorter than the limit: a PASSIVE checkpoint only
        assert Checkpointer.checkpoint(conn, restart_frames=frames + 1) is False
        # as long as the limit: RESTART, and the next commit writes the WAL from its start
        assert Checkpointer.checkpoint(conn, restart_frames=frames) is True
        writer.execute("INSERT INTO meta (key, value) VALUES ('after', 'x')")
        assert conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] < frames
        writer.close()
    finally:
        conn.close()


async def test_listing_by_attention_reads_only_rows_waiting_for_a_person(tmp_path: Path) -> None:
    from socialkit.schedule.stores._sqlite_rows import ROW_COLUMNS

    store = SqliteStore(f"sqlite:///{tmp_path}/attention.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "attention.db") as conn:
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT {ROW_COLUMNS} FROM publications WHERE attention = ? "
            "ORDER BY due_at, id LIMIT ?",
            ("resolve", 101),
        ).fetchall()
    assert "USING INDEX publications_attention" in " ".join(str(row[3]) for row in plan)


async def _waiting_backlog(url: str, backlog: int, **options: Any) -> tuple[str, str]:
    """A store with two accounts: ``waiting`` marked needs_reauth with ``backlog`` due
    metric tasks (half added before the mark, half after), ``healthy`` with one due
    after all of them. Returns the two publications' ids."""
    store = SqliteStore(url, **options)
    await store.open()
    try:
        return await waiting_backlog(store, backlog)
    finally:
        await store.close()


def _steps(path: Path, call: Callable[[sqlite3.Connection], Any]) -> tuple[Any, int]:
    """``call(conn)`` on a connection of its own, and the SQLite VM steps it took."""
    conn = sqlite3.connect(path, isolation_level=None)
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    try:
        conn.set_progress_handler(step, 1)
        return call(conn), steps
    finally:
        conn.close()


async def test_next_due_and_claims_do_not_walk_the_backlog_of_an_account_waiting_for_a_person(
    tmp_path: Path,
) -> None:
    """The metric tasks of an account waiting for a person to re-authorise it (schema 9)
    are set aside in the database: next_due and a claim of metric tasks take as many
    SQLite steps with 2,000 of them waiting as with 20 (they walked and skipped every one
    on every call), and find the healthy account's collection."""
    from socialkit.schedule.stores import _sqlite_dispatch, _sqlite_misc

    lease = to_us(T0 + LEASE) - to_us(T0)
    found: dict[int, tuple[Any, int, Any, int]] = {}
    for backlog in (20, 2000):
        path = tmp_path / f"backlog-{backlog}.db"
        await _waiting_backlog(f"sqlite:///{path}", backlog)
        due, due_steps = _steps(path, lambda c: _sqlite_dispatch.next_due(c, T0))
        tasks, claim_steps = _steps(
            path, lambda c: _sqlite_misc.claim_metric_tasks(c, "w", to_us(T0), 1, lease)
        )
        found[backlog] = (due, due_steps, [t.account_id for t in tasks], claim_steps)
    small, big = found[20], found[2000]
    assert (big[0], big[2]) == (small[0], small[2]) == (T0 - SEC, ["healthy"])
    assert big[1] <= small[1] + 20, (small, big)  # not ~2,000 more: the backlog is not read
    assert big[3] <= small[3] + 20, (small, big)


async def test_next_due_leaves_an_account_waiting_for_a_person_out_in_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The due posts of an account waiting for a person to re-authorise it (a month of a
    team's queue, say) are left out by next_due's statement: none reaches Python, where
    each was read and skipped on every pass of every worker (inline on its event loop
    since the worker's store calls run there). The answer is the healthy account's."""
    from socialkit.schedule.stores import _sqlite_dispatch

    handed: list[int] = []
    pages = _sqlite_dispatch._pages

    def counted(*args: Any) -> Any:
        for row in pages(*args):
            handed.append(1)
            yield row

    monkeypatch.setattr(_sqlite_dispatch, "_pages", counted)
    async with opened(tmp_path / "waiting.db") as store:
        for name in ("waiting", "healthy"):
            await store.put_account(Account(id=name, platform="feed", handle=name), now=T0)
        await store.add([pub("waiting", due=T0 + i * SEC) for i in range(1, 2001)], now=T0)
        await store.add([pub("healthy", due=T0 + 3000 * SEC)], now=T0)
        await store.set_account_status("waiting", "needs_reauth", now=T0, reason="revoked")
        handed.clear()
        assert await store.next_due(now=T0) == T0 + 3000 * SEC
        assert len(handed) == 1, len(handed)  # the healthy one: not 2,001 rows
        await store.set_account_status("waiting", "active", now=T0)
        assert await store.next_due(now=T0) == T0 + SEC  # back in once reconnected


async def test_an_account_reconnected_by_any_code_brings_its_metric_tasks_back(
    tmp_path: Path,
) -> None:
    """Triggers set the tasks aside and bring them back, so code that knows nothing of it
    (a version 3 to 8 worker still running during a rolling deploy, which only updates
    the account's status) brings them back too; and a store migrated to schema 9 sets
    aside the backlog of the accounts already waiting."""
    from socialkit.schedule.stores._metric_waits import WAITING_FROM_US

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    await _waiting_backlog(url, 10, migrations=MIGRATIONS[:8], code_version=8)
    with sqlite3.connect(path) as conn:  # schema 8: nothing set aside yet
        assert conn.execute("SELECT MAX(due_at) FROM metric_tasks").fetchone()[0] < to_us(T0)
    store = SqliteStore(url)
    await store.open()  # migrated to schema 9
    try:
        with sqlite3.connect(path) as conn:
            aside = conn.execute(
                "SELECT COUNT(*) FROM metric_tasks WHERE due_at >= ?", (WAITING_FROM_US,)
            ).fetchone()[0]
        assert aside == 10
        (task,) = await store.claim_metric_tasks("w", now=T0, limit=5, lease=LEASE)
        assert task.account_id == "healthy"
        await store.complete_metric_task(task.id, [], now=T0)
        later = T0 + 60 * SEC
        conn = sqlite3.connect(path, isolation_level=None)
        try:  # what set_account_status did before schema 9, and older code still does
            conn.execute(
                "UPDATE accounts SET status = 'ok', status_reason = NULL, updated_at = ? "
                "WHERE workspace = 'default' AND id = 'waiting'",
                (to_us(later),),
            )
        finally:
            conn.close()
        back = await store.claim_metric_tasks("w", now=later, limit=50, lease=LEASE)
        assert [(t.account_id, t.due_at) for t in back] == [
            ("waiting", T0 - 3600 * SEC + i * SEC) for i in range(10)
        ]
    finally:
        await store.close()
