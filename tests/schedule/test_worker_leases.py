"""A worker's claims under store failures, re-claims, a graceful stop and clock steps.

Each claim the worker holds is heartbeated until its outcome is committed or it is handed
back; an outcome the store fails to commit is committed again (the platform's id is never
thrown away); a claim that was not sent is handed back, never left to its lease."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from socialkit.errors import Rejected, StoreError, Transient
from socialkit.models.content import Post
from socialkit.models.credentials import Credentials
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule.engine import clock as clock_module
from socialkit.schedule.engine.clock import SystemClock
from socialkit.schedule.engine.dispatch import _RELEASE_TRIES
from socialkit.schedule.engine.worker import Worker
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")
FAST = {"idle_poll": dt.timedelta(milliseconds=10)}  # the pause before a commit's next try


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (a bound, not a measurement) until ``condition`` holds."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def recorded_heartbeats(store: Any) -> tuple[list[list[tuple[str, int]]], asyncio.Event]:
    """Wrap ``store.heartbeat``: the claims of each call, and an event set after each."""
    real = store.heartbeat
    beats: list[list[tuple[str, int]]] = []
    beat = asyncio.Event()

    async def heartbeat(worker: str, claims: Any, **kwargs: Any) -> list[str]:
        beats.append(list(claims))
        lost: list[str] = await real(worker, claims, **kwargs)
        beat.set()
        return lost

    store.heartbeat = heartbeat
    return beats, beat


def flaky(
    target: Any, name: str, failures: int | set[int], message: str = "database is locked"
) -> list[int]:
    """Make ``target.name`` raise a StoreError for its first ``failures`` calls (or, for
    a set, for those calls, numbered from 1)."""
    real = getattr(target, name)
    calls: list[int] = []

    async def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) in failures if isinstance(failures, set) else len(calls) <= failures:
            raise StoreError(message)
        return await real(*args, **kwargs)

    setattr(target, name, call)
    return calls


# -- D1: a stale job of a publication claimed again ------------------------------------------


class GatedCredentials:
    """Credentials that each load waits for its own gate (a slow ``prepare``)."""

    def __init__(self) -> None:
        self.gates: list[asyncio.Event] = []

    async def load(self, acct: Any) -> Credentials:
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return Credentials()

    async def save(self, acct: Any, creds: Any) -> None:
        return None

    def lock(self, acct: Any) -> asyncio.Lock:
        return asyncio.Lock()


async def test_a_stale_job_that_ends_keeps_the_newer_claim_of_its_publication(
    make_scheduler, platform, clock
) -> None:
    """Claimed (attempt 1), slow to prepare; paused and resumed; claimed again (attempt
    2). The stale job's end must not drop the new claim from the worker's jobs: it is
    still heartbeated, and a graceful stop still hands it back."""
    platform(requires_credentials=True)
    credentials = GatedCredentials()
    scheduler = await make_scheduler(credentials=credentials)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    store = scheduler.store
    beats, beat = recorded_heartbeats(store)
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await until(lambda: len(credentials.gates) == 1, "the first claim")
        await scheduler.pause(actor="ann")
        await scheduler.resume(actor="ann")
        await until(lambda: len(credentials.gates) == 2, "the second claim")
        credentials.gates[0].set()  # the stale job (attempt 1) ends: its start is refused
        await until(lambda: worker.in_flight == 1, "the stale job's end")
        assert {k: j.claim.attempt for k, j in worker.dispatcher.jobs.items()} == {pub.id: 2}
        # Its lease is still heartbeated ...
        clock.advance(scheduler.config.heartbeat_every)
        await asyncio.wait_for(beat.wait(), 5)
        assert beats[-1] == [(pub.id, 2)]
        # ... and a graceful stop hands it back.
        stop.set()
        await until(
            lambda: (
                worker.dispatcher.jobs.get(pub.id) is None or worker.dispatcher.jobs[pub.id].lost
            ),
            "the hand-back",
        )
    finally:
        stop.set()
        for gate in credentials.gates:
            gate.set()
        stats = await asyncio.wait_for(run, 10)
    assert stats.handed_back == 1
    p = await scheduler.get(pub.id)
    assert (p.state, p.attempt, p.lease_owner) == (S.SCHEDULED, 2, None)


# -- D2: a store that fails at a commit ------------------------------------------------------


async def test_a_receipt_whose_commit_fails_is_committed_again(
    make_scheduler, platform, caplog
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "record_receipts", failures=2)
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert len(calls) == 3
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [r.receipt.ref.id for r in p.receipts] == list(server.posts)
    assert len(server.calls) == 1
    tries = [
        r.getMessage() for r in caplog.records if "could not save its outcome" in r.getMessage()
    ]
    prefix = f"publication {pub.id}: could not save its outcome (StoreError: database is locked); "
    assert len(tries) == 2
    assert all(t.startswith(f"{prefix}trying again in ") and t.endswith(" s") for t in tries)
    pauses = [float(t.removeprefix(f"{prefix}trying again in ").removesuffix(" s")) for t in tries]
    # idle_poll doubled each time, plus up to a quarter more at random
    assert 0.01 <= pauses[0] <= 0.0125
    assert 0.02 <= pauses[1] <= 0.025


async def test_a_part_whose_checkpoint_fails_is_saved_again_not_an_unknown_outcome(
    make_scheduler, platform, caplog
) -> None:
    """The adapter records each part it published (``ctx.checkpoint``); a store that
    fails there is tried again, so the platform's answer is kept instead of becoming an
    unknown outcome a person must settle."""
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "record_checkpoint", failures=2)
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert len(calls) == 3
    p = await scheduler.get(pub.id)
    assert (p.state, p.attention) == (S.PUBLISHED, None)
    (post_id,) = server.posts
    assert [r.receipt.ref.id for r in p.receipts] == [post_id]
    assert len(server.calls) == 1
    assert f"could not save part 1 (post {post_id})" in caplog.text


async def test_a_budget_that_cannot_be_saved_does_not_lose_the_receipt(
    make_scheduler, platform, clock
) -> None:
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(("report", 5, clock.now() + dt.timedelta(minutes=15)))
    calls = flaky(scheduler.store, "set_budget", failures=10)
    await scheduler.run(until_idle=True)
    assert calls  # the budget write was tried, and failed
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [r.receipt.ref.id for r in p.receipts] == list(server.posts)


async def test_a_transition_whose_commit_fails_is_committed_again(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(Transient("connection refused"))
    calls = flaky(scheduler.store, "apply", failures=1)
    await scheduler.run(until_idle=True)
    assert len(calls) == 2
    p = await scheduler.get(pub.id)
    assert (p.state, p.failures) == (S.RETRY_WAIT, 1)


async def test_a_job_whose_outcome_waits_for_the_store_keeps_its_lease(
    make_scheduler, platform, clock
) -> None:
    """While its receipt's commit is tried again, the job stays in the worker's jobs and
    its lease is heartbeated; the receipt lands once the store is back."""
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine={"idle_poll": dt.timedelta(milliseconds=200)})
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    store = scheduler.store
    real_record = store.record_receipts
    back = asyncio.Event()  # the store is back
    failed = asyncio.Event()

    async def record_receipts(*args: Any, **kwargs: Any) -> Any:
        if not back.is_set():
            failed.set()
            raise StoreError("database is locked")
        return await real_record(*args, **kwargs)

    store.record_receipts = record_receipts  # type: ignore[method-assign]
    beats, beat = recorded_heartbeats(store)
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await asyncio.wait_for(failed.wait(), 5)
        assert pub.id in worker.dispatcher.jobs
        for _ in range(20):  # a heartbeat that fell on a try leaves the job out: again
            beat.clear()
            clock.advance(scheduler.config.heartbeat_every)
            await asyncio.wait_for(beat.wait(), 5)
            if (pub.id, 1) in beats[-1]:
                break
        assert (pub.id, 1) in beats[-1]
        assert (await scheduler.get(pub.id)).lease_expires_at == (
            clock.now() + scheduler.config.lease
        )
        back.set()
        await until(lambda: pub.id not in worker.dispatcher.jobs, "the receipt's commit")
    finally:
        back.set()
        stop.set()
        await asyncio.wait_for(run, 10)
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [r.receipt.ref.id for r in p.receipts] == list(server.posts)


async def test_a_run_until_idle_ends_while_the_store_stays_down(
    make_scheduler, platform, caplog
) -> None:
    """``run --once`` tries a receipt's commit for ``shutdown_timeout``, then ends and
    logs the platform's id, so a person can resolve the publication with it."""
    server = platform(idempotency=Idempotency.NONE)
    engine = {**FAST, "shutdown_timeout": dt.timedelta(milliseconds=100)}
    scheduler = await make_scheduler(engine=engine)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "record_receipts", failures=1000)
    with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
        await asyncio.wait_for(scheduler.run(until_idle=True), 10)  # a bound
    assert 1 < len(calls) < 1000
    (post_id,) = server.posts
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line == (
        f"publication {pub.id}: its receipt could not be saved (StoreError: database is "
        f"locked): published on fake as {post_id} (https://fake.example/{post_id})"
    )


async def test_one_bad_receipt_holds_back_no_other_receipt_of_its_batch(
    make_scheduler, platform, caplog
) -> None:
    """Two receipts committed in one batch; the store refuses the batch for one of them
    (its row is gone: an error no retry passes). The other is saved at once; the bad one
    is not tried again, and its post id is logged for a person (review R2)."""
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (a,) = await scheduler.schedule(POST, account("acme"), at=START)
    (b,) = await scheduler.schedule(POST, account("beta"), at=START)
    (c,) = await scheduler.schedule(POST, account("core"), at=START)
    store = scheduler.store
    real_record = store.record_receipts
    batches: list[list[str]] = []
    hold, holding = asyncio.Event(), asyncio.Event()

    async def record_receipts(receipts: Any, **kwargs: Any) -> Any:
        ids = sorted(r.id for r in receipts)
        batches.append(ids)
        if ids == [c.id]:  # C's commit is held: A's and B's queue up behind it, together
            holding.set()
            await hold.wait()
        if b.id in ids:
            raise StoreError(f"no publication {b.id!r}")
        return await real_record(receipts, **kwargs)

    store.record_receipts = record_receipts  # type: ignore[method-assign]

    async def after_c(call: dict[str, Any]) -> None:
        if call["publication"] != c.id:
            await holding.wait()

    server.on_publish = after_c
    worker = Worker(await scheduler._s())
    jobs = worker.dispatcher.jobs
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))  # a serving worker: no retry_for
    try:
        with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
            await asyncio.wait_for(holding.wait(), 5)
            await until(
                lambda: all(x in jobs and jobs[x].committing for x in (a.id, b.id)),
                "A's and B's receipts waiting for the commit",
            )
            hold.set()
            await until(lambda: not jobs, "every outcome")
    finally:
        hold.set()
        stop.set()
        await asyncio.wait_for(run, 10)
    assert batches[:2] == [[c.id], sorted([a.id, b.id])]
    assert sorted(batches[2:]) == sorted([[a.id], [b.id]])  # then each once, on its own
    for pub in (a, c):
        p = await scheduler.get(pub.id)
        assert (p.state, len(p.receipts)) == (S.PUBLISHED, 1)
    saved = {(await scheduler.get(x.id)).receipts[0].receipt.ref.id for x in (a, c)}
    (post_b,) = set(server.posts) - saved
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"publication {b.id}: its receipt could not be saved (StoreError: no publication "
        f"{b.id!r}): published on fake as {post_b} (https://fake.example/{post_b})"
    ]
    assert "trying again" not in caplog.text


async def test_an_outcome_whose_commit_cannot_pass_is_not_tried_again(
    make_scheduler, platform, caplog
) -> None:
    """A transition the store refuses with an error no retry passes (a TypeError: a bug)
    is tried once, logged, and left: not retried for as long as the worker runs."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(Transient("connection refused"))
    calls: list[int] = []

    async def apply(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise TypeError("unsupported type for timedelta seconds component: NoneType")

    scheduler.store.apply = apply  # type: ignore[method-assign]
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))  # a serving worker: no retry_for
    try:
        with caplog.at_level(logging.WARNING, logger="socialkit.schedule"):
            await until(lambda: bool(calls) and not worker.dispatcher.jobs, "the outcome")
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
    assert len(calls) == 1
    assert "trying again" not in caplog.text
    assert (
        f"publication {pub.id}: its outcome could not be saved (TypeError: unsupported type"
    ) in caplog.text


def landed_then_raise(target: Any, name: str) -> list[int]:
    """Make ``target.name``'s first call commit, then raise (a connection lost after
    ``COMMIT``: the answer never arrives)."""
    real = getattr(target, name)
    calls: list[int] = []

    async def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        result = await real(*args, **kwargs)
        if len(calls) == 1:
            raise StoreError("connection lost after COMMIT (server closed the connection)")
        return result

    setattr(target, name, call)
    return calls


async def test_a_receipt_whose_commit_landed_but_raised_counts_as_saved(
    make_scheduler, platform, registry
) -> None:
    """The receipt's commit lands, its answer is lost; the next try is a duplicate
    (nothing more to write). It counts as saved: ``publication_published`` fires once
    (review R3)."""
    from tests.schedule.test_hooks import recorder

    seen = recorder(registry)
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = landed_then_raise(scheduler.store, "record_receipts")
    await scheduler.run(until_idle=True)
    assert len(calls) == 2
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [r.receipt.ref.id for r in p.receipts] == list(server.posts)
    published = [value for kind, value in seen if kind == "published"]
    assert len(published) == 1
    change, receipt = published[0]  # type: ignore[misc]
    assert (change.publication_id, change.to_state) == (pub.id, S.PUBLISHED)
    assert receipt.ref.id == p.receipts[0].receipt.ref.id


async def test_a_transition_whose_commit_landed_but_raised_counts_as_applied(
    make_scheduler, platform, registry, caplog
) -> None:
    """A refused post's ``failed`` lands, its answer is lost; the next try finds the fence
    moved on (by that very transition). It counts as applied: ``publication_failed``
    fires, and the log does not say the publication moved on (review R3)."""
    from tests.schedule.test_hooks import recorder

    seen = recorder(registry)
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(Rejected("text too long"))
    calls = landed_then_raise(scheduler.store, "apply")
    with caplog.at_level(logging.INFO, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert len(calls) == 2
    p = await scheduler.get(pub.id)
    assert p.state == S.FAILED
    failed = [value for kind, value in seen if kind == "failed"]
    assert len(failed) == 1
    assert failed[0][0].publication_id == pub.id  # type: ignore[index]
    assert "moved on before its outcome was saved" not in caplog.text


async def test_a_start_whose_commit_fails_is_handed_back(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "mark_publishing", failures=1)
    await scheduler.run(until_idle=True)  # handed back, claimed again, sent
    assert len(calls) == 2
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.PUBLISHED
    assert "released" in [e.kind for e in p.history]
    assert [c["publication"] for c in server.calls] == [pub.id]


async def test_a_claim_whose_history_cannot_be_read_is_handed_back(
    make_scheduler, platform, clock
) -> None:
    """A resend reads the publication's history before it sends (when the first send
    went out): a store that fails there hands the claim back, nothing is sent."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(Transient("connection refused"))
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.RETRY_WAIT
    clock.set(p.run_at)
    calls = flaky(scheduler.store, "events", failures=1)
    await scheduler.run(until_idle=True)  # handed back, claimed again, sent
    assert calls
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.PUBLISHED
    assert "released" in [e.kind for e in p.history]
    assert len(server.calls) == 2


async def test_a_claim_the_engine_keeps_failing_on_waits_before_it_is_claimed_again(
    make_scheduler, platform, clock, caplog
) -> None:
    """Every start fails (a store error that does not pass): the first failure is handed
    back at once, each next one in a row waits ``idle_poll`` doubled before it can be
    claimed again, so the worker does not claim, fail and hand back in a tight loop, and a
    run until idle ends, naming the publication (review R6)."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "mark_publishing", failures=3, message="disk I/O error")
    worker = Worker(await scheduler._s())
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        await asyncio.wait_for(worker.run(until_idle=True), 10)  # a bound: it ends
    assert len(calls) == 2  # handed back at once, claimed again, failed again: waits
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.attempt, p.failures, p.lease_owner) == (S.RETRY_WAIT, 2, 0, None)
    assert p.run_at == clock.now() + dt.timedelta(milliseconds=10)
    assert [e.to_state for e in p.history if e.kind == "released"] == [
        S.SCHEDULED,
        S.RETRY_WAIT,
    ]
    assert (
        f"publication {pub.id}: not sent: the engine failed on it 2 times in a row "
        "(StoreError: disk I/O error); tried again at "
    ) in caplog.text
    clock.set(p.run_at)
    await asyncio.wait_for(worker.run(until_idle=True), 10)
    assert len(calls) == 3
    p = await scheduler.get(pub.id)
    assert (p.state, p.run_at) == (S.RETRY_WAIT, clock.now() + dt.timedelta(milliseconds=20))
    clock.set(p.run_at)
    await asyncio.wait_for(worker.run(until_idle=True), 10)  # the store is back: sent
    assert len(calls) == 4
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert [c["publication"] for c in server.calls] == [pub.id]


async def test_a_restarted_worker_goes_on_with_the_backoff_of_a_claim_that_keeps_failing(
    make_scheduler, platform, clock
) -> None:
    """How many times in a row the engine failed on a claim before sending is kept in the
    store (on each hand-back's event), not in one worker's memory: a worker started after
    two failures (the same one restarted, or another) waits twice as long after the
    third, instead of handing back at once and starting the doubling again (review R6)."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    calls = flaky(scheduler.store, "mark_publishing", failures=3, message="disk I/O error")
    await asyncio.wait_for(Worker(await scheduler._s()).run(until_idle=True), 10)
    assert len(calls) == 2
    p = await scheduler.get(pub.id)
    assert (p.state, p.run_at) == (S.RETRY_WAIT, clock.now() + dt.timedelta(milliseconds=10))
    clock.set(p.run_at)
    restarted = await make_scheduler(engine=FAST, worker_id="w2", store=scheduler.store)
    await asyncio.wait_for(restarted.run(until_idle=True), 10)
    assert len(calls) == 3  # failed once more, and waits: not handed back at once
    p = await restarted.get(pub.id, history=True)
    assert (p.state, p.run_at) == (S.RETRY_WAIT, clock.now() + dt.timedelta(milliseconds=20))
    released = [e for e in p.history if e.kind == "released"]
    assert [(e.actor, e.data.get("unsent_failure")) for e in released] == [
        ("w1", 1),
        ("w1", 2),
        ("w2", 3),
    ]
    clock.set(p.run_at)
    await asyncio.wait_for(restarted.run(until_idle=True), 10)  # the store is back: sent
    assert len(calls) == 4
    assert (await restarted.get(pub.id)).state == S.PUBLISHED
    assert [c["publication"] for c in server.calls] == [pub.id]


async def test_a_reconciliation_the_engine_keeps_failing_on_waits_too(
    make_scheduler, platform, clock
) -> None:
    """The same for an ``unknown`` publication being reconciled (its history cannot be
    read when the reconciliation starts, and can when the hand-back counts the failures
    in a row): handed back once at once, then it stays ``unknown`` and waits
    ``idle_poll`` before it is claimed again (review R6)."""
    server = platform(idempotency=Idempotency.NONE)
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(("unanswered", 0))  # posted, the answer lost
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state == S.UNKNOWN
    clock.set(p.run_at)
    calls = flaky(scheduler.store, "events", failures={1, 3}, message="disk I/O error")
    worker = Worker(await scheduler._s())
    await asyncio.wait_for(worker.run(until_idle=True), 10)  # a bound: it ends
    assert len(calls) == 4
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.attention, p.lease_owner) == (S.UNKNOWN, None, None)
    assert p.run_at == clock.now() + dt.timedelta(milliseconds=10)
    released = [(e.from_state, e.to_state) for e in p.history if e.kind == "released"]
    assert released == [(S.UNKNOWN, S.UNKNOWN)] * 2
    server.script_lookup("found")
    clock.set(p.run_at)
    await asyncio.wait_for(worker.run(until_idle=True), 10)  # the store is back
    p = await scheduler.get(pub.id)
    assert p.state == S.PUBLISHED
    assert len(server.calls) == 1  # found, not sent again


async def test_a_claim_failing_while_its_history_cannot_be_read_is_handed_back_with_a_wait(
    make_scheduler, platform, clock
) -> None:
    """The engine fails on a claim, and the store cannot say how many times in a row it
    did (its history read fails, and fails again each time it is tried): the claim is
    handed back all the same, not left under the worker's lease until it runs out (60 s
    by default, while ``run --once`` ended with the publication unsent), and not at once
    either, where it could be claimed and fail again in a tight loop: it waits
    ``idle_poll``, as a second failure in a row does, and the next failure counts it
    (review R6)."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    starts = flaky(scheduler.store, "mark_publishing", failures=2, message="disk I/O error")
    reads = flaky(scheduler.store, "events", failures=_RELEASE_TRIES, message="disk I/O error")
    await asyncio.wait_for(scheduler.run(until_idle=True), 10)  # a bound: it ends
    assert (len(starts), len(reads)) == (1, _RELEASE_TRIES)  # the read tried again
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.lease_owner, p.failures) == (S.RETRY_WAIT, None, 0)
    assert p.run_at == clock.now() + dt.timedelta(milliseconds=10)
    (released,) = [e for e in p.history if e.kind == "released"]
    assert released.data == {"unsent_failure_uncounted": True}
    clock.set(p.run_at)  # a short step, not the lease
    await asyncio.wait_for(scheduler.run(until_idle=True), 10)
    assert len(starts) == 2  # failed again, and counted after the uncounted one: waits
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.lease_owner) == (S.RETRY_WAIT, None)
    assert p.run_at == clock.now() + dt.timedelta(milliseconds=10)
    assert [e.data for e in p.history if e.kind == "released"] == [
        {"unsent_failure_uncounted": True},
        {"unsent_failure": 2},
    ]
    clock.set(p.run_at)
    await asyncio.wait_for(scheduler.run(until_idle=True), 10)  # the store is back: sent
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    assert [c["publication"] for c in server.calls] == [pub.id]


async def test_a_history_read_that_fails_for_a_moment_is_tried_again_before_a_hand_back(
    make_scheduler, platform, clock
) -> None:
    """The engine fails on a claim and the history read that counts the failures in a
    row fails once: it is tried again (after ``idle_poll``), finds none, and the claim is
    handed back at once, as a first failure is, so the same run until idle sends it; it
    was left to its lease (review R6)."""
    server = platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    starts = flaky(scheduler.store, "mark_publishing", failures=1, message="disk I/O error")
    reads = flaky(scheduler.store, "events", failures=1, message="disk I/O error")
    await asyncio.wait_for(scheduler.run(until_idle=True), 10)
    assert (len(starts), len(reads)) == (2, 2)
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.PUBLISHED
    assert [(e.to_state, e.data) for e in p.history if e.kind == "released"] == [
        (S.SCHEDULED, {"unsent_failure": 1})
    ]
    assert [c["publication"] for c in server.calls] == [pub.id]


# -- D4: heartbeats during a graceful stop ---------------------------------------------------


async def test_heartbeats_go_on_while_a_graceful_stop_waits_for_a_publish(
    make_scheduler, platform, clock
) -> None:
    """lease 30 s: a publish still running 30 s into a graceful stop keeps its lease, so
    another worker does not sweep it to ``unknown``; its real outcome is committed."""
    server = platform(idempotency=Idempotency.NONE)
    lease = {"lease": dt.timedelta(seconds=30)}
    scheduler = await make_scheduler(engine=lease)
    other = await make_scheduler(worker_id="w2", store=scheduler.store, engine=lease)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    store = scheduler.store
    _, beat = recorded_heartbeats(store)
    gate, entered = asyncio.Event(), asyncio.Event()

    async def slow(call: dict[str, Any]) -> None:
        entered.set()
        await gate.wait()

    server.on_publish = slow
    server.script(Transient("connection refused"))  # nothing was posted
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await asyncio.wait_for(entered.wait(), 5)
        stop.set()  # the graceful stop waits for the publish in flight
        for _ in range(3):
            beat.clear()
            clock.advance(scheduler.config.heartbeat_every)
            await asyncio.wait_for(beat.wait(), 5)
        clock.advance(dt.timedelta(seconds=1))  # 31 s into the stop
        await other.run(until_idle=True)  # another worker sweeps expired leases
        assert (await scheduler.get(pub.id)).state == S.PUBLISHING
    finally:
        gate.set()
        stop.set()
        await asyncio.wait_for(run, 10)
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.failures) == (S.RETRY_WAIT, 1)
    assert "lease_expired" not in [e.kind for e in p.history]


async def test_a_start_that_lands_before_the_stop_hands_it_back_is_sent_and_heartbeated(
    make_scheduler, platform, clock
) -> None:
    """The stop comes while a claim's start (``publishing``) is being committed: the
    start lands, so the hand-back does not apply. The job is sent, and its lease is still
    heartbeated while the stop waits for it: another worker does not sweep it to
    ``unknown`` mid-send (review R1)."""
    server = platform(idempotency=Idempotency.NONE)
    lease = {"lease": dt.timedelta(seconds=30)}
    scheduler = await make_scheduler(engine=lease)
    other = await make_scheduler(worker_id="w2", store=scheduler.store, engine=lease)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    store = scheduler.store
    real_mark, real_release = store.mark_publishing, store.release
    in_start, go, released = asyncio.Event(), asyncio.Event(), asyncio.Event()
    releases: list[list[bool]] = []

    async def mark_publishing(*args: Any, **kwargs: Any) -> Any:
        result = await real_mark(*args, **kwargs)  # committed; the answer is held back
        in_start.set()
        await go.wait()
        return result

    async def release(*args: Any, **kwargs: Any) -> Any:
        result = await real_release(*args, **kwargs)
        releases.append(list(result))
        released.set()
        return result

    store.mark_publishing = mark_publishing  # type: ignore[method-assign]
    store.release = release  # type: ignore[method-assign]
    beats, beat = recorded_heartbeats(store)
    gate, entered = asyncio.Event(), asyncio.Event()

    async def slow(call: dict[str, Any]) -> None:
        entered.set()
        await gate.wait()

    server.on_publish = slow
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await asyncio.wait_for(in_start.wait(), 5)
        stop.set()  # the graceful stop: the start has landed, its answer not yet back
        await asyncio.wait_for(released.wait(), 5)
        assert releases == [[False]]  # the hand-back did not apply
        go.set()
        await asyncio.wait_for(entered.wait(), 5)  # sent
        job = worker.dispatcher.jobs[pub.id]
        assert (job.sending, job.lost) == (True, False)
        for _ in range(3):
            beat.clear()
            clock.advance(scheduler.config.heartbeat_every)
            await asyncio.wait_for(beat.wait(), 5)
            assert beats[-1] == [(pub.id, 1)]
        clock.advance(dt.timedelta(seconds=1))  # 31 s into the stop
        await other.run(until_idle=True)  # another worker sweeps expired leases
        assert (await scheduler.get(pub.id)).state == S.PUBLISHING
    finally:
        go.set()
        gate.set()
        stop.set()
        stats = await asyncio.wait_for(run, 10)
    assert stats.handed_back == 0
    p = await scheduler.get(pub.id, history=True)
    assert p.state == S.PUBLISHED
    assert [r.receipt.ref.id for r in p.receipts] == list(server.posts)
    assert "lease_expired" not in [e.kind for e in p.history]


async def test_a_graceful_stop_goes_on_when_the_hand_back_fails(
    make_scheduler, platform, caplog
) -> None:
    """Whatever the store raises at the hand-back (here a raw sqlite3 error), the stop
    goes on: the claim is not sent, and its lease is left to expire."""
    import sqlite3

    server = platform(requires_credentials=True)
    credentials = GatedCredentials()
    scheduler = await make_scheduler(credentials=credentials)
    (pub,) = await scheduler.schedule(POST, account(), at=START)

    async def release(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    scheduler.store.release = release  # type: ignore[method-assign]
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await until(lambda: len(credentials.gates) == 1, "the claim")
        stop.set()
        await until(lambda: worker.dispatcher.jobs[pub.id].handing_back, "the stop")
    finally:
        stop.set()
        for gate in credentials.gates:
            gate.set()
        stats = await asyncio.wait_for(run, 10)
    assert stats.handed_back == 0
    assert worker.in_flight == 0
    assert server.calls == []
    assert "could not hand back claims; their leases will expire" in caplog.text


# -- S2: a graceful stop and an outcome waiting in the group commit --------------------------


async def test_a_graceful_stop_does_not_hand_back_a_claim_whose_failure_is_being_saved(
    make_scheduler, registry
) -> None:
    """An invalid post's ``failed`` is waiting in the group commit when the worker stops:
    handing the claim back could land first and put the invalid post back to
    ``scheduled``; it is not handed back, and it fails."""
    from tests.schedule.fakes import make_platform

    base = make_platform("narrow", threads=False, limit=500)
    narrow = base.capabilities.model_copy(
        update={"text": base.capabilities.text.with_limit(10, name="narrow")}
    )

    class Narrow(base):  # type: ignore[misc, valid-type]
        async def resolve_capabilities(self, ctx: Any) -> Any:
            return narrow

    registry.register(Narrow)
    scheduler = await make_scheduler()
    (long,) = await scheduler.schedule(Post(text="x" * 40), account(platform="narrow"), at=START)
    store = scheduler.store
    real_apply, real_release = store.apply, store.release
    applying, go = asyncio.Event(), asyncio.Event()

    async def apply(*args: Any, **kwargs: Any) -> Any:
        applying.set()
        await go.wait()
        return await real_apply(*args, **kwargs)

    async def release(*args: Any, **kwargs: Any) -> Any:
        try:
            return await real_release(*args, **kwargs)
        finally:
            go.set()  # a hand-back, if there is one, lands first

    store.apply = apply  # type: ignore[method-assign]
    store.release = release  # type: ignore[method-assign]
    worker = Worker(await scheduler._s())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop=stop))
    try:
        await asyncio.wait_for(applying.wait(), 5)
        stop.set()
        asyncio.get_running_loop().call_later(0.3, go.set)  # no hand-back: the commit goes on
        stats = await asyncio.wait_for(run, 10)
    finally:
        go.set()
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(run, 10)
    assert stats.handed_back == 0
    p = await scheduler.get(long.id, history=True)
    assert p.state == S.FAILED
    assert "released" not in [e.kind for e in p.history]
    assert Narrow.server.calls == []  # type: ignore[attr-defined]


# -- D6: the wall clock steps forward during a sleep -----------------------------------------


async def test_a_system_clock_wait_reads_the_wall_clock_again_after_a_step(monkeypatch) -> None:
    """A sleep is measured on the monotonic clock: a forward wall-clock step (NTP, a
    resumed laptop or VM) during it must not make a due moment wait out the rest of it."""

    class Stepped(SystemClock):
        offset = dt.timedelta(0)

        def now(self) -> dt.datetime:
            return super().now() + self.offset

    clock = Stepped()
    slept: list[float | None] = []

    async def sleep_then_step(wake: asyncio.Event, seconds: float | None) -> None:
        slept.append(seconds)
        clock.offset += dt.timedelta(seconds=125)  # while asleep, the wall clock jumped

    monkeypatch.setattr(clock_module, "_wait_event", sleep_then_step)
    await asyncio.wait_for(clock.wait(clock.now() + dt.timedelta(seconds=120), asyncio.Event()), 5)
    assert len(slept) == 1  # woke, read the wall clock: the moment has passed
    assert slept[0] is not None
    assert 0 < slept[0] <= 1  # not the whole 120 s at once


async def test_a_claim_whose_history_read_is_tried_again_keeps_its_lease_meanwhile(
    make_scheduler, platform, clock
) -> None:
    """While the history read that counts the failures in a row is tried again, the
    claim is still this worker's: heartbeats go on renewing its lease, so a lease that
    would have run out meanwhile is not swept and claimed by another worker, and the
    hand-back lands. They stopped with the first try (the job was marked lost before
    the read), and another worker took it past its lease (review of R6)."""
    platform()
    scheduler = await make_scheduler(engine=FAST)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    beats, _ = recorded_heartbeats(scheduler.store)
    flaky(scheduler.store, "mark_publishing", failures=1, message="disk I/O error")
    real_events = scheduler.store.events
    reads: list[int] = []
    stolen: list[Any] = []

    async def events(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        if len(reads) > _RELEASE_TRIES:
            return await real_events(*args, **kwargs)
        before = len(beats)
        clock.advance(dt.timedelta(seconds=25))  # five tries: past the 60 s lease
        for _ in range(50):  # a bound: let a heartbeat run, if one will
            if len(beats) > before:
                break
            await asyncio.sleep(0.01)
        if len(reads) == _RELEASE_TRIES:  # another worker sweeps and claims
            stolen.extend(
                await scheduler.store.claim(
                    "w2", now=clock.now(), limit=5, lease=dt.timedelta(seconds=60)
                )
            )
        raise StoreError("disk I/O error")

    scheduler.store.events = events
    await asyncio.wait_for(scheduler.run(until_idle=True), 30)  # a bound: it ends
    assert stolen == []
    p = await scheduler.get(pub.id, history=True)
    assert (p.state, p.lease_owner) == (S.RETRY_WAIT, None)
    (released,) = [e for e in p.history if e.kind == "released"]
    assert released.data == {"unsent_failure_uncounted": True}
