"""A hashtag YAML reads as a comment (``text: Spring is here #coffee``) is a warning in
every command that reads a post file; the post still goes out, as it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import STORE_PROJECT, Cli

WARNING = (
    "text: line 1: YAML reads '#coffee' as a comment, not as part of the text; to keep it, "
    'quote the text ("…") or write it as a block scalar (|)'
)


@pytest.fixture
def post(tmp_path: Path) -> Path:
    path = tmp_path / "post.yaml"
    path.write_text("text: Spring is here #coffee\n", encoding="utf-8")
    return path


def test_validate_warns_and_stays_valid(cli: Cli, post: Path) -> None:
    run = cli("validate", "post.yaml", "--platform", "feed")
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines() == [
        "post.yaml: valid for feed: 1 warning",
        f"  warning  {WARNING}",
    ]


def test_validate_json_has_the_warning(cli: Cli, post: Path) -> None:
    data = cli("validate", "post.yaml", "--platform", "feed", "--json").json()
    assert data["valid"] is True
    [problem] = data["problems"]
    assert (problem["field"], problem["code"], problem["severity"]) == (
        "text",
        "yaml.comment",
        "warning",
    )


def test_publish_prints_the_warning_and_publishes(cli: Cli, project: Path, post: Path) -> None:
    run = cli("publish", "post.yaml", "--to", "acme-feed")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == f"  warning  {WARNING}"
    assert lines[1].startswith("acme-feed (feed): published ")
    data = cli("publish", "post.yaml", "--to", "acme-feed", "--json").json()
    assert [p["code"] for p in data["problems"]] == ["yaml.comment"]


def test_schedule_prints_the_warning_and_schedules(cli: Cli, tmp_path: Path, post: Path) -> None:
    (tmp_path / "socialkit.toml").write_text(STORE_PROJECT, encoding="utf-8")
    run = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-07 09:00")
    assert run.code == 0, run.err
    assert run.out.startswith("scheduled p")
    assert run.err == f"warning: {WARNING}\n"
