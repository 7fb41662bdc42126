"""``socialkit reschedule ID --at TIME``: what ``schedule --key`` points a person to."""

from __future__ import annotations

import datetime as dt
import re
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


def _utc(minutes_from_now: int) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_from_now)
    return f"{moment:%Y-%m-%d %H:%M}"


def test_reschedule_refuses_a_time_past_the_grace_period_as_schedule_does(
    cli: Cli, scheduled: str
) -> None:
    # It used to be moved there, with a note, and the next worker marked it missed.
    refused = cli("reschedule", scheduled, "--at", "2020-01-01 09:00", "--tz", "UTC")
    assert (refused.code, refused.out) == (2, "")
    assert refused.err.startswith("error: --at: 2020-01-01 09:00 UTC for acme-feed was "), (
        refused.err
    )
    assert refused.err.endswith(
        " days ago, past the grace period (3600 s); it would be missed at once; give a later time\n"
    )
    shown = cli("show", scheduled, "--json").json()
    assert (shown["state"], shown["local_time"]) == ("scheduled", "2030-01-01T10:00:00")
    assert shown["history"][-1]["kind"] == "created"  # nothing changed

    late = _utc(-10)
    moved = cli("reschedule", scheduled, "--at", late, "--tz", "UTC")
    assert moved.code == 0, moved.err
    # the minute is typed without its seconds: 10 or 11 minutes ago
    assert re.fullmatch(
        rf"note: {late} UTC is 1[01] minutes in the past for acme-feed; within its grace "
        r"period \(3600 s\), so a worker publishes it at once\n",
        moved.err,
    ), moved.err


def test_reschedule_of_a_missed_one_needs_a_time_within_its_grace(cli: Cli, scheduled: str) -> None:
    assert cli("reschedule", scheduled, "--at", _utc(-30), "--tz", "UTC").code == 0
    # A worker that runs two hours later marks it missed.
    from socialkit.schedule.engine.clock import ManualClock
    from socialkit.schedule.facade import Scheduler

    later = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    with Scheduler("sqlite:///socialkit.db", clock=later) as scheduler:
        scheduler.run(until_idle=True)
        assert scheduler.get(scheduled).state == "missed"
    again = cli("reschedule", scheduled, "--at", _utc(-120), "--tz", "UTC")
    assert again.code == 2
    assert "past the grace period (3600 s); it would be missed at once" in again.err
    back = cli("reschedule", scheduled, "--at", _utc(60), "--tz", "UTC")
    assert (back.code, back.err) == (0, "")
    assert cli("show", scheduled, "--json").json()["state"] == "scheduled"


@pytest.mark.parametrize(
    ("at", "tz", "shown"),
    [
        ("9999-12-31 23:59", "America/New_York", "9999-12-31 23:59 in America/New_York"),
        ("0001-01-01 00:30", "Asia/Tehran", "0001-01-01 00:30 in Asia/Tehran"),
    ],
)
@pytest.mark.parametrize("command", ["schedule", "reschedule"])
def test_a_time_out_of_range_is_a_usage_error_naming_at(
    cli: Cli, scheduled: str, command: str, at: str, tz: str, shown: str
) -> None:
    target = ["post.yaml", "--to", "acme-feed"] if command == "schedule" else [scheduled]
    run = cli(command, *target, "--at", at, "--tz", tz)
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        f"error: --at: {shown} is out of range: its UTC time is outside the years 0001 to 9999\n"
    )


def test_upcoming_from_a_start_out_of_range_is_a_usage_error(cli: Cli) -> None:
    run = cli(
        "upcoming", "--rrule", "FREQ=DAILY", "--tz", "Asia/Tehran", "--start", "0001-01-01 00:30"
    )
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("error: --start: 0001-01-01 00:30 in Asia/Tehran is out of range")
