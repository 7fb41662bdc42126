"""Reconciliation: settling a publication whose outcome is unknown, never by a blind re-post.

* On a platform with idempotency keys (``Idempotency.KEY``) the engine sends again with
  the same keys: the platform recognises a repeat, so the publication exists exactly once.
* Otherwise the adapter looks for the post (``find_published``): found → ``published``
  with that receipt; the first parts of a thread found → those are kept and the rest is
  sent after them; certainly absent → ``scheduled`` again (safe to send); cannot tell →
  it waits for a person, who calls ``resolve(id, published=… | retry | abandon)``. An
  expired token is refreshed once, as for a publish.
* Errors while looking are retried with backoff, ``reconcile_attempts`` times, before a
  person is asked. They are counted apart from the send failures (``failures``, bounded
  by ``RetryPolicy.max_attempts``): in the history, as events marked
  :data:`~socialkit.schedule.engine.dispatch.RECONCILE_FAILURE`, since the send whose
  outcome became unknown. Neither budget uses up the other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from socialkit.errors import UnknownOutcome
from socialkit.platforms.capabilities import Idempotency
from socialkit.platforms.publish import with_refresh
from socialkit.schedule.engine.dispatch import RECONCILE_FAILURE, Completion, Prepared
from socialkit.schedule.engine.retry import Outcome, classify
from socialkit.schedule.records import Transition
from socialkit.schedule.states import PublicationState

if TYPE_CHECKING:
    from socialkit.models.receipt import PostRef
    from socialkit.schedule.engine.dispatch import Dispatcher, Job

__all__ = ["reconcile"]

S = PublicationState
log = logging.getLogger("socialkit.schedule")


async def reconcile(dispatcher: Dispatcher, job: Job) -> None:
    """Settle one ``unknown`` claim."""
    job.reconcile_failures = await dispatcher.reconcile_failures(job.claim)
    ready = await dispatcher.prepare(job)
    if isinstance(ready, Completion):
        await dispatcher.finish(_retry_later(dispatcher, job, ready.transition, ready.error))
        return
    if ready.capabilities.idempotency is Idempotency.KEY:
        # Same idempotency keys as the first send: the platform returns the same post.
        await dispatcher.publish(job, ready)
        return
    await _look(dispatcher, job, ready)


async def _look(dispatcher: Dispatcher, job: Job, ready: Prepared) -> None:
    claim = job.claim
    try:
        # A refused token means nothing was looked at: refreshed once, then looked again.
        found = await with_refresh(
            ready.platform, ready.ctx, lambda c: ready.platform.find_published(ready.draft, c)
        )
    except UnknownOutcome as exc:
        await dispatcher.finish(_ask_a_person(dispatcher, job, str(exc), exc))
        return
    except Exception as exc:
        outcome = classify(exc, sent=False)
        if outcome is Outcome.REAUTH:
            await dispatcher.finish(
                Completion(
                    claim=claim,
                    from_state=S.UNKNOWN,
                    transition=_move(
                        dispatcher, job, S.UNKNOWN, reason=str(exc), attention="reauth"
                    ),
                )
            )
            return
        await dispatcher.finish(_retry_later(dispatcher, job, None, exc))
        return
    if found is not None and len(found.parts) < len(ready.draft.parts):
        # Part of a thread is there: those parts are published (kept as checkpoints, so
        # nothing is lost if this attempt fails too); the rest is sent after them.
        await _send_the_rest(dispatcher, job, ready, found.parts)
        return
    if found is not None:
        await dispatcher.finish(
            dispatcher.published(
                job, found, source="reconcile", reason="found on the platform by reconciliation"
            )
        )
        return
    await dispatcher.finish(
        Completion(
            claim=claim,
            from_state=S.UNKNOWN,
            transition=Transition(
                id=claim.id,
                expect_state=S.UNKNOWN,
                expect_attempt=claim.attempt,
                to=S.SCHEDULED,
                # Its place in the account's queue is its due time: the posts due after
                # it, which waited behind it, must not go first now.
                run_at=min(dispatcher.s.clock.now(), claim.due_at),
                actor=dispatcher.s.config.worker_id,
                reason="not found on the platform by reconciliation; safe to send again",
            ),
        )
    )


async def _send_the_rest(
    dispatcher: Dispatcher, job: Job, ready: Prepared, found: tuple[PostRef, ...]
) -> None:
    known = job.claim.checkpoints
    parts = found if len(found) >= len(known) else known
    for index in range(len(known), len(parts)):
        await ready.ctx.checkpoint(index, parts[index])
    log.info(
        "publication %s: %d of %d thread parts found by reconciliation; sending the rest",
        job.claim.id,
        len(parts),
        len(ready.draft.parts),
    )
    resumed = attrs.evolve(ready, ctx=ready.ctx.evolve(published_parts=parts))
    await dispatcher.publish(job, resumed)


def _move(
    dispatcher: Dispatcher,
    job: Job,
    to: PublicationState,
    *,
    reason: str,
    attention: str | None = None,
    run_in: float = 0.0,
    error: dict[str, object] | None = None,
    data: dict[str, object] | None = None,
) -> Transition:
    import datetime as dt

    claim = job.claim
    return Transition(
        id=claim.id,
        expect_state=S.UNKNOWN,
        expect_attempt=claim.attempt,
        to=to,
        run_at=dispatcher.s.clock.now() + dt.timedelta(seconds=run_in),
        actor=dispatcher.s.config.worker_id,
        reason=reason,
        attention=attention,
        error=error,
        data=data,
    )


def _ask_a_person(
    dispatcher: Dispatcher,
    job: Job,
    why: str,
    error: BaseException | None,
    data: dict[str, object] | None = None,
) -> Completion:
    from socialkit.errors import PlatformError

    return Completion(
        claim=job.claim,
        from_state=S.UNKNOWN,
        needs_person=True,
        error=error if isinstance(error, PlatformError) else None,
        transition=_move(
            dispatcher,
            job,
            S.UNKNOWN,
            reason=f"cannot tell whether it was published ({why}); a person must resolve it",
            attention="reconcile",
            error=error.describe() if isinstance(error, PlatformError) else None,
            data=data,
        ),
    )


def _retry_later(
    dispatcher: Dispatcher,
    job: Job,
    planned: Transition | None,
    error: BaseException | None,
) -> Completion:
    """Try reconciling again later, or ask a person once attempts run out."""
    claim = job.claim
    config = dispatcher.s.config
    why = (planned.reason if planned else None) or (str(error) if error else "error")
    # Its own budget: send failures before the unknown outcome do not shorten it, and
    # it does not add to ``failures`` (the send budget of a later resend).
    tries = job.reconcile_failures + 1
    marked: dict[str, object] = {RECONCILE_FAILURE: tries}
    if tries >= config.reconcile_attempts:
        return _ask_a_person(dispatcher, job, f"gave up after {tries} tries: {why}", error, marked)
    delay = config.retry_for(claim.account_id).delay(tries)
    return Completion(
        claim=claim,
        from_state=S.UNKNOWN,
        transition=_move(
            dispatcher,
            job,
            S.UNKNOWN,
            reason=f"reconciliation failed ({why}); trying again",
            run_in=delay.total_seconds(),
            data=marked,
        ),
    )
