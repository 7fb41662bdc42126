"""A SQLite store URL naming a directory is one usage error naming the store.

SQLite cannot open a directory; every command that opened one stopped with an unexpected
error: "OperationalError: unable to open database file (run with --debug for details)".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli

PROJECT = """\
[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "p123"],
        ["run", "--once"],
        ["schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00"],
        ["store", "status"],
        ["store", "migrate"],
        ["store", "prune", "--older-than", "30d"],
    ],
)
def test_a_directory_is_not_a_store(cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    done = cli("--store", "sqlite:///data", *argv)
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "error: store: data is a directory, not a SQLite store file (got sqlite:///data); "
        f"name the file, e.g. sqlite:///{Path('data') / 'socialkit.db'}\n"
    )
    assert list((tmp_path / "data").iterdir()) == []


def test_store_copy_names_the_argument_that_is_a_directory(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert cli("--store", "sqlite:///jobs.db", "store", "migrate").code == 0
    into = cli("store", "copy", "sqlite:///jobs.db", "sqlite:///data")
    assert (into.code, into.err.split(":")[:2]) == (2, ["error", " TARGET"])
    out_of = cli("store", "copy", "sqlite:///data", "sqlite:///copy.db")
    assert (out_of.code, out_of.err.split(":")[:2]) == (2, ["error", " SOURCE"])
    assert "data is a directory, not a SQLite store file" in into.err + out_of.err
