"""``socialkit run`` on a store that is not there says so: it creates an empty one, and a
worker given a mistyped store URL used to wait on it for ever without a word."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli, run_subprocess

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
