"""Metric collection against the store (a review of collection after a publish).

- A collection the worker itself has in flight (its task leased) is not work due now:
  ``next_due`` said it was, so a worker collecting polled about every second instead of
  sleeping until its next due work.
- The collections of an account that waits for a person to re-authorise it wait too:
  they were asked for anyway, each failing with an auth error (and dropped).
- A collection the platform refuses for the account's credentials marks the account and
  waits (it was given up).
- A late collection keeps its label (what was scheduled) and carries the post's real
  age when taken; one claimed so late that later ones are due too is made once, as the
  last one due, naming the ones it was made instead of (the same figures were stored
  under each label).

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialkit.errors import Forbidden, NeedsReauth
from socialkit.models.content import Post
from tests.schedule.conftest import START, account
from tests.schedule.test_review_actions import store_url  # noqa: F401 - memory, SQLite, PostgreSQL

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
LEASE = 5 * MINUTE


async def published(make_scheduler: Any, platform: Any) -> tuple[Any, Any, Any]:
    """A fake platform's server, a scheduler, and a post it published at ``START``
    (metric collections due at +1 h, +24 h and +7 d)."""
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    return server, scheduler, pub


async def test_next_due_waits_for_the_lease_of_a_collection_in_flight(
    make_scheduler, platform, clock
) -> None:
    _, scheduler, _ = await published(make_scheduler, platform)
    store = scheduler.store
    now = START + HOUR
    assert await store.next_due(now=now) == START + HOUR  # the +1 h collection
    (task,) = await store.claim_metric_tasks("w1", now=now, limit=10, lease=LEASE)
    # In flight: nothing is due until its lease ends (then another worker may take it).
    assert await store.next_due(now=now) == now + LEASE  # was now: due at once
    # Its lease ran out (the worker died): due again, from its own due time.
    assert await store.next_due(now=now + LEASE) == START + HOUR
    assert await store.claim_metric_tasks("w2", now=now + LEASE, limit=10, lease=LEASE) == [task]


async def test_collections_wait_for_an_account_to_be_reauthorised(
    make_scheduler, platform, clock
) -> None:
    server, scheduler, pub = await published(make_scheduler, platform)
    store = scheduler.store
    await store.set_account_status(
        "acme", "needs_reauth", now=START + MINUTE, reason="token revoked"
    )
    clock.set(START + 2 * HOUR)
    await scheduler.run(until_idle=True)
    assert server.metric_tokens == []  # was one call, failing with an auth error
    assert await store.claim_metric_tasks("w", now=clock.now(), limit=10, lease=LEASE) == []
    # Waiting for a person is not work due now (a worker sleeps meanwhile).
    assert await store.next_due(now=clock.now()) is None
    assert await scheduler.metrics(publication=pub.id) == []
    # Re-authorised: the collection comes, as the +1 h one (late, not dropped).
    await store.set_account_status("acme", "ok", now=START + 3 * HOUR)
    clock.set(START + 3 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == HOUR
    assert snapshot.collected_at == START + 3 * HOUR


async def test_a_late_collection_keeps_its_label_and_carries_its_real_age(
    make_scheduler, platform, clock
) -> None:
    server, scheduler, pub = await published(make_scheduler, platform)
    # The worker was down: the +1 h collection runs at +3 h.
    clock.set(START + 3 * HOUR)
    await scheduler.run(until_idle=True)
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == HOUR  # what was scheduled
    assert snapshot.collected_at == START + 3 * HOUR
    assert snapshot.age == 3 * HOUR  # what it is: a 3 h figure
    assert snapshot.skipped == ()
    assert len(server.metric_tokens) == 1


async def test_collections_due_together_are_collected_once(make_scheduler, platform, clock) -> None:
    server, scheduler, pub = await published(make_scheduler, platform)
    # Down for two days: +1 h and +24 h are both due. One call, one snapshot: the +24 h
    # one (late by a day), naming the +1 h one it was taken instead of.
    clock.set(START + 48 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1  # was 2: the same figures stored twice
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert (snapshot.after, snapshot.age, snapshot.skipped) == (24 * HOUR, 48 * HOUR, (HOUR,))
    # The +7 d one still comes, on time, on its own.
    clock.set(START + 7 * 24 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 2
    series = await scheduler.metrics(publication=pub.id)
    assert [(s.after, s.age, s.skipped) for s in series] == [
        (24 * HOUR, 48 * HOUR, (HOUR,)),
        (7 * 24 * HOUR, 7 * 24 * HOUR, ()),
    ]


async def test_the_store_hands_out_the_last_collection_due_and_records_the_skipped_ones(
    make_scheduler, platform, clock
) -> None:
    _, scheduler, pub = await published(make_scheduler, platform)
    store = scheduler.store
    # Eight days later all three are due: the +7 d one is handed out, once.
    now = START + 8 * 24 * HOUR
    (task,) = await store.claim_metric_tasks("w", now=now, limit=10, lease=LEASE)
    assert (task.publication_id, task.label, task.skipped) == (pub.id, "7d", ("1h", "24h"))
    assert task.due_at == START + 7 * 24 * HOUR
    assert await store.claim_metric_tasks("w", now=now + LEASE, limit=10, lease=LEASE) == [
        task
    ]  # its lease ran out: the same task again (the skipped ones are done)
    await store.complete_metric_task(task.id, [], now=now + LEASE)
    assert await store.next_due(now=now + LEASE) is None


async def test_a_collection_refused_for_its_credentials_waits_for_reauthorisation(
    make_scheduler, platform, clock
) -> None:
    """The platform refuses the account's credentials at a collection (before any publish
    did): the account is marked as a publish would mark it, and the collection waits for
    the person instead of being given up."""
    server, scheduler, pub = await published(make_scheduler, platform)
    server.script_metrics(NeedsReauth("token revoked", status_code=401))
    clock.set(START + HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    (record,) = await scheduler.accounts()
    assert record.status == "needs_reauth"  # was ok: the collection was dropped
    clock.set(START + 2 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1  # not asked again meanwhile
    await scheduler.reconnect("acme", actor="ann")
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 2
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert (snapshot.after, snapshot.age) == (HOUR, 2 * HOUR)


async def test_a_reauth_refusal_whose_account_cannot_be_marked_backs_off(
    make_scheduler, platform, clock
) -> None:
    """The platform refuses the credentials at a collection but the account cannot be
    marked (the store fails: "database is locked"). The account is still ``ok``, so the
    collection must not go back due at once: it was claimed again at once and the
    platform asked again, in a loop (201 calls for 200 scripted refusals in one
    ``run(until_idle=True)``). It goes back after the counted backoff delay instead, and
    is given up once its attempts (3 here) run out."""
    from socialkit.errors import StoreError

    server, scheduler, pub = await published(make_scheduler, platform)
    server.script_metrics(*[NeedsReauth("token revoked", status_code=401)] * 50)

    async def locked(*args: Any, **kwargs: Any) -> None:
        raise StoreError("database is locked")

    scheduler.store.set_account_status = locked
    clock.set(START + HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1  # was 51: asked again at once, in a loop
    (record,) = await scheduler.accounts()
    assert record.status == "ok"  # not marked (the store failed)
    # Counted, after the backoff delay (FAST_RETRY: 10 s, then 20 s), then given up.
    for _ in range(4):
        clock.advance(MINUTE)
        await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 3
    clock.set(START + 20 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 3  # given up (the +24 h one comes at its time)
    assert await scheduler.metrics(publication=pub.id) == []


async def test_a_metrics_only_permission_refusal_does_not_stop_publishing(
    make_scheduler, platform, clock, caplog
) -> None:
    """Credentials allowed to publish but not to read (a Mastodon token with write
    scopes only: 403 on reading a status): the +1 h collection's ``Forbidden`` (a
    ``NeedsReauth``) marked the account ``needs_reauth`` and all its publishing waited
    for a person. It is the collection that fails (counted backoff, then given up), with a
    warning naming the account; the account stays ``ok`` and a post due at +2 h goes
    out."""
    import logging

    server, scheduler, pub = await published(make_scheduler, platform)
    (second,) = await scheduler.schedule(
        Post(text="two"), account(timezone="UTC"), at=START + 2 * HOUR
    )
    refusal = Forbidden("This action is outside the authorized scopes", status_code=403)
    server.script_metrics(*[refusal] * 3)
    clock.set(START + HOUR)
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    (record,) = await scheduler.accounts()
    assert record.status == "ok"  # was needs_reauth
    (warning,) = [r for r in caplog.records if "permission to read metrics" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "acme" in warning.getMessage()
    # Tried again after the backoff delay, counted, then given up (3 attempts).
    for _ in range(4):
        clock.advance(MINUTE)
        await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 3
    clock.set(START + 2 * HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(second.id)).state == "published"  # was waiting for a person
    assert len(server.metric_tokens) == 3  # the +1 h collection was given up
    (record,) = await scheduler.accounts()
    assert record.status == "ok"
    # The later collections still come (permissions fixed meanwhile): the second
    # post's +1 h one, and the first's +24 h one.
    clock.set(START + 24 * HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 5
    [first] = await scheduler.metrics(publication=second.id)
    assert first.after == HOUR
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == 24 * HOUR


async def test_a_reauth_refusal_that_is_not_forbidden_still_marks_the_account(
    make_scheduler, platform, clock
) -> None:
    """Only ``fetch_metrics``'s own ``Forbidden`` is a refusal to read: a plain
    ``NeedsReauth`` (without a status, or with 403: the status code no longer decides),
    or a ``Forbidden`` of the refresh an ``AuthExpired`` led to, still marks the account
    (401 is covered above)."""
    from socialkit.errors import AuthExpired

    server, scheduler, _ = await published(make_scheduler, platform)
    for refusal in (
        NeedsReauth("credentials missing"),
        NeedsReauth("login disabled", status_code=403),
    ):
        server.script_metrics(refusal)
        await scheduler.run(until_idle=True)
        clock.advance(HOUR)
        await scheduler.run(until_idle=True)
        (record,) = await scheduler.accounts()
        assert record.status == "needs_reauth", refusal
        await scheduler.reconnect("acme", actor="ann")
    server.script_metrics(AuthExpired("token expired", status_code=401))
    server.refresh_result = Forbidden("refresh refused", status_code=403)
    await scheduler.run(until_idle=True)
    assert server.refreshes == 1
    (record,) = await scheduler.accounts()
    assert record.status == "needs_reauth"


def test_a_metric_schedule_with_a_label_twice_or_an_offset_not_after_publishing_is_refused() -> (
    None
):
    """A snapshot's ``after`` and ``skipped`` are found by label: with ``("x", 1 h)`` and
    ``("x", 24 h)`` both collections were stamped 1 h (accepted before). An offset of
    zero or less is refused too. The error names the field, the label and the value."""
    import pytest

    from socialkit.schedule.engine.config import EngineConfig

    with pytest.raises(
        ValueError,
        match=r"^metric_schedule: the label 'x' appears more than once "
        r"\(at 3600 s and 86400 s\)",
    ):
        EngineConfig(metric_schedule=(("x", HOUR), ("1h", HOUR), ("x", 24 * HOUR)))
    with pytest.raises(
        ValueError,
        match=r"^metric_schedule: the offset of 'late' must be positive.*\(got -3600 s\)",
    ):
        EngineConfig(metric_schedule=(("1h", HOUR), ("late", -HOUR)))
    with pytest.raises(
        ValueError, match=r"^metric_schedule: the offset of 'now' must be positive.*got 0 s"
    ):
        EngineConfig(metric_schedule=(("now", dt.timedelta(0)),))
    with pytest.raises(
        ValueError, match=r"^metric_schedule: the offset of '1h' must be a timedelta \(got 3600\)"
    ):
        EngineConfig(metric_schedule=(("1h", 3600),))  # type: ignore[arg-type]
    # Distinct labels, positive offsets (in any order), and no collections at all are fine.
    assert EngineConfig(metric_schedule=(("24h", 24 * HOUR), ("1h", HOUR))).metric_offsets == (
        ("24h", 86400.0),
        ("1h", 3600.0),
    )
    assert EngineConfig(metric_schedule=()).metric_schedule == ()


async def _metric_task_rows(url: str, store: Any) -> list[tuple[str, bool, Any, Any]]:
    """(label, done, lease_owner, lease_expires_at) of each metric task, by id (the
    leases are not in the store's API)."""
    if url.startswith("memory"):
        tasks = sorted(store._tasks.values(), key=lambda t: t.id)
        return [(t.label, t.done_at is not None, t.lease_owner, t.lease_expires_at) for t in tasks]
    query = (
        "SELECT label, done_at IS NOT NULL, lease_owner, lease_expires_at "
        "FROM {}metric_tasks ORDER BY id"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return [
                (r[0], bool(r[1]), r[2], r[3]) for r in conn.execute(query.format("")).fetchall()
            ]
        finally:
            conn.close()
    import psycopg

    from tests.postgres.support import POSTGRES_URL

    schema = url.rpartition("schema=")[2].partition("&")[0]
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        cur = await conn.execute(query.format(f'"{schema}".'))  # type: ignore[arg-type]
        return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def test_a_collection_skipped_by_a_late_claim_keeps_no_lease(
    make_scheduler,
    platform,
    clock,
    store_url,  # noqa: F811 - the fixture
) -> None:
    """Worker A leased the +1 h collection and died; B claims a day later and the +1 h
    one is skipped (done) for the +24 h one. PostgreSQL cleared A's lease on the skipped
    row; SQLite and memory left it there, a stale lease on a finished task."""
    _, scheduler, _ = await published(make_scheduler, platform)
    store = scheduler.store
    await store.claim_metric_tasks("A", now=START + HOUR, limit=10, lease=LEASE)
    (late,) = await store.claim_metric_tasks("B", now=START + 25 * HOUR, limit=10, lease=LEASE)
    assert (late.label, late.skipped) == ("24h", ("1h",))
    rows = await _metric_task_rows(store_url, store)
    assert [(label, done, owner) for label, done, owner, _ in rows] == [
        ("1h", True, None),  # was "A" on SQLite and memory
        ("24h", False, "B"),
    ]
    assert rows[0][3] is None  # no lease expiry either
    assert rows[1][3] is not None
