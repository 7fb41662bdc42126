"""The ``store status`` sample in docs/postgres.md shows the schema this code writes: it
said schema 3 long after version 10, so an operator comparing it with a real store took
the real one for newer than the docs' socialkit."""

from __future__ import annotations

from pathlib import Path

from socialkit.schedule.stores._postgres_schema import MIGRATIONS
from socialkit.schedule.stores.base import MIN_COMPATIBLE_SCHEMA, SCHEMA_VERSION

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_store_status_sample_shows_the_current_schema() -> None:
    last = MIGRATIONS[-1]
    assert (last.version, last.min_compatible) == (SCHEMA_VERSION, MIN_COMPATIBLE_SCHEMA)
    samples = [
        line
        for line in (DOCS / "postgres.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("schema    ")
    ]
    assert samples == [
        f"schema    {SCHEMA_VERSION} (compatible from {MIN_COMPATIBLE_SCHEMA}; "
        f"this socialkit: {SCHEMA_VERSION})"
    ]
