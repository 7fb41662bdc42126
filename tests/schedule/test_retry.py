"""RetryPolicy.decide: when a retryable error is tried again, and whether it counts."""

from __future__ import annotations

import datetime as dt

import pytest

from socialkit.errors import RateLimited, Transient
from socialkit.schedule.engine.retry import Outcome, RetryPolicy

NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
POLICY = RetryPolicy(multiplier=30.0, jitter=0.0)


def test_a_rate_limit_waits_until_its_time_and_does_not_count() -> None:
    error = RateLimited("slow down", retry_after=120)
    decision = POLICY.decide(error, failures=4, now=NOW)
    assert decision.outcome is Outcome.RETRY
    assert decision.run_at == NOW + dt.timedelta(seconds=120)
    assert not decision.count_failure


def test_a_rate_limit_without_a_time_backs_off_without_counting() -> None:
    decision = POLICY.decide(RateLimited("slow down"), failures=0, now=NOW)
    assert decision.outcome is Outcome.RETRY
    assert decision.run_at == NOW + dt.timedelta(seconds=30)
    assert not decision.count_failure


@pytest.mark.parametrize(
    "error",
    [
        # X-RateLimit-Reset: 60 read as epoch seconds: a minute after 1970 began
        RateLimited("slow down", reset_at=dt.datetime.fromtimestamp(60, dt.UTC)),
        RateLimited("slow down", reset_at=NOW),
        RateLimited("slow down", retry_after=0),
    ],
)
def test_a_rate_limit_whose_time_is_not_in_the_future_backs_off_without_counting(
    error: RateLimited,
) -> None:
    """Not at once (it would be refused again, in a loop), and never out of attempts: a
    rate limit is not the post's failure, even with a time already past."""
    decisions = [POLICY.decide(error, failures=n, now=NOW) for n in range(POLICY.max_attempts + 3)]
    for failures, decision in enumerate(decisions):
        assert decision.outcome is Outcome.RETRY
        assert not decision.count_failure
        assert decision.run_at == NOW + POLICY.delay(failures + 1)
        assert decision.run_at > NOW


def test_a_transient_error_backs_off_and_counts() -> None:
    decision = POLICY.decide(Transient("refused"), failures=1, now=NOW)
    assert decision.outcome is Outcome.RETRY
    assert decision.run_at == NOW + dt.timedelta(seconds=60)
    assert decision.count_failure
