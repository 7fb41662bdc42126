"""The error boundary: one clear line and a non-zero code; a traceback only with --debug."""

from __future__ import annotations

from pathlib import Path

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
    assert "No such command" in result.err


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
