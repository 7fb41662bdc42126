"""docs/cli.md and the command line agree: every command and option that exists is
documented, and every command and option the page names exists with that spelling."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from socialkit.cli import build_app

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _tree() -> dict[str, Any]:
    """``{"list": <command>, "store prune": <command>, ...}`` and the root under ""."""
    import typer.main

    root = typer.main.get_command(build_app())
    found: dict[str, Any] = {"": root}

    def walk(command: Any, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            full = f"{path} {name}".strip()
            found[full] = sub
            walk(sub, full)

    walk(root, "")
    return found


def _options(command: Any) -> set[str]:
    names = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tree() -> dict[str, Any]:
    return _tree()


def test_every_command_is_documented(page: str, tree: dict[str, Any]) -> None:
    missing = [
        path
        for path in tree
        if path and f"`socialkit {path}" not in page and f"`{path}" not in page
    ]
    assert missing == []


def test_every_option_is_documented(page: str, tree: dict[str, Any]) -> None:
    missing = sorted(
        f"{path or 'socialkit'} {option}"
        for path, command in tree.items()
        for option in _options(command) - {"--help"}
        if option not in page
    )
    assert missing == []


_GLOBAL_WITH_VALUE = {"-c", "--config", "--store"}


def _invocations(page: str) -> list[list[str]]:
    """The words of every ``socialkit ...`` in a console line or an inline code span."""
    spans = re.findall(r"^\$ (socialkit .*)$", page, re.M)
    spans += re.findall(r"`(socialkit [^`]*)`", page)
    return [span.split()[1:] for span in spans]


def test_every_command_the_page_names_exists(page: str, tree: dict[str, Any]) -> None:
    unknown = []
    for words in _invocations(page):
        while words and words[0].startswith("-"):  # global options before the command
            words = words[2:] if words[0] in _GLOBAL_WITH_VALUE else words[1:]
        if not words or words[0] in ("COMMAND", "--help", "-h"):
            continue
        path = words[0]
        if path not in tree:
            unknown.append(" ".join(words))
            continue
        is_group = bool(getattr(tree[path], "commands", None))
        sub = words[1] if len(words) > 1 else ""
        if is_group and sub[:1].isalpha() and f"{path} {sub}" not in tree:
            unknown.append(" ".join(words))
    assert unknown == []


# Options the page shows on purpose as mistakes (in the example of a usage error).
_SHOWN_AS_WRONG = {"--limt"}


def test_every_option_the_page_names_exists(page: str, tree: dict[str, Any]) -> None:
    known = set().union(*(_options(c) for c in tree.values())) | {"--help"}
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", page))
    assert sorted(named - known - _SHOWN_AS_WRONG) == []
