"""The chaos run the PostgreSQL and SQLite chaos tests share: worker processes on one
store, a misbehaving platform over HTTP, and a random lease-holding worker SIGKILLed
every few seconds (and restarted).

Publications come due over a few seconds on 24 accounts of three fake platforms
(:mod:`tests.postgres.chaos_platform`), which answer 503 before doing anything, 429 with
``Retry-After``, 500 after making the post, or hold their answer past the client's
timeout after making it. Workers run the real engine (:mod:`tests.postgres.chaos_worker`)
with four-second leases. The store-specific parts are the URL and ``query``, which runs
a read-only SQL statement on the store's tables from the test process.

The platform's ledger — every post it ever made — is the ground truth:

* where the platform honours idempotency keys, every publication exists exactly once
  (and is ``published``, or ``unknown`` for a person when even the resend with the same
  key got no answer — the engine's policy);
* where it does not, nothing is posted twice: a publication with a post is ``published``
  with that post (found by reconciliation when the answer was lost) or, on the platform
  that cannot be searched, ``unknown`` waiting for a person — never sent blindly again;
* a publication ``unknown`` for a person holds its account: the account's later posts
  wait (``held``), never sent before a person decides.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.schedule.scheduler import AsyncScheduler, ScheduleRequest
from socialkit.schedule.stores import store_from_url
from socialkit.schedule.workers import WorkerPool
from tests.postgres.chaos_worker import KINDS, engine_config, registry_for

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": str(ROOT)}
ACCOUNTS_PER_KIND = 8
SEED = 20261126

Query = Callable[[str], Sequence[tuple[Any, ...]]]

# Publications by state, with ``unknown`` split by whether a person is asked, and those
# waiting behind such a one of their account counted as ``held``.
PROGRESS = (
    "SELECT CASE WHEN state = 'unknown' AND attention IS NOT NULL "
    "THEN 'unknown:person' WHEN state IN ('scheduled', 'retry_wait') AND EXISTS ("
    "SELECT 1 FROM publications u WHERE u.workspace = p.workspace "
    "AND u.account_id = p.account_id AND u.state = 'unknown' "
    "AND u.attention IS NOT NULL) THEN 'held' ELSE state END, count(*) "
    "FROM publications p GROUP BY 1"
)
LEASE_OWNERS = "SELECT DISTINCT lease_owner FROM publications WHERE lease_expires_at IS NOT NULL"
SETTLED = {"published", "failed", "unknown:person", "held"}


@dataclass(frozen=True)
class Chaos:
    """How much chaos: ``chaos_for`` seconds of killing from the first due publication,
    at least ``min_kills`` kills, and a hard bound of ``give_up_after`` seconds."""

    publications: int
    spread: dt.timedelta
    workers: int
    chaos_for: float
    min_kills: int
    give_up_after: float


def start_platform() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.postgres.chaos_platform", str(SEED)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("PORT "), line
    return server, f"http://127.0.0.1:{int(line.split()[1])}"


async def seed(url: str, base: str, chaos: Chaos) -> tuple[list[str], dt.datetime]:
    accounts = [
        Account(id=f"{kind}-{i}", platform=kind, handle=f"{kind}{i}")
        for kind in KINDS
        for i in range(ACCOUNTS_PER_KIND)
    ]
    scheduler = AsyncScheduler(
        url, registry=registry_for(base), accounts=accounts, config=engine_config()
    )
    async with scheduler:
        start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)  # workers start meanwhile
        step = chaos.spread / chaos.publications
        requests = [
            ScheduleRequest(
                post=Post(text=f"chaos post {i}"),
                accounts=accounts[i % len(accounts)],
                at=start + i * step,
            )
            for i in range(chaos.publications)
        ]
        ids = await scheduler.schedule_many(requests)
    return ids, start


def progress(query: Query) -> dict[str, int]:
    return {str(k): int(v) for k, v in query(PROGRESS)}


def lease_holders(query: Query) -> set[int]:
    """The pids of the workers holding a lease now (worker ids end in the pid)."""
    return {int(owner.rsplit("-", 1)[1]) for (owner,) in query(LEASE_OWNERS) if owner}


def run_chaos(url: str, query: Query, chaos: Chaos) -> None:
    """Seed, start the workers, kill and restart them, wait until every publication
    settles, then check the platforms' ledger against the store."""
    server, base = start_platform()
    lines: list[str] = []
    pool = WorkerPool(
        [sys.executable, "-m", "tests.postgres.chaos_worker", url, base],
        chaos.workers,
        env=ENV,
        cwd=str(ROOT),
        backoff=0.2,
        on_line=lambda i, line: lines.append(f"[w{i}] {line}"),
    )
    rng = random.Random(SEED)
    kills = 0
    try:
        ids, start = asyncio.run(seed(url, base, chaos))
        assert len(ids) == chaos.publications
        pool.start()
        began = time.monotonic()
        first_due = began + (start - dt.datetime.now(dt.UTC)).total_seconds()
        next_kill = first_due + rng.uniform(1.0, 3.0)
        pause = threading.Event()
        counts: dict[str, int] = {}
        while time.monotonic() - began < chaos.give_up_after:
            pool.check()
            now = time.monotonic()
            if now >= next_kill and now < first_due + chaos.chaos_for:
                # A worker holding leases, when one does: killing an idle one reaches no
                # recovery path, and the run must reach the lease-expiry one.
                alive = pool.pids()
                holders = lease_holders(query)
                victims = [pid for pid in alive if pid in holders] or alive
                if victims:
                    os.kill(rng.choice(victims), 9)
                    kills += 1
                next_kill = now + rng.uniform(2.0, 4.0)
            counts = progress(query)
            settled = sum(counts.get(s, 0) for s in SETTLED) == len(ids)
            if now > first_due + chaos.chaos_for and settled:
                break
            pause.wait(0.25)
        elapsed = time.monotonic() - began
    finally:
        pool.stop(timeout=20)
        ledger = json.loads(urllib.request.urlopen(f"{base}/ledger", timeout=10).read())
        server.kill()
        server.wait()
        assert server.stdout is not None
        server.stdout.close()

    assert sum(counts.get(s, 0) for s in SETTLED) == len(ids), (counts, lines[-20:])
    assert kills >= chaos.min_kills, kills
    assert pool.restarts >= kills - 1  # every killed worker came back (the last may be pending)

    publications = asyncio.run(read_all(url))
    outcome = check_ledger(publications, ledger)
    history = asyncio.run(kinds_of_events(url))
    # The chaos reached the recovery paths it is meant to test.
    assert history["lease_expired"] > 0
    assert history["reconcile"] > 0
    print(
        f"\nchaos: {len(ids)} publications, {chaos.workers} workers, {kills} SIGKILLs, "
        f"{pool.restarts} restarts, settled in {elapsed:.0f} s; outcomes {dict(outcome)}; "
        f"{len(ledger)} posts on the platforms; events {dict(history)}"
    )


def check_ledger(
    publications: list[dict[str, Any]], ledger: list[dict[str, Any]]
) -> Counter[tuple[str, str]]:
    """Assert the ledger's promises (module docstring); the outcomes by platform."""
    posts = Counter(p["publication"] for p in ledger)
    post_ids: dict[str, set[str]] = {}
    for p in ledger:
        post_ids.setdefault(p["publication"], set()).add(p["id"])
    outcome: Counter[tuple[str, str]] = Counter()
    asking = {p["account"] for p in publications if p["state"] == "unknown" and p["attention"]}
    for pub in publications:
        kind = pub["platform"]
        made = posts.get(pub["id"], 0)
        state = pub["state"] + (":person" if pub["attention"] else "")
        if state in ("scheduled", "retry_wait") and pub["account"] in asking:
            state = "held"
        outcome[(kind, state)] += 1
        # Nothing anywhere is posted twice.
        assert made <= 1, (pub, made)
        if state == "held":
            # Behind a post that may be live, waiting for a person: not sent since, and
            # never sent at all but where a resend carries the same key (a reconciling
            # resend the platform refused before doing anything waits to retry).
            assert made == 0 or kind == "keyed", pub
            continue
        if kind == "keyed":
            # Exactly once on the platform. The store says published — or, when even the
            # resend with the same key got no answer, asks a person (the engine's policy).
            assert made == 1, pub
            assert state in ("published", "unknown:person"), pub
        if state == "published":
            assert made == 1, pub
            assert pub["receipt"] in post_ids[pub["id"]], pub
        elif made == 1:
            # Posted but not known to be: a person is asked, never a blind re-post.
            assert state == "unknown:person", pub
            assert kind in ("keyed", "blind"), pub  # the lookup platform finds its posts
    return outcome


async def read_all(url: str) -> list[dict[str, Any]]:
    from socialkit.schedule.records import PublicationQuery

    store = store_from_url(url)
    await store.open()
    try:
        out = []
        cursor = None
        while True:
            page = await store.list_publications(PublicationQuery(limit=500, cursor=cursor))
            out.extend(
                {
                    "id": p.id,
                    "account": p.account_id,
                    "platform": p.platform,
                    "state": p.state.value,
                    "attention": p.attention,
                    "receipt": p.receipt.ref.id if p.receipt else None,
                }
                for p in page.items
            )
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor
    finally:
        await store.close()


async def kinds_of_events(url: str) -> Counter[str]:
    store = store_from_url(url)
    await store.open()
    try:
        seen: Counter[str] = Counter()
        since = 0
        while batch := await store.events(since=since, limit=5000):
            for e in batch:
                seen[e.kind] += 1
                if e.kind == "claimed" and e.reason == "reconcile":
                    seen["reconcile"] += 1
            since = batch[-1].seq
        return seen
    finally:
        await store.close()
