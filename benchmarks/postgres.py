"""The PostgreSQL store with several worker processes, beside procrastinate, in one run.

(a) Throughput: 20,000 no-op publications, all due, over 100 accounts, processed by 4
    socialkit worker processes — beside 20,000 no-op procrastinate jobs processed by 4
    procrastinate worker processes (its defaults: concurrency 1, LISTEN/NOTIFY), against
    the same server. socialkit runs the engine with its defaults (metric collections
    scheduled for every publish, leases on the database clock) twice:

    - ``per_account=None``: publications of one account may go out together, as
      procrastinate's jobs do (no ordering between jobs): the like-for-like figure;
    - ``per_account=1`` (the engine's default): one publish in flight per account, so
      each account's posts go out in order — 100 accounts allow 100 in flight in all.

    Each side's workers are set up (socialkit's scheduler open with its HTTP client
    built; procrastinate's app open) before a go signal starts the clock. Processed
    per second (from the go signal until the database shows nothing left),
    the ratio, and duplicates for both: calls the no-op function saw more than once per
    publication/job (counted in the workers) and rows sent/run more than once.
(b) Claim latency with 1,000,000 future publications in the table (the partial index on
    due time at work): a claim of 10 of 100 due publications among them, beside the same
    claim on a table holding only the due ones; and, for scale, with the partial due
    indexes dropped.

Each part uses schemas of its own (dropped afterwards). The server is
``$SOCIALKIT_TEST_POSTGRES_URL`` or ``--url``.

Run: ``python benchmarks/postgres.py`` (the issue's sizes, a few minutes) or ``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<60} {value:>14}  {note}", flush=True)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def count(url: str, schema: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
        found = conn.execute(sql).fetchone()
    return int(found[0]) if found else 0


# -- worker processes ---------------------------------------------------------------------


def spawn(role: str, url: str, schema: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--role", role, "--url", url, "--schema", schema, *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def ready(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"a worker did not start: {line!r}")


def go(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("GO\n")
        worker.stdin.flush()


def finish(workers: list[subprocess.Popen[str]]) -> Counter[str]:
    """Stop the workers gracefully and add up the calls each saw."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    calls: Counter[str] = Counter()
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        for line in out.splitlines():
            if line.startswith("CALLS "):
                calls.update(json.loads(line[6:]))
    return calls


def wait_until_done(url: str, schema: str, pending_sql: str, limit: float = 900) -> float:
    """Seconds until ``pending_sql`` (``SELECT EXISTS (…)``, cheap) says nothing is left;
    polled every 20 ms on one connection, so the poll itself costs the server little."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
        while True:
            found = conn.execute(pending_sql).fetchone()
            if found is not None and not found[0]:
                return time.perf_counter() - start
            if time.perf_counter() - start > limit:
                raise RuntimeError(f"gave up after {limit:.0f} s: {pending_sql}")
            time.sleep(0.02)


def duplicates(calls: Counter[str]) -> int:
    return sum(n - 1 for n in calls.values() if n > 1)


async def _wait_for_go() -> None:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        raise SystemExit(0)


# socialkit


def noop_registry(calls: Counter[str]) -> Any:
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.platforms.base import Platform
    from socialkit.platforms.capabilities import Capabilities, Idempotency
    from socialkit.platforms.registry import Registry
    from socialkit.text.rules import FEED

    class Noop(Platform):
        name = "noop"
        contract = 1
        capabilities = Capabilities(
            text=FEED, idempotency=Idempotency.KEY, requires_credentials=False
        )

        async def publish(self, draft: Any, ctx: Any) -> Receipt:
            calls[ctx.publication_id] += 1
            return Receipt(
                platform="noop",
                account_id=ctx.account.id,
                parts=(PostRef(id=ctx.idempotency_key(0)),),
                published_at=ctx.now(),
            )

    registry = Registry(load_entry_points=False)
    registry.register(Noop)
    return registry


async def socialkit_worker(url: str, per_account: int | None) -> None:
    import httpx

    from socialkit.platforms.credentials import MemoryCredentialProvider
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.scheduler import AsyncScheduler

    calls: Counter[str] = Counter()
    # The worker's HTTP client is built before READY, as an application that passes its
    # own does: it loads CA certificates (a noticeable fraction of a second of CPU in
    # each process), which is setting up, like procrastinate's app being opened.
    async with httpx.AsyncClient() as http:
        scheduler = AsyncScheduler(
            url,
            registry=noop_registry(calls),
            credentials=MemoryCredentialProvider({}),
            config=EngineConfig(worker_id=f"bench-{os.getpid()}", per_account=per_account),
            http=http,
        )
        async with scheduler:
            print("READY", flush=True)
            await _wait_for_go()
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await scheduler.run(stop=stop)
    print("CALLS " + json.dumps(calls), flush=True)


async def seed_socialkit(url: str, n: int, n_accounts: int) -> None:
    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.platforms.credentials import MemoryCredentialProvider
    from socialkit.schedule.scheduler import AsyncScheduler, ScheduleRequest

    accounts = [Account(id=f"a{i:03d}", platform="noop", handle=f"a{i}") for i in range(n_accounts)]
    scheduler = AsyncScheduler(
        url,
        registry=noop_registry(Counter()),
        credentials=MemoryCredentialProvider({}),
        accounts=accounts,
    )
    async with scheduler:
        due = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
        post = Post(text="no-op")
        await scheduler.schedule_many(
            ScheduleRequest(post=post, accounts=accounts[i % n_accounts], at=due) for i in range(n)
        )


def bench_socialkit(
    url: str, n: int, n_accounts: int, n_workers: int, per_account: int | None
) -> tuple[float, int, int]:
    schema = f"bench_sk_{uuid.uuid4().hex[:8]}"
    store = with_schema(url, schema)
    limit = "none" if per_account is None else str(per_account)
    try:
        asyncio.run(seed_socialkit(store, n, n_accounts))
        workers = [
            spawn("socialkit", store, schema, "--per-account", limit) for _ in range(n_workers)
        ]
        ready(workers)
        go(workers)
        elapsed = wait_until_done(
            url,
            schema,
            "SELECT EXISTS (SELECT 1 FROM publications WHERE state IN "
            "('scheduled', 'retry_wait', 'claimed', 'publishing', 'unknown'))",
        )
        published = count(
            url, schema, "SELECT count(*) FROM publications WHERE state = 'published'"
        )
        if published != n:
            raise RuntimeError(f"only {published} of {n} publications were published")
        calls = finish(workers)
        resent = count(url, schema, "SELECT count(*) FROM publications WHERE sends > 1")
        return n / elapsed, duplicates(calls), resent
    finally:
        drop_schema(url, schema)


# procrastinate


def procrastinate_app(url: str, schema: str, calls: Counter[str]) -> Any:
    from procrastinate import App, PsycopgConnector

    connector = PsycopgConnector(
        conninfo=url, kwargs={"options": f"-c search_path={schema}"}, min_size=1, max_size=4
    )
    app = App(connector=connector)

    @app.task(name="noop")
    async def noop(i: int) -> None:
        calls[str(i)] += 1

    return app


async def procrastinate_worker(url: str, schema: str) -> None:
    calls: Counter[str] = Counter()
    app = procrastinate_app(url, schema, calls)
    async with app.open_async():
        print("READY", flush=True)
        await _wait_for_go()
        worker = asyncio.ensure_future(
            app.run_worker_async(install_signal_handlers=False, delete_jobs="never")
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    print("CALLS " + json.dumps(calls), flush=True)


async def seed_procrastinate(url: str, schema: str, n: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    app = procrastinate_app(url, schema, Counter())
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        task = app.tasks["noop"]
        for start in range(0, n, 1000):
            await task.batch_defer_async(*({"i": i} for i in range(start, min(start + 1000, n))))


def bench_procrastinate(url: str, n: int, n_workers: int) -> tuple[float, int, int]:
    schema = f"bench_pq_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(seed_procrastinate(url, schema, n))
        workers = [spawn("procrastinate", url, schema) for _ in range(n_workers)]
        ready(workers)
        go(workers)
        elapsed = wait_until_done(
            url,
            schema,
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))",
        )
        succeeded = count(
            url, schema, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        )
        if succeeded != n:
            raise RuntimeError(f"only {succeeded} of {n} procrastinate jobs succeeded")
        calls = finish(workers)
        retried = count(url, schema, "SELECT count(*) FROM procrastinate_jobs WHERE attempts > 1")
        return n / elapsed, duplicates(calls), retried
    finally:
        drop_schema(url, schema)


# -- claim latency ------------------------------------------------------------------------

_FUTURE_SQL = """
INSERT INTO publications (id, workspace, account_id, platform, revision, due_at, local_time,
    zone, state, run_at, idempotency_key, created_at, updated_at)
SELECT 'f' || lpad(i::text, 8, '0'), 'default', 'a' || lpad((i %% 100)::text, 3, '0'), 'noop',
    %(revision)s, t, to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS'), 'UTC', 'scheduled', t,
    'future-' || i, now(), now()
FROM generate_series(1, %(n)s) AS i,
    LATERAL (SELECT now() + interval '1 day' + i * interval '1 second' AS t) AS times
"""


async def _claims(store: Any, rounds: int = 220) -> tuple[float, float]:
    """p50 and p99 seconds of claiming 10 due publications (released again each time)."""
    lease = dt.timedelta(seconds=60)
    times = []
    for round_ in range(rounds):
        start = time.perf_counter()
        claims = await store.claim("bench", limit=10, lease=lease)
        elapsed = time.perf_counter() - start
        assert len(claims) == 10, len(claims)
        if round_ >= 20:  # warm-up: prepared statements, caches
            times.append(elapsed)
        await store.release([(c.id, c.attempt) for c in claims])
    return statistics.median(times), quantile(times, 0.99)


async def claim_latency(url: str, future: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Claim latency among ``future`` not-yet-due rows: with the partial due indexes, and
    after dropping them (the same table)."""
    import psycopg

    from socialkit.models.content import Post
    from socialkit.schedule.records import NewPublication
    from socialkit.schedule.stores._common import new_id
    from socialkit.schedule.stores.postgres import PostgresStore

    schema = f"bench_claim_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(with_schema(url, schema))
    await store.open()
    try:
        revision = await store.put_revision(Post(text="no-op"))
        options = f"-c search_path={schema}"
        with psycopg.connect(url, autocommit=True, options=options) as conn:
            if future:
                conn.execute(_FUTURE_SQL, {"n": future, "revision": revision})
            conn.execute("VACUUM ANALYZE publications")
        now = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
        await store.add(
            [
                NewPublication(
                    id=new_id(),
                    account_id=f"a{i:03d}",
                    platform="noop",
                    revision=revision,
                    due_at=now,
                    local_time=now.replace(tzinfo=None),
                    zone="UTC",
                    idempotency_key=f"due-{i}",
                )
                for i in range(100)
            ]
        )
        indexed = await _claims(store)
        with psycopg.connect(url, autocommit=True, options=options) as conn:
            conn.execute("DROP INDEX publications_due, publications_account_due")
        await store.close()
        store = PostgresStore(with_schema(url, schema))  # fresh connections: fresh plans
        await store.open()
        unindexed = await _claims(store, rounds=60) if future else indexed
        return indexed, unindexed
    finally:
        await store.close()
        drop_schema(url, schema)


# -- main ---------------------------------------------------------------------------------


def unreachable(url: str) -> str | None:
    """Why ``url`` cannot be used, without its password; ``None`` when it can."""
    import psycopg
    import psycopg.conninfo

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        return first.replace(str(password), "***") if password else first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "SOCIALKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--publications", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--future", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="2,000 publications, 100,000 future")
    parser.add_argument("--role", choices=["socialkit", "procrastinate"], help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--per-account", default="none", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "socialkit":
        limit = None if args.per_account == "none" else int(args.per_account)
        asyncio.run(socialkit_worker(args.url, limit))
        return
    if args.role == "procrastinate":
        asyncio.run(procrastinate_worker(args.url, args.schema))
        return
    if args.quick:
        args.publications, args.future = 2_000, 100_000
    reason = unreachable(args.url)
    if reason is not None:
        # `make bench` runs every benchmark: one without a server says so and moves on.
        print(f"skipped: no PostgreSQL to benchmark against ({reason}); set --url or")
        print("  SOCIALKIT_TEST_POSTGRES_URL to a server where this user may create schemas")
        return
    n, workers = args.publications, args.workers
    print(
        f"PostgreSQL, {workers} worker processes each: {n:,} due no-op publications "
        f"over {args.accounts} accounts / {n:,} no-op procrastinate jobs"
    )
    free = bench_socialkit(args.url, n, args.accounts, workers, None)
    ordered = bench_socialkit(args.url, n, args.accounts, workers, 1)
    pq_rate, pq_dup, pq_retried = bench_procrastinate(args.url, n, workers)
    row("socialkit, per_account=None: processed per second", f"{free[0]:,.0f}/s")
    row("socialkit, per_account=1 (in order per account)", f"{ordered[0]:,.0f}/s")
    row("procrastinate (concurrency 1 per worker)", f"{pq_rate:,.0f}/s")
    row(
        "ratio socialkit per_account=None / procrastinate",
        ratio(free[0], pq_rate),
        "goal >= 10x (>= 3,000/s)",
    )
    row("ratio socialkit per_account=1 / procrastinate", ratio(ordered[0], pq_rate))
    row(
        "socialkit duplicates: calls seen twice; sent twice",
        f"{free[1] + ordered[1]} ; {free[2] + ordered[2]}",
        "goal 0",
    )
    row("procrastinate duplicates: calls seen twice; run twice", f"{pq_dup} ; {pq_retried}")

    print(f"\nClaim latency: 10 of 100 due publications, {args.future:,} future ones in the table")
    with_future, no_index = asyncio.run(claim_latency(args.url, args.future))
    alone, _ = asyncio.run(claim_latency(args.url, 0))
    ms = "{:.2f} / {:.2f} ms".format
    row(
        f"with {args.future:,} future publications: p50 / p99",
        ms(with_future[0] * 1000, with_future[1] * 1000),
    )
    row("with only the due ones in the table: p50 / p99", ms(alone[0] * 1000, alone[1] * 1000))
    row(
        "ratio with future / without (p50)",
        ratio(with_future[0], alone[0]),
        "goal ~1x: the partial index",
    )
    row(
        "partial due indexes dropped, with future: p50 / p99",
        ms(no_index[0] * 1000, no_index[1] * 1000),
    )
    row("ratio without / with the partial indexes (p50)", ratio(no_index[0], with_future[0]))


if __name__ == "__main__":
    main()
