"""Three worker processes share one PostgreSQL store: every post goes out exactly once.

The parent schedules 120 posts over six accounts of the built-in ``feed`` platform, all
due now, then starts three worker processes, each its own scheduler on the same
``postgresql://`` URL, each with at most two publishes in flight. Nothing but the
database coordinates them: claims lease rows with ``FOR UPDATE SKIP LOCKED``, one
publish in flight per account across all workers.
At the end the parent counts what the feed platform wrote: one file per post, none
twice, and says how the work was shared.

Needs a PostgreSQL server: the URL comes from ``SOCIALKIT_POSTGRES_URL`` (or
``SOCIALKIT_TEST_POSTGRES_URL``, as the test suite sets it). Everything lives in the
schema ``socialkit_example_workers``, dropped before and after; the feed files go under
``./postgres-workers-example/``. Without a URL it says how to run it and exits.

    SOCIALKIT_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        python examples/postgres_workers.py

(On the command line, ``socialkit --store URL run --workers 3`` starts such workers.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import socialkit
from socialkit import AsyncScheduler
from socialkit.schedule import ScheduleRequest

SCHEMA = "socialkit_example_workers"
HERE = Path("postgres-workers-example").resolve()
ACCOUNTS = [
    socialkit.Account(
        id=f"shop-{i}",
        platform="feed",
        handle=f"shop{i}",
        settings={"directory": str(HERE / f"shop{i}")},
    )
    for i in range(6)
]


def store_url(base: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={SCHEMA}"


def drop_schema(base: str) -> None:
    import psycopg  # the store's driver: socialkit-engine[postgres]

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


async def schedule(url: str, count: int) -> None:
    async with AsyncScheduler(url, accounts=ACCOUNTS) as scheduler:
        now = dt.datetime.now(dt.UTC)
        await scheduler.schedule_many(
            ScheduleRequest(
                post=socialkit.Post(text=f"Today's pastry, number {n + 1}."),
                accounts=ACCOUNTS[n % len(ACCOUNTS)].id,
                at=now,
            )
            for n in range(count)
        )


def work(url: str, ready: Any, done: Any, results: Any) -> None:
    """One worker process: once all three are connected, publish whatever comes due
    until the parent says everything went out, and report how many it claimed."""

    async def run() -> int:
        # Two publishes in flight per worker (256 by default): with six accounts, each
        # one publish at a time across the fleet, one worker alone cannot take them all.
        config = socialkit.EngineConfig(max_in_flight=2)
        async with AsyncScheduler(url, config=config) as scheduler:
            await asyncio.to_thread(ready.wait)  # start together, as a fleet would
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def stop_when_done() -> None:
                done.wait()
                loop.call_soon_threadsafe(stop.set)

            watching = asyncio.ensure_future(asyncio.to_thread(stop_when_done))
            stats = await scheduler.run(stop=stop)  # a graceful stop: in-flight work ends
            await watching
            return stats.claimed

    results.put(asyncio.run(run()))


async def published(url: str) -> int:
    async with AsyncScheduler(url) as scheduler:
        count, cursor = 0, None
        while True:
            page = await scheduler.list(state="published", limit=500, cursor=cursor)
            count += len(page.items)
            if (cursor := page.next_cursor) is None:
                return count


def main() -> int:
    base = os.environ.get("SOCIALKIT_POSTGRES_URL") or os.environ.get("SOCIALKIT_TEST_POSTGRES_URL")
    if not base:
        print(
            "skipped: set SOCIALKIT_POSTGRES_URL to a PostgreSQL database, e.g. "
            "postgresql://postgres@127.0.0.1:5432/test"
        )
        return 0
    url, count = store_url(base), 120
    shutil.rmtree(HERE, ignore_errors=True)
    drop_schema(base)
    try:
        asyncio.run(schedule(url, count))
        # "spawn": each worker starts a fresh interpreter, as on another machine.
        spawn = multiprocessing.get_context("spawn")
        ready, done, results = spawn.Barrier(3), spawn.Event(), spawn.Queue()
        workers = [spawn.Process(target=work, args=(url, ready, done, results)) for _ in range(3)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 120
        while asyncio.run(published(url)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        done.set()
        claimed = sorted((results.get(timeout=60) for _ in workers), reverse=True)
        for worker in workers:
            worker.join()
        files = sorted(HERE.glob("shop*/posts/*.json"))
        done = asyncio.run(published(url))
    finally:
        drop_schema(base)
    print(f"{count} posts scheduled; three workers claimed {claimed} (sum {sum(claimed)})")
    print(f"published in the store: {done}; files the feed platform wrote: {len(files)}")
    assert done == count == len(files) == sum(claimed), "a post was lost or sent twice"
    assert len({f.name for f in files}) == len(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
