"""Control characters from post files never reach the terminal raw in text output: ESC
starts escape sequences (clear the screen, retitle the window, fake a line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT, Cli

ESC = "\x1b"


def test_terminal_safe_writes_out_c0_c1_and_esc() -> None:
    from socialkit.cli._app import terminal_safe

    assert terminal_safe("a\x1b[2Jb\x9b31m\rc\x07\x7f") == "a\\x1b[2Jb\\x9b31m\\x0dc\\x07\\x7f"
    assert terminal_safe("tab\tand\nline ok, ünï ✓") == "tab\tand\nline ok, ünï ✓"


def test_text_output_escapes_what_a_post_file_holds(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text(
        'text: "hello \\e[31mRED\\e[0m"\ncampaign: "\\e[2J\\e]0;pwned\\a"\n', encoding="utf-8"
    )
    runs = [cli("validate", "post.yaml", "--platform", "feed")]
    runs.append(cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2031-01-01 10:00"))
    runs.append(cli("list"))
    pid = runs[-1].out.split()[0]
    runs.append(cli("show", pid))
    for run in runs:
        assert run.code == 0, run.err
        assert ESC not in run.out + run.err
        assert "\x07" not in run.out + run.err
    assert "\\x1b[2J\\x1b]0;pwned\\x07" in runs[2].out
    assert "hello \\x1b[31mRED" in runs[3].out


def test_an_error_message_is_escaped_too(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    shown = cli("show", "p\x1b[2J")
    assert shown.code != 0
    assert ESC not in shown.err


def test_json_output_escapes_c1_controls_too(capsys: pytest.CaptureFixture[str]) -> None:
    from socialkit.cli._app import emit

    emit({"text": "a\x9b2Jb\x1b[0m\x7f"}, as_json=True)
    out = capsys.readouterr().out
    assert out == '{\n  "text": "a\\u009b2Jb\\u001b[0m\\u007f"\n}\n'
    assert json.loads(out) == {"text": "a\x9b2Jb\x1b[0m\x7f"}
