"""``socialkit upcoming``: what the engine will fire, printed for people and as JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from socialkit.cli import main
from socialkit.schedule.time import Recurrence


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["upcoming", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_local_and_utc_for_a_spring_forward(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "--rrule", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
        "--tz", "America/New_York",
        "--start", "2026-03-07",
        "--count", "3",
        "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["rrule"] == "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"
    assert data["tz"] == "America/New_York"
    assert data["start"] == "2026-03-07T00:00:00"
    assert data["after"] is None
    assert data["occurrences"] == [
        {
            "key": "2026-03-07T02:30:00",
            "local": "2026-03-07T02:30:00",
            "zone": "America/New_York",
            "due_at": "2026-03-07T07:30:00Z",
            "fires_local": "2026-03-07T02:30:00-05:00",
            "wall_time": "exists",
        },
        {
            "key": "2026-03-08T02:30:00",
            "local": "2026-03-08T02:30:00",
            "zone": "America/New_York",
            "due_at": "2026-03-08T07:30:00Z",
            "fires_local": "2026-03-08T03:30:00-04:00",
            "wall_time": "skipped",
        },
        {
            "key": "2026-03-09T02:30:00",
            "local": "2026-03-09T02:30:00",
            "zone": "America/New_York",
            "due_at": "2026-03-09T06:30:00Z",
            "fires_local": "2026-03-09T02:30:00-04:00",
            "wall_time": "exists",
        },
    ]


def test_output_matches_the_library_the_engine_uses(capsys: pytest.CaptureFixture[str]) -> None:
    rule = Recurrence(
        rrule="FREQ=HOURLY;BYMINUTE=0,30", tz="Australia/Lord_Howe", start="2026-10-03 23:00"
    )
    code, out, _ = run(
        capsys,
        "--rrule", rule.rrule, "--tz", rule.tz, "--start", "2026-10-03 23:00",
        "--after", "2026-10-04 00:30", "-n", "5", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    expected = rule.after(dt.datetime(2026, 10, 4, 0, 30), limit=5)
    assert data["after"] == "2026-10-04T00:30:00"
    assert data["occurrences"] == [o.to_dict() for o in expected]
    # 02:00 is skipped (fires 02:30) and 02:30 shares its instant: one firing
    assert [o["local"][11:16] for o in data["occurrences"]] == [
        "01:00",
        "01:30",
        "02:00",
        "03:00",
        "03:30",
    ]


def test_text_output_explains_skipped_and_repeated_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "--tz", "Europe/Berlin",
        "--start", "2026-03-28", "-n", "2",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0] == "FREQ=DAILY;BYHOUR=2;BYMINUTE=30 in Europe/Berlin, starting 2026-03-28 00:00:00"
    )
    assert lines[1].split() == [
        "Sat",
        "2026-03-28",
        "02:30",
        "fires",
        "02:30",
        "CET",
        "2026-03-28",
        "01:30",
        "UTC",
    ]
    assert "Sun 2026-03-29 02:30  fires 03:30 CEST" in lines[2]
    assert lines[2].endswith("skipped by the clocks: moved forward 1:00")
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "--tz", "Europe/Berlin",
        "--start", "2026-10-25", "-n", "1",
    )  # fmt: skip
    assert out.splitlines()[1].endswith("repeated by the clocks: fires once, the first time")
    assert "fires 02:30 CEST" in out


def test_a_finished_rule_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;COUNT=2", "--tz", "UTC", "--start", "2026-01-01 09:00",
        "--after", "2026-01-02 09:00",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[-1] == "no further occurrences"


def test_a_rule_that_ends_before_count_says_so_after_its_last(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two of the five asked for, and nothing said: the list looked cut short.
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;COUNT=2;BYHOUR=9;BYMINUTE=0", "--tz", "Australia/Lord_Howe",
        "--start", "2026-10-03", "-n", "5",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[-1] == "no further occurrences"
    assert lines[2].startswith("Sun 2026-10-04 09:00  fires 09:00 +11")
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;COUNT=2", "--tz", "UTC", "--start", "2026-01-01", "-n", "2"
    )  # fmt: skip
    assert "no further occurrences" not in out  # exactly --count: nothing to say


def test_default_start_is_now_in_the_zone(capsys: pytest.CaptureFixture[str]) -> None:
    before = dt.datetime.now(dt.UTC)
    code, out, _ = run(
        capsys, "--rrule", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "--tz", "Asia/Tehran", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert len(data["occurrences"]) == 10
    first = dt.datetime.fromisoformat(data["occurrences"][0]["due_at"])
    assert before < first <= before + dt.timedelta(days=1, minutes=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rrule", "FREQ=DAILY;BYHOUR=25", "--tz", "UTC", "--start", "2026-01-01"],
         "error: --rrule: RRULE part BYHOUR=25: 25 is out of range; hours are 0..23"),
        (["--rrule", "FREQ=DAILY", "--tz", "Mars/Base", "--start", "2026-01-01"],
         "error: --tz: unknown IANA time zone 'Mars/Base'"),
        (["--rrule", "FREQ=DAILY", "--tz", "Mars/Base"],
         "error: --tz: unknown IANA time zone 'Mars/Base'"),
        (["--rrule", "FREQ=DAILY;UNTIL=20200101T000000Z", "--tz", "UTC", "--start", "2026-01-01"],
         "error: --rrule: RRULE 'FREQ=DAILY;UNTIL=20200101T000000Z' never fires: UNTIL "
         "2020-01-01T00:00:00Z is before its first occurrence"),
        (["--rrule", "FREQ=DAILY", "--tz", "UTC", "--start", "next tuesday"],
         "error: --start: cannot read local time 'next tuesday'"),
        (["--rrule", "FREQ=DAILY", "--tz", "UTC", "--start", "2026-01-01", "--after", "2026-01-01Z"],
         "error: --after: local time '2026-01-01Z' carries a UTC offset"),
    ],
)  # fmt: skip
def test_errors_are_one_line_and_name_the_value(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
