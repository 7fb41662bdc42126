"""Chaos on the embedded store: three worker processes on one SQLite file, a misbehaving
platform over HTTP, and a random lease-holding worker SIGKILLed every few seconds (and
restarted) — the PostgreSQL chaos test's run (:mod:`tests.schedule.chaos`), needing no
server.

Several processes share the file through WAL, ``BEGIN IMMEDIATE`` claims and the busy
timeout; a worker's claims, starts and receipts run inline on its event loop while the
store's thread is idle and move to that thread when another process holds the lock. The
test process reads lease holders and progress straight from the file, read-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.schedule.chaos import Chaos, run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CHAOS = Chaos(
    publications=600,
    spread=dt.timedelta(seconds=12),
    workers=3,  # CI machines have two cores
    chaos_for=18.0,  # seconds of killing, from the first due publication
    min_kills=4,
    give_up_after=120.0,  # a hard bound
)


def test_workers_killed_at_random_publish_everything_once(tmp_path: Path) -> None:
    path = tmp_path / "chaos.db"

    def query(sql: str) -> Sequence[tuple[Any, ...]]:
        uri = f"file:{path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            return conn.execute(sql).fetchall()

    run_chaos(f"sqlite:///{path}", query, CHAOS)
