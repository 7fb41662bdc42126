"""Dispatch: one claimed publication from lease to receipt (or to its next state).

For each claim: load the account, its credentials and capabilities; render and validate
the pinned post (invalid → ``failed`` with the problems); group-commit ``publishing``
just before sending; call the adapter; then group-commit the outcome — a receipt, or the
transition the retry policy chose. Every write is fenced by the claim's attempt, except
the receipt, which is always kept.

A store that fails at a commit does not lose the claim: an outcome (above all a receipt,
the platform's id) is committed again, with a growing pause, until it lands or the worker
stops; a claim that was not sent is handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from socialkit.errors import (
    InvalidPost,
    PlatformError,
    SocialkitError,
    StaleTransition,
    StoreError,
    UnknownOutcome,
)
from socialkit.models.problems import has_errors
from socialkit.platforms.publish import with_refresh
from socialkit.schedule.engine.commit import GroupCommitter
from socialkit.schedule.engine.events import StateChange
from socialkit.schedule.engine.retry import Decision, Outcome
from socialkit.schedule.records import Budget, PublishStart, ReceiptRecord, Transition
from socialkit.schedule.states import PublicationState

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence

    from socialkit.models.account import Account
    from socialkit.models.content import Draft
    from socialkit.models.problems import Problem
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.platforms.base import Platform
    from socialkit.platforms.capabilities import Capabilities
    from socialkit.platforms.context import Context, RateLimitReport
    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.publication import Event
    from socialkit.schedule.records import Claim

__all__ = [
    "RECONCILE_FAILURE",
    "UNSENT_FAILURE",
    "UNSENT_FAILURE_UNCOUNTED",
    "Completion",
    "Dispatcher",
    "Job",
    "Prepared",
]

S = PublicationState
_In = TypeVar("_In")
_Out = TypeVar("_Out")
log = logging.getLogger("socialkit.schedule")

_COMMIT_BACKOFF_MAX = 30.0
"""The longest pause (seconds) between tries of an outcome's commit while the store fails."""
_RELEASE_TRIES = 5
"""How many times an unsent claim is handed back while the store fails; after that its
lease runs out (nothing was sent, so another claim sends it)."""
_SPLIT_TRIES = 2
"""A batched commit that failed is written entry by entry; after this many entries in a
row fail with an error a retry may pass, the store is taken to be down (see :func:`_each`)."""
_HAND_BACK_MAX = 900.0
"""The longest wait (seconds) before a publication the engine keeps failing on before
sending may be claimed again (see :meth:`Dispatcher._hand_back_failed`)."""

UNSENT_FAILURE = "unsent_failure"
"""The event data key that marks a claim handed back because the engine failed on it
before sending (its number in a row; see :meth:`Dispatcher._hand_back_failed`). The
count lives in the history, not in a worker's memory, so the wait that grows with it
goes on across a restart and from one worker to another."""

UNSENT_FAILURE_UNCOUNTED = "unsent_failure_uncounted"
"""The event data key that marks such a hand-back made while the history could not be
read, so without its number: the next count takes it as one more failure in a row after
the last one numbered (see :meth:`Dispatcher._hand_back_failed`)."""

RECONCILE_FAILURE = "reconcile_failure"
"""The event data key that marks a failed reconciliation try (its number in the episode).

Reconciliation has its own budget (``EngineConfig.reconcile_attempts``), counted from
these events, apart from ``failures`` (sends that failed with a retryable error, bounded
by ``RetryPolicy.max_attempts``): neither budget uses up the other."""


@attrs.define(slots=True)
class Job:
    """A claim this worker is working on."""

    claim: Claim
    lost: bool = False
    handing_back: bool = False
    """A graceful stop is handing it back (or tried to): it must not start now. Its lease
    is given up only if the hand-back applied (then ``lost``): a start that landed first
    is sent, and heartbeated."""
    sending: bool = False
    budget: Budget | None = None
    not_before: dt.datetime | None = None
    finishing: bool = False
    """Its outcome is decided (and committed, or being committed): it is not handed back."""
    committing: bool = False
    """Its outcome's commit is in flight: its lease ends with it, so no heartbeat."""
    reconcile_failures: int = 0
    """For a ``reconcile`` claim: its failed reconciliation tries so far (see
    :meth:`Dispatcher.reconcile_failures`)."""


@attrs.frozen(kw_only=True, slots=True)
class Prepared:
    """Everything needed to send one claim."""

    account: Account
    platform: Platform
    capabilities: Capabilities
    draft: Draft
    ctx: Context


@attrs.frozen(kw_only=True, slots=True)
class Completion:
    """The outcome of one claim, to commit: a receipt or a transition (or both absent
    when only an account status changed), with what the hooks should hear."""

    claim: Claim
    receipt: ReceiptRecord | None = None
    transition: Transition | None = None
    budget: Budget | None = None
    from_state: PublicationState = S.PUBLISHING
    error: PlatformError | None = None
    needs_person: bool = False
    retried: bool = False
    """An earlier try of its commit raised: it may have landed all the same (a connection
    lost after ``COMMIT``), so a duplicate answer is checked against the store."""


class Dispatcher:
    """Runs claims: publish (or reconcile), then commit the outcome."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.jobs: dict[str, Job] = {}
        self._starts: GroupCommitter[PublishStart, bool] = GroupCommitter(self._flush_starts)
        self._finish: GroupCommitter[Completion, bool | Exception] = GroupCommitter(
            self._flush_finish
        )
        # Called with how many outcomes a batch committed (those accounts are free
        # again): the worker may claim at once instead of waiting out its claim gap.
        self.on_finished: Callable[[int], None] | None = None
        # How long (seconds) a failed commit of an outcome is tried again; ``None``: until
        # it lands or the worker's stop cancels it. A run until idle (``run --once``)
        # bounds it by ``shutdown_timeout``, so it ends even while the store is down.
        self.retry_for: float | None = None

    # -- entry point ----------------------------------------------------------------------

    def track(self, job: Job) -> None:
        """Keep ``job`` in :attr:`jobs` (heartbeated, seen by a graceful stop).

        One entry per publication: a newer claim of it (a higher attempt: claimed again
        after a pause and resume, a reschedule or a swept lease) takes the place of the
        older one, whose lease is gone."""
        current = self.jobs.get(job.claim.id)
        if current is job:
            return
        if current is not None and current.claim.attempt > job.claim.attempt:
            job.lost = True
            return
        if current is not None:
            current.lost = True
        self.jobs[job.claim.id] = job

    def untrack(self, job: Job) -> None:
        """Drop ``job`` from :attr:`jobs`: its own entry only, never a newer claim's."""
        if self.jobs.get(job.claim.id) is job:
            del self.jobs[job.claim.id]

    def _job(self, claim: Claim) -> Job | None:
        job = self.jobs.get(claim.id)
        return job if job is not None and job.claim.attempt == claim.attempt else None

    async def run(self, job: Job) -> None:
        """Work one claim to its next committed state; never raises."""
        self.track(job)
        try:
            if job.claim.kind == "reconcile":
                from socialkit.schedule.engine.reconcile import reconcile

                await reconcile(self, job)
            else:
                await self.publish(job)
        except Exception as exc:
            log.exception("publication %s: the engine failed on it", job.claim.id)
            if not job.sending and not job.finishing:
                # Nothing was sent (a store that failed at the start's commit, say):
                # handed back, not left under this worker's lease until it expires.
                await self._hand_back_failed(job, exc)
                return
        finally:
            self.untrack(job)

    async def _hand_back_failed(self, job: Job, error: Exception) -> None:
        """Hand back a claim the engine failed on before sending. The first failure is
        handed back at once (a store that failed for a moment: another claim sends it
        now); a publication that fails again before sending waits before it can be
        claimed again, ``idle_poll`` doubled with each failure in a row, up to
        ``_HAND_BACK_MAX`` (``released`` to ``retry_wait``, or to ``unknown`` when it was
        being reconciled, with that ``run_at``): a permanent error must not have the
        worker claim, fail and hand back in a tight loop, and a run until idle ends.

        The count is read from the history (:meth:`unsent_failures`) and written on the
        hand-back's event, so a restarted worker, or another one, goes on from it. A
        history read the store fails is tried again, :data:`_RELEASE_TRIES` times in
        all with :meth:`_backoff`'s pauses. When it still fails, the claim is handed back
        all the same, never at once and never left to its lease: as if this were the
        second failure in a row (to ``retry_wait``, or ``unknown``, ``idle_poll`` ahead,
        the shortest wait that is not at once), its event marked
        :data:`UNSENT_FAILURE_UNCOUNTED` instead of a number, which the next count reads
        as one more failure after the last one counted. So the R6 bound holds while the
        store cannot say: no claim is handed back at once without its count, and the
        doubling goes on from where it stood once the history reads again. While the
        read is tried, heartbeats go on renewing the claim's lease. Only when the
        hand-back itself cannot be written is the claim left to its lease, which, no
        longer heartbeated, runs out."""
        claim = job.claim
        if job.lost or job.handing_back:  # handed back already, or its lease is gone
            return
        # Still this worker's while the count is read (tried again for a while):
        # heartbeats go on renewing its lease, and a graceful stop leaves it alone.
        job.handing_back = True
        counted = await self._read_unsent_failures(claim)
        if _lease_lost(job):  # a heartbeat found it gone meanwhile: not ours to hand back
            return
        job.lost = True
        first = self.s.config.idle_poll.total_seconds()
        data: dict[str, Any]
        if counted is None:
            # The store cannot say how many times in a row: not at once (the R6 loop),
            # but the shortest wait, and counted as one more when the history reads.
            at = self.s.clock.now() + dt.timedelta(seconds=first)
            run_at: dt.datetime | None = at
            to = S.RETRY_WAIT if claim.kind == "publish" else S.UNKNOWN
            reason = (
                "not sent: the engine failed on it, how many times in a row unknown (its "
                f"history could not be read) ({type(error).__name__}: {_one_line(error)}); "
                f"tried again at {at.isoformat()}"
            )
            data = {UNSENT_FAILURE_UNCOUNTED: True}
            log.error("publication %s: %s", claim.id, reason)
        elif counted == 0:
            failures = 1
            run_at = None
            to = S.SCHEDULED if claim.kind == "publish" else S.UNKNOWN
            reason = "not sent: the engine failed on it"
            data = {UNSENT_FAILURE: failures}
        else:
            failures = counted + 1
            delay = min(_HAND_BACK_MAX, first * 2 ** min(failures - 2, 32))
            run_at = self.s.clock.now() + dt.timedelta(seconds=delay)
            to = S.RETRY_WAIT if claim.kind == "publish" else S.UNKNOWN
            reason = (
                f"not sent: the engine failed on it {failures} times in a row "
                f"({type(error).__name__}: {_one_line(error)}); tried again at "
                f"{run_at.isoformat()}"
            )
            data = {UNSENT_FAILURE: failures}
            log.error("publication %s: %s", claim.id, reason)
        transition = Transition(
            id=claim.id,
            expect_state=claim.state,
            expect_attempt=claim.attempt,
            to=to,
            actor=self.s.config.worker_id,
            reason=reason,
            error=_describe(error),
            kind="released",
            run_at=run_at,
            data=data,
        )
        try:
            await self.s.store.apply([transition], now=self.s.clock.now())
        except Exception as exc:
            _lease_runs_out(claim, exc)

    async def _read_unsent_failures(self, claim: Claim) -> int | None:
        """:meth:`unsent_failures`, tried again with :meth:`_backoff`'s pauses while the
        store fails, :data:`_RELEASE_TRIES` times in all; ``None`` when it still fails."""
        for tries in range(1, _RELEASE_TRIES + 1):
            try:
                return await self.unsent_failures(claim)
            except Exception as exc:
                if tries == _RELEASE_TRIES:
                    log.error(
                        "publication %s: could not read its history (%s: %s); handed back "
                        "without its count of failures in a row",
                        claim.id,
                        type(exc).__name__,
                        _one_line(exc),
                    )
                    return None
                delay = self._backoff(tries)
                log.warning(
                    "publication %s: could not read its history (%s: %s); trying again in %g s",
                    claim.id,
                    type(exc).__name__,
                    _one_line(exc),
                    delay,
                )
                await asyncio.sleep(delay)
        return None  # not reached: the last try returns

    # -- preparing ------------------------------------------------------------------------

    async def prepare(self, job: Job) -> Prepared | Completion:
        """Account, credentials, capabilities and the draft; or the completion that says
        why it cannot be sent (nothing has been sent yet)."""
        claim = job.claim
        s = self.s
        try:
            account = await s.account(claim.workspace, claim.account_id)
            platform = s.registry.platform(account.platform)
            ctx = await s.context(account, platform)
            capabilities = await s.capabilities(account, platform, ctx)
            if claim.draft_json is not None:
                from socialkit.models.content import Draft

                draft = Draft.model_validate_json(claim.draft_json)
                problems: tuple[Problem, ...] = ()
            else:
                post = await s.post(claim.revision)
                draft, problems = s.render(
                    claim.revision, post, account.platform, capabilities, claim.campaign
                )
        except Exception as exc:
            return self.unsent(job, exc)
        if has_errors(problems):
            invalid = InvalidPost(problems, subject=f"post for {claim.account_id}")
            return Completion(
                claim=claim,
                from_state=claim.state,
                transition=Transition(
                    id=claim.id,
                    expect_state=claim.state,
                    expect_attempt=claim.attempt,
                    to=S.FAILED,
                    reason=str(invalid),
                    problems=tuple(problems),
                ),
            )
        keys = tuple(
            claim.idempotency_key if i == 0 else f"{claim.idempotency_key}.{i}"
            for i in range(len(draft.parts))
        )
        first_sent = await self._first_sent(claim) if claim.sends else None
        ctx = ctx.evolve(
            first_attempt_at=first_sent,
            publication_id=claim.id,
            idempotency_keys=keys,
            attempt=claim.sends + 1,
            published_parts=claim.checkpoints,
            capabilities=capabilities,
            on_rate_limit=lambda report: self._rate_limit(job, report),
            on_checkpoint=lambda part, ref: self._checkpoint(job, part, ref),
            is_claimed_by_other=lambda post_id: self._claimed_by_other(job, post_id),
        )
        return Prepared(
            account=account, platform=platform, capabilities=capabilities, draft=draft, ctx=ctx
        )

    def unsent(self, job: Job, error: BaseException) -> Completion:
        """The completion for an error raised before anything was sent."""
        claim = job.claim
        policy = self.s.config.retry_for(claim.account_id)
        decision = policy.decide(error, failures=claim.failures, now=self.s.clock.now(), sent=False)
        if decision.outcome is Outcome.UNKNOWN:  # cannot happen before sending; be safe
            decision = Decision(outcome=Outcome.RETRY, run_at=self.s.clock.now(), reason="")
        return self.completion(job, decision, error, from_state=claim.state)

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, job: Job, prepared: Prepared | None = None) -> None:
        """Send one claim (``claimed``, or ``unknown`` being reconciled by resending)."""
        claim = job.claim
        if prepared is None:
            ready = await self.prepare(job)
            if isinstance(ready, Completion):
                await self.finish(ready)
                return
            prepared = ready
        if job.lost or job.handing_back:
            log.info("publication %s: lease lost or handed back before sending; not sent", claim.id)
            return
        start = PublishStart(
            id=claim.id,
            attempt=claim.attempt,
            from_state=claim.state,
            draft_json=self.s.draft_json(prepared.draft) if claim.draft_json is None else None,
        )
        # Claimed a moment ahead of its due time (at most ``claim_ahead``): ``publishing``
        # is committed before that moment, so only the request itself is left at it. A
        # store error here ends in run(), which hands the claim back (nothing was sent).
        if not await self._starts.submit(start):
            log.info("publication %s: claim lost before sending; not sent", claim.id)
            await self._hand_back(job)
            return
        job.sending = True
        if job.not_before is not None and self.s.clock.now() < job.not_before:
            await self.s.clock.wait(job.not_before, asyncio.Event())
        try:
            async with asyncio.timeout(self.s.config.publish_timeout.total_seconds()):
                receipt = await self._send(prepared.platform, prepared.draft, prepared.ctx)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not isinstance(exc, SocialkitError | TimeoutError):
                # Outside the error taxonomy: an adapter bug. Its outcome is unknown (the
                # retry policy says so); its traceback goes to the log for whoever fixes it.
                log.error(
                    "publication %s: %s.publish raised %s, which is not a socialkit error",
                    claim.id,
                    prepared.platform.name,
                    type(exc).__name__,
                    exc_info=exc,
                )
            policy = self.s.config.retry_for(claim.account_id)
            now = self.s.clock.now()
            decision = policy.decide(exc, failures=claim.failures, now=now, sent=True)
            await self.finish(self.completion(job, decision, exc, from_state=S.PUBLISHING))
            return
        await self.finish(self.published(job, receipt, source="platform"))

    async def _hand_back(
        self,
        job: Job,
        reason: str = "not sent: its start was refused (paused, or the claim was lost)",
    ) -> None:
        """Hand back a claim that was not sent: the store refused its start (a pause
        switched on since it was claimed: ``claimed`` → ``paused``; an ``unknown`` one
        being reconciled keeps its state and waits for the resume; or its lease was lost,
        then nothing applies), or the engine failed on it. Fenced by id and attempt.
        Without it the row kept this worker's lease until the lease ran out. Tried again
        a few times while the store fails; after that the lease runs out."""
        claim = job.claim
        job.lost = True
        for tries in range(1, _RELEASE_TRIES + 1):
            try:
                await self.s.store.release(
                    [(claim.id, claim.attempt)],
                    now=self.s.clock.now(),
                    actor=self.s.config.worker_id,
                    reason=reason,
                )
                return
            except Exception as exc:
                if tries == _RELEASE_TRIES:
                    log.error(
                        "publication %s: could not hand back (%s: %s); its lease will expire",
                        claim.id,
                        type(exc).__name__,
                        _one_line(exc),
                    )
                    return
                delay = self._backoff(tries)
                log.warning(
                    "publication %s: could not hand back (%s: %s); trying again in %g s",
                    claim.id,
                    type(exc).__name__,
                    _one_line(exc),
                    delay,
                )
                await asyncio.sleep(delay)

    def _backoff(self, tries: int) -> float:
        """The pause (real seconds: the store is out in the world) after ``tries`` failed
        commits: ``idle_poll``, doubled each time, at most ``_COMMIT_BACKOFF_MAX``, plus
        up to a quarter more at random (outcomes that failed together, or several
        workers' retries, do not all come back at the same moment)."""
        first = self.s.config.idle_poll.total_seconds()
        base = min(_COMMIT_BACKOFF_MAX, first * 2 ** min(tries - 1, 32))
        return float(round(base * (1 + random.random() / 4), 3))

    async def _send(self, platform: Platform, draft: Draft, ctx: Context) -> Receipt:
        # A refused token means nothing was published: refreshed once (under the
        # provider's per-account lock), then sent again.
        return await with_refresh(platform, ctx, lambda c: platform.publish(draft, c))

    # -- outcomes -------------------------------------------------------------------------

    def published(
        self, job: Job, receipt: Receipt, *, source: str, reason: str | None = None
    ) -> Completion:
        claim = job.claim
        return Completion(
            claim=claim,
            receipt=ReceiptRecord(
                id=claim.id,
                attempt=claim.attempt,
                receipt=receipt,
                source=source,  # type: ignore[arg-type]
                actor=self.s.config.worker_id,
                reason=reason,
                metrics=self.s.metric_offsets(claim.platform),
            ),
            budget=job.budget,
        )

    def completion(
        self,
        job: Job,
        decision: Decision,
        error: BaseException,
        *,
        from_state: PublicationState,
    ) -> Completion:
        """The transition for ``decision`` after ``error``."""
        claim = job.claim
        now = self.s.clock.now()
        described = _describe(error)
        platform_error = error if isinstance(error, PlatformError) else None
        budget = job.budget
        common: dict[str, Any] = {
            "id": claim.id,
            "expect_state": from_state,
            "expect_attempt": claim.attempt,
            "actor": self.s.config.worker_id,
            "error": described,
            "reason": decision.reason or str(error),
        }
        if decision.outcome is Outcome.FAIL:
            transition = Transition(**common, to=S.FAILED, count_failure=decision.count_failure)
        elif decision.outcome is Outcome.UNKNOWN:
            # A resend during reconciliation that says UnknownOutcome again means the
            # adapter cannot tell (past a key window, say): a person decides. Anything
            # else unknown there counts as a failed reconciliation, up to
            # ``reconcile_attempts``.
            again = claim.kind == "reconcile"
            tries = job.reconcile_failures + 1
            give_up = again and (
                isinstance(error, UnknownOutcome) or tries >= self.s.config.reconcile_attempts
            )
            transition = Transition(
                **common,
                to=S.UNKNOWN,
                run_at=now + self.s.config.reconcile_delay,
                # A failed reconciliation counts in its own budget, not in ``failures``.
                data={RECONCILE_FAILURE: tries} if again else None,
                attention="reconcile" if give_up else None,
            )
            if give_up:
                return Completion(
                    claim=claim,
                    transition=transition,
                    budget=budget,
                    from_state=from_state,
                    error=platform_error,
                    needs_person=True,
                )
        elif decision.outcome is Outcome.REAUTH:
            transition = Transition(**common, to=S.RETRY_WAIT, run_at=now, attention="reauth")
        else:
            transition = Transition(
                **common,
                to=S.RETRY_WAIT,
                run_at=decision.run_at or now,
                count_failure=decision.count_failure,
            )
            from socialkit.errors import RateLimited

            if isinstance(error, RateLimited) and decision.run_at is not None:
                # The budget that ran out is held until then: the default one holds the
                # whole account (claims skip it); another (a platform's upload budget)
                # is recorded, and only this publication waits, on its own run_at.
                same = budget if budget is not None and budget.scope == error.scope else None
                budget = Budget(
                    workspace=claim.workspace,
                    account_id=claim.account_id,
                    scope=error.scope,
                    remaining=same.remaining if same else None,
                    limit=same.limit if same else None,
                    reset_at=same.reset_at if same else None,
                    blocked_until=decision.run_at,
                )
        return Completion(
            claim=claim,
            transition=transition,
            budget=budget,
            from_state=from_state,
            error=platform_error,
        )

    async def finish(self, completion: Completion) -> bool:
        """Commit one outcome (group-committed with others); True when it applied.

        A commit the store fails is tried again, with a growing pause, until it lands or
        the worker stops (its task is cancelled): the platform's answer — a receipt above
        all — is not thrown away. Meanwhile the job stays in :attr:`jobs`, its lease
        heartbeated, and a graceful stop does not hand it back."""
        claim = completion.claim
        job = self._job(claim)
        if job is not None:
            job.finishing = True
        if completion.transition is not None and completion.transition.attention == "reauth":
            await self._needs_reauth(completion)
        tries = 0
        loop = asyncio.get_running_loop()
        first_failure = 0.0
        try:
            while True:
                if job is not None:
                    job.committing = True  # its lease ends with this commit: no heartbeats
                try:
                    result = await self._finish.submit(completion)
                except Exception as exc:
                    result = exc
                if not isinstance(result, Exception):
                    return result
                if _final(result):
                    # Its own commit failed with an error no retry passes (its row is
                    # gone, a move the store refuses, a bug): logged (a receipt's post id
                    # and link, for resolve), and left to its lease and reconciliation.
                    self._gave_up(completion, result)
                    return False
                if job is not None:
                    job.committing = False  # heartbeated again until the next try
                completion = attrs.evolve(completion, retried=True)
                tries += 1
                delay = self._backoff(tries)
                if tries == 1:
                    first_failure = loop.time()
                limit = self.retry_for
                if limit is not None and loop.time() + delay - first_failure > limit:
                    self._gave_up(completion, result)
                    return False
                log.warning(
                    "publication %s: could not save its outcome (%s: %s); trying again in %g s",
                    claim.id,
                    type(result).__name__,
                    _one_line(result),
                    delay,
                )
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if tries:
                self._gave_up(completion, None)
            raise

    def _gave_up(self, completion: Completion, error: Exception | None) -> None:
        """Say in the log which outcome could not be saved (a receipt: the platform's id,
        so a person can resolve the publication with it)."""
        why = f"{type(error).__name__}: {_one_line(error)}" if error is not None else "stopped"
        if completion.receipt is not None:
            receipt = completion.receipt.receipt
            log.error(
                "publication %s: its receipt could not be saved (%s): published on %s as %s (%s)",
                completion.claim.id,
                why,
                receipt.platform,
                receipt.ref.id,
                receipt.ref.url or "no link",
            )
        else:
            log.error(
                "publication %s: its outcome could not be saved (%s): %s",
                completion.claim.id,
                why,
                completion.transition.reason if completion.transition else "no change",
            )

    async def _needs_reauth(self, completion: Completion) -> None:
        claim = completion.claim
        reason = (completion.transition.reason if completion.transition else None) or "reauth"
        # The outcome is committed whatever this does (its transition holds the
        # publication for a person to reconnect the account).
        await self.s.mark_needs_reauth(claim.workspace, claim.account_id, reason)

    # -- group commits --------------------------------------------------------------------

    async def _flush_starts(self, starts: list[PublishStart]) -> list[bool]:
        s = self.s
        return await s.store.mark_publishing(
            starts, worker=s.config.worker_id, now=s.clock.now(), lease=s.config.lease
        )

    async def _flush_finish(self, items: list[Completion]) -> list[bool | Exception]:
        """Commit a batch of outcomes: receipts first, on their own (a failure elsewhere
        never loses one), then budgets, then transitions. Per item: whether it applied,
        or the exception its commit raised (that item is tried again)."""
        store, now = self.s.store, self.s.clock.now()
        failed: dict[int, Exception] = {}
        receipts = [(n, i.receipt) for n, i in enumerate(items) if i.receipt is not None]
        transitions = [
            (n, i.transition)
            for n, i in enumerate(items)
            if i.receipt is None and i.transition is not None
        ]
        moved: dict[int, bool] = {}
        applied: dict[int, object] = {}
        # Items whose commit may have landed in an earlier call that raised: this one's
        # answer for them may be a duplicate's.
        again = {n for n, item in enumerate(items) if item.retried}
        if receipts:
            await _write_each(
                lambda batch: store.record_receipts(batch, now=now), receipts, moved, failed, again
            )
        budgets: dict[tuple[str, str, str], Budget] = {}
        for item in items:
            if item.budget is not None:
                b = item.budget
                budgets[(b.workspace, b.account_id, b.scope)] = b
        for budget in budgets.values():
            # A budget is advice for later claims (the store merges it with the one it
            # holds): one that cannot be saved is logged, and holds nothing else back.
            try:
                await store.set_budget(budget, now=now)
            except Exception as exc:
                log.warning(
                    "could not save the %s budget of account %s (%s: %s)",
                    budget.scope,
                    budget.account_id,
                    type(exc).__name__,
                    _one_line(exc),
                )
        if transitions:
            await _write_each(
                lambda batch: store.apply(batch, now=now), transitions, applied, failed, again
            )
        for n in sorted(again - failed.keys()):
            item = items[n]
            if (item.receipt is not None and moved[n]) or (
                item.receipt is None and item.transition is not None and applied[n] is not None
            ):
                continue
            try:
                landed = await self._landed(item)
            except Exception as exc:
                failed[n] = exc  # tried again: its answer is read again then
                continue
            if landed is not None:
                if item.receipt is not None:
                    moved[n] = True
                else:
                    applied[n] = landed
        if self.on_finished is not None and len(items) > len(failed):
            self.on_finished(len(items) - len(failed))
        results: list[bool | Exception] = []
        notify = self.s.notifier.active
        for n, item in enumerate(items):
            written: PublicationState | None = None
            if n in failed:
                results.append(failed[n])
                continue
            if item.receipt is not None:
                ok = moved[n]
            elif item.transition is not None:
                result: object = applied[n]
                # The state the store wrote (paused when a pause switch held it); a store
                # written for an earlier socialkit returns True/False (see docs/stores.md).
                ok = result is not None and result is not False
                written = result if isinstance(result, PublicationState) else None
                if not ok:
                    log.info(
                        "publication %s moved on before its outcome was saved (%s)",
                        item.claim.id,
                        item.transition.reason,
                    )
            else:
                ok = True
            results.append(ok)
            if ok and notify:
                self._notify(item, now, written)
        return results

    async def _landed(self, item: Completion) -> PublicationState | None:
        """For an outcome whose earlier commit raised and whose commit now changed
        nothing: the state it wrote, if that earlier commit landed after all (``None``
        if not). A receipt landed when the publication is ``published`` and holds it
        (same attempt, source and post id); a transition, when the publication is at its
        attempt, in its target state (``paused`` for one a pause switch held). A
        transition to the state it came from cannot be told from one that did not land:
        not counted."""
        row = await self.s.store.get(item.claim.id)
        if item.receipt is not None:
            record = item.receipt
            kept = any(
                r.attempt == record.attempt
                and r.source == record.source
                and r.receipt.ref.id == record.receipt.ref.id
                for r in row.receipts
            )
            return S.PUBLISHED if kept and row.state == S.PUBLISHED else None
        t = item.transition
        if t is None or t.to == t.expect_state or row.attempt != t.expect_attempt:
            return None
        if row.state == t.to or (row.state == S.PAUSED and t.to in (S.SCHEDULED, S.RETRY_WAIT)):
            return row.state
        return None

    def _notify(self, item: Completion, now: Any, written: PublicationState | None) -> None:
        """Fire the hook for one committed outcome; ``written`` is the state the store
        wrote for its transition (``None``: a receipt, or a store that does not say)."""
        notifier = self.s.notifier
        claim = item.claim
        t = item.transition
        if item.receipt is not None:
            to_state = S.PUBLISHED
        elif t is not None:
            to_state = written or t.to
        else:
            to_state = item.from_state
        change = StateChange(
            publication_id=claim.id,
            workspace=claim.workspace,
            account_id=claim.account_id,
            campaign=claim.campaign,
            from_state=item.from_state,
            to_state=to_state,
            at=now,
            actor=self.s.config.worker_id,
            reason=(t.reason if t else item.receipt.reason if item.receipt else None),
            attempt=claim.attempt,
            error=dict(t.error) if t is not None and t.error is not None else None,
        )
        if item.receipt is not None:
            notifier.published(change, item.receipt.receipt)
        elif change.to_state == S.FAILED:
            notifier.failed(change, item.error)
        elif change.to_state == S.UNKNOWN:
            notifier.unknown(change, item.needs_person)
        else:
            notifier.changed(change)

    # -- context callbacks ----------------------------------------------------------------

    def _rate_limit(self, job: Job, report: RateLimitReport) -> None:
        claim = job.claim
        job.budget = Budget(
            workspace=claim.workspace,
            account_id=claim.account_id,
            scope=report.scope,
            remaining=report.remaining,
            limit=report.limit,
            reset_at=report.reset_at,
        )

    async def _checkpoint(self, job: Job, part: int, ref: PostRef) -> None:
        """Record a part the platform published. A store that fails here is tried again,
        as an outcome's commit is (a checkpoint is an upsert): raising would turn a post
        the platform answered into an unknown outcome. ``publish_timeout`` bounds it."""
        from socialkit.schedule.records import CheckpointRecord

        claim = job.claim
        record = CheckpointRecord(id=claim.id, attempt=claim.attempt, part=part, ref=ref)
        loop = asyncio.get_running_loop()
        tries = 0
        first_failure = 0.0
        while True:
            try:
                await self.s.store.record_checkpoint(record, now=self.s.clock.now())
                return
            except Exception as exc:
                tries += 1
                delay = self._backoff(tries)
                if tries == 1:
                    first_failure = loop.time()
                limit = self.retry_for
                if limit is not None and loop.time() + delay - first_failure > limit:
                    raise
                log.warning(
                    "publication %s: could not save part %d (post %s) (%s: %s); "
                    "trying again in %g s",
                    claim.id,
                    part + 1,
                    ref.id,
                    type(exc).__name__,
                    _one_line(exc),
                    delay,
                )
            await asyncio.sleep(delay)

    async def _first_sent(self, claim: Claim) -> dt.datetime | None:
        """When the first request that may have taken effect went out (from the history):
        the send of the first attempt whose outcome became unknown. An adapter tells by it
        whether a platform's idempotency window has passed, and dates what it writes by it
        (Bluesky's record keys), so a repeat is recognised.

        ``None`` when every earlier send certainly took no effect (a refused token, a
        rate limit, a transient error: ``retry_wait``): nothing can be repeated, and a post
        that gets through a day later is dated now, not a day ago.
        """
        sent: dict[int, dt.datetime] = {}
        async with contextlib.aclosing(self._history(claim.id)) as history:
            async for event in history:
                if event.to_state == S.PUBLISHING:
                    sent.setdefault(event.attempt, event.at)
                elif (
                    event.from_state == S.PUBLISHING
                    and event.to_state == S.UNKNOWN
                    and event.attempt in sent
                ):
                    return sent[event.attempt]
        return None

    async def unsent_failures(self, claim: Claim) -> int:
        """How many times in a row the engine failed on this publication before sending,
        from the history: the :data:`UNSENT_FAILURE` of its latest hand-back for that,
        plus one for each hand-back marked :data:`UNSENT_FAILURE_UNCOUNTED` after it,
        when nothing but claims, swept leases and such hand-backs came after it (a send,
        a person's action or any other move starts the count again)."""
        count = 0
        async for event in self._history(claim.id):
            if UNSENT_FAILURE in event.data:
                count = int(str(event.data[UNSENT_FAILURE]))
            elif UNSENT_FAILURE_UNCOUNTED in event.data:
                count += 1
            elif event.kind not in ("claimed", "lease_expired"):
                count = 0
        return count

    async def reconcile_failures(self, claim: Claim) -> int:
        """Failed reconciliation tries since the publication's last send from ``claimed``
        (the one whose outcome became unknown), from the history: the events marked
        :data:`RECONCILE_FAILURE`. A new unknown outcome after a fresh send (reconciliation
        found nothing and the post was sent again, or a person chose to retry) starts
        again from none."""
        count = 0
        async for event in self._history(claim.id):
            if event.from_state == S.CLAIMED and event.to_state == S.PUBLISHING:
                count = 0
            elif RECONCILE_FAILURE in event.data:
                count += 1
        return count

    async def _history(self, publication_id: str) -> AsyncGenerator[Event, None]:
        """The publication's events, oldest first, read a page at a time."""
        since = 0
        while True:
            events = await self.s.store.events(
                since=since, limit=500, publication_id=publication_id
            )
            for event in events:
                yield event
            if len(events) < 500:
                return
            since = events[-1].seq

    async def _claimed_by_other(self, job: Job, post_id: str) -> bool:
        owner = await self.s.store.receipt_owner(job.claim.platform, post_id)
        return owner is not None and owner != job.claim.id

    async def drain(self) -> None:
        await self._starts.drain()
        await self._finish.drain()


async def _write_each(
    call: Callable[[list[_In]], Awaitable[Sequence[_Out]]],
    entries: list[tuple[int, _In]],
    results: dict[int, Any],
    failed: dict[int, Exception],
    again: set[int],
) -> None:
    """:func:`_each` over ``entries`` (item number, entry): each item's result into
    ``results``, or its exception into ``failed``; every item into ``again`` when the
    call of all raised (some of its writes may have landed)."""
    done, split = await _each(call, [entry for _, entry in entries])
    if split:
        again.update(n for n, _ in entries)
    for (n, _), result in zip(entries, done, strict=True):
        if isinstance(result, Exception):
            failed[n] = result
        else:
            results[n] = result


async def _each(
    call: Callable[[list[_In]], Awaitable[Sequence[_Out]]], entries: list[_In]
) -> tuple[list[_Out | Exception], bool]:
    """``call`` on all ``entries`` in one store call; per entry, its result or the
    exception its commit raised. When a call of several raises, each is written on its
    own, so that one bad entry (its row gone, say) holds back none of the others and the
    errors each entry gets are its own. After ``_SPLIT_TRIES`` of them in a row fail
    with an error a retry may pass (the store is down, not an entry bad), the rest get
    that error without a call of their own: they are tried again later. Also returns
    whether the call of all raised (some of its writes may have landed all the same)."""
    try:
        return list(await call(entries)), False
    except Exception as exc:
        if len(entries) == 1:
            return [exc], True
        error = exc
    results: list[_Out | Exception] = []
    down = 0
    for entry in entries:
        if down >= _SPLIT_TRIES:
            results.append(error)
            continue
        try:
            (result,) = await call([entry])
        except Exception as exc:
            results.append(exc)
            if not _final(exc):
                down += 1
                error = exc
            continue
        down = 0
        results.append(result)
    return results, True


def _final(error: Exception) -> bool:
    """Whether committing the same outcome again cannot pass ``error``: the row moved on
    (:class:`StaleTransition`), is gone, or refuses the move; or the outcome itself is
    wrong for the store (``TypeError``/``ValueError``: a bug). A store that is down or
    locked, a connection lost, raises anything else."""
    if isinstance(error, StaleTransition | TypeError | ValueError):
        return True
    if isinstance(error, StoreError):
        message = str(error)
        return message.startswith("no publication ") or message.endswith(" is not a legal move")
    return False


def _lease_lost(job: Job) -> bool:
    """Whether a heartbeat found ``job``'s lease gone (read after an ``await``)."""
    return job.lost


def _lease_runs_out(claim: Claim, error: Exception) -> None:
    """Log a claim the engine failed on that could not be handed back, for the store
    failed too: its lease, no longer heartbeated, runs out."""
    log.error(
        "publication %s: could not hand back (%s: %s); its lease will expire",
        claim.id,
        type(error).__name__,
        _one_line(error),
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _describe(error: BaseException) -> dict[str, Any]:
    if isinstance(error, PlatformError):
        return error.describe()
    return {"error": type(error).__name__, "message": str(error)[:500]}
