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
def test_a_delay_passed_as_reset_is_left_out_with_a_warning(
    reset: float, caplog: pytest.LogCaptureFixture
) -> None:
    # Seconds until the reset (Discord's Reset-After, a Retry-After) read as epoch seconds
    # would be a date in 1970: the engine would take the window for long over. It is
    # called after the platform answered, so it does not raise (a receipt would be lost).
    reports: list[socialkit.RateLimitReport] = []
    _context(reports).report_rate_limit(remaining=0, reset=reset)
    (report,) = reports
    assert (report.remaining, report.reset_at) == (0, None)
    assert report.problem is not None
    assert "reads as epoch seconds, 1970-01-01T" in report.problem
    assert "pass reset=ctx.now() + timedelta(seconds=...)" in caplog.text


@pytest.mark.parametrize(
    "reset", [float("nan"), float("inf"), 1e30, 10**400, "1764240000", True, b"x"]
)
def test_a_reset_that_is_no_moment_is_left_out(reset: object) -> None:
    reports: list[socialkit.RateLimitReport] = []
    _context(reports).report_rate_limit(remaining=3, reset=reset)  # type: ignore[arg-type]
    assert [(r.remaining, r.reset_at, r.problem is not None) for r in reports] == [(3, None, True)]


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
