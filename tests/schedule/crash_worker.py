"""A worker process for the crash test, publishing to file-backed fake platforms.

Run as ``python -m tests.schedule.crash_worker STORE_URL SERVER_DIR MODE``:

* ``first``: a real worker on the system clock. A post whose text contains ``crash``
  makes the adapter stop for good in the middle of its publish call — after the platform
  has stored the post (``crash-after``) or before (``crash-before``) — and print
  ``HANG <account>`` so the test knows when to SIGKILL the process.
* ``restart``: a fresh worker on a clock ten minutes later (so the dead worker's leases
  have expired), run until idle a few times while the clock moves on.

The platforms keep their posts in ``SERVER_DIR/<platform>.jsonl`` (one line per post,
under an ``flock``), so the test reads what "the platform" holds after both processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import json
import sys
from pathlib import Path
from typing import Any

from socialkit.errors import UnknownOutcome
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency
from socialkit.platforms.context import Context
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.clock import ManualClock, SystemClock
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.text.rules import FEED

PLATFORMS = {"keyed": Idempotency.KEY, "lookup": Idempotency.LOOKUP, "blind": Idempotency.NONE}


class FileServer:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _locked(self, fn: Any) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return fn()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def posts(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def create(self, key: str, text: str, dedupe: bool) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            existing = [p for p in self.posts() if p["key"] == key]
            if dedupe and existing:
                return existing[0]
            post = {"id": f"{self.path.stem}-{len(self.posts()) + 1}", "key": key, "text": text}
            with self.path.open("a") as out:
                out.write(json.dumps(post) + "\n")
                out.flush()
            return post

        result: dict[str, Any] = self._locked(write)
        return result


def platform_class(
    name: str, idempotency: Idempotency, server_dir: Path, *, crash: bool = False
) -> type[Platform]:
    server = FileServer(server_dir / f"{name}.jsonl")

    class FilePlatform(Platform):
        capabilities = Capabilities(text=FEED, idempotency=idempotency, requires_credentials=False)
        contract = 1

        async def publish(self, draft: Any, ctx: Context) -> Receipt:
            key = ctx.idempotency_key(0)
            if crash and "crash-before" in draft.text:
                print(f"HANG {ctx.account.id}", flush=True)
                await asyncio.Event().wait()
            post = server.create(key, draft.text, dedupe=idempotency is Idempotency.KEY)
            if crash and "crash-after" in draft.text:
                print(f"HANG {ctx.account.id}", flush=True)
                await asyncio.Event().wait()
            return Receipt(
                platform=name,
                account_id=ctx.account.id,
                parts=(PostRef(id=post["id"]),),
                published_at=ctx.now(),
            )

        async def find_published(self, draft: Any, ctx: Context) -> Receipt | None:
            if idempotency is Idempotency.NONE:
                raise UnknownOutcome(f"{name} cannot look for posts")
            found = [p for p in server.posts() if p["key"] == ctx.idempotency_key(0)]
            if not found:
                return None
            return Receipt(
                platform=name,
                account_id=ctx.account.id,
                parts=(PostRef(id=found[0]["id"]),),
                published_at=ctx.now(),
            )

    FilePlatform.name = name  # type: ignore[misc]
    return FilePlatform


def registry_for(server_dir: Path, *, crash: bool = False) -> Registry:
    registry = Registry(load_entry_points=False)
    for name, idempotency in PLATFORMS.items():
        registry.register(platform_class(name, idempotency, server_dir, crash=crash))
    return registry


async def main(store_url: str, server_dir: Path, mode: str) -> None:
    registry = registry_for(server_dir, crash=mode == "first")
    config = EngineConfig(worker_id=f"crash-{mode}", lease=dt.timedelta(seconds=60))
    if mode == "first":
        scheduler = AsyncScheduler(
            store_url,
            registry=registry,
            clock=SystemClock(),
            config=config,
            credentials=MemoryCredentialProvider({}),
        )
        async with scheduler:
            print("READY", flush=True)
            await scheduler.run()
        return
    clock = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    scheduler = AsyncScheduler(
        store_url,
        registry=registry,
        clock=clock,
        config=config,
        credentials=MemoryCredentialProvider({}),
    )
    async with scheduler:
        for _ in range(4):
            await scheduler.run(until_idle=True)
            clock.advance(dt.timedelta(minutes=10))
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
