"""``socialkit upcoming --after``: what follows a previous occurrence, whatever today is.

Without ``--start`` the rule used to start now, so ``--after`` a time before today
listed from today, and ``FREQ=DAILY`` fired at the current minute rather than at the
previous occurrence's time of day.
"""

from __future__ import annotations

import json

from tests.cli.conftest import Cli


def test_after_without_start_continues_from_the_previous_occurrence(cli: Cli) -> None:
    done = cli("upcoming", "--rrule", "FREQ=DAILY", "--tz", "UTC", "--after", "2026-01-01 09:00",
               "-n", "2", "--json")  # fmt: skip
    assert (done.code, done.err) == (0, "")
    data = json.loads(done.out)
    assert data["start"] == "2026-01-01T09:00:00"
    assert [o["local"] for o in data["occurrences"]] == [
        "2026-01-02T09:00:00",
        "2026-01-03T09:00:00",
    ]


def test_after_before_an_explicit_start_says_it_lists_from_the_start(cli: Cli) -> None:
    done = cli("upcoming", "--rrule", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "--tz", "UTC",
               "--start", "2026-01-05", "--after", "2026-01-01 09:00", "-n", "1")  # fmt: skip
    assert done.code == 0
    assert done.err == (
        "note: --after 2026-01-01 09:00:00 is before the rule's start 2026-01-05 00:00:00; "
        "listing from the start\n"
    )
    assert done.out.splitlines()[1].startswith("Mon 2026-01-05 09:00")


def test_a_start_too_late_for_dates_names_start_not_rrule(cli: Cli) -> None:
    # It said "--rrule: year 10099 is out of range" for a valid rule.
    for start in ("9999-12-01 09:00", "9900-01-01 00:00"):
        done = cli("upcoming", "--rrule", "FREQ=DAILY", "--tz", "Europe/Berlin",
                   "--start", start, "-n", "3")  # fmt: skip
        assert (done.code, done.out) == (2, "")
        assert done.err == (
            f"error: --start: {start} is too late: the rule's first time is looked for up to "
            "100 years after the start, past the year 9999 from 9900 on; give an earlier "
            "--start\n"
        )
    ok = cli("upcoming", "--rrule", "FREQ=DAILY", "--tz", "UTC", "--start", "9899-12-31 09:00",
             "-n", "2")  # fmt: skip
    assert ok.code == 0, ok.err


def test_a_rule_started_now_without_byminute_says_which_minute_it_fires_at(cli: Cli) -> None:
    """``BYHOUR=9`` with no ``BYMINUTE`` takes the start's minute (RFC 5545): started
    now at 14:37 it fires at 09:37, which a note says (unless now is on the hour)."""
    done = cli("upcoming", "--rrule", "FREQ=DAILY;BYHOUR=9", "--tz", "UTC", "-n", "1", "--json")
    assert done.code == 0
    minute = json.loads(done.out)["start"][14:16]  # the start it used: now, to the minute
    if minute == "00":
        assert done.err == ""
    else:
        assert done.err == (
            f"note: the rule names no BYMINUTE and starts now, so it fires at minute {minute}; "
            "add BYMINUTE=0 for on the hour, or give --start\n"
        )
    # naming the minute, or giving the start, leaves nothing to say
    for extra in (["--rrule", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"], ["--start", "2026-01-05 10:37"]):
        args = ["upcoming", "--rrule", "FREQ=DAILY;BYHOUR=9", "--tz", "UTC", "-n", "1", *extra]
        quiet = cli(*args)
        assert (quiet.code, quiet.err) == (0, "")
