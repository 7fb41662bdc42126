"""``RateLimited(retry_after=...)`` as an adapter writes it.

A ``timedelta`` (the type every other span in socialkit is) used to be kept as it was
and broke the engine only when it read it: the publish stayed ``publishing`` until its
lease ran out (then ``unknown``), and a metric collection's handler raised out of the
task, which stayed leased. It is now kept as its seconds; a value that is neither (a
``Retry-After`` header's text) is refused where the adapter raises it.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from socialkit.errors import RateLimited
from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


async def test_a_publish_rate_limited_with_a_timedelta_waits_until_then(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    server.script(RateLimited(retry_after=dt.timedelta(minutes=30)))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.RETRY_WAIT
    assert await scheduler.next_due() == START + 30 * MINUTE
    clock.set(START + 30 * MINUTE)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_a_collection_rate_limited_with_a_timedelta_comes_back_then(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(Post(text="one"), account(timezone="UTC"), at=START)
    await scheduler.run(until_idle=True)
    server.script_metrics(RateLimited(retry_after=dt.timedelta(minutes=30)))
    clock.set(START + HOUR)
    await scheduler.run(until_idle=True)
    assert len(server.metric_tokens) == 1
    assert await scheduler.metrics(publication=pub.id) == []
    assert await scheduler.next_due() == START + HOUR + 30 * MINUTE
    clock.set(START + HOUR + 30 * MINUTE)
    await scheduler.run(until_idle=True)
    [snapshot] = await scheduler.metrics(publication=pub.id)
    assert snapshot.after == HOUR


def test_retry_after_is_kept_in_seconds() -> None:
    assert RateLimited(retry_after=dt.timedelta(minutes=2)).retry_after == 120.0
    assert RateLimited(retry_after=30).retry_after == 30
    assert RateLimited(retry_after=1.5).retry_after == 1.5
    assert RateLimited().retry_after is None
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert RateLimited(retry_after=dt.timedelta(minutes=2)).resume_at(now) == now + 2 * MINUTE


@pytest.mark.parametrize("value", ["120", True, [120]])
def test_a_retry_after_that_is_not_seconds_is_refused_naming_it(value: object) -> None:
    with pytest.raises(TypeError, match=r"^retry_after: expected seconds .*\(got \w+ "):
        RateLimited(retry_after=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_retry_after_that_is_not_finite_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match=r"^retry_after: must be a finite number"):
        RateLimited(retry_after=value)


def test_a_reset_at_that_is_not_a_datetime_is_refused_naming_it() -> None:
    with pytest.raises(
        TypeError, match=r"^reset_at: expected an aware datetime.*got int 1777887000"
    ):
        RateLimited(reset_at=1777887000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reset_at must be timezone-aware"):
        RateLimited(reset_at=dt.datetime(2030, 1, 1))
