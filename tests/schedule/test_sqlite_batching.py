"""The SQLite store's batched statements: many rows or ids per statement, nothing lost,
nothing reordered, and few statements (each is a GIL round trip on the store's thread)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest

from socialkit.schedule.records import NewPublication
from socialkit.schedule.stores._sqlite_rows import insert_rows, rows_by_id, update_ids

HEAD = "INSERT INTO t (a, b) VALUES "
UPSERT = " ON CONFLICT DO NOTHING"


@pytest.fixture
def conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(
        "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT NOT NULL UNIQUE, b)"
    )
    return conn


def statements(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


@pytest.mark.parametrize("n", [1, 3, 12, 100, 127, 128, 129, 300, 511, 600, 1000, 1024, 1500])
def test_rows_go_in_whole_and_in_order(conn: sqlite3.Connection, n: int) -> None:
    rows = [(f"r{i}", i if i % 3 else None) for i in range(n)]
    seen = statements(conn)
    insert_rows(conn, HEAD, rows, tail=UPSERT)
    conn.set_trace_callback(None)
    assert conn.execute("SELECT a, b FROM t ORDER BY seq").fetchall() == rows
    # one statement up to 1024 rows but where padding would cost more than a quarter
    # of the rows (129: 128 + 1; 300: 256 + 44 padded to 64), one per 1024 beyond
    expected = {129: 2, 300: 2, 1500: 2}.get(n, 1)
    assert len(seen) == expected, seen


def test_padding_rows_are_not_inserted_and_conflicts_are_skipped(
    conn: sqlite3.Connection,
) -> None:
    insert_rows(conn, HEAD, [("a", 1), ("b", 2)], tail=UPSERT)
    before = conn.total_changes
    # five rows padded to eight; two of them are already there
    insert_rows(conn, HEAD, [("a", 9), ("c", 3), ("b", 9), ("d", 4), ("e", 5)], tail=UPSERT)
    assert conn.total_changes - before == 3
    assert conn.execute("SELECT a, b FROM t ORDER BY seq").fetchall() == [
        ("a", 1),
        ("b", 2),
        ("c", 3),
        ("d", 4),
        ("e", 5),
    ]
    assert conn.execute("SELECT COUNT(*) FROM t WHERE a IS NULL").fetchone() == (0,)


def test_a_low_parameter_limit_splits_the_rows(conn: sqlite3.Connection) -> None:
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # SQLite before 3.32
    rows = [(f"r{i}", i) for i in range(2000)]
    seen = statements(conn)
    insert_rows(conn, HEAD, rows)
    assert conn.execute("SELECT a, b FROM t ORDER BY seq").fetchall() == rows
    assert all(s.count("?") <= 999 for s in seen)


def test_ids_go_in_as_one_json_array(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE publications (id TEXT PRIMARY KEY, n INTEGER, note TEXT)")
    conn.executemany(
        "INSERT INTO publications VALUES (?, 0, NULL)", [(f"p{i}",) for i in range(3000)]
    )
    ids = [f"p{i}" for i in range(0, 3000, 2)] + ["p0", "missing", 'it\'s "quoted" ünï']
    seen = statements(conn)
    update_ids(conn, "UPDATE publications SET n = n + 1, note = ?", ("x",), ids)
    assert len(seen) == 1
    assert conn.execute("SELECT COUNT(*), SUM(n) FROM publications WHERE n > 0").fetchone() == (
        1500,
        1500,  # p0, named twice, is updated once
    )
    found = rows_by_id(conn, "n, note", [*ids, "p1"])
    assert len(found) == 1501
    assert found["p2"] == [1, "x"]
    assert found["p1"] == [0, None]
    assert rows_by_id(conn, "n", []) == {}
    update_ids(conn, "UPDATE publications SET n = 0", (), [])
    assert conn.execute("SELECT SUM(n) FROM publications").fetchone() == (1500,)


def test_a_null_in_a_padded_statement_is_refused_not_dropped(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE e (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, k)")
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        insert_rows(conn, "INSERT INTO e (at, k) VALUES ", [(1, "a"), (None, "b"), (3, "c")])


def test_a_publication_id_with_a_nul_is_refused_when_built() -> None:
    # SQLite's json_each (ids are looked up in batches) never matches such an id, and
    # PostgreSQL cannot store one: it would sit first in due order, unclaimable.
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    fields: dict[str, Any] = {
        "account_id": "a",
        "platform": "feed",
        "revision": "r",
        "due_at": now,
        "local_time": now,
        "zone": "UTC",
        "idempotency_key": "k",
    }
    with pytest.raises(ValueError, match=r"id: must not contain a NUL character"):
        NewPublication(id="a\x00b", **fields)
    assert NewPublication(id="a b", **fields).id == "a b"
