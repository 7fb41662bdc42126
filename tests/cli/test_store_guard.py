"""Commands that read or act on publications never create a store.

Opening a SQLite file or a PostgreSQL schema that is not there creates an empty store;
a typo in a store URL would then look like a store with nothing in it (and leave a file
or schema behind). ``list`` says there is nothing and why; ``show``, ``approve``,
``reject``, ``cancel`` and ``resolve`` refuse with the store they looked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT as PROJECT
from tests.cli.conftest import Cli
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema, store_url


def test_list_on_a_store_that_is_not_there_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    result = cli("--store", "sqlite:///typo/socialkit.db", "list")
    assert (result.code, result.out) == (0, "no publications\n")
    assert result.err == (
        f"note: no SQLite store at {Path('typo', 'socialkit.db')} "
        "(got sqlite:///typo/socialkit.db); nothing was scheduled on it yet\n"
    )
    as_json = cli("--store", "sqlite:///typo/socialkit.db", "list", "--json")
    assert as_json.json() == {"publications": [], "next_cursor": None}
    assert not (tmp_path / "typo").exists()
    bad = cli("--store", "sqlite:///typo/socialkit.db", "list", "--cursor", "garbage")
    assert bad.code == 2
    assert bad.err.startswith("error: --cursor: not a listing cursor (got 'garbage'); ")


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "p123"],
        ["approve", "p123"],
        ["reject", "p123"],
        ["cancel", "p123"],
        ["resolve", "p123", "--retry"],
    ],
)
def test_acting_on_a_store_that_is_not_there_is_refused(
    cli: Cli, tmp_path: Path, argv: list[str]
) -> None:
    result = cli("--store", "sqlite:///typo.db", *argv)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: store: no SQLite store at typo.db (got sqlite:///typo.db); "
        "nothing was scheduled on it yet\n"
    )
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_REASON)
def test_no_postgres_schema_is_created_by_reading(cli: Cli) -> None:
    import psycopg

    with fresh_schema("sk_cli_guard") as schema:
        url = store_url(schema)
        assert cli("--store", url, "list").out == "no publications\n"
        shown = cli("--store", url, "show", "p123")
        assert shown.code == 2
        assert f"no store in schema {schema!r}" in shown.err
        with psycopg.connect(POSTGRES_URL) as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                (schema,),
            ).fetchone()
        assert found == (0,)


def test_resume_everything_says_what_is_paused_instead(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    assert cli("store", "migrate").code == 0
    nothing = cli("resume")
    assert (nothing.code, nothing.err) == (1, "error: nothing is paused\n")
    assert cli("pause", "--account", "acme-feed").code == 0
    other = cli("resume")
    assert (other.code, other.out) == (1, "")
    assert other.err == (
        "error: there is no pause of everything to resume (paused: account acme-feed; "
        "resume those with --account ID or --campaign ID)\n"
    )
    assert cli("resume", "--account", "acme-feed").code == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "p123"],
        ["pause"],
        ["run", "--once"],
        ["run", "--workers", "2", "--once"],
        ["schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00"],
    ],
)
def test_a_memory_store_is_refused(cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Gone at exit\n", encoding="utf-8")
    result = cli("--store", "memory://", *argv)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: store: a memory:// store lives inside one process and is gone when the "
        "command ends (got 'memory://'); give a sqlite:/// or postgresql:// store\n"
    )


@pytest.mark.parametrize("argv", [["list"], ["show", "p123"], ["store", "status"]])
def test_a_postgres_url_libpq_cannot_read_is_a_usage_error(cli: Cli, argv: list[str]) -> None:
    pytest.importorskip("psycopg")
    result = cli("--store", "postgresql://ann:s3cret%zz@127.0.0.1:1/social", *argv)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith('error: invalid percent-encoded token: "***" in ')
    assert "s3cret" not in result.err
    copied = cli("store", "copy", "postgresql://ann:s3cret@127.0.0.1:1/x?shema=a", "memory://")
    assert copied.code == 2
    assert copied.err.startswith('error: invalid URI query parameter: "shema" in ')
    assert "s3cret" not in copied.err


@pytest.mark.parametrize(
    "argv",
    [
        [
            "--store",
            "sqlite:///:memory:",
            "schedule",
            "post.yaml",
            "--to",
            "acme-feed",
            "--at",
            "2030-01-01 10:00",
        ],
        ["--store", "sqlite:///:memory:", "pause"],
        ["--store", "sqlite:///:memory:", "list"],
        ["--store", "sqlite:///:memory:", "run", "--once"],
        ["--store", "sqlite:///:memory:", "store", "status"],
        ["--store", "sqlite:///:memory:", "store", "migrate"],
        ["store", "copy", "sqlite:///:memory:", "sqlite:///copy.db"],
        ["store", "copy", "sqlite:///socialkit.db", "sqlite:///:memory:"],
    ],
)
def test_a_sqlite_memory_store_is_refused(cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    # sqlite:///:memory: was taken as a lasting store: schedule and pause "succeeded" and
    # kept nothing, store status and copy failed with OperationalError (exit 1).
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Gone at exit\n", encoding="utf-8")
    assert cli("store", "migrate").code == 0
    result = cli(*argv)
    assert (result.code, result.out) == (2, "")
    what = "SOURCE" if argv[2:3] == ["sqlite:///:memory:"] else "TARGET"
    what = what if argv[0] == "store" else "store"
    assert result.err == (
        f"error: {what}: sqlite:///:memory: is a SQLite database inside one process, gone "
        "when the command ends; name a SQLite file (sqlite:///socialkit.db) or give a "
        "postgresql:// store\n"
    )
