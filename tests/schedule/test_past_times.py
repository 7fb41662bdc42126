"""A time already past its grace period is refused, not stored to be missed at once."""

from __future__ import annotations

import datetime as dt

import pytest

from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Late")
HOUR = dt.timedelta(hours=1)


async def test_a_time_past_the_grace_period_is_refused_naming_at(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    with pytest.raises(
        ValueError, match=r"^at: 2026-03-02 05:00 UTC for acme was 3 hours ago"
    ) as info:
        await scheduler.schedule(POST, account(), at=START - 3 * HOUR, tz="UTC")
    assert "past the grace period (3600 s); it would be missed at once" in str(info.value)
    assert "publish_late=True" in str(info.value)
    assert (await scheduler.list()).items == ()  # nothing stored


async def test_within_the_grace_period_or_publish_late_it_goes_out(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    (soon,) = await scheduler.schedule(POST, account(), at=START - HOUR / 2)
    (late,) = await scheduler.schedule(
        Post(text="Later"), account(), at=START - 3 * HOUR, publish_late=True
    )
    await scheduler.run(until_idle=True)
    for pub in (soon, late):
        assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_an_engine_without_a_grace_period_takes_any_past_time(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler(engine={"grace": None})
    (pub,) = await scheduler.schedule(POST, account(), at=START - 30 * 24 * HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
