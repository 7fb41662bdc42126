"""Metric collection: after a publish, snapshots at +1 h, +24 h and +7 d (configurable).

The tasks are scheduled in the same transaction that records the receipt; a worker
leases due tasks, asks the adapter (``fetch_metrics``) and stores the snapshots, which
then form a series per publication, account and campaign. Collection is best-effort: an
error is recorded on the task and the next scheduled collection tries again.

Two errors put the collection back instead, as for a publish (the account's
:class:`~socialkit.schedule.engine.retry.RetryPolicy` decides when): a
:class:`~socialkit.errors.RateLimited` one is collected again once the platform's
``Retry-After``/reset has passed (or after the backoff delay when it gives no time) and
does not count as a failure; a :class:`~socialkit.errors.Transient` one is tried again
after the backoff delay, up to ``max_attempts`` tries in all. The collections after it
wait for it, so they still come, in order. One the platform refuses for the account's
credentials (:class:`~socialkit.errors.NeedsReauth`, a refresh that did not help) marks
the account as waiting for a person, as a publish would, and goes back: the store hands
out no collection of such an account, so it comes once the account is re-authorised.

A late collection (the worker was down, a rate limit held the account) keeps the label
of what was scheduled (``MetricSnapshot.after``) and carries the post's real age when it
was taken (``age``), which is what comparisons at an age go by. One claimed so late that
later collections of the post are due too is made once, as the last one due: the store
records the others as skipped (on their tasks, and ``MetricTask.skipped``), and the
snapshot names them (``skipped``) rather than the series holding the same figures under
two labels.

Rate limits are the account's, whichever call meets them: a ``RateLimited`` collection
records the budget a publish meeting it would (the default scope holds the account's
publishing until then), and the collections of an account a rate limit holds (a publish
met ``RateLimited``, or its budget is spent before its reset) are put back by the store
until the hold ends instead of being claimed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from socialkit.errors import RateLimited, SocialkitError, Transient
from socialkit.platforms.publish import with_refresh
from socialkit.schedule.engine.retry import Outcome, classify
from socialkit.schedule.records import Budget
from socialkit.schedule.states import PublicationState

if TYPE_CHECKING:
    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.records import MetricTask

__all__ = ["collect"]

log = logging.getLogger("socialkit.schedule")


async def collect(services: Services, task: MetricTask) -> None:
    """Collect one task's snapshots and mark it done; never raises."""
    s = services
    try:
        publication = await s.store.get(task.publication_id)
        receipt = publication.receipt
        if publication.state == PublicationState.DELETED:
            await s.store.complete_metric_task(
                task.id, [], now=s.clock.now(), error="the post was deleted"
            )
            return
        if receipt is None:
            await s.store.complete_metric_task(
                task.id, [], now=s.clock.now(), error="no receipt to collect metrics for"
            )
            return
        account = await s.account(task.workspace, task.account_id)
        platform = s.registry.platform(account.platform)
        ctx = (await s.context(account, platform)).evolve(publication_id=task.publication_id)
        # A refused token: refreshed once (as for a publish), then asked again.
        # Bounded as a publish is: a platform that never answers must not hold a
        # worker's slot (nor outlive the task's lease, which would ask twice).
        async with asyncio.timeout(s.config.publish_timeout.total_seconds()):
            snapshots = await with_refresh(
                platform, ctx, lambda c: platform.fetch_metrics([receipt], c)
            )
        # Each snapshot says which scheduled collection it answers (the engine's word,
        # not the adapter's) and how old the post really was when it was taken: a late
        # collection keeps its label but is a figure of its real age. The collections
        # it was taken instead of (the store skipped them: they were due too) are named
        # on it, so a series shows why they have no snapshot of their own.
        after = _scheduled_after(s, task.label)
        skipped = tuple(
            offset for label in task.skipped if (offset := _scheduled_after(s, label)) is not None
        )
        stamped = [
            snap.model_copy(
                update={
                    "publication_id": snap.publication_id or task.publication_id,
                    "after": after,
                    "age": max(snap.collected_at - receipt.published_at, dt.timedelta(0)),
                    "skipped": skipped,
                }
            )
            for snap in snapshots
        ]
        await s.store.complete_metric_task(task.id, stamped, now=s.clock.now())
    except (RateLimited, Transient) as exc:
        await _again_or_failed(s, task, exc)
    except SocialkitError as exc:
        if classify(exc, sent=False) is Outcome.REAUTH:
            await _wait_for_reauth(s, task, exc)
            return
        log.info("metrics for %s (%s) failed: %s", task.publication_id, task.label, exc)
        await _failed(s, task, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        # An adapter bug (or no answer in time): recorded on the task, which is done, so
        # it is not asked again every lease (and the later collections still come).
        log.exception("metrics for %s (%s) failed", task.publication_id, task.label)
        error = "no answer in time" if isinstance(exc, TimeoutError) else repr(exc)
        await _failed(s, task, f"{type(exc).__name__}: {error}")


async def _failed(s: Services, task: MetricTask, error: str) -> None:
    """Record ``error`` on the task, which is done (its next collection comes as usual)."""
    try:
        await s.store.complete_metric_task(task.id, [], now=s.clock.now(), error=error)
    except Exception:
        log.exception("could not record the failed metric task %s", task.id)


async def _wait_for_reauth(s: Services, task: MetricTask, exc: SocialkitError) -> None:
    """The platform refused the account's credentials (and a refresh did not help): the
    account is marked as waiting for a person, as a publish meeting it marks it, and the
    task goes back, due now and uncounted; the store hands out no collection of such an
    account, so it comes once the account is re-authorised."""
    now, error = s.clock.now(), f"{type(exc).__name__}: {exc}"
    log.info("metrics for %s (%s) wait for a reauth: %s", task.publication_id, task.label, exc)
    await s.mark_needs_reauth(task.workspace, task.account_id, error)
    try:
        await s.store.retry_metric_task(task.id, run_at=now, now=now, error=error)
    except Exception:
        log.exception("could not put the metric task %s back", task.id)


async def _again_or_failed(s: Services, task: MetricTask, exc: RateLimited | Transient) -> None:
    """Put the task back for later (a rate limit: when the platform says, uncounted; a
    transient error: after the backoff delay), or fail it once its attempts run out."""
    now = s.clock.now()
    decision = s.config.retry_for(task.account_id).decide(
        exc, failures=task.failures, now=now, sent=False
    )
    error = f"{type(exc).__name__}: {exc}"
    if decision.outcome is not Outcome.RETRY or decision.run_at is None:
        log.info("metrics for %s (%s) failed: %s", task.publication_id, task.label, exc)
        await _failed(s, task, decision.reason or error)
        return
    log.info(
        "metrics for %s (%s): %s; trying again at %s",
        task.publication_id,
        task.label,
        exc,
        decision.run_at.isoformat(),
    )
    if isinstance(exc, RateLimited):
        # The platform's budget ran out, as for a publish meeting it: recorded the same
        # way, so the default one holds the whole account (its publications and its
        # other collections wait until then); another scope is only recorded.
        budget = Budget(
            workspace=task.workspace,
            account_id=task.account_id,
            scope=exc.scope,
            blocked_until=decision.run_at,
        )
        try:
            await s.store.set_budget(budget, now=now)
        except Exception as store_error:
            # Advice for later claims, as a publish's is: the task still goes back.
            log.warning(
                "could not save the %s budget of account %s (%s: %s)",
                budget.scope,
                budget.account_id,
                type(store_error).__name__,
                store_error,
            )
    try:
        await s.store.retry_metric_task(
            task.id,
            run_at=decision.run_at,
            now=now,
            error=error,
            count_failure=decision.count_failure,
        )
    except Exception:
        log.exception("could not put the metric task %s back", task.id)


def _scheduled_after(s: Services, label: str) -> dt.timedelta | None:
    """The offset after publication of the collection labelled ``label`` in
    ``EngineConfig.metric_schedule`` (``None`` for a label the schedule does not have:
    a task's due time is no guide, since a collection put back is due later)."""
    for scheduled, offset in s.config.metric_schedule:
        if scheduled == label:
            return offset
    return None
