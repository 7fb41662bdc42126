"""The sync API works where an event loop is already running (Jupyter, FastAPI).

``publish_now`` and ``Scheduler`` hand their coroutines to socialkit's own background
loop and wait for them, so calling them from a coroutine neither raises "asyncio.run()
cannot be called from a running event loop" nor deadlocks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path

import socialkit


def _account(directory: Path) -> socialkit.Account:
    return socialkit.Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": str(directory)}
    )


def _entry(directory: Path, result: socialkit.PublishResult) -> dict[str, object]:
    assert result.ok, result.error
    assert result.receipt is not None
    path = directory / "posts" / f"{result.receipt.ref.id}.json"
    entry: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return entry


async def test_publish_now_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    caller = asyncio.get_running_loop()
    [result] = socialkit.publish_now(socialkit.Post(text="From inside a loop"), _account(tmp_path))
    entry = _entry(tmp_path, result)
    assert entry["parts"] == [{"text": "From inside a loop", "media": []}]
    # the caller's loop is still usable afterwards
    assert asyncio.get_running_loop() is caller
    assert await asyncio.sleep(0, result="still running") == "still running"


def test_publish_now_from_a_coroutine_run_by_asyncio_run(tmp_path: Path) -> None:
    """What a notebook cell does: a loop runs, and the cell calls the sync API."""
    seen: list[str] = []

    async def cell() -> list[socialkit.PublishResult]:
        ticker = asyncio.create_task(asyncio.sleep(0, result="ticked"))
        first = socialkit.publish_now(socialkit.Post(text="one"), _account(tmp_path / "a"))
        second = socialkit.publish_now(socialkit.Post(text="two"), _account(tmp_path / "b"))
        seen.append(await ticker)  # tasks of the caller's loop still run after the calls
        seen.append(threading.current_thread().name)
        return first + second

    results = asyncio.run(cell())
    assert [_entry(tmp_path / d, r)["parts"] for d, r in zip("ab", results, strict=True)] == [
        [{"text": "one", "media": []}],
        [{"text": "two", "media": []}],
    ]
    assert seen == ["ticked", threading.current_thread().name]


async def test_the_sync_scheduler_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    clock = socialkit.ManualClock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    account = _account(tmp_path)
    with socialkit.Scheduler("memory://", clock=clock, accounts=[account]) as scheduler:
        [publication] = scheduler.schedule(
            socialkit.Post(text="Scheduled from a coroutine"),
            account,
            at="2026-03-02 09:00",
            tz="UTC",
        )
        clock.set(publication.due_at)
        stats = scheduler.run(until_idle=True)
        assert stats.claimed == 1
        assert scheduler.get(publication.id).state == "published"
