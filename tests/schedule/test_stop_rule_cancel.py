"""``stop_rule(rule_id, cancel=True)``: stop a rule and cancel what it already made, not
sent yet — the crisis switch for a recurring post. Without ``cancel`` they go out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialkit.models.content import Post
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import account

DAY = dt.timedelta(days=1)
DAILY = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"


async def test_cancel_cancels_what_the_rule_made_and_not_yet_sent(
    make_scheduler: Any, platform: Any, clock: Any
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(Post(text="gm"), account(timezone="UTC"), rrule=DAILY)
    (other,) = await scheduler.schedule(
        Post(text="not the rule's"), account(timezone="UTC"), at=clock.now() + DAY
    )
    made = (await scheduler.list(rule=rule.id, limit=50)).items
    assert len(made) >= 7
    one = made[0].id
    await scheduler.pause(account="acme", actor="ann")  # a paused one is cancelled too
    cancelled = await scheduler.stop_rule(rule.id, actor="ann", cancel=True, reason="crisis")
    assert cancelled == len(made)
    states = {p.state for p in (await scheduler.list(rule=rule.id, limit=50)).items}
    assert states == {S.CANCELLED}
    history = (await scheduler.get(one, history=True)).history
    assert (history[-1].actor, history[-1].reason) == ("ann", "crisis")
    await scheduler.resume(account="acme", actor="ann")
    assert (await scheduler.get(other.id)).state == S.SCHEDULED  # the rest is untouched
    clock.advance(DAY)  # other's time, and a daily occurrence's
    await scheduler.run(until_idle=True)
    assert [call["publication"] for call in server.calls] == [other.id]
    [stopped] = await scheduler.rules(active=False)
    assert stopped.id == rule.id


async def test_without_cancel_what_it_made_goes_out(
    make_scheduler: Any, platform: Any, clock: Any
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(Post(text="gm"), account(timezone="UTC"), rrule=DAILY)
    made = {p.id for p in (await scheduler.list(rule=rule.id, limit=50)).items}
    assert await scheduler.stop_rule(rule.id, actor="ann") == 0
    clock.advance(DAY)
    await scheduler.run(until_idle=True)
    assert {call["publication"] for call in server.calls} <= made
    assert server.calls


async def test_cancel_must_be_a_bool(make_scheduler: Any, platform: Any) -> None:
    platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(Post(text="gm"), account(timezone="UTC"), rrule=DAILY)
    with pytest.raises(TypeError, match=r"^cancel: expected True or False \(got str 'yes'\)"):
        await scheduler.stop_rule(rule.id, cancel="yes")  # type: ignore[arg-type]
    assert [r.id for r in await scheduler.rules(active=True)] == [rule.id]
