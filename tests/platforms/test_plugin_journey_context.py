"""What an adapter reports through its Context: a delay passed as ``reset`` is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

import socialkit
from socialkit.testing import FrozenClock, make_account, make_credentials


def _context(reports: list[socialkit.RateLimitReport]) -> socialkit.Context:
    return socialkit.Context(
        account=make_account("heron"),
        credentials=make_credentials(),
        http=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))),
        media=socialkit.LocalMediaStore("unused"),
        clock=FrozenClock(),
        on_rate_limit=reports.append,
    )


@pytest.mark.parametrize("reset", [60, 1.5, 0])
def test_a_delay_passed_as_reset_is_refused(reset: float) -> None:
    # Seconds until the reset (Discord's Reset-After, a Retry-After) read as epoch seconds
    # would be a date in 1970: the engine would take the window for long over.
    reports: list[socialkit.RateLimitReport] = []
    with pytest.raises(ValueError, match=r"reads as epoch seconds, 1970-01-01T") as refused:
        _context(reports).report_rate_limit(remaining=0, reset=reset)
    assert "pass reset=ctx.now() + timedelta(seconds=...)" in str(refused.value)
    assert reports == []


def test_epoch_seconds_and_aware_datetimes_are_reported() -> None:
    reports: list[socialkit.RateLimitReport] = []
    ctx = _context(reports)
    ctx.report_rate_limit(remaining=5, reset=1773501000, limit=300)
    ctx.report_rate_limit(remaining=4, reset=ctx.now() + timedelta(seconds=60), scope="media")
    assert reports == [
        socialkit.RateLimitReport(
            remaining=5, reset_at=datetime(2026, 3, 14, 15, 10, tzinfo=UTC), limit=300
        ),
        socialkit.RateLimitReport(
            remaining=4, reset_at=datetime(2026, 3, 14, 15, 10, 26, tzinfo=UTC), scope="media"
        ),
    ]
