"""The error boundary: one clear line and a non-zero code; a traceback only with --debug."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import pytest
import typer

from socialkit.cli._app import make_app, run
from socialkit.errors import ConfigError
from tests.cli.conftest import Cli, run_subprocess


def _app() -> typer.Typer:
    app = make_app()

    @app.command("config-error")
    def config_error() -> None:
        raise ConfigError("accounts[0].timezone: unknown IANA time zone 'Mars/Base'")

    @app.command("bug")
    def bug() -> None:
        raise KeyError("surprise")

    @app.command("exit")
    def exit_three() -> None:
        raise typer.Exit(3)

    @app.command("leaky")
    def leaky() -> None:
        raise ConnectionError("could not reach postgresql://app:pw-s3cret@db.internal/social")

    return app


def test_a_socialkit_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_app(), ["config-error"]) == 2
    err = capsys.readouterr().err
    assert err == "error: accounts[0].timezone: unknown IANA time zone 'Mars/Base'\n"


def test_an_unexpected_error_is_one_line_with_a_hint_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(_app(), ["bug"]) == 1
    err = capsys.readouterr().err
    assert err == "error: KeyError: 'surprise' (run with --debug for details)\n"


def test_debug_lets_the_exception_through() -> None:
    with pytest.raises(KeyError, match="surprise"):
        run(_app(), ["--debug", "bug"])
    with pytest.raises(ConfigError):
        run(_app(), ["--debug", "config-error"])


def test_a_command_exit_code_is_returned(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_app(), ["exit"]) == 3


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli("no-such-command")
    assert result.code == 2
    assert result.err == (
        "error: 'no-such-command': no such command of `socialkit` (see `socialkit --help`)\n"
    )


# Usage errors (found by click while it reads the command line) are one line like every
# other error: what is wrong with which option or argument, and the value given.


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["list", "--bogus"],
            "--bogus: no such option of `socialkit list` (see `socialkit list --help`)",
        ),
        (
            ["list", "--limt", "5"],
            "--limt: no such option of `socialkit list`; did you mean --limit? "
            "(see `socialkit list --help`)",
        ),
        (
            ["store", "prne"],
            "'prne': no such command of `socialkit store`; did you mean prune? "
            "(see `socialkit store --help`)",
        ),
        (["show"], "ID: required argument missing (see `socialkit show --help`)"),
        (
            ["store", "prune"],
            "--older-than: required option missing (see `socialkit store prune --help`)",
        ),
        (["list", "--limit", "abc"], "--limit: should be a valid integer (got 'abc')"),
        (["list", "--limit=0"], "--limit: should be greater than or equal to 1 (got '0')"),
        (
            ["upcoming", "--tz", "UTC", "--rrule", "FREQ=DAILY", "-n0"],
            "--count: should be greater than or equal to 1 (got '0')",
        ),
        (["list", "--state"], "--state: needs a value"),
        (["list", "--json=yes"], "--json: takes no value (it is a switch)"),
        (
            ["show", "a", "b"],
            "got unexpected extra argument(s) (b) (see `socialkit show --help`)",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_option(cli: Cli, argv: list[str], line: str) -> None:
    result = cli(*argv)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"error: {line}\n"


class Colour(enum.StrEnum):
    red = "red"
    blue = "blue"


def test_a_bad_choice_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app()

    @app.command("paint")
    def paint(colour: Annotated[Colour, typer.Option("--colour")]) -> None:
        raise AssertionError("not reached")

    @app.command("other")
    def other() -> None:
        raise AssertionError("not reached")

    assert run(app, ["paint", "--colour", "green"]) == 2
    assert capsys.readouterr().err == "error: --colour: 'green' is not one of 'red', 'blue'\n"
    assert run(app, ["paint"]) == 2
    assert capsys.readouterr().err == (
        "error: --colour: required option missing; choose from: red, blue "
        "(see `socialkit paint --help`)\n"
    )


def test_a_group_without_a_command_still_prints_its_help(cli: Cli) -> None:
    result = cli("store")
    assert result.code == 2
    assert "Commands:" in result.err
    assert "migrate" in result.err


def test_a_missing_project_file_is_one_line(cli: Cli) -> None:
    result = cli("--config", "missing.toml", "accounts", "list")
    assert result.code == 2
    assert result.err == "error: project file not found: missing.toml\n"


def test_a_bad_project_file_names_the_field(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(
        '[[accounts]]\nid = "a"\nplatform = "feed"\nhandle = "a"\ntimezone = "Mars/Base"\n'
    )
    result = cli("accounts", "list")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "accounts[0].timezone: unknown IANA time zone 'Mars/Base'" in result.err


def test_a_project_file_with_a_typo_names_the_field_and_suggests(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(
        '[[accounts]]\nid = "a"\nplatform = "feed"\nhandel = "a"\n'
    )
    result = cli("accounts", "list")
    assert result.code == 2
    assert "accounts[0].handel: unknown field; did you mean 'handle'?" in result.err
    assert "accounts[0].handle: Field required" in result.err


_ACCOUNT = '[[accounts]]\nid = "{id}"\nplatform = "feed"\nhandle = "h"\n'


def test_a_project_file_with_a_duplicate_account_id_names_both(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(_ACCOUNT.format(id="acme") * 2)
    result = cli("accounts", "list")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "accounts: id 'acme' is used twice (accounts[0] and accounts[1])" in result.err


def test_account_ids_that_share_environment_variables_are_refused(cli: Cli, tmp_path: Path) -> None:
    accounts = _ACCOUNT.format(id="acme-feed") + _ACCOUNT.format(id="acme.feed")
    (tmp_path / "socialkit.toml").write_text(accounts)
    result = cli("accounts", "list")
    assert result.code == 2
    assert (
        "accounts[0] 'acme-feed' and accounts[1] 'acme.feed' would read the same environment "
        "variables SOCIALKIT_ACME_FEED_<KEY>" in result.err
    )
    # with a secrets file each account has an entry of its own: no collision
    (tmp_path / "socialkit.toml").write_text(
        '[credentials]\nprovider = "file"\npath = "secrets.json"\n\n' + accounts
    )
    assert cli("accounts", "list").code == 0


def test_a_project_file_that_is_not_toml(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text("workspace = \n")
    result = cli("accounts", "list")
    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "not valid TOML" in result.err


def test_no_traceback_in_a_real_process_unless_debug(tmp_path: Path) -> None:
    plain = run_subprocess("--config", "missing.toml", "accounts", "list", cwd=tmp_path)
    assert plain.code == 2
    assert plain.err == "error: project file not found: missing.toml\n"
    debug = run_subprocess("--debug", "--config", "missing.toml", "accounts", "list", cwd=tmp_path)
    assert debug.code != 0
    assert "Traceback (most recent call last)" in debug.err
    assert "ConfigError: project file not found: missing.toml" in debug.err


def test_config_and_store_options_reach_every_command(cli: Cli, tmp_path: Path) -> None:
    from socialkit.cli._app import state

    project = tmp_path / "elsewhere.toml"
    project.write_text('workspace = "acme"\nstore = "sqlite:///from-file.db"\n')
    assert cli("--config", str(project), "accounts", "list").code == 0
    assert state().config().workspace == "acme"
    assert state().store_url() == f"sqlite:///{tmp_path / 'from-file.db'}"
    assert cli("--config", str(project), "--store", "memory://", "accounts", "list").code == 0
    assert state().store_url() == "memory://"
    assert state().config().store == "memory://"


def test_a_project_file_that_is_not_utf8_is_one_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_bytes(b'workspace = "caf\xe9"\n')
    expected = (
        f"error: {tmp_path / 'socialkit.toml'}: not UTF-8 text (byte 0xe9 at offset 16); "
        "TOML files are UTF-8\n"
    )
    for argv in (["list"], ["accounts", "add", "z", "-p", "feed", "--handle", "z"]):
        result = cli(*argv)
        assert (result.code, result.out, result.err) == (2, "", expected)


def test_a_usage_error_masks_a_password_in_a_url_it_echoes(cli: Cli) -> None:
    url = "postgresql://app:pw-s3cret@db.internal/social"
    stray = cli("list", url)  # --store forgotten: the URL is an extra argument
    assert stray.code == 2
    assert stray.err == (
        "error: got unexpected extra argument(s) (postgresql://app:***@db.internal/social) "
        "(see `socialkit list --help`)\n"
    )
    misplaced = cli("list", "--limit", url)
    assert misplaced.err == (
        "error: --limit: should be a valid integer (got 'postgresql://app:***@db.internal/social')\n"
    )


def test_an_unexpected_error_masks_a_password_in_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_app(), ["leaky"]) == 1
    assert capsys.readouterr().err == (
        "error: ConnectionError: could not reach postgresql://app:***@db.internal/social "
        "(run with --debug for details)\n"
    )


def test_an_account_without_a_project_file_says_no_file_was_found(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIALKIT_CONFIG", raising=False)
    (tmp_path / "post.yaml").write_text("text: Nowhere to go\n")
    expected = (
        "unknown account 'acme': no project file was found (socialkit.toml in this "
        "directory or a parent, $SOCIALKIT_CONFIG, or --config FILE); add one with "
        "`socialkit accounts add acme --platform NAME --handle HANDLE`\n"
    )
    # The option that named the account leads the message; `accounts check ID` has none.
    for argv, field in (
        (["publish", "post.yaml", "--to", "acme"], "--to: "),
        (["schedule", "post.yaml", "--to", "acme", "--at", "2030-01-01 10:00"], "--to: "),
        (["accounts", "check", "acme"], ""),
    ):
        result = cli(*argv)
        assert (result.code, result.out, result.err) == (2, "", f"error: {field}{expected}")
