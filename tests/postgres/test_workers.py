"""``socialkit run --workers N``: the pool of worker processes, and the command end to end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from socialkit.schedule.workers import WorkerPool, worker_command

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = [
    sys.executable,
    "-c",
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (print('bye', flush=True), sys.exit(0)))\n"
    "print('up', os.environ['SOCIALKIT_WORKER_INDEX'], os.getpid(), flush=True)\n"
    "time.sleep(120)\n",
]


class Lines:
    """Collects worker output; ``wait_for(text, n)`` blocks (bounded) until n lines match."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self._cond = threading.Condition()

    def __call__(self, index: int, line: str) -> None:
        with self._cond:
            self.lines.append((index, line))
            self._cond.notify_all()

    def count(self, text: str) -> int:
        return sum(1 for _, line in self.lines if line.startswith(text))

    def wait_for(self, text: str, n: int, pool: WorkerPool | None = None) -> None:
        with self._cond:
            for _ in range(300):
                if self.count(text) >= n:
                    return
                self._cond.wait(0.1)
                if pool is not None:
                    pool.check()
        raise AssertionError(f"never saw {n} lines starting {text!r}: {self.lines}")


def test_a_killed_worker_is_restarted_and_stop_is_graceful() -> None:
    lines = Lines()
    pool = WorkerPool(SLEEPER, 3, on_line=lines, backoff=0.01)
    pool.start()
    try:
        lines.wait_for("up", 3)
        assert sorted(int(line.split()[1]) for _, line in lines.lines) == [0, 1, 2]
        victim = pool.pids()[1]
        subprocess.run(["kill", "-KILL", str(victim)], check=True)
        lines.wait_for("up", 4, pool)  # the slot came back with a new process
        assert pool.restarts == 1
        assert victim not in pool.pids()
        assert len(pool.pids()) == 3
        assert (1, -signal.SIGKILL) in pool.exits
        assert any("SIGKILL; restarting" in line for _, line in lines.lines)
    finally:
        codes = pool.stop(timeout=20)
    assert codes == [0, 0, 0]  # each stopped on SIGTERM, cleanly
    assert lines.count("bye") == 3
    assert pool.pids() == []


def test_a_worker_that_ignores_sigterm_is_killed() -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\ntime.sleep(120)\n",
    ]
    lines = Lines()
    pool = WorkerPool(stubborn, 1, on_line=lines)
    pool.start()
    lines.wait_for("up", 1)
    assert pool.stop(timeout=0.5) == [-signal.SIGKILL]


def test_worker_command_carries_the_global_options() -> None:
    command = worker_command(
        store_url="postgresql://h/db?schema=x", config_path="a.toml", once=True
    )
    assert command[:2] == [sys.executable, "-c"]
    assert command[3:] == [
        "--config",
        "a.toml",
        "--store",
        "postgresql://h/db?schema=x",
        "run",
        "--once",
    ]
    with pytest.raises(ValueError, match="at least one worker"):
        WorkerPool(command, 0)


PROJECT = """\
workspace = "default"

[[accounts]]
id = "north"
platform = "feed"
handle = "north"
settings = {{ directory = "{root}/north" }}

[[accounts]]
id = "south"
platform = "feed"
handle = "south"
settings = {{ directory = "{root}/south" }}

[[accounts]]
id = "east"
platform = "feed"
handle = "east"
settings = {{ directory = "{root}/east" }}
"""


@pytest.mark.postgres
def test_run_workers_publishes_everything_once(tmp_path: Path, schema: str) -> None:
    import asyncio
    import datetime as dt

    from socialkit.config import load_config
    from socialkit.models.content import Post
    from socialkit.schedule.scheduler import AsyncScheduler
    from tests.postgres.support import store_url

    url = store_url(schema)
    project = tmp_path / "socialkit.toml"
    project.write_text(PROJECT.format(root=tmp_path / "feeds"), encoding="utf-8")
    config = load_config(str(project))

    async def schedule() -> list[str]:
        async with AsyncScheduler(url, accounts=config.accounts) as scheduler:
            ids = []
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
            for i in range(30):
                account = config.accounts[i % 3]
                made = await scheduler.schedule(Post(text=f"post {i}"), account, at=past)
                ids.extend(p.id for p in made)
            return ids

    ids = asyncio.run(schedule())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from socialkit.cli import main; sys.exit(main())",
            "--config",
            str(project),
            "--store",
            url,
            "run",
            "--workers",
            "3",
            "--once",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started 3 workers" in done.stdout

    async def outcome() -> tuple[dict[str, Any], Counter[str]]:
        async with AsyncScheduler(url) as scheduler:
            states = {i: (await scheduler.get(i)).state.value for i in ids}
            events = await scheduler.events(limit=10_000)
        return states, Counter(e.actor for e in events if e.kind == "claimed")

    states, claimers = asyncio.run(outcome())
    assert set(states.values()) == {"published"}
    assert sum(claimers.values()) == 30
    entries = [json.loads(p.read_text()) for p in (tmp_path / "feeds").rglob("*.json")]
    posted = Counter(
        e["publication_id"] for e in entries if isinstance(e, dict) and "publication_id" in e
    )
    assert posted == Counter(ids)  # every publication written once, to its feed
