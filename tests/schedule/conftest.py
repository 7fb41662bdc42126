"""Fixtures for engine tests: a manual clock, a private registry, scripted fake platforms."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from socialkit.models.account import Account
from socialkit.platforms.capabilities import Idempotency
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.clock import ManualClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.engine.retry import RetryPolicy
from socialkit.schedule.scheduler import AsyncScheduler
from tests.schedule.fakes import make_platform

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def registry() -> Registry:
    return Registry(load_entry_points=False)


@pytest.fixture
def platform(registry: Registry) -> Callable[..., Any]:
    """``platform(name, idempotency)`` registers a scripted fake and returns its server."""

    def make(name: str = "fake", idempotency: Idempotency = Idempotency.KEY, **kw: Any) -> Any:
        cls = make_platform(name, idempotency, **kw)
        registry.register(cls)
        return cls.server  # type: ignore[attr-defined]

    return make


def account(account_id: str = "acme", platform: str = "fake", **kw: Any) -> Account:
    return Account(id=account_id, platform=platform, handle=account_id, **kw)


FAST_RETRY = RetryPolicy(max_attempts=3, multiplier=10, exp_base=2, max_delay=600, jitter=0)


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/engine.db"


@pytest.fixture
async def make_scheduler(
    clock: ManualClock, registry: Registry, store_url: str
) -> AsyncIterator[Callable[..., Any]]:
    made: list[AsyncScheduler] = []

    async def make(**options: Any) -> AsyncScheduler:
        config = options.pop("config", None) or EngineConfig(
            worker_id=options.pop("worker_id", "w1"), retry=FAST_RETRY, **options.pop("engine", {})
        )
        scheduler = AsyncScheduler(
            options.pop("store", store_url),
            registry=registry,
            clock=clock,
            config=config,
            credentials=options.pop("credentials", MemoryCredentialProvider({})),
            **options,
        )
        await scheduler.open()
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        await scheduler.close()


async def half_sent_thread(
    scheduler: AsyncScheduler, server: Any, error: BaseException, **schedule: Any
) -> str:
    """A two-part thread whose first part went out and whose second met ``error``
    (run once at START); returns its publication id."""
    from socialkit.models.content import Post, ThreadPart

    thread = Post(text="part one", thread=[ThreadPart(text="part two")])
    (pub,) = await scheduler.schedule(thread, account(), at=START, **schedule)
    server.script(("fail_part", 1, error))
    await scheduler.run(until_idle=True)
    return pub.id
