"""``socialkit delete`` on a feed post: from any directory, and never a post it did not remove."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
"""


@pytest.fixture
def published(tmp_path: Path, cli: Cli) -> tuple[str, Path]:
    """A post published by ``run --once`` from the project directory; (id, feed directory)."""
    (tmp_path / "socialkit.toml").write_text(PROJECT)
    (tmp_path / "post.yaml").write_text('text: "Hello from the scheduler"\n')
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    run = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", now, "--tz", "UTC", "--json")
    assert run.code == 0, run.err
    [publication] = run.json()["publications"]
    assert cli("run", "--once").code == 0
    return publication["id"], tmp_path / "socialkit-feed" / "acme"


def test_delete_from_another_directory_takes_the_post_down(
    published: tuple[str, Path], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publication_id, feed = published
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = cli("-c", str(tmp_path / "socialkit.toml"), "delete", publication_id, "--yes")
    assert run.code == 0, run.err
    assert "Hello from the scheduler" not in (feed / "index.html").read_text()
    assert list(elsewhere.iterdir()) == []


def test_delete_of_a_post_not_in_the_feed_leaves_it_published(
    published: tuple[str, Path], cli: Cli
) -> None:
    publication_id, feed = published
    for entry in (feed / "posts").glob("*.json"):
        entry.unlink()
    run = cli("delete", publication_id, "--yes")
    assert run.code == 1
    assert "was not deleted" in run.err
    assert "is not in" in run.err
    assert "run delete again" not in run.err
    assert cli("show", publication_id, "--json").json()["state"] == "published"
