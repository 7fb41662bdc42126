"""``socialkit publish FILE --to ACCOUNT``: through publish_now, one result per account."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.plugins import Tiny
from tests.conftest import PNG_1x1

TINY_ACCOUNT = """
[[accounts]]
id = "acme-tiny"
platform = "tiny"
handle = "acme"
"""


@pytest.fixture
def post(tmp_path: Path) -> Path:
    (tmp_path / "dot.png").write_bytes(PNG_1x1)
    path = tmp_path / "post.yaml"
    path.write_text(
        "text: Spring is here\n"
        "media: [{path: dot.png, alt_text: a dot}]\n"
        "link: {url: 'https://example.com/spring'}\n"
        "campaign: spring\n",
        encoding="utf-8",
    )
    return path


def test_publishes_to_a_feed_account(cli: Cli, tmp_path: Path, project: Path, post: Path) -> None:
    run = cli("publish", "post.yaml", "--to", "acme-feed")
    assert run.code == 0, run.err
    out = tmp_path / "out" / "acme"
    [line] = run.out.splitlines()
    assert line.startswith("acme-feed (feed): published file://")
    assert line.endswith("(1 part)")
    [entry_file] = (out / "posts").glob("*.json")
    entry = json.loads(entry_file.read_text())
    assert entry["parts"][0]["media"][0]["alt_text"] == "a dot"
    # the project's campaign put its UTM parameters on the link
    assert "utm_campaign=spring" in entry["link"]["url"]
    assert len(xml.dom.minidom.parse(str(out / "feed.atom")).getElementsByTagName("entry")) == 1


def test_json_has_one_result_per_account_with_the_receipt(
    cli: Cli, tmp_path: Path, project: Path, post: Path
) -> None:
    data = cli("publish", "post.yaml", "--to", "acme-feed", "--json").json()
    assert data["published"] is True
    [result] = data["results"]
    assert (result["account"], result["platform"], result["ok"]) == ("acme-feed", "feed", True)
    assert result["receipt"]["parts"][0]["url"].startswith("file://")
    assert result["error"] is None


@pytest.mark.usefixtures("with_tiny")
def test_an_account_the_post_does_not_fit_does_not_stop_the_others(
    cli: Cli, tmp_path: Path, project: Path, post: Path
) -> None:
    project.write_text(project.read_text() + TINY_ACCOUNT)
    run = cli("publish", "post.yaml", "--to", "acme-tiny", "--to", "acme-feed", "--json")
    assert run.code == 1
    tiny, feed = run.json()["results"]
    assert feed["ok"] is True
    assert tiny["ok"] is False
    assert tiny["error"]["type"] == "InvalidPost"
    [problem] = tiny["problems"]
    assert (problem["field"], problem["limit"], problem["account"]) == ("text", 10, "acme-tiny")
    assert Tiny.published == []
    text = cli("publish", "post.yaml", "--to", "acme-tiny").out.splitlines()
    assert text[0] == "acme-tiny (tiny): not sent, the post is invalid here"
    assert text[1].split()[:3] == ["error", "acme-tiny", "(tiny)"]


def test_an_invalid_file_publishes_nothing(cli: Cli, tmp_path: Path, project: Path) -> None:
    (tmp_path / "bad.yaml").write_text("text: hi\nmedia: [gone.png]\n")
    run = cli("publish", "bad.yaml", "--to", "acme-feed")
    assert run.code == 1
    assert run.out.splitlines()[1].split()[:2] == ["error", "media[0].path:"]
    assert not (tmp_path / "out").exists()


def test_an_unknown_account_is_one_line(cli: Cli, project: Path, post: Path) -> None:
    run = cli("publish", "post.yaml", "--to", "acme-x")
    assert run.code == 2
    assert run.err == (
        "error: --to: unknown account 'acme-x' (accounts in the project: acme-feed)\n"
    )


def test_to_is_required(cli: Cli, post: Path) -> None:
    run = cli("publish", "post.yaml")
    assert run.code == 2
    assert run.err == ("error: --to: required option missing (see `socialkit publish --help`)\n")
