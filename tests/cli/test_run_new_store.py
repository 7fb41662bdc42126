"""``socialkit run`` on a store that is not there says so: it creates an empty one, and a
worker given a mistyped store URL used to wait on it for ever without a word."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, run_subprocess
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema, store_url

NOTE = (
    "note: no SQLite store at {name} (got sqlite:///{name}); the worker starts on a new, "
    "empty store (nothing was scheduled on it: check the store URL if you expected "
    "publications)\n"
)


def test_run_notes_a_store_it_creates_once(cli: Cli, tmp_path: Path) -> None:
    first = cli("--store", "sqlite:///socailkit.db", "run", "--once")
    assert first.code == 0, first.err
    assert first.err == NOTE.format(name="socailkit.db")
    assert first.out == "claimed 0, reconciled 0, metric collections 0\n"
    assert (tmp_path / "socailkit.db").exists()
    again = cli("--store", "sqlite:///socailkit.db", "run", "--once")
    assert (again.code, again.err) == (0, "")


def test_run_workers_note_it_once_for_all(tmp_path: Path) -> None:
    done = run_subprocess("--store", "sqlite:///jobs.db", "run", "--workers", "2", "--once",
                          cwd=tmp_path)  # fmt: skip
    assert done.code == 0, done.err
    assert done.err == NOTE.format(name="jobs.db")  # not once more from each worker
    assert (tmp_path / "jobs.db").exists()


PG_NOTE = (
    "note: no store in schema '{schema}' at {url} (create one with `socialkit store "
    "migrate`); the worker starts on a new, empty store (nothing was scheduled on it: "
    "check the store URL if you expected publications)\n"
)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_REASON)
def test_a_postgres_worker_notes_a_schema_it_creates(cli: Cli) -> None:
    # A typo in ?schema= made a worker create an empty schema and wait there for ever,
    # without a word, while the real store's publications went unsent.
    with fresh_schema("sk_cli_new") as schema:
        url = store_url(schema)
        first = cli("--store", url, "run", "--once")
        assert first.code == 0, first.err
        assert first.err == PG_NOTE.format(schema=schema, url=url)
        again = cli("--store", url, "run", "--once")
        assert (again.code, again.err) == (0, "")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_REASON)
def test_postgres_workers_note_it_once_for_all(tmp_path: Path) -> None:
    with fresh_schema("sk_cli_new") as schema:
        url = store_url(schema)
        done = run_subprocess("--store", url, "run", "--workers", "2", "--once", cwd=tmp_path)
        assert done.code == 0, done.err
        assert done.err == PG_NOTE.format(schema=schema, url=url)


def test_workers_start_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    # The pool must not need the database to start: its workers connect (and are
    # restarted) themselves, and each says why it could not.
    pytest.importorskip("psycopg")
    url = "postgresql://postgres@127.0.0.1:1/nothing"
    done = run_subprocess("--store", url, "run", "--workers", "2", "--once", cwd=tmp_path)
    assert done.code == 1, done.out + done.err
    assert done.out.startswith("socialkit run: started 2 workers")
    assert done.out.count("cannot connect to the PostgreSQL store") == 2


def test_a_missing_driver_is_named(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # Looking for the store before opening it imported psycopg bare: an unexpected
    # ModuleNotFoundError ("run with --debug"), not what to install.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    for argv in (["run", "--once"], ["list"]):
        done = cli("--store", "postgresql://postgres@127.0.0.1:1/nothing", *argv)
        assert done.code == 2, done.err
        assert done.err.startswith(
            "error: the postgresql:// store needs psycopg (install socialkit-engine[postgres])"
        ), done.err


def test_workers_are_not_started_on_a_url_libpq_refuses(tmp_path: Path) -> None:
    # Each worker exited 2 on it and was restarted, for ever, a second to 30 s apart.
    pytest.importorskip("psycopg")
    url = "postgresql://postgres:s3cret@127.0.0.1:1/nothing?shema=typo"
    done = run_subprocess("--store", url, "run", "--workers", "2", cwd=tmp_path)
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith('error: invalid URI query parameter: "shema" in ')
    assert "s3cret" not in done.err
