"""Misfires, pauses and rules under conditions a review found mishandled: a rule that
cannot be materialised, a recurring rule whose grace outlasts its period, a pause that
lands while a publication is claimed, and an account waiting to be reconnected."""

from __future__ import annotations

import datetime as dt
import logging

from socialkit.models.account import PostingSlot
from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SLOTS = (PostingSlot(weekday="mon", time=dt.time(9)), PostingSlot(weekday="thu", time=dt.time(9)))


async def test_a_rule_that_cannot_be_materialised_stops_neither_the_worker_nor_other_posts(
    make_scheduler, platform, clock, caplog
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    rule = await scheduler.evergreen(
        Post(text="ever"), account("slots", posting_slots=SLOTS), every_slots=2
    )
    await scheduler.add_account(account("slots"))  # its posting slots are gone
    (other,) = await scheduler.schedule(Post(text="other"), account("other"), at=START + HOUR)
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        for _ in range(3):
            clock.advance(HOUR)
            await scheduler.run(until_idle=True)
    assert (await scheduler.get(other.id)).state == S.PUBLISHED
    assert other.id in [c["publication"] for c in server.calls]
    assert f"rule {rule.id} could not be materialised" in caplog.text
    assert [r.id for r in await scheduler.rules(active=True)] == [rule.id]  # still there
