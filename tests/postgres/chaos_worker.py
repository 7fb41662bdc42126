"""One worker process of the chaos tests: the engine on the store ``STORE_URL`` names
(PostgreSQL on the database clock, or a SQLite file several workers share), publishing
to the fake platforms of :mod:`tests.postgres.chaos_platform`.

Run as ``python -m tests.postgres.chaos_worker STORE_URL PLATFORM_URL``; it runs until
SIGTERM (a graceful stop) or SIGKILL (the test's point).

The adapters map the platform's answers the way real ones must: a 429 is
``RateLimited`` and a 503 (which this platform documents as refused before anything
happened) or a connection refused is ``Transient``; any other 5xx, or a read timeout on
a write, is ``UnknownOutcome`` — the post may exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from typing import Any

import httpx

from socialkit.errors import RateLimited, Transient, UnknownOutcome
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency
from socialkit.platforms.context import Context
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.engine.retry import RetryPolicy
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.text.rules import FEED

KINDS = {"keyed": Idempotency.KEY, "lookup": Idempotency.LOOKUP, "blind": Idempotency.NONE}
TIMEOUT = httpx.Timeout(connect=2.0, read=0.5, write=2.0, pool=2.0)
LEASE = dt.timedelta(seconds=4)


def platform_class(name: str, base_url: str) -> type[Platform]:
    idempotency = KINDS[name]

    class HttpPlatform(Platform):
        capabilities = Capabilities(text=FEED, idempotency=idempotency, requires_credentials=False)
        contract = 1

        def _receipt(self, ctx: Context, post_id: str) -> Receipt:
            return Receipt(
                platform=name,
                account_id=ctx.account.id,
                parts=(PostRef(id=post_id),),
                published_at=ctx.now(),
            )

        async def publish(self, draft: Any, ctx: Context) -> Receipt:
            key = ctx.idempotency_key(0)
            headers = {"Idempotency-Key": key} if idempotency is Idempotency.KEY else {}
            body = {
                "text": draft.text,
                "key": key,
                "publication": ctx.publication_id,
                "account": ctx.account.id,
            }
            try:
                response = await ctx.http.post(
                    f"{base_url}/{name}/posts", json=body, headers=headers, timeout=TIMEOUT
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise Transient(f"{name}: {exc}") from exc
            except httpx.TimeoutException as exc:
                raise UnknownOutcome(f"{name}: no answer after sending ({exc})") from exc
            if response.status_code == 429:
                retry = float(response.headers.get("Retry-After", "1"))
                raise RateLimited(f"{name}: 429", retry_after=retry, status_code=429)
            if response.status_code == 503:
                # This platform documents 503 as refused before anything happened.
                raise Transient(f"{name}: 503, not processed", status_code=503)
            if response.status_code >= 500:
                raise UnknownOutcome(
                    f"{name}: {response.status_code} after sending",
                    status_code=response.status_code,
                )
            response.raise_for_status()
            return self._receipt(ctx, response.json()["id"])

        async def find_published(self, draft: Any, ctx: Context) -> Receipt | None:
            if idempotency is Idempotency.NONE:
                raise UnknownOutcome(f"{name} cannot be searched; a person must look")
            try:
                response = await ctx.http.get(
                    f"{base_url}/{name}/posts",
                    params={"key": ctx.idempotency_key(0)},
                    timeout=TIMEOUT,
                )
            except httpx.HTTPError as exc:
                raise Transient(f"{name}: lookup failed ({exc})") from exc
            if response.status_code >= 500:
                raise Transient(f"{name}: lookup answered {response.status_code}")
            found = response.json()
            return self._receipt(ctx, found[0]["id"]) if found else None

    HttpPlatform.name = name  # type: ignore[misc]
    return HttpPlatform


def registry_for(base_url: str) -> Registry:
    registry = Registry(load_entry_points=False)
    for name in KINDS:
        registry.register(platform_class(name, base_url))
    return registry


def engine_config() -> EngineConfig:
    return EngineConfig(
        worker_id=f"chaos-{os.environ.get('SOCIALKIT_WORKER_INDEX', '?')}-{os.getpid()}",
        lease=LEASE,
        reconcile_delay=dt.timedelta(seconds=1),
        retry=RetryPolicy(max_attempts=12, multiplier=0.2, exp_base=2, max_delay=2, jitter=0.2),
        idle_poll=dt.timedelta(milliseconds=250),
        metric_schedule=(),
        shutdown_timeout=dt.timedelta(seconds=5),
    )


async def main(store_url: str, base_url: str) -> None:
    scheduler = AsyncScheduler(
        store_url,
        registry=registry_for(base_url),
        config=engine_config(),
        credentials=MemoryCredentialProvider({}),
    )
    async with scheduler:
        print("READY", flush=True)
        await scheduler.serve()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
