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
If the account cannot be marked (the store failed), the collection goes back after the
backoff delay and counts, as a transient error does: put back due at once, it would be
claimed again at once and the platform asked again, in a loop. A
:class:`~socialkit.errors.Forbidden` that ``fetch_metrics`` itself raises is a refusal
to *read* (credentials allowed to publish but not to read metrics, such as a Mastodon
token with write scopes only), not dead credentials: the account is not marked (its
publishing goes on) and the collection fails as a transient error does, counted, then
given up with the error recorded. (A refresh's ``Forbidden`` marks the account, as any
``NeedsReauth`` does.)

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

from socialkit.errors import Forbidden, RateLimited, SocialkitError, Transient
from socialkit.platforms.publish import with_refresh
from socialkit.schedule.engine.retry import Outcome, classify
from socialkit.schedule.records import Budget
from socialkit.schedule.states import PublicationState

if TYPE_CHECKING:
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.platforms.context import Context
    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.records import MetricTask

__all__ = ["collect"]

log = logging.getLogger("socialkit.schedule")


class _ReadRefused(Exception):
    """``fetch_metrics`` itself raised ``Forbidden``: the credentials may not read
    metrics (they may still publish). Kept apart from a refresh's errors, which
    ``with_refresh`` raises as they are."""

    def __init__(self, error: Forbidden) -> None:
        super().__init__(str(error))
        self.error = error


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

        async def fetch(c: Context) -> list[MetricSnapshot]:
            # A refusal of the read itself (not of a refresh): the credentials may not
            # read metrics, which is no reason to stop the account's publishing.
            try:
                return await platform.fetch_metrics([receipt], c)
            except Forbidden as exc:
                raise _ReadRefused(exc) from exc

        # A refused token: refreshed once (as for a publish), then asked again.
        # Bounded as a publish is: a platform that never answers must not hold a
        # worker's slot (nor outlive the task's lease, which would ask twice).
        async with asyncio.timeout(s.config.publish_timeout.total_seconds()):
            snapshots = await with_refresh(platform, ctx, fetch)
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
    except _ReadRefused as refused:
        # Not dead credentials: publishing goes on; only this collection fails.
        log.warning(
            "metrics for %s (%s): the credentials of account %s lack permission to read "
            "metrics (%s); the account is not marked as needing reauth",
            task.publication_id,
            task.label,
            task.account_id,
            refused.error,
        )
        await _counted_retry_or_failed(s, task, refused.error)
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
    account, so it comes once the account is re-authorised.

    If the account could not be marked, it is still ``ok`` and its collections are
    handed out: the task goes back after the backoff delay and counts (then is given
    up), as a transient error's does; due now, it would be claimed again at once and
    the platform asked again, in a loop."""
    now, error = s.clock.now(), f"{type(exc).__name__}: {exc}"
    log.info("metrics for %s (%s) wait for a reauth: %s", task.publication_id, task.label, exc)
    if not await s.mark_needs_reauth(task.workspace, task.account_id, error):
        await _counted_retry_or_failed(s, task, exc)
        return
    try:
        await s.store.retry_metric_task(task.id, run_at=now, now=now, error=error)
    except Exception:
        log.exception("could not put the metric task %s back", task.id)


async def _counted_retry_or_failed(s: Services, task: MetricTask, exc: SocialkitError) -> None:
    """Put the task back after the backoff delay, counted as a failure (as a transient
    error is), or fail it once its attempts run out."""
    now = s.clock.now()
    policy = s.config.retry_for(task.account_id)
    failures = task.failures + 1
    error = f"{type(exc).__name__}: {exc}"
    if failures >= policy.max_attempts:
        log.info("metrics for %s (%s) failed: %s", task.publication_id, task.label, exc)
        await _failed(s, task, f"{error} (attempts exhausted: {failures} of {policy.max_attempts})")
        return
    run_at = now + policy.delay(failures)
    log.info(
        "metrics for %s (%s): %s; trying again at %s",
        task.publication_id,
        task.label,
        exc,
        run_at.isoformat(),
    )
    try:
        await s.store.retry_metric_task(
            task.id, run_at=run_at, now=now, error=error, count_failure=True
        )
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
