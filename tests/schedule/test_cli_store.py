"""``socialkit store`` on SQLite files, without a PostgreSQL server: a store that is not
there is named, never created empty (the PostgreSQL side is in tests/postgres)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from socialkit.cli import main
from socialkit.cli.store import shown_url
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.postgres.populate import populate


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [["store", "status"], ["store", "status", "--json"], ["store", "prune", "--older-than", "9d"]],
)
def test_a_missing_sqlite_store_is_named_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    path = tmp_path / "typo.db"
    code, out, err = cli(capsys, "--store", f"sqlite:///{path}", *args)
    assert (code, out) == (2, "")
    assert err == f"error: store: no SQLite store at {path} (got sqlite:///{path})\n"
    assert not path.exists()


def test_copy_from_a_missing_sqlite_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "typo.db", tmp_path / "target.db"
    code, out, err = cli(capsys, "store", "copy", f"sqlite:///{source}", f"sqlite:///{target}")
    assert (code, out) == (2, "")
    assert err == f"error: SOURCE: no SQLite store at {source} (got sqlite:///{source})\n"
    assert not source.exists()
    assert not target.exists()


def test_copy_between_sqlite_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"

    async def fill() -> int:
        store = SqliteStore(source)
        await store.open()
        made = await populate(store, n=4)
        await store.close()
        return sum(len(ids) for ids in made.values())

    count = asyncio.run(fill())
    code, out, err = cli(capsys, "store", "copy", source, target, "--json")
    assert code == 0, err
    copied = json.loads(out)
    assert (copied["source"], copied["target"]) == (source, target)
    assert copied["copied"]["publications"] >= count > 0
    code, _, err = cli(capsys, "store", "copy", source, target)
    assert code == 2
    assert err.startswith("error: the target store already holds")


def test_urls_are_shown_with_their_schema_and_without_a_password() -> None:
    assert (
        shown_url("postgresql://app:s3cret@db:5432/social?schema=team_a&sslmode=require")
        == "postgresql://app:***@db:5432/social?schema=team_a&sslmode=require"
    )
    assert shown_url("sqlite:///socialkit.db") == "sqlite:///socialkit.db"
