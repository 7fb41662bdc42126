"""A worker killed with SIGKILL in the middle of a publish, then restarted.

Checked at the (file-backed) platforms: nothing lost, nothing published twice; on the
platform with idempotency keys the interrupted post is settled by the same key, on the
one with look-ups by looking (and sent again when it was certainly not made), and on the
one with neither it waits for a person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.models.receipt import PostRef, Receipt
from socialkit.schedule.scheduler import AsyncScheduler
from socialkit.schedule.states import PublicationState as S
from tests.schedule.crash_worker import FileServer, registry_for

ROOT = Path(__file__).resolve().parents[2]
PLAN = {
    # account (= platform): the three posts, in order
    "keyed": ["keyed one", "keyed two crash-after", "keyed three"],
    "lookup": ["lookup one", "lookup two crash-before", "lookup three"],
    "blind": ["blind one", "blind two crash-after", "blind three"],
}


def spawn(
    store_url: str, server_dir: Path, mode: str
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.schedule.crash_worker", store_url, str(server_dir), mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())
        child.stdout.close()

    threading.Thread(target=pump, daemon=True).start()
    return child, lines


def wait_for(lines: queue.Queue[str], predicate, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    while not predicate(seen):
        seen.append(lines.get(timeout=timeout))  # bounded: queue.Empty fails the test
    return seen


@pytest.mark.slow
def test_sigkill_mid_publish_then_restart(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path}/crash.db?poll=0.05"
    server_dir = tmp_path / "platforms"

    async def schedule() -> dict[str, list[str]]:
        now = dt.datetime.now(dt.UTC)
        async with AsyncScheduler(store_url, registry=registry_for(server_dir)) as scheduler:
            ids: dict[str, list[str]] = {}
            for name, texts in PLAN.items():
                acct = Account(id=name, platform=name, handle=name)
                for i, text in enumerate(texts):
                    (pub,) = await scheduler.schedule(
                        Post(text=text), acct, at=now + dt.timedelta(milliseconds=i)
                    )
                    ids.setdefault(name, []).append(pub.id)
            return ids

    ids = asyncio.run(schedule())

    first, lines = spawn(store_url, server_dir, "first")
    try:
        wait_for(lines, lambda seen: sum(line.startswith("HANG") for line in seen) == 3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    second, lines = spawn(store_url, server_dir, "restart")
    wait_for(lines, lambda seen: "DONE" in seen, timeout=120)
    assert second.wait(timeout=30) == 0

    async def states() -> dict[str, dict]:
        async with AsyncScheduler(store_url, registry=registry_for(server_dir)) as scheduler:
            return {
                pub_id: await scheduler.get(pub_id)
                for pub_ids in ids.values()
                for pub_id in pub_ids
            }

    pubs = asyncio.run(states())
    for name in PLAN:
        copies = Counter(p["key"] for p in FileServer(server_dir / f"{name}.jsonl").posts())
        for pub_id in ids[name]:
            key = pubs[pub_id].idempotency_key
            assert copies[key] <= 1, f"{name}: {pub_id} was published {copies[key]} times"
        assert set(copies) <= {pubs[i].idempotency_key for i in ids[name]}

    one, two, three = (pubs[i] for i in ids["keyed"])
    assert [p.state for p in (one, two, three)] == [S.PUBLISHED] * 3
    keyed = Counter(p["key"] for p in FileServer(server_dir / "keyed.jsonl").posts())
    assert all(keyed[p.idempotency_key] == 1 for p in (one, two, three))  # exactly once

    one, two, three = (pubs[i] for i in ids["lookup"])
    assert [p.state for p in (one, two, three)] == [S.PUBLISHED] * 3
    lookup = Counter(p["key"] for p in FileServer(server_dir / "lookup.jsonl").posts())
    assert all(lookup[p.idempotency_key] == 1 for p in (one, two, three))

    one, two, three = (pubs[i] for i in ids["blind"])
    assert one.state == S.PUBLISHED
    assert (two.state, two.attention) == (S.UNKNOWN, "reconcile")  # a person decides
    # two may be live (it is): three waits behind it, never overtaking it
    assert three.state == S.SCHEDULED
    blind_server = FileServer(server_dir / "blind.jsonl")
    blind = Counter(p["key"] for p in blind_server.posts())
    assert [blind[p.idempotency_key] for p in (one, two, three)] == [1, 1, 0]
    assert any(e.kind == "lease_expired" for e in two.history)

    # a person finds two on the platform and says so: three goes out after it
    (made,) = [p for p in blind_server.posts() if p["key"] == two.idempotency_key]

    async def resolve_then_run() -> None:
        async with AsyncScheduler(store_url, registry=registry_for(server_dir)) as scheduler:
            found = Receipt(
                platform="blind",
                account_id="blind",
                parts=(PostRef(id=made["id"]),),
                published_at=dt.datetime.now(dt.UTC),
            )
            await scheduler.resolve(two.id, published=found, actor="ann")
            await scheduler.run(until_idle=True)
            assert (await scheduler.get(three.id)).state == S.PUBLISHED

    asyncio.run(resolve_then_run())
    blind = Counter(p["key"] for p in blind_server.posts())
    assert [blind[p.idempotency_key] for p in (one, two, three)] == [1, 1, 1]
    assert [p["key"] for p in blind_server.posts()] == [
        p.idempotency_key for p in (one, two, three)
    ]  # in order
