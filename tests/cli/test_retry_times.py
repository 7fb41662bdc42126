"""``show`` and ``run --once`` say when a ``retry_wait`` publication is tried again, and
when an ``unknown`` one is reconciled: in the publication's zone and in UTC."""

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

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-busy"
platform = "busy"
handle = "acme"
timezone = "Asia/Tehran"

[[accounts]]
id = "acme-lost"
platform = "lost"
handle = "acme"
timezone = "Asia/Tehran"

[[accounts]]
id = "acme-utc"
platform = "lost"
handle = "acme"
timezone = "UTC"
"""


class Busy(socialkit.Platform):
    """Rate-limited for ten minutes: the engine waits (``retry_wait``)."""

    name = "busy"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        raise socialkit.RateLimited("slow down", retry_after=600)


class Lost(socialkit.Platform):
    """The request went out and no answer came back (``unknown``)."""

    name = "lost"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        raise socialkit.UnknownOutcome("read timeout after the request was sent")


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Busy, Lost)]))
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")


def _schedule_now(cli: Cli, account: str) -> str:
    now = f"{dt.datetime.now(ZoneInfo('Asia/Tehran')):%Y-%m-%d %H:%M:%S}"
    made = cli("schedule", "post.yaml", "--to", account, "--at", now, "--json")  # Tehran
    assert made.code == 0, made.err
    return str(made.json()["publications"][0]["id"])


def _when(run_at: dt.datetime) -> str:
    local = run_at.astimezone(ZoneInfo("Asia/Tehran"))
    return f"{local:%Y-%m-%d %H:%M:%S} Asia/Tehran ({run_at:%Y-%m-%d %H:%M:%S} UTC)"


def _run_at(cli: Cli, pid: str) -> dt.datetime:
    shown = cli("show", pid, "--json").json()
    return dt.datetime.fromisoformat(shown["run_at"])


def test_show_says_when_a_retry_wait_publication_is_tried_again(cli: Cli) -> None:
    pid = _schedule_now(cli, "acme-busy")
    assert cli("run", "--once").code == 0
    run_at = _run_at(cli, pid)
    shown = cli("show", pid)
    assert shown.code == 0, shown.err
    [line] = [x for x in shown.out.splitlines() if x.startswith("  next attempt ")]
    assert line.startswith(f"  next attempt {_when(run_at)}, in ")
    # the zone's wall time, not UTC relabelled: Tehran is UTC+03:30
    assert _when(run_at).split(" Asia")[0] != f"{run_at:%Y-%m-%d %H:%M:%S}"
    assert dt.timedelta(minutes=9) < run_at - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=10)


def test_run_once_says_when_each_waiting_publication_is_tried_again(cli: Cli) -> None:
    pid = _schedule_now(cli, "acme-busy")
    run = cli("run", "--once")
    assert run.code == 0, run.err
    *changes, retry, summary = run.out.splitlines()
    assert changes[-1].endswith(
        f"{pid} acme-busy: publishing → retry_wait (rate limited: slow down)"
    )
    assert retry.startswith(f"{pid} acme-busy: retry_wait, next attempt {_when(_run_at(cli, pid))}")
    assert summary.startswith("claimed 1,")


def test_show_and_run_once_say_when_an_unknown_outcome_is_reconciled(cli: Cli) -> None:
    pid = _schedule_now(cli, "acme-lost")
    run = cli("run", "--once")
    assert run.code == 0, run.err
    run_at = _run_at(cli, pid)
    assert f"{pid} acme-lost: unknown, reconciled {_when(run_at)}" in run.out
    [line] = [x for x in cli("show", pid).out.splitlines() if x.startswith("  reconciled ")]
    assert line.startswith(f"  reconciled {_when(run_at)}, in ")
    assert line.endswith("the engine looks for the post before anything is sent again")


def test_an_account_in_utc_gets_the_time_once(cli: Cli) -> None:
    # It printed "reconciled 2026-11-29 06:27:52 UTC (2026-11-29 06:27:52 UTC)".
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}"
    made = cli("schedule", "post.yaml", "--to", "acme-utc", "--at", now, "--json")
    assert made.code == 0, made.err
    pid = str(made.json()["publications"][0]["id"])
    assert cli("run", "--once").code == 0
    run_at = _run_at(cli, pid)
    [line] = [x for x in cli("show", pid).out.splitlines() if x.startswith("  reconciled ")]
    assert line.startswith(f"  reconciled {run_at:%Y-%m-%d %H:%M:%S} UTC, in ")


def test_a_scheduled_publication_has_no_next_attempt_line(cli: Cli) -> None:
    pid = _schedule_now(cli, "acme-busy")
    shown = cli("show", pid)  # scheduled: its due time is already printed
    assert "next attempt" not in shown.out
    assert "reconciled" not in shown.out
