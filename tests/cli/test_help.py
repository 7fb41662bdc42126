"""Help that reads well: every value an option or argument of socialkit's own commands
takes has a name in capitals (``--at TIME``, ``ID``), never a type placeholder
(``<str>``) or a lower-case parameter name."""

from __future__ import annotations

from typing import Any

import typer.main

from socialkit.cli import build_app
from tests.cli.conftest import Cli


def _own_commands() -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            full = f"{path} {name}".strip()
            callback = getattr(sub, "callback", None)
            if callback is not None and callback.__module__.startswith("socialkit.cli"):
                found[full] = sub
            walk(sub, full)

    walk(typer.main.get_command(build_app()), "")
    return found


def test_every_value_has_a_name_in_capitals() -> None:
    commands = _own_commands()
    assert {"measure", "store copy", "accounts check", "run"} <= set(commands)
    unnamed = []
    for path, command in commands.items():
        for param in command.params:
            takes_value = param.param_type_name == "argument" or not param.is_flag
            metavar = param.metavar
            if takes_value and (metavar is None or metavar != metavar.upper()):
                unnamed.append(f"{path} {param.name}")
    assert unnamed == []


def test_the_help_shows_the_names(cli: Cli) -> None:
    help_text = cli("measure", "--help").out
    assert "Usage: socialkit measure [OPTIONS] {TEXT}" in help_text
    assert "--platform NAME" in help_text
    assert "--content-warning TEXT" in help_text
    assert "<str>" not in help_text.replace("TEXT <str>", "")
    assert "[ID]..." in cli("accounts", "check", "--help").out
    assert "[[ID]" not in cli("accounts", "check", "--help").out


def test_every_post_file_argument_points_to_the_format_and_no_markup_shows(cli: Cli) -> None:
    for command in ("validate", "publish", "schedule", "queue"):
        assert "(see docs/cli.md#post-files)" in cli(command, "--help").out, command
    for path, command in _own_commands().items():
        assert "``" not in (command.help or ""), f"{path}: reST markup in the help"
