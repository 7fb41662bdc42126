"""Chaos: four worker processes, one PostgreSQL store, a misbehaving platform over HTTP,
and a random worker SIGKILLed every few seconds (and restarted).

2,000 publications come due over about 20 seconds; workers run on the database clock.
The run and what it checks are :mod:`tests.schedule.chaos`'s (shared with the SQLite
chaos test, :mod:`tests.schedule.test_chaos_sqlite`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from tests.postgres.support import POSTGRES_URL, store_url
from tests.schedule.chaos import Chaos, run_chaos

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

CHAOS = Chaos(
    publications=2000,
    spread=dt.timedelta(seconds=20),
    workers=4,
    chaos_for=28.0,  # seconds of killing, from the first due publication
    min_kills=6,
    give_up_after=150.0,  # a hard bound; the run settles in about a minute
)


def test_workers_killed_at_random_publish_everything_once(schema: str) -> None:
    import psycopg

    def query(sql: str) -> Sequence[tuple[Any, ...]]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"SET search_path = {schema}")
            return conn.execute(sql).fetchall()

    run_chaos(store_url(schema), query, CHAOS)  # the database clock, as in production
