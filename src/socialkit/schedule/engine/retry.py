"""Retry decisions: what an error means for a publication, and when to try again.

Backoff is tenacity's exponential wait with jitter (``wait_exponential_jitter``): the
``n``-th retry waits ``min(max, multiplier · base^(n-1) + uniform(0, jitter))`` seconds.
A :class:`~socialkit.errors.RateLimited` waits at least until the platform's
``Retry-After``/reset and does not use up an attempt: the platform asked us to wait, it
did not fail. One whose time is not in the future (a reset misread as a date in 1970)
backs off like a :class:`~socialkit.errors.Transient` and counts, so that it can never
have the engine ask again at once, forever.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import attrs
import tenacity

from socialkit.errors import (
    AuthExpired,
    CredentialsError,
    NeedsReauth,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)

__all__ = ["Decision", "Outcome", "RetryPolicy", "classify"]


class Outcome(StrEnum):
    """What an error means for the publication."""

    RETRY = "retry"
    """Nothing took effect; try again later (``retry_wait``), or fail when out of attempts."""
    FAIL = "fail"
    """Permanent: ``failed`` with the platform's reason."""
    UNKNOWN = "unknown"
    """The request may have taken effect: reconcile before anything else."""
    REAUTH = "reauth"
    """A person must reconnect the account; its publications wait."""


@attrs.frozen(kw_only=True, slots=True)
class Decision:
    """An outcome, and for retries when to try again and whether it counts as a failure."""

    outcome: Outcome
    run_at: dt.datetime | None = None
    count_failure: bool = False
    reason: str = ""


def classify(error: BaseException, *, sent: bool) -> Outcome:
    """The outcome of ``error`` raised by an adapter.

    Args:
        error: what was raised.
        sent: whether the publish call had started (a request may have gone out). An
            error that is not in the taxonomy is ``UNKNOWN`` once sent — the engine never
            guesses that a crashed call did nothing — and ``RETRY`` before.
    """
    if isinstance(error, Rejected):
        return Outcome.FAIL
    if isinstance(error, NeedsReauth | AuthExpired | CredentialsError):
        return Outcome.REAUTH
    if isinstance(error, RateLimited | Transient):
        return Outcome.RETRY
    if isinstance(error, UnknownOutcome):
        return Outcome.UNKNOWN
    if isinstance(error, PlatformError):
        return Outcome.UNKNOWN if sent else Outcome.RETRY
    return Outcome.UNKNOWN if sent else Outcome.RETRY


@attrs.frozen(kw_only=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, and an attempt limit.

    Attributes:
        max_attempts: sends that may fail with a retryable error before ``failed``.
        multiplier: the first retry's base wait, in seconds.
        exp_base: the growth factor per retry.
        max_delay: the longest wait, in seconds.
        jitter: up to this many random seconds added to each wait.
    """

    max_attempts: int = 5
    multiplier: float = 30.0
    exp_base: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 10.0

    def delay(self, failures: int) -> dt.timedelta:
        """The wait before retry number ``failures`` (1 for the first retry)."""
        wait = tenacity.wait_exponential_jitter(
            multiplier=self.multiplier,
            exp_base=self.exp_base,
            max=self.max_delay,
            jitter=self.jitter,
        )
        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = max(1, failures)
        return dt.timedelta(seconds=wait(state))

    def decide(
        self, error: BaseException, *, failures: int, now: dt.datetime, sent: bool = True
    ) -> Decision:
        """What to do after ``error``, given the failures counted so far.

        Args:
            error: what the adapter raised.
            failures: retryable failures before this one.
            now: the engine's clock.
            sent: whether a request may have gone out.
        """
        outcome = classify(error, sent=sent)
        describe = f"{type(error).__name__}: {error}"
        if outcome is not Outcome.RETRY:
            return Decision(outcome=outcome, reason=describe)
        if isinstance(error, RateLimited):
            # A rate limit never uses up attempts. Without a time to come back (or with
            # one already past: "Retry-After: 0", a reset a second behind our clock),
            # the next attempt waits the backoff delay, not a moment: coming back at
            # once would be refused again, in a loop.
            resume = error.resume_at(now)
            return Decision(
                outcome=Outcome.RETRY,
                run_at=resume
                if resume is not None and resume > now
                else now + self.delay(failures + 1),
                reason=f"rate limited: {error}",
            )
        if failures + 1 >= self.max_attempts:
            return Decision(
                outcome=Outcome.FAIL,
                count_failure=True,
                reason=f"{describe} (attempts exhausted: {failures + 1} of {self.max_attempts})",
            )
        return Decision(
            outcome=Outcome.RETRY,
            run_at=now + self.delay(failures + 1),
            count_failure=True,
            reason=describe,
        )
