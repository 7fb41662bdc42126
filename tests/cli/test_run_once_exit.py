"""``run --once`` exits 1 when it left a publication ``failed`` (or ``missed``), so a cron
job or a CI step learns it from the exit code; waiting to retry is not a failure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import socialkit
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.registry import Registry, reset_registry
from socialkit.text.rules import FEED
from tests.cli.conftest import Cli
from tests.cli.plugins import plugin
from tests.cli.test_retry_times import Busy

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-strict"
platform = "strict"
handle = "acme"

[[accounts]]
id = "acme-busy"
platform = "busy"
handle = "acme"
"""


class Strict(socialkit.Platform):
    """Refuses every post (``failed`` with the platform's reason)."""

    name = "strict"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        raise socialkit.Rejected("Validation failed: Text is invalid", status_code=422)


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Strict, Busy)]))
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")


def _schedule_now(cli: Cli, account: str) -> None:
    now = f"{dt.datetime.now(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S}"
    made = cli("schedule", "post.yaml", "--to", account, "--at", now, "--tz", "UTC")
    assert made.code == 0, made.err


def test_run_once_exits_1_when_a_publication_failed(cli: Cli) -> None:
    _schedule_now(cli, "acme-strict")
    _schedule_now(cli, "acme-busy")
    run = cli("run", "--once")
    assert run.code == 1, run.out + run.err
    assert run.out.splitlines()[-1].startswith("claimed 2,")
    assert run.err == (
        "error: this run left 1 publication failed (socialkit list --state failed, "
        "--state missed)\n"
    )
    # the next run has nothing new to say about it: exit 0
    assert cli("run", "--once").code == 0


def test_run_once_exits_0_when_publications_only_wait(cli: Cli) -> None:
    _schedule_now(cli, "acme-busy")
    run = cli("run", "--once")
    assert (run.code, run.err) == (0, "")


class Revoked(socialkit.Platform):
    """The account's token was revoked: only a person can reconnect it (the publication
    waits, attention ``reauth``)."""

    name = "revoked"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        raise socialkit.NeedsReauth("the server refused the token")


def test_run_once_exits_1_when_a_publication_waits_for_a_person(cli: Cli, tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Strict, Busy, Revoked)]))
    with (tmp_path / "socialkit.toml").open("a", encoding="utf-8") as project_file:
        project_file.write(
            '\n[[accounts]]\nid = "acme-revoked"\nplatform = "revoked"\nhandle = "a"\n'
        )
    _schedule_now(cli, "acme-revoked")
    _schedule_now(cli, "acme-busy")  # only waiting to retry: not counted
    run = cli("run", "--once")
    assert run.code == 1, run.out + run.err
    assert run.err == (
        "error: this run left 1 publication waiting for a person (socialkit list --attention)\n"
    )
    # the next run has nothing new to say about it (the account is held): exit 0
    assert cli("run", "--once").code == 0
