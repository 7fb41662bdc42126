"""``socialkit auth mastodon`` through the core's ``register_commands(app)`` hook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import socialkit_mastodon._connect
import typer
from socialkit_mastodon._cli import register_commands
from typer.testing import CliRunner

from socialkit.cli import build_app


def test_the_command_module_is_in_the_socialkit_commands_entry_point_group() -> None:
    [entry] = [e for e in entry_points(group="socialkit.commands") if e.name == "mastodon"]
    assert entry.value == "socialkit_mastodon._cli"
    assert entry.dist is not None
    assert entry.dist.name == "socialkit-mastodon"


def test_socialkit_auth_mastodon_help_works_on_the_socialkit_command_line() -> None:
    app = build_app()
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0, top.output
    assert "auth" in top.output
    result = runner.invoke(app, ["auth", "mastodon", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--instance", "--account", "--secrets", "--scopes", "--client-name"):
        assert option in result.output


def test_socialkit_auth_mastodon_help_in_a_process_of_its_own() -> None:
    code = "import sys; from socialkit.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "auth", "mastodon", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--instance" in done.stdout
    assert "plugin" not in done.stderr  # no plugin was reported broken


def test_loading_the_command_module_imports_neither_httpx_nor_the_adapter() -> None:
    # `socialkit --help` loads the module; it must stay cheap (STYLE: no heavy imports).
    code = (
        "import sys, json, socialkit_mastodon._cli;"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('httpx', 'httpcore') or m.startswith('socialkit_mastodon.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out) == ["socialkit_mastodon._cli"]


def test_the_package_names_are_imported_on_first_use() -> None:
    import socialkit_mastodon

    assert socialkit_mastodon.Mastodon.name == "mastodon"
    assert set(socialkit_mastodon.__all__) <= set(dir(socialkit_mastodon))
    for name in socialkit_mastodon.__all__:
        assert getattr(socialkit_mastodon, name) is not None
    assert "register_platforms" in socialkit_mastodon.__all__


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


CLI_DOCS = Path(__file__).parents[3] / "docs" / "cli.md"


def _documented_options() -> list[str]:
    """``--instance URL``, … as the table of docs/cli.md's ``socialkit auth mastodon`` shows them."""
    if not CLI_DOCS.exists():  # an installed distribution without the checkout's docs
        pytest.skip(f"{CLI_DOCS} is not here")
    text = CLI_DOCS.read_text(encoding="utf-8")
    section = text.split("## `socialkit auth mastodon`", 1)[1].split("\n## ", 1)[0]
    options = re.findall(r"^\| `(--[a-z-]+ [A-Z]+)` \|", section, re.M)
    assert len(options) == 5, section
    return options


def test_help_names_each_value_as_the_docs_do() -> None:
    app = build_app()
    result = CliRunner().invoke(app, ["auth", "mastodon", "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "<str>" not in result.output
    for option in _documented_options():
        assert re.search(rf"^\s+{re.escape(option)}\s", result.output, re.M), (
            option,
            result.output,
        )


def test_the_module_walkthrough_help_names_each_value_as_the_docs_do(capsys) -> None:
    with pytest.raises(SystemExit):
        socialkit_mastodon._connect.main(["auth", "--help"])
    out = capsys.readouterr().out
    for option in _documented_options():
        assert option in out, (option, out)
