"""The worker loop: materialise rules, apply the misfire policy, claim, dispatch, sleep.

It claims as many due publications as it has room for (``max_in_flight``), runs each
as its own task, and sleeps until the store's next due time — waking early when a task
finishes, when this process adds work, or when another process commits (the store's
change notifications). Leases are extended by a heartbeat task, until the worker has
stopped. A graceful stop hands back claims that were not sent yet (and whose outcome is
not decided), lets in-flight publishes finish (up to ``shutdown_timeout``, their leases
still heartbeated) and commits their outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import logging
from typing import TYPE_CHECKING

import attrs

from socialkit.errors import SocialkitError
from socialkit.schedule.engine.dispatch import Dispatcher, Job
from socialkit.schedule.engine.materialise import materialise_all
from socialkit.schedule.engine.metrics import collect

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.stores.base import Store

__all__ = ["RunStats", "Worker", "next_due"]

log = logging.getLogger("socialkit.schedule")
_RULES_EVERY = dt.timedelta(minutes=10)
_CHORES_EVERY = dt.timedelta(seconds=1)
_BACKOFF_MAX = 30.0  # seconds between tries while the store keeps failing
# After a claim that found less than it had room for (the due accounts are busy), the
# next one waits until this many times as long as that claim took has passed, while
# publishes are in flight: a claim reads every due row, so claiming again for each
# publish that finishes would spend the store's thread on claims for little (a freed
# account waits a few claim durations at most). A due time the store announced is not
# held back.
_CLAIM_GAP = 4.0
# ... and at most this long (seconds): a claim slowed by a lock or a checkpoint does not
# hold freed accounts back for four times as long.
_CLAIM_GAP_MAX = 0.25
# Committed outcomes free their accounts; the next claim goes at once when they are at
# least this share of what is in flight (or all of it), else when the claim gap ends:
# outcomes that commit a few at a time (publishes that each wait on the network) would
# otherwise set off a claim each, and each claim reads the due rows of busy accounts.
_CLAIM_FREED_SHARE = 1 / 8


async def next_due(store: Store, now: dt.datetime, per_account: int | None) -> dt.datetime | None:
    """``store.next_due`` for the engine's in-flight limit ``per_account``; a store
    written for an earlier socialkit, whose ``next_due`` takes no limit, is asked
    without it (it may then answer with a past due time for a busy account's post: the
    worker looks again every ``idle_poll``)."""
    if _takes_per_account(type(store)):
        return await store.next_due(now=now, per_account=per_account)
    return await store.next_due(now=now)


@functools.cache
def _takes_per_account(kind: type[Any]) -> bool:
    try:
        parameters = inspect.signature(kind.next_due).parameters
    except (AttributeError, TypeError, ValueError):
        return True
    return "per_account" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


@attrs.define
class RunStats:
    """What one :meth:`Worker.run` did."""

    claimed: int = 0
    reconciled: int = 0
    metric_tasks: int = 0
    handed_back: int = 0


class Worker:
    """Runs the engine on one event loop."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.dispatcher = Dispatcher(services)
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished = 0
        self._claim_gap_until: float | None = None
        self._due_hint: dt.datetime | None = None
        # Set when enough outcomes are committed (see _CLAIM_FREED_SHARE): those accounts
        # are free, so the next claim goes now, not after the claim gap.
        self._claim_now = asyncio.Event()
        self._freed = 0  # outcomes committed since the last claim

    @property
    def in_flight(self) -> int:
        """Claims and metric collections this worker is working on."""
        return len(self._tasks)

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> RunStats:
        """Work until ``stop`` is set (or, with ``until_idle``, until nothing is due now)."""
        s = self.s
        stop = stop or asyncio.Event()
        stats = RunStats()
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def notify() -> None:
            loop.call_soon_threadsafe(wake.set)

        def finished(count: int) -> None:
            self.outcomes_committed(count)
            wake.set()

        self.dispatcher.on_finished = finished
        self.dispatcher.retry_for = (
            s.config.shutdown_timeout.total_seconds() if until_idle else None
        )

        if not until_idle:
            # A serving worker builds its pooled HTTP client (loading CA certificates
            # takes a noticeable fraction of a second) before anything falls due, so the
            # first publish is not late by it.
            s.http()
        unsubscribe = s.store.subscribe(notify)
        stopper = asyncio.ensure_future(stop.wait())
        stopper.add_done_callback(lambda _: wake.set())
        # Heartbeats go on until the graceful stop is over: publishes still in flight
        # keep their leases while it waits for them.
        stopped = asyncio.Event()
        beats = asyncio.create_task(self._heartbeats(stopped))
        next_rules: dt.datetime | None = None
        next_chores: dt.datetime | None = None
        ahead: dt.datetime | None = None
        failures = 0  # passes that failed in a row
        failed = False  # the pass before this one
        try:
            while not stop.is_set():
                if not failed:
                    failures = 0
                failed = False
                try:
                    wake.clear()
                    now = s.clock.now()
                    # Woken just before a due time: claim for that moment now, so the claim's
                    # round trip is not part of the lateness; jobs wait for it before sending.
                    claim_at = (
                        ahead
                        if ahead is not None and now < ahead <= now + s.config.claim_ahead
                        else now
                    )
                    ahead = None
                    if next_rules is None or now >= next_rules:
                        # Set first: a sweep that fails is tried again on its own schedule,
                        # and claims go on meanwhile.
                        next_rules = now + min(_RULES_EVERY, s.config.window / 4)
                        await materialise_all(s, now)
                    metrics = 0
                    chores = False
                    if next_chores is None:
                        # First pass: apply the misfire policy before claiming anything.
                        await self._expire(now)
                    finished_before = self._finished
                    await self._claim_gap(now, stop)
                    claimed, full = await self._claim(claim_at, wake, stats)
                    if next_chores is None or now >= next_chores:
                        # The misfire policy and metric collection need no sub-second
                        # precision; they run after the claim so due posts go out first.
                        if next_chores is not None:
                            await self._expire(now)
                        metrics = await self._metrics(now, wake, stats)
                        next_chores = now + _CHORES_EVERY
                        chores = True
                    if full or metrics:
                        continue  # there may be more due right now
                    if claimed and wake.is_set():
                        continue
                    if until_idle:
                        if not self._tasks:
                            if self._finished != finished_before:
                                continue  # work finished while we claimed: look again
                            # A finished collection schedules the publication's next one,
                            # which may be due now (after an outage): collect it too.
                            if not chores and await self._metrics(now, wake, stats):
                                continue
                            break
                        await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                        continue
                    # Due work of an account at its in-flight limit is not due before
                    # the account is free: at the latest when a lease runs out (a
                    # worker killed mid-publish) or an unknown outcome is reconciled.
                    due = await next_due(s.store, now, s.config.per_account)
                    self._due_hint = due if due is not None and due > now else None
                    if due is not None and due <= now:
                        # Due but not claimed (another worker was claiming its account,
                        # or the store stopped looking past busy accounts' rows): a
                        # commit wakes us; otherwise look again shortly.
                        due = now + s.config.idle_poll
                    if due is not None and next_rules is not None:
                        due = min(due, next_rules)
                    if (
                        due is not None
                        and next_chores is not None
                        and due >= next_chores
                        and not self._tasks
                    ):
                        # Asleep until then: do the chores on the way back, whatever woke us.
                        # (With publishes in flight, their ends wake the loop often; chores
                        # then wait for their own time, not every finished batch.)
                        next_chores = None
                    wake_at = due or next_rules
                    if due is not None and due > now:
                        ahead = due
                        wake_at = due - s.config.claim_ahead
                    await s.clock.wait(wake_at, wake)
                except Exception as exc:
                    # A store that failed (a connection lost at a commit, a server down
                    # for a while, another process holding SQLite's write lock past the
                    # busy timeout) does not end a serving worker: it says so in one line
                    # and tries again, waiting longer each time (real time: the store is
                    # out in the world). run(until_idle=True) reports it to its caller.
                    if until_idle:
                        raise
                    failed = True
                    failures += 1
                    delay = min(
                        _BACKOFF_MAX, s.config.idle_poll.total_seconds() * 2 ** (failures - 1)
                    )
                    log.warning(
                        "the store failed (%s: %s); trying again in %g s",
                        type(exc).__name__,
                        " ".join(str(exc).split()),
                        delay,
                        # Not one of ours: a bug may be behind it, so its traceback too.
                        exc_info=not isinstance(exc, SocialkitError),
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
        finally:
            try:
                stats.handed_back = await self._shutdown(stop)
            finally:
                stopped.set()
            beats.cancel()
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            unsubscribe()
            self.dispatcher.on_finished = None
            self.dispatcher.retry_for = None
        return stats

    def outcomes_committed(self, count: int) -> bool:
        """Note ``count`` outcomes committed (their accounts are free again); returns
        whether the next claim goes at once (see ``_CLAIM_FREED_SHARE``). Publishes only
        are counted: metric collections in flight free no account."""
        self._freed += count
        if self._freed >= len(self.dispatcher.jobs) * _CLAIM_FREED_SHARE:
            self._claim_now.set()
        return self._claim_now.is_set()

    async def _expire(self, now: dt.datetime) -> None:
        """Apply the misfire policy; each publication it missed is a state change."""
        s = self.s
        s.notifier.moved(await s.store.expire_overdue(now=now, actor=s.config.worker_id))

    def _spawn(self, coro: Coroutine[Any, Any, None], wake: asyncio.Event) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._finished += 1
            wake.set()

        task.add_done_callback(done)

    async def _claim_gap(self, now: dt.datetime, stop: asyncio.Event) -> None:
        """Space claims out while publishes are in flight (see ``_CLAIM_GAP``), unless
        the store said something falls due by now."""
        until = self._claim_gap_until
        if until is None or not self._tasks or self._claim_now.is_set():
            return
        if self._due_hint is not None and now >= self._due_hint:
            return
        pause = until - asyncio.get_running_loop().time()
        if pause > 0:
            # Ends early on stop, or when a batch of outcomes frees accounts.
            waits = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._claim_now.wait()),
            }
            try:
                await asyncio.wait(waits, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def _claim(
        self, now: dt.datetime, wake: asyncio.Event, stats: RunStats
    ) -> tuple[int, bool]:
        """Claim what is due; returns how many, and whether the batch was full (a full
        batch means more may be waiting; a short one means nothing else is claimable
        until something changes)."""
        s = self.s
        room = s.config.max_in_flight - len(self._tasks)
        if room <= 0:
            return 0, False
        limit = min(room, s.config.batch_size)
        self._claim_now.clear()
        self._freed = 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        claims = await s.store.claim(
            s.config.worker_id,
            now=now,
            limit=limit,
            lease=s.config.lease,
            per_account=s.config.per_account,
        )
        self._claim_gap_until = (
            None
            if len(claims) == limit
            else started + min(_CLAIM_GAP * (loop.time() - started), _CLAIM_GAP_MAX)
        )
        for claim in claims:
            if claim.kind == "reconcile":
                stats.reconciled += 1
            else:
                stats.claimed += 1
            job = Job(claim=claim, not_before=now if now > s.clock.now() else None)
            self.dispatcher.track(job)
            self._spawn(self.dispatcher.run(job), wake)
        return len(claims), len(claims) == limit

    async def _metrics(self, now: dt.datetime, wake: asyncio.Event, stats: RunStats) -> int:
        s = self.s
        room = s.config.max_in_flight - len(self._tasks)
        if room <= 0:
            return 0
        tasks = await s.store.claim_metric_tasks(
            s.config.worker_id, now=now, limit=min(room, s.config.batch_size), lease=s.config.lease
        )
        for task in tasks:
            self._spawn(collect(s, task), wake)
        stats.metric_tasks += len(tasks)
        return len(tasks)

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        """Extend the leases of the jobs in flight until ``stop`` (set once the worker's
        graceful stop is over). A job whose outcome is being committed (its lease ends
        with the commit) or that was handed back is left out."""
        s = self.s
        while not stop.is_set():
            await s.clock.wait(s.clock.now() + s.config.heartbeat_every, stop)
            if stop.is_set():
                return
            jobs = {
                job.claim.id: job
                for job in self.dispatcher.jobs.values()
                if not job.committing and not job.lost
            }
            if not jobs:
                continue
            try:
                lost = await s.store.heartbeat(
                    s.config.worker_id,
                    [(j.claim.id, j.claim.attempt) for j in jobs.values()],
                    now=s.clock.now(),
                    lease=s.config.lease,
                )
            except Exception as exc:
                log.warning(
                    "heartbeat failed (%s: %s); leases may expire",
                    type(exc).__name__,
                    " ".join(str(exc).split()),
                    exc_info=not isinstance(exc, SocialkitError),
                )
                continue
            for pub_id in lost:
                # The job that heartbeat was for (not a newer claim of the publication).
                job = jobs.get(pub_id)
                if job is not None and not job.committing:
                    job.lost = True
                    log.warning("publication %s: lease lost", pub_id)

    async def _shutdown(self, stop: asyncio.Event) -> int:
        """Hand back unsent claims, let in-flight publishes finish, commit everything.

        A claim whose outcome is decided (an invalid post to fail, an error to count,
        waiting in the group commit or tried again) is not handed back: the release
        could land first and undo it."""
        s = self.s
        unsent = [
            job
            for job in self.dispatcher.jobs.values()
            if not job.sending and not job.finishing and not job.lost and not job.handing_back
        ]
        for job in unsent:
            job.handing_back = True  # no start from now on (publish() checks it)
        handed = 0
        if unsent:
            try:
                results = await s.store.release(
                    [(j.claim.id, j.claim.attempt) for j in unsent],
                    now=s.clock.now(),
                    actor=s.config.worker_id,
                    reason="worker stopping; handed back unsent",
                )
            except Exception:
                # Whatever the store raised, the stop goes on: publishes in flight finish.
                # Those not started yet do not start; their leases expire.
                log.exception("could not hand back claims; their leases will expire")
            else:
                handed = sum(results)
                for job, released in zip(unsent, results, strict=True):
                    if released:
                        job.lost = True  # handed back: no heartbeats
                    # Not released: its start landed first (it is sending), or its claim
                    # was already gone; it is heartbeated until it ends, as any job is.
        if self._tasks:
            _, pending = await asyncio.wait(
                set(self._tasks), timeout=s.config.shutdown_timeout.total_seconds()
            )
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "%d publishes did not finish in time; their leases will expire", len(pending)
                )
                await asyncio.wait(pending)
        await self.dispatcher.drain()
        return handed
