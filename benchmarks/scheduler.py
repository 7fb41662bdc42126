"""The scheduling engine beside APScheduler 3.11, in one run, with the ratio of each figure.

(a) adding one-off publications one at a time (each committed when the call returns) and
    in batches (one post repeated, then a different post each) — socialkit on SQLite
    beside APScheduler's SQLAlchemyJobStore on SQLite and its MemoryJobStore; and, as
    the floor under a durable add, bare ``sqlite3`` inserting and committing one row per
    call (no engine), and the engine alone on the ``memory://`` store (no storage: the
    floor under the SQLite rate);
(b) dispatching publications all due at once through a no-op adapter to a worker that is
    already running, every state change committed — throughput and lateness p99, and
    the process CPU time per publication (every thread) beside APScheduler's; then a
    second, instrumented run says how long each store call's statements take per
    publication (on the worker's thread when the store's thread is idle, else on that
    thread);
(c) 1,000 publications spread over 20 s: lateness p99;
(d) RSS growth with 1,000,000 scheduled publications in the SQLite store (APScheduler's
    MemoryJobStore with 100,000 jobs as the anchor);
(e) publications due at once through a minimal adapter that POSTs JSON to an HTTP server
    on 127.0.0.1, beside the same POSTs from a bare ``httpx.AsyncClient`` at the same
    concurrency; each side's client has sent 200 POSTs (its pool is warm) before it is
    timed. The sides take turns over three rounds (bare, engine, bare, …) and the
    medians are compared: the rate of either side moves by a fifth between runs on a
    shared machine.

Publications spread over ``--accounts`` accounts (100), and socialkit runs with its
defaults (one publish in flight per account, metric tasks scheduled for every publish).

Run: ``python benchmarks/scheduler.py`` (quick sizes, about a minute) or ``--full`` (the
issue's sizes: 100,000 adds, 10,000 dispatches, 1,000,000 stored; a few minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.config import EngineConfig
from socialkit.schedule.scheduler import AsyncScheduler, ScheduleRequest
from socialkit.text.rules import FEED

UTC = dt.UTC


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<58} {value:>14}  {note}")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


# -- socialkit side ---------------------------------------------------------------------


class Calls:
    """What the benchmark adapters saw: when each publish call started."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.done = threading.Event()
        self.expected = 0

    def hit(self, publication_id: str | None) -> None:
        self.started[str(publication_id)] = time.time()
        if self.expected and len(self.started) >= self.expected:
            self.done.set()


def platforms(calls: Calls, url: str | None = None) -> Registry:
    registry = Registry(load_entry_points=False)

    class Noop(Platform):
        name = "noop"
        contract = 1
        capabilities = Capabilities(
            text=FEED, idempotency=Idempotency.KEY, requires_credentials=False, delete=False
        )

        async def publish(self, draft: Any, ctx: Any) -> Receipt:
            calls.hit(ctx.publication_id)
            return Receipt(
                platform="noop",
                account_id=ctx.account.id,
                parts=(PostRef(id=ctx.idempotency_key(0)),),
                published_at=ctx.now(),
            )

    class Http(Platform):
        name = "http"
        contract = 1
        capabilities = Capabilities(
            text=FEED, idempotency=Idempotency.KEY, requires_credentials=False, delete=False
        )

        async def publish(self, draft: Any, ctx: Any) -> Receipt:
            calls.hit(ctx.publication_id)
            response = await ctx.http.post(
                url, json={"text": draft.text, "key": ctx.idempotency_key(0)}
            )
            return Receipt(
                platform="http",
                account_id=ctx.account.id,
                parts=(PostRef(id=response.json()["id"]),),
                published_at=ctx.now(),
            )

    registry.register(Noop)
    registry.register(Http)
    return registry


def accounts(count: int, platform: str) -> list[Account]:
    return [
        Account(id=f"{platform}-{i:03d}", platform=platform, handle=f"h{i}") for i in range(count)
    ]


async def open_scheduler(path: Path, registry: Registry, **config: Any) -> AsyncScheduler:
    scheduler = AsyncScheduler(
        f"sqlite:///{path}",
        registry=registry,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="bench", **config),
    )
    await scheduler.open()
    return scheduler


async def sk_add(
    tmp: Path, n_single: int, n_batch: int, n_accounts: int
) -> tuple[float, float, float, float]:
    registry = platforms(Calls())
    scheduler = await open_scheduler(tmp / "add.db", registry)
    targets = accounts(n_accounts, "noop")
    for a in targets:
        await scheduler.add_account(a)
    post = Post(text="Benchmark post")
    base = dt.datetime.now(UTC) + dt.timedelta(days=30)
    ids = [a.id for a in targets]
    start = time.perf_counter()
    for i in range(n_single):
        await scheduler.schedule(post, ids[i % n_accounts], at=base + dt.timedelta(seconds=i))
    single = n_single / (time.perf_counter() - start)
    start = time.perf_counter()
    requests = (
        ScheduleRequest(post=post, accounts=ids[i % n_accounts], at=base + dt.timedelta(seconds=i))
        for i in range(n_batch)
    )
    await scheduler.schedule_many(requests, chunk=1000)
    batched = n_batch / (time.perf_counter() - start)
    # The same with a post of its own per request (a content calendar): each chunk's
    # posts are stored with its publications, in one transaction. The posts are made
    # before the clock starts, as the repeated one is.
    later = base + dt.timedelta(seconds=n_batch)
    posts = [Post(text=f"Benchmark post {i}") for i in range(n_batch)]
    start = time.perf_counter()
    requests = (
        ScheduleRequest(
            post=posts[i], accounts=ids[i % n_accounts], at=later + dt.timedelta(seconds=i)
        )
        for i in range(n_batch)
    )
    await scheduler.schedule_many(requests, chunk=1000)
    batched_distinct = n_batch / (time.perf_counter() - start)
    await scheduler.close()

    # the sync facade, one at a time (a second store, so sizes match)
    from socialkit.schedule.facade import Scheduler

    sync = Scheduler(
        f"sqlite:///{tmp}/add-sync.db",
        registry=registry,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="bench"),
    )
    for a in targets:
        sync.add_account(a)
    count = max(1000, n_single // 5)
    start = time.perf_counter()
    for i in range(count):
        sync.schedule(post, ids[i % n_accounts], at=base + dt.timedelta(seconds=i))
    sync_rate = count / (time.perf_counter() - start)
    sync.close()
    return single, batched, batched_distinct, sync_rate


async def sk_add_memory(n: int, n_accounts: int) -> float:
    """One at a time on the ``memory://`` store: the engine's own work per ``schedule``
    (checking the post, its revision, the due instant, approvals, the pause switches, the
    returned model), with no storage under it; the floor under the SQLite rate."""
    scheduler = AsyncScheduler(
        "memory://",
        registry=platforms(Calls()),
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="bench"),
    )
    await scheduler.open()
    targets = accounts(n_accounts, "noop")
    for a in targets:
        await scheduler.add_account(a)
    ids = [a.id for a in targets]
    post = Post(text="Benchmark post")
    base = dt.datetime.now(UTC) + dt.timedelta(days=30)
    start = time.perf_counter()
    for i in range(n):
        await scheduler.schedule(post, ids[i % n_accounts], at=base + dt.timedelta(seconds=i))
    rate = n / (time.perf_counter() - start)
    await scheduler.close()
    return rate


async def sk_dispatch_breakdown(tmp: Path, n: int, n_accounts: int) -> dict[str, float]:
    """A second dispatch of ``n``, timing each store call's statements (commits not
    included): microseconds per publication, by store method. One call runs at a time
    on the store's connection (on the worker's thread while the store's thread is idle,
    else on that thread), so their sum bounds the rate from above."""
    from socialkit.schedule.stores import _sqlite_thread

    spent: dict[str, float] = {}
    cls = _sqlite_thread.SqliteThread
    write, run = cls.write, cls.run

    def timed(fn: Any) -> Any:
        name = getattr(fn, "__qualname__", "?").split(".<locals>")[0].rsplit(".", 1)[-1]

        def call(conn: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(conn)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

        return call

    async def timed_write(self: Any, fn: Any, **kw: Any) -> Any:
        return await write(self, timed(fn), **kw)

    async def timed_run(self: Any, fn: Any, **kw: Any) -> Any:
        return await run(self, timed(fn), **kw)

    cls.write, cls.run = timed_write, timed_run  # type: ignore[method-assign]
    try:
        # only what happens once they are due: the adds and the final listing are not
        spent.clear()
        calls = Calls()
        registry = platforms(calls)
        scheduler = await open_scheduler(tmp / "breakdown.db", registry)
        ids = [a.id for a in accounts(n_accounts, "noop")]
        for a in accounts(n_accounts, "noop"):
            await scheduler.add_account(a)
        due = dt.datetime.now(UTC) + dt.timedelta(seconds=1)
        await scheduler.schedule_many(
            ScheduleRequest(post=Post(text="Due now"), accounts=ids[i % n_accounts], at=due)
            for i in range(n)
        )
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
        spent.clear()
        calls.expected = n
        stop = asyncio.Event()
        worker = asyncio.create_task(scheduler.run(stop=stop))
        await asyncio.to_thread(calls.done.wait, 600)
        stop.set()
        await worker
        found = dict(spent)
        await scheduler.close()
    finally:
        cls.write, cls.run = write, run  # type: ignore[method-assign]
    return {name: seconds * 1e6 / n for name, seconds in found.items()}


async def sk_dispatch(tmp: Path, n: int, n_accounts: int, name: str) -> tuple[float, float, float]:
    calls = Calls()
    registry = platforms(calls)
    scheduler = await open_scheduler(tmp / f"{name}.db", registry)
    ids = [a.id for a in accounts(n_accounts, "noop")]
    for a in accounts(n_accounts, "noop"):
        await scheduler.add_account(a)
    post = Post(text="Due now")
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=2)
    await scheduler.schedule_many(
        ScheduleRequest(post=post, accounts=ids[i % n_accounts], at=due) for i in range(n)
    )
    # The worker is running when they fall due (as APScheduler's scheduler is); once
    # every publish has started it is stopped, and a graceful stop returns only when
    # every outcome is committed.
    calls.expected = n
    stop = asyncio.Event()
    cpu = time.process_time()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    await asyncio.to_thread(calls.done.wait, 600)
    stop.set()
    await worker
    finished = time.time()
    cpu = time.process_time() - cpu
    published = 0
    cursor = None
    while True:
        page = await scheduler.list(state="published", limit=1000, cursor=cursor)
        published += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    await scheduler.close()
    assert published == n, f"only {published} of {n} published"
    due_s = due.timestamp()
    lateness = [t - due_s for t in calls.started.values()]
    return n / (finished - due_s), p99(lateness), cpu / n


async def sk_spread(tmp: Path, n: int, seconds: float, n_accounts: int) -> float:
    calls = Calls()
    registry = platforms(calls)
    scheduler = await open_scheduler(tmp / "spread.db", registry)
    targets = accounts(n_accounts, "noop")
    for a in targets:
        await scheduler.add_account(a)
    post = Post(text="Spread out")
    # Starts 2 s out: lateness is measured in steady state, not over the worker's start.
    first = dt.datetime.now(UTC) + dt.timedelta(seconds=2)
    step = seconds / n
    dues = {}
    ids = await scheduler.schedule_many(
        ScheduleRequest(
            post=post,
            accounts=targets[i % n_accounts].id,
            at=first + dt.timedelta(seconds=i * step),
        )
        for i in range(n)
    )
    for i, pub_id in enumerate(ids):
        dues[pub_id] = (first + dt.timedelta(seconds=i * step)).timestamp()
    calls.expected = n
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stop=stop))
    await asyncio.to_thread(calls.done.wait, seconds + 60)
    stop.set()
    await worker
    await scheduler.close()
    return p99([calls.started[pub_id] - dues[pub_id] for pub_id in ids if pub_id in calls.started])


async def sk_rss(tmp: Path, n: int, n_accounts: int) -> tuple[float, float]:
    registry = platforms(Calls())
    scheduler = await open_scheduler(tmp / "rss.db", registry)
    targets = accounts(n_accounts, "noop")
    for a in targets:
        await scheduler.add_account(a)
    post = Post(text="Stored")
    base = dt.datetime.now(UTC) + dt.timedelta(days=30)
    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    step = 10_000  # the ids of each slice are dropped: only what the engine keeps counts
    for first in range(0, n, step):
        await scheduler.schedule_many(
            (
                ScheduleRequest(
                    post=post,
                    accounts=targets[i % n_accounts].id,
                    at=base + dt.timedelta(seconds=i),
                )
                for i in range(first, min(n, first + step))
            ),
            chunk=5000,
        )
    # a worker pass over a million future publications: nothing due, nothing loaded
    await scheduler.run(until_idle=True)
    await scheduler.store.next_due(now=dt.datetime.now(UTC))
    elapsed = time.perf_counter() - start
    gc.collect()
    growth = rss_mib() - before
    await scheduler.close()
    return growth, n / elapsed


_SERVER = r"""
import asyncio, itertools, json, sys
counter = itertools.count(1)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            body = json.dumps({"id": f"srv-{next(counter)}"}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def http_server() -> tuple[subprocess.Popen[str], str]:
    """A minimal keep-alive HTTP/1.1 JSON server on 127.0.0.1, in its own process."""
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    return server, f"http://127.0.0.1:{port}/posts"


_HTTP_LIMITS = {"max_connections": 200, "max_keepalive_connections": 50}


async def _post_many(client: Any, url: str, count: int, prefix: str, concurrency: int) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            response = await client.post(url, json={"text": "Due now", "key": f"{prefix}{i}"})
            response.json()

    await asyncio.gather(*(one(i) for i in range(count)))


async def http_bare(n: int, n_accounts: int, url: str) -> float:
    """The same POSTs from a bare ``httpx.AsyncClient``, ``n_accounts`` at a time."""
    import httpx

    # Each side's client is warmed the same way (its pool filled) before it is timed.
    async with httpx.AsyncClient(limits=httpx.Limits(**_HTTP_LIMITS), timeout=30) as client:
        await _post_many(client, url, 200, "warm", n_accounts)
        start = time.perf_counter()
        await _post_many(client, url, n, "k", n_accounts)
        return n / (time.perf_counter() - start)


async def http_engine(tmp: Path, n: int, n_accounts: int, url: str) -> float:
    """``n`` publications due at once through the HTTP adapter, on a fresh store."""
    import httpx

    calls = Calls()
    registry = platforms(calls, url)
    http = httpx.AsyncClient(limits=httpx.Limits(**_HTTP_LIMITS), timeout=30)
    await _post_many(http, url, 200, "warm", n_accounts)
    scheduler = AsyncScheduler(
        f"sqlite:///{tmp}/http-{time.time_ns()}.db",
        registry=registry,
        credentials=MemoryCredentialProvider({}),
        config=EngineConfig(worker_id="bench"),
        http=http,
    )
    await scheduler.open()
    targets = accounts(n_accounts, "http")
    for a in targets:
        await scheduler.add_account(a)
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=1)
    await scheduler.schedule_many(
        ScheduleRequest(post=Post(text="Due now"), accounts=targets[i % n_accounts].id, at=due)
        for i in range(n)
    )
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
    await scheduler.run(until_idle=True)
    finished = time.time()
    await scheduler.close()
    await http.aclose()
    first_call = min(calls.started.values())
    return n / (finished - max(due.timestamp(), first_call))


def http_compare(
    tmp: Path, n: int, n_accounts: int, url: str, rounds: int
) -> tuple[list[float], list[float]]:
    """Rates of each side over ``rounds`` rounds, the sides taking turns (bare, engine,
    bare, …), so a drift of the shared machine or of the server falls on both."""
    engine: list[float] = []
    bare: list[float] = []
    for _ in range(rounds):
        bare.append(asyncio.run(http_bare(n, n_accounts, url)))
        engine.append(asyncio.run(http_engine(tmp, n, n_accounts, url)))
    return engine, bare


def bare_sqlite_add(tmp: Path, n: int) -> float:
    """The floor under a durable add: one row inserted and committed per call by bare
    ``sqlite3`` on the same disk, with the store's pragmas (WAL, ``synchronous=NORMAL``),
    into a table with no index — no engine, no thread, no validation."""
    import sqlite3

    conn = sqlite3.connect(tmp / f"bare-{time.time_ns()}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id TEXT, at INTEGER, post TEXT)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?, ?)", (f"p{i}", i, "Benchmark post"))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


# -- APScheduler side -------------------------------------------------------------------


def aps_scheduler(store: str, tmp: Path) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    jobstore = (
        MemoryJobStore()
        if store == "memory"
        else SQLAlchemyJobStore(url=f"sqlite:///{tmp}/aps-{time.time_ns()}.db")
    )
    return BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone="UTC",
    )


_APS_CALLS: list[float] = []
_APS_DONE = threading.Event()
_APS_EXPECTED = [0]


def aps_job(due: float) -> None:
    _APS_CALLS.append(time.time() - due)
    if len(_APS_CALLS) >= _APS_EXPECTED[0]:
        _APS_DONE.set()


def aps_add(store: str, tmp: Path, n: int) -> float:
    scheduler = aps_scheduler(store, tmp)
    scheduler.start(paused=True)
    base = dt.datetime.now(UTC) + dt.timedelta(days=30)
    start = time.perf_counter()
    for i in range(n):
        scheduler.add_job(aps_job, "date", run_date=base + dt.timedelta(seconds=i), args=(0.0,))
    rate = n / (time.perf_counter() - start)
    scheduler.shutdown(wait=False)
    return rate


def aps_dispatch(store: str, tmp: Path, n: int, spread: float = 0.0) -> tuple[float, float, float]:
    scheduler = aps_scheduler(store, tmp)
    scheduler.start(paused=True)
    _APS_CALLS.clear()
    _APS_DONE.clear()
    _APS_EXPECTED[0] = n
    first = time.time() + 2 + (n / 2000 if store == "sqlite" else n / 20000)
    for i in range(n):
        when = first + (i * spread / n if spread else 0)
        scheduler.add_job(
            aps_job, "date", run_date=dt.datetime.fromtimestamp(when, UTC), args=(when,)
        )
    cpu = time.process_time()
    scheduler.resume()
    _APS_DONE.wait(600)
    finished = time.time()
    scheduler.shutdown(wait=True)
    cpu = time.process_time() - cpu
    return n / (finished - first), p99(_APS_CALLS), cpu / n


def aps_rss(tmp: Path, n: int) -> float:
    scheduler = aps_scheduler("memory", tmp)
    scheduler.start(paused=True)
    gc.collect()
    before = rss_mib()
    base = dt.datetime.now(UTC) + dt.timedelta(days=30)
    for i in range(n):
        scheduler.add_job(aps_job, "date", run_date=base + dt.timedelta(seconds=i), args=(0.0,))
    gc.collect()
    growth = rss_mib() - before
    scheduler.shutdown(wait=False)
    return growth


# -- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (a few minutes)")
    parser.add_argument("--accounts", type=int, default=100)
    args = parser.parse_args()
    full = args.full
    n_acc = args.accounts
    sizes = {
        "single": 100_000 if full else 10_000,
        "batch": 100_000 if full else 50_000,
        "aps_sqlite_add": 5_000 if full else 1_000,
        "aps_memory_add": 100_000 if full else 20_000,
        "dispatch": 10_000,
        "aps_sqlite_dispatch": 10_000 if full else 2_000,
        "spread": 1_000,
        "spread_s": 20.0,
        "rss": 1_000_000 if full else 200_000,
        "aps_rss": 100_000,
        "http": 5_000,
        "http_rounds": 3,
    }
    print(
        f"scheduler benchmark ({'full' if full else 'quick: --full for the issue sizes'}), "
        f"publications spread over {n_acc} accounts; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs (shared)"
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)

        print(
            f"(a) adding one-off publications ({sizes['single']:,} one at a time, "
            f"{sizes['batch']:,} in batches of 1,000)"
        )
        single, batched, batched_distinct, sync_rate = asyncio.run(
            sk_add(tmp, sizes["single"], sizes["batch"], n_acc)
        )
        engine_only = asyncio.run(sk_add_memory(sizes["single"], n_acc))
        aps_mem = aps_add("memory", tmp, sizes["aps_memory_add"])
        aps_sql = aps_add("sqlite", tmp, sizes["aps_sqlite_add"])
        bare_commit = bare_sqlite_add(tmp, sizes["single"])
        row("socialkit SQLite, one at a time (await schedule)", f"{single:,.0f}/s")
        row("socialkit SQLite, one at a time (sync Scheduler.schedule)", f"{sync_rate:,.0f}/s")
        row(
            "socialkit SQLite, batches (schedule_many), one post",
            f"{batched:,.0f}/s",
            "goal >= 50,000/s",
        )
        row(
            "socialkit SQLite, batches (schedule_many), posts differ",
            f"{batched_distinct:,.0f}/s",
        )
        row(
            f"APScheduler MemoryJobStore add_job ({sizes['aps_memory_add']:,})", f"{aps_mem:,.0f}/s"
        )
        row(
            f"APScheduler SQLAlchemyJobStore/SQLite add_job ({sizes['aps_sqlite_add']:,})",
            f"{aps_sql:,.0f}/s",
        )
        row("bare sqlite3, one INSERT + COMMIT per call (no engine)", f"{bare_commit:,.0f}/s")
        row("ratio one at a time / APScheduler memory", ratio(single, aps_mem), "goal >= 0.5x")
        row(
            "socialkit memory://, one at a time (the engine alone, no storage)",
            f"{engine_only:,.0f}/s",
            f"{ratio(engine_only, aps_mem)} APScheduler memory",
        )
        row("ratio APScheduler memory / bare sqlite3 commit", ratio(aps_mem, bare_commit))
        row("ratio one at a time / bare sqlite3 commit", ratio(single, bare_commit))
        row("ratio one at a time / APScheduler SQLite", ratio(single, aps_sql), "goal >= 15x")
        row("ratio batches / APScheduler SQLite", ratio(batched, aps_sql))

        print(f"(b) dispatching {sizes['dispatch']:,} publications due at once (no-op adapter)")
        sk_rate, sk_late, sk_cpu = asyncio.run(
            sk_dispatch(tmp, sizes["dispatch"], n_acc, "dispatch")
        )
        mem_rate, mem_late, mem_cpu = aps_dispatch("memory", tmp, sizes["dispatch"])
        sql_rate, sql_late, _ = aps_dispatch("sqlite", tmp, sizes["aps_sqlite_dispatch"])
        row(
            "socialkit SQLite (every state change committed)",
            f"{sk_rate:,.0f}/s",
            f"lateness p99 {sk_late:.3f} s",
        )
        row("APScheduler MemoryJobStore", f"{mem_rate:,.0f}/s", f"lateness p99 {mem_late:.3f} s")
        row(
            f"APScheduler SQLAlchemyJobStore/SQLite ({sizes['aps_sqlite_dispatch']:,})",
            f"{sql_rate:,.0f}/s",
            f"lateness p99 {sql_late:.3f} s",
        )
        row("ratio socialkit / APScheduler memory", ratio(sk_rate, mem_rate), "goal >= 1x")
        # Process CPU time (every thread) per publication, from the worker's start to its
        # last committed outcome: the event loop and the SQLite thread share one GIL, so
        # this, not the number of cores, is what bounds socialkit's rate.
        row(
            "CPU per publication, socialkit / APScheduler memory",
            f"{sk_cpu * 1e6:,.0f} / {mem_cpu * 1e6:,.0f} us",
            ratio(sk_cpu, mem_cpu),
        )
        row("ratio socialkit / APScheduler SQLite", ratio(sk_rate, sql_rate), "goal >= 20x")
        # Where a publication's time goes in store statements (a second run, timed
        # per store call; the figures above are from the untimed run).
        breakdown = asyncio.run(sk_dispatch_breakdown(tmp, sizes["dispatch"], n_acc))
        total = sum(breakdown.values())
        row(
            "store statements per publication, without commits",
            f"{total:,.0f} us",
            f"bounds the rate at {1e6 / total:,.0f}/s" if total else "",
        )
        for name, micros in sorted(breakdown.items(), key=lambda item: -item[1])[:4]:
            row(f"  of which {name}", f"{micros:,.1f} us")

        print(f"(c) {sizes['spread']:,} publications spread over {sizes['spread_s']:.0f} s")
        sk_spread_p99 = asyncio.run(sk_spread(tmp, sizes["spread"], sizes["spread_s"], n_acc))
        _, aps_spread_p99, _ = aps_dispatch(
            "memory", tmp, sizes["spread"], spread=sizes["spread_s"]
        )
        row("socialkit SQLite lateness p99", f"{sk_spread_p99 * 1000:.2f} ms", "goal <= 5 ms")
        row("APScheduler MemoryJobStore lateness p99", f"{aps_spread_p99 * 1000:.2f} ms")
        row("ratio socialkit / APScheduler", ratio(sk_spread_p99, aps_spread_p99))

        print(f"(d) RSS growth with {sizes['rss']:,} scheduled publications in the SQLite store")
        growth, rate = asyncio.run(sk_rss(tmp, sizes["rss"], n_acc))
        aps_growth = aps_rss(tmp, sizes["aps_rss"])
        row(
            f"socialkit SQLite, {sizes['rss']:,} stored",
            f"{growth:.1f} MiB",
            f"goal <= 50 MiB (stored at {rate:,.0f}/s)",
        )
        row(f"APScheduler MemoryJobStore, {sizes['aps_rss']:,} jobs", f"{aps_growth:.1f} MiB")
        per = aps_growth / sizes["aps_rss"] * sizes["rss"]
        row(f"ratio socialkit / APScheduler scaled to {sizes['rss']:,}", ratio(growth, per))

        print(
            f"(e) {sizes['http']:,} publications due at once, POSTing JSON to 127.0.0.1 "
            f"(concurrency {n_acc}; {sizes['http_rounds']} rounds, the sides taking turns)"
        )
        server, url = http_server()
        try:
            engines, bares = http_compare(tmp, sizes["http"], n_acc, url, sizes["http_rounds"])
        finally:
            server.kill()
            server.wait()
            if server.stdout is not None:
                server.stdout.close()
        engine, bare = statistics.median(engines), statistics.median(bares)
        each = ", ".join(f"{e:,.0f}/{b:,.0f}" for e, b in zip(engines, bares, strict=True))
        row(f"socialkit engine through an adapter (median of {len(engines)})", f"{engine:,.0f}/s")
        row(f"bare httpx.AsyncClient (median of {len(bares)})", f"{bare:,.0f}/s")
        row("each round, socialkit/bare", each)
        row("ratio socialkit / bare client (medians)", ratio(engine, bare), "goal >= 0.8x")


if __name__ == "__main__":
    main()
