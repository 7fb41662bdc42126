"""A platform whose adapter has no ``fetch_metrics`` of its own gets no metric
collections: each would claim a task, call the default (which returns nothing) and
commit, three times a post, for nothing. One that has it keeps its schedule. Also when a
person resolves an unknown outcome as published."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialkit.errors import UnknownOutcome
from socialkit.models.content import Post
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.registry import Registry
from tests.schedule.conftest import START, account
from tests.schedule.fakes import make_platform

WEEK = dt.timedelta(days=8)


def no_metrics(registry: Registry) -> None:
    fake = make_platform("quiet")

    class Quiet(fake):  # type: ignore[misc,valid-type]
        capabilities = fake.capabilities.model_copy(update={"metrics": frozenset()})
        fetch_metrics = Platform.fetch_metrics

    registry.register(Quiet)


async def collections(scheduler: Any) -> list[Any]:
    return list(
        await scheduler.store.claim_metric_tasks(
            "probe", now=START + WEEK, limit=100, lease=dt.timedelta(minutes=5)
        )
    )


async def test_a_platform_without_fetch_metrics_gets_no_collections(
    make_scheduler: Any, platform: Any, registry: Registry
) -> None:
    platform("fake")
    no_metrics(registry)
    scheduler = await make_scheduler()
    (quiet,) = await scheduler.schedule(
        Post(text="one"), account("q", platform="quiet", timezone="UTC"), at=START
    )
    (counted,) = await scheduler.schedule(
        Post(text="two"), account("f", platform="fake", timezone="UTC"), at=START
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(quiet.id)).state == "published"
    assert (await scheduler.get(counted.id)).state == "published"
    assert {task.publication_id for task in await collections(scheduler)} == {counted.id}


async def test_resolved_as_published_on_such_a_platform_gets_none_either(
    make_scheduler: Any, registry: Registry
) -> None:
    no_metrics(registry)
    scheduler = await make_scheduler()
    server = registry.platform("quiet").server  # type: ignore[attr-defined]
    server.script(UnknownOutcome("read timeout"))
    (pub,) = await scheduler.schedule(
        Post(text="one"), account("q", platform="quiet", timezone="UTC"), at=START
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == "unknown"
    receipt = Receipt(
        platform="quiet", account_id="q", parts=(PostRef(id="seen-live"),), published_at=START
    )
    await scheduler.resolve(pub.id, published=receipt, actor="ann")
    assert (await scheduler.get(pub.id)).state == "published"
    assert await collections(scheduler) == []
