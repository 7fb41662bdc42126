"""``clear-rate-limit`` says what it lifted: the account's budget and the posts that
waited for the limit. Releasing a post is a clear (exit 0), also when no budget was
left to forget; exit 1 only when nothing at all held the account."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

import socialkit
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.registry import Registry, reset_registry
from socialkit.schedule.facade import Scheduler
from socialkit.text.rules import FEED
from tests.cli.conftest import Cli
from tests.cli.plugins import plugin

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-busy"
platform = "busy"
handle = "acme"
"""


class Busy(socialkit.Platform):
    """Rate-limited for a day: the engine waits (``retry_wait``)."""

    name = "busy"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        raise socialkit.RateLimited("slow down", retry_after=86400)


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Busy)]))
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")


def test_releasing_a_post_with_no_budget_left_is_a_clear(cli: Cli, tmp_path: Path) -> None:
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}"
    made = cli("schedule", "post.yaml", "--to", "acme-busy", "--at", now, "--tz", "UTC", "--json")
    assert made.code == 0, made.err
    pid = str(made.json()["publications"][0]["id"])
    assert cli("run", "--once").code == 0
    assert cli("show", pid, "--json").json()["state"] == "retry_wait"
    # The account's budget is forgotten already (an earlier clear): the post still waits
    # out the day the platform asked for, on its own run_at.
    with sqlite3.connect(tmp_path / "socialkit.db") as db:
        assert db.execute("DELETE FROM budgets").rowcount == 1
    db.close()
    waiting = dt.datetime.fromisoformat(cli("show", pid, "--json").json()["run_at"])
    assert waiting > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)

    done = cli("clear-rate-limit", "--account", "acme-busy", "--actor", "ann")

    assert (done.code, done.err) == (0, "")
    assert done.out == (
        "cleared the rate limit of account acme-busy: no budget held it; "
        "1 publication waiting for it is due now\n"
    )
    due = dt.datetime.fromisoformat(cli("show", pid, "--json").json()["run_at"])
    assert due <= dt.datetime.now(dt.UTC)
    with Scheduler(f"sqlite:///{tmp_path / 'socialkit.db'}") as scheduler:
        events = scheduler.events()
    (cleared,) = [e for e in events if e.kind == "rate_limit_cleared"]
    assert (cleared.account_id, cleared.actor) == ("acme-busy", "ann")
    assert cleared.data == {"budgets": [], "released": [pid]}

    nothing = cli("clear-rate-limit", "--account", "acme-busy")
    assert (nothing.code, nothing.out) == (1, "")
    assert nothing.err == "error: account acme-busy is not rate limited\n"
