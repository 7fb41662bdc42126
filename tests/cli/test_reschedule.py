"""``socialkit reschedule ID --at TIME``: what ``schedule --key`` points a person to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli

PROJECT = """\
store = "sqlite:///socialkit.db"

[[accounts]]
id = "acme-feed"
platform = "feed"
handle = "acme"
timezone = "Europe/Berlin"
"""


@pytest.fixture
def scheduled(cli: Cli, tmp_path: Path) -> str:
    (tmp_path / "socialkit.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "post.yaml").write_text("text: Moved around\n", encoding="utf-8")
    made = cli("schedule", "post.yaml", "--to", "acme-feed", "--at", "2030-01-01 10:00", "--json")
    assert made.code == 0, made.err
    return str(made.json()["publications"][0]["id"])


def test_reschedule_moves_it_in_its_own_zone_and_explains_the_clocks(
    cli: Cli, scheduled: str
) -> None:
    moved = cli("reschedule", scheduled, "--at", "2030-03-31 02:30", "--actor", "ann")
    assert moved.code == 0, moved.err
    assert moved.out.startswith(f"rescheduled {scheduled}  scheduled        2030-03-31 02:30")
    assert "Europe/Berlin" in moved.out
    assert moved.err == (
        "note: 2030-03-31 02:30 Europe/Berlin does not exist (the clocks skip it); it fires "
        "at 03:30 CEST for acme-feed\n"
    )
    shown = cli("show", scheduled, "--json").json()
    assert (shown["local_time"], shown["zone"]) == ("2030-03-31T02:30:00", "Europe/Berlin")
    assert shown["history"][-1]["kind"] == "rescheduled"
    assert shown["history"][-1]["actor"] == "ann"
    in_utc = cli("reschedule", scheduled, "--at", "2030-04-01 09:00", "--tz", "UTC")
    assert in_utc.code == 0, in_utc.err
    assert cli("show", scheduled, "--json").json()["due_at"] == "2030-04-01T09:00:00+00:00"


def test_reschedule_refuses_bad_times_and_what_was_sent(cli: Cli, scheduled: str) -> None:
    bad = cli("reschedule", scheduled, "--at", "soon")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err.startswith("error: --at: cannot read local time 'soon'")
    zone = cli("reschedule", scheduled, "--at", "2030-01-01 10:00", "--tz", "Mars/Base")
    assert zone.err.startswith("error: --tz: unknown IANA time zone 'Mars/Base'")
    assert cli("cancel", scheduled).code == 0
    refused = cli("reschedule", scheduled, "--at", "2030-01-01 10:00")
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.startswith(
        f"error: cannot reschedule publication {scheduled}: it is cancelled"
    )
