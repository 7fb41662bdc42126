"""A feed account declared in a project file writes beside the file, whatever the cwd."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

import socialkit
from socialkit.config import append_account
from socialkit.platforms.feed import register_platforms as feed_plugin
from socialkit.platforms.registry import Registry, reset_registry
from tests.cli.conftest import Cli
from tests.cli.plugins import plugin

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
settings = { directory = "feeds/acme" }

[[accounts]]
id = "acme-default"
platform = "feed"
handle = "acme default"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``tmp_path/project/socialkit.toml``; the working directory is ``tmp_path/elsewhere``."""
    directory = tmp_path / "project"
    directory.mkdir()
    path = directory / "socialkit.toml"
    path.write_text(PROJECT, encoding="utf-8")
    (directory / "post.yaml").write_text("text: Spring blend\n", encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def _entries(directory: Path) -> list[Path]:
    return sorted((directory / "posts").glob("*.json"))


def test_loading_makes_a_relative_and_the_default_directory_absolute(
    project: Path, elsewhere: Path
) -> None:
    relative = Path(os.path.relpath(project, elsewhere))  # ../project/socialkit.toml
    config = socialkit.load_config(relative)
    assert [a.settings["directory"] for a in config.accounts] == [
        str(project.parent / "feeds" / "acme"),
        str(project.parent / "socialkit-feed" / "acme_default"),  # the handle made safe
    ]


def test_publish_now_with_loaded_accounts_writes_beside_the_project_file(
    project: Path, elsewhere: Path
) -> None:
    config = socialkit.load_config(project)
    results = socialkit.publish_now(socialkit.Post(text="Spring blend"), list(config.accounts))
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    assert len(_entries(project.parent / "feeds" / "acme")) == 1
    assert len(_entries(project.parent / "socialkit-feed" / "acme_default")) == 1
    assert list(elsewhere.iterdir()) == []  # no ./feeds/ or ./socialkit-feed/ here


def test_the_cli_publishes_beside_the_project_file(
    cli: Cli, project: Path, elsewhere: Path
) -> None:
    run = cli(
        "-c", "../project/socialkit.toml", "publish", str(project.parent / "post.yaml"),
        "--to", "acme-feed", "--to", "acme-default", "--json",
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert len(_entries(project.parent / "feeds" / "acme")) == 1
    assert len(_entries(project.parent / "socialkit-feed" / "acme_default")) == 1
    assert list(elsewhere.iterdir()) == []


def test_a_worker_in_another_directory_writes_where_the_store_says(
    cli: Cli, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scheduled from one directory, published by ``run --once`` from another: one feed,
    beside the project file, and the store's copy of the account names it."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    post = str(project.parent / "post.yaml")
    run = cli("-c", str(project), "schedule", post, "--to", "acme-feed", "--at", now, "--tz", "UTC")
    assert run.code == 0, run.err
    monkeypatch.chdir(second)
    run = cli("-c", str(project), "run", "--once")
    assert run.code == 0, run.out + run.err
    feed = project.parent / "feeds" / "acme"
    assert len(_entries(feed)) == 1
    assert list(first.iterdir()) == list(second.iterdir()) == []
    with socialkit.Scheduler(socialkit.load_config(project).store_url()) as scheduler:
        stored = {r.account.id: r.account.settings for r in scheduler.accounts()}
    assert stored["acme-feed"]["directory"] == str(feed)


def test_a_home_directory_is_expanded_and_an_absolute_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "socialkit.toml"
    path.write_text(
        '[[accounts]]\nid = "a"\nplatform = "feed"\nhandle = "a"\n'
        'settings = { directory = "~/feeds/a" }\n\n'
        f'[[accounts]]\nid = "b"\nplatform = "feed"\nhandle = "b"\n'
        f"settings = {{ directory = {str(tmp_path / 'abs')!r} }}\n",
        encoding="utf-8",
    )
    a, b = socialkit.load_config(path).accounts
    assert a.settings["directory"] == str(tmp_path / "home" / "feeds" / "a")
    assert b.settings["directory"] == str(tmp_path / "abs")


def test_an_account_made_in_code_still_writes_in_the_current_directory(
    elsewhere: Path,
) -> None:
    account = socialkit.Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": "out"}
    )
    [result] = socialkit.publish_now(socialkit.Post(text="from code"), account)
    assert result.ok, result.error
    assert len(_entries(elsewhere / "out")) == 1


def test_an_account_added_through_a_link_is_read_from_the_link_s_directory(
    tmp_path: Path,
) -> None:
    """Like ``store`` and ``media_dir``: relative to where the project file is named."""
    real, linked = tmp_path / "real", tmp_path / "linked"
    real.mkdir()
    linked.mkdir()
    (real / "socialkit.toml").write_text('workspace = "acme"\n', encoding="utf-8")
    (linked / "socialkit.toml").symlink_to(real / "socialkit.toml")
    account = socialkit.Account(id="acme-feed", platform="feed", handle="acme")
    config = append_account(linked / "socialkit.toml", account)
    expected = str(linked / "socialkit-feed" / "acme")
    assert config.account("acme-feed").settings["directory"] == expected
    assert config == socialkit.load_config(linked / "socialkit.toml")


class _Paths(socialkit.Platform):
    """Declares its ``key_file`` setting a path; a ``broken`` setting makes the hook fail."""

    name = "paths"
    contract = 1
    capabilities = socialkit.Capabilities(
        text=socialkit.text.rules.FEED, delete=False, requires_credentials=False
    )

    def project_settings(self, account, base_dir):
        if account.setting("broken"):
            raise ValueError("key_file must be a string")
        return {**account.settings, "key_file": str(base_dir / account.settings["key_file"])}

    async def publish(self, draft, ctx):
        raise NotImplementedError


def test_any_platform_can_take_its_paths_from_the_project_file(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[feed_plugin, plugin(_Paths)]))
    path = tmp_path / "socialkit.toml"
    account = '[[accounts]]\nid = "{id}"\nplatform = "{platform}"\nhandle = "a"\n'
    account += "settings = {settings}\n"
    path.write_text(
        account.format(id="p", platform="paths", settings='{ key_file = "keys/a.pem" }')
        + account.format(id="gone", platform="myspace", settings='{ key_file = "keys/a.pem" }'),
        encoding="utf-8",
    )
    paths, gone = socialkit.load_config(path).accounts
    assert paths.settings == {"key_file": str(tmp_path / "keys" / "a.pem")}
    assert gone.settings == {"key_file": "keys/a.pem"}  # not installed: as written
    path.write_text(
        account.format(id="p", platform="paths", settings="{ key_file = 1, broken = true }"),
        encoding="utf-8",
    )
    with pytest.raises(socialkit.ConfigError) as info:
        socialkit.load_config(path)
    assert str(info.value) == (
        f"{path}: accounts[0].settings: the paths platform cannot read them: "
        "ValueError: key_file must be a string"
    )
