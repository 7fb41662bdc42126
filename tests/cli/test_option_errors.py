"""Bad option values as one error line naming the option and the value (exit 2): a blank
``--actor`` on every command taking it, a store URL no store reads, a ``demo --campaign``
that is no campaign directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT, Cli

ACTOR_ERROR = "error: --actor: say who does it, for the history: a name, not blank (got {!r})\n"


@pytest.fixture
def scheduled(cli: Cli, tmp_path: Path) -> str:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00", "--json")
    assert made.code == 0, made.err
    return str(made.json()["publications"][0]["id"])


@pytest.mark.parametrize(
    "command",
    [
        ["approve", "ID"],
        ["reject", "ID"],
        ["cancel", "ID"],
        ["delete", "ID", "--yes"],
        ["reschedule", "ID", "--at", "2030-02-01 10:00"],
        ["resolve", "ID", "--retry"],
        ["pause"],
        ["resume"],
        ["clear-rate-limit", "acme-feed"],
        ["accounts", "reconnect", "acme-feed"],
    ],
)
@pytest.mark.parametrize("blank", [" ", ""])
def test_a_blank_actor_is_a_usage_error_on_every_command(
    cli: Cli, scheduled: str, command: list[str], blank: str
) -> None:
    args = [scheduled if a == "ID" else a for a in command]
    done = cli(*args, "--actor", blank)
    assert (done.code, done.out) == (2, "")
    assert done.err == ACTOR_ERROR.format(blank)
    # nothing happened: the publication is as it was
    assert cli("show", scheduled, "--json").json()["state"] == "scheduled"


def test_a_named_actor_still_goes_into_the_history(cli: Cli, scheduled: str) -> None:
    assert cli("cancel", scheduled, "--actor", "ann").code == 0
    assert cli("show", scheduled, "--json").json()["history"][-1]["actor"] == "ann"


def test_an_unknown_store_url_names_where_it_came_from(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    known = "known schemes: memory://, postgres://, postgresql://, sqlite://"
    given = cli("--store", "mysql://app:secret@db/app", "list")
    assert (given.code, given.out) == (2, "")
    assert given.err == f"error: --store: unknown store URL 'mysql://app:***@db/app'; {known}\n"
    malformed = cli("--store", "sqlite://x.db", "list")
    assert malformed.code == 2
    assert malformed.err.startswith("error: --store: a SQLite store URL looks like")
    assert "'sqlite://x.db'" in malformed.err
    monkeypatch.setenv("SOCIALKIT_STORE", "mysql://db/app")
    from_env = cli("pause")
    assert from_env.code == 2
    assert from_env.err == f"error: $SOCIALKIT_STORE: unknown store URL 'mysql://db/app'; {known}\n"
    monkeypatch.delenv("SOCIALKIT_STORE")
    (tmp_path / "socialkit.toml").write_text(
        STORE_PROJECT.replace("sqlite:///socialkit.db", "mysql://db/app"), encoding="utf-8"
    )
    in_file = cli("list")
    assert in_file.code == 2
    assert in_file.err.startswith("error: store (in the project file): unknown store URL")
    assert "secret" not in given.err + from_env.err + in_file.err


def test_demo_campaign_that_is_no_campaign_directory(cli: Cli, tmp_path: Path) -> None:
    done = cli("demo", "--campaign", "nowhere", "--dir", str(tmp_path / "demo"))
    assert (done.code, done.out) == (2, "")
    assert done.err.startswith("error: --campaign: project file not found")
    assert "(got 'nowhere')" in done.err
    assert not (tmp_path / "demo").exists()


def test_list_cursor_help_says_it_goes_with_the_same_filters(cli: Cli) -> None:
    shown = cli("list", "--help")
    assert "with the same filters" in " ".join(shown.out.split())
