"""Option values a person gets wrong: one line naming the option and the value, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT as PROJECT
from tests.cli.conftest import Cli


@pytest.mark.parametrize("key", ["", "  "])
def test_an_empty_key_is_refused(cli: Cli, tmp_path: Path, key: str) -> None:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Keyed\n", encoding="utf-8")
    args = ["schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00"]
    result = cli(*args, "--key", key)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"error: --key: give a key that names this schedule (got {key!r})\n"
    assert cli(*args, "--key", "launch-1").code == 0


@pytest.mark.parametrize(
    ("age", "message"),
    [
        ("soon", "must be a duration like 90d, 12h, 2w, 30m or 1d12h (got 'soon')"),
        ("0d", "must be longer than nothing (got '0d')"),
    ],
)
def test_a_bad_age_names_the_option(cli: Cli, age: str, message: str) -> None:
    result = cli("--store", "sqlite:///s.db", "store", "prune", "--older-than", age)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"error: --older-than: {message}\n"


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["list", "--debug"], "`socialkit --debug list …`"),
        (
            ["store", "status", "--store", "sqlite:///x.db"],
            "`socialkit --store URL store status …`",
        ),
        (["show", "p1", "-c", "socialkit.toml"], "`socialkit -c FILE show …`"),
    ],
)
def test_a_global_option_after_the_command_says_where_it_goes(
    cli: Cli, argv: list[str], fix: str
) -> None:
    # It said "--debug: no such option of `socialkit list`", as if socialkit had none.
    done = cli(*argv)
    assert (done.code, done.out) == (2, "")
    option = argv[-1] if argv[-1].startswith("-") else argv[-2]
    assert done.err == (
        f"error: {option}: an option of `socialkit` itself, given before the command: {fix}\n"
    )
