"""``run --once`` says what held due posts back: an ``unknown`` outcome holding its
account (its later posts wait behind it), or the lease of a worker killed mid-publish
(nothing of its account is claimed until the lease ends)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest

from socialkit.platforms.registry import Registry, reset_registry
from socialkit.schedule.stores import store_from_url
from tests.cli.conftest import Cli
from tests.cli.plugins import plugin
from tests.cli.test_retry_times import Lost

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-lost"
platform = "lost"
handle = "acme"
"""


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> None:
    reset_registry(Registry(plugins=[plugin(Lost)]))
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")


def _ids(cli: Cli) -> list[str]:
    listed = cli("list", "--json")
    assert listed.code == 0, listed.err
    return [p["id"] for p in listed.json()["publications"]]  # in due order


def test_run_once_notes_an_account_held_by_an_unknown_outcome(cli: Cli) -> None:
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}"
    for key in ("one", "two"):
        made = cli(
            "schedule", "post.yaml", "--to", "acme-lost", "--at", now, "--tz", "UTC", "--key", key
        )
        assert made.code == 0, made.err
    first, _ = _ids(cli)
    run = cli("run", "--once")
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[-1].startswith("claimed 1,")
    assert re.fullmatch(
        f"note: account acme-lost is held by {first}, whose outcome is unknown \\(reconciled "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in \d+ s\); 1 publication due waits behind it, "
        "so none overtakes a post that may be live\n",
        run.err,
    ), run.err


def test_run_once_notes_a_killed_workers_lease(cli: Cli, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    for key in ("one", "two"):
        made = cli(
            "schedule",
            "post.yaml",
            "--to",
            "acme-lost",
            "--at",
            f"{now:%Y-%m-%d %H:%M:%S}",
            "--tz",
            "UTC",
            "--key",
            key,
        )
        assert made.code == 0, made.err

    async def claimed_by_a_worker_then_killed() -> dt.datetime:
        store = store_from_url(f"sqlite:///{tmp_path}/socialkit.db")
        await store.open()
        try:
            (claim,) = await store.claim("killed", now=now, limit=1, lease=dt.timedelta(hours=1))
        finally:
            await store.close()
        return claim.lease_expires_at

    ends = asyncio.run(claimed_by_a_worker_then_killed())
    run = cli("run", "--once")
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[-1].startswith("claimed 0,")
    assert run.err == (
        "note: 1 publication is held by a worker's lease that has not expired (a worker "
        "still sending, or one stopped without handing its work back, killed say); the "
        f"earliest lease ends {ends:%Y-%m-%d %H:%M:%S} UTC, in 60 minutes: their accounts' "
        "posts wait until then (a run after it takes them up)\n"
    )


def test_show_says_which_unknown_outcome_a_post_waits_behind(cli: Cli) -> None:
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}"
    for key in ("one", "two"):
        made = cli(
            "schedule", "post.yaml", "--to", "acme-lost", "--at", now, "--tz", "UTC", "--key", key
        )
        assert made.code == 0, made.err
    first, second = _ids(cli)
    assert cli("run", "--once").code == 0
    shown = cli("show", second)
    assert f"waits behind {first}, whose outcome is unknown (reconciled " in shown.out
    assert "the account's posts go out in order" in shown.out
    assert cli("show", second, "--json").json()["held_by"] == first
    assert cli("show", first, "--json").json()["held_by"] is None
