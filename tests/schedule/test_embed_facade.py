"""The sync ``Scheduler`` as an application embeds it: a background worker it starts and
stops from its own threads."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import pytest

import socialkit
from socialkit import Account, ManualClock, Post, PublicationState, Scheduler
from socialkit.text.rules import FEED

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
WAIT = 30.0  # a bound on each wait, never a delay


class Slow(socialkit.Platform):
    """Publishes once the test opens the gate; says when a publish has started."""

    name = "slow"
    contract = 1
    capabilities = socialkit.Capabilities(
        text=FEED, idempotency=socialkit.Idempotency.KEY, requires_credentials=False
    )
    started = threading.Event()
    gate = threading.Event()

    async def publish(self, draft: Any, ctx: Any) -> socialkit.Receipt:
        Slow.started.set()
        await asyncio.to_thread(Slow.gate.wait, WAIT)
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=ctx.publication_id),),
            published_at=ctx.now(),
        )


@pytest.fixture
def scheduler() -> Any:
    Slow.started.clear()
    Slow.gate.clear()
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(Slow)
    made = Scheduler("memory://", registry=registry, clock=ManualClock(NOW))
    yield made
    Slow.gate.set()
    made.close()


def test_a_stop_that_times_out_can_be_waited_for_again(scheduler: Scheduler) -> None:
    [pub] = scheduler.schedule(
        Post(text="Launch"), Account(id="acme", platform="slow", handle="acme"), at=NOW
    )
    scheduler.start()
    assert Slow.started.wait(WAIT)
    with pytest.raises(TimeoutError):
        scheduler.stop(timeout=0)  # the publish in flight holds it
    Slow.gate.set()
    # The worker is still the scheduler's: this waits for it (it returned None before,
    # and close() then closed the store under the running worker).
    stats = scheduler.stop(timeout=WAIT)
    assert stats is not None
    assert (stats.claimed, stats.handed_back) == (1, 0)
    assert scheduler.get(pub.id).state == PublicationState.PUBLISHED
    assert scheduler.stop() is None  # stopped: nothing left to wait for
