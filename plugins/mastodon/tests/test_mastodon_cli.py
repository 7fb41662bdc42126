"""``socialkit auth mastodon`` through the proposed ``register_commands(app)`` hook."""

from __future__ import annotations

import socialkit_mastodon._connect
import typer
from socialkit_mastodon import register_commands
from typer.testing import CliRunner


def test_the_hook_adds_auth_mastodon_with_its_options() -> None:
    app = typer.Typer()

    @app.command()
    def other() -> None:  # a core command, so typer keeps sub-commands as such
        """Something else."""

    register_commands(app)
    result = CliRunner().invoke(app, ["auth", "mastodon", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--instance", "--account", "--secrets", "--scopes", "--client-name"):
        assert option in result.output


def test_the_command_runs_the_walkthrough_with_the_options(monkeypatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(socialkit_mastodon._connect, "main", lambda argv: seen.append(argv) or 3)
    app = typer.Typer()

    @app.command()
    def other() -> None:
        """Something else."""

    register_commands(app)
    register_commands(typer.Typer())  # another app gets its own group
    result = CliRunner().invoke(
        app, ["auth", "mastodon", "--instance", "social.example", "--account", "acme"]
    )
    assert result.exit_code == 3
    assert seen == [
        [
            "auth",
            "--instance",
            "social.example",
            "--account",
            "acme",
            "--secrets",
            ".socialkit/secrets.json",
            "--scopes",
            "read write",
            "--client-name",
            "socialkit",
        ]
    ]
