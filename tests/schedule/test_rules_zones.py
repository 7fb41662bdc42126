"""Wall times to instants: the DST policy, zone lookup and reading local times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from socialkit.schedule.time import (
    WallTime,
    as_utc,
    classify_wall_time,
    parse_local,
    resolve_zone,
    to_instant,
    to_local,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "zone", "expected", "kind"),
    [
        # a plain wall time
        (
            dt.datetime(2026, 6, 1, 9, 0),
            "America/New_York",
            utc(2026, 6, 1, 13, 0),
            WallTime.EXISTS,
        ),
        # skipped: moved forward by the gap, 02:30 → 03:30 EDT
        (
            dt.datetime(2026, 3, 8, 2, 30),
            "America/New_York",
            utc(2026, 3, 8, 7, 30),
            WallTime.SKIPPED,
        ),
        # repeated: the first pass, 01:30 EDT
        (
            dt.datetime(2026, 11, 1, 1, 30),
            "America/New_York",
            utc(2026, 11, 1, 5, 30),
            WallTime.REPEATED,
        ),
        # Berlin: 02:30 skipped in March, repeated in October
        (
            dt.datetime(2026, 3, 29, 2, 30),
            "Europe/Berlin",
            utc(2026, 3, 29, 1, 30),
            WallTime.SKIPPED,
        ),
        (
            dt.datetime(2026, 10, 25, 2, 30),
            "Europe/Berlin",
            utc(2026, 10, 25, 0, 30),
            WallTime.REPEATED,
        ),
        # Lord Howe: a 30-minute change; 02:15 → 02:45 (+11:00)
        (
            dt.datetime(2026, 10, 4, 2, 15),
            "Australia/Lord_Howe",
            utc(2026, 10, 3, 15, 45),
            WallTime.SKIPPED,
        ),
        (
            dt.datetime(2026, 4, 5, 1, 45),
            "Australia/Lord_Howe",
            utc(2026, 4, 4, 14, 45),
            WallTime.REPEATED,
        ),
        # Tehran: +03:30 all year since 2022 (the old March change no longer happens)
        (dt.datetime(2026, 3, 22, 0, 30), "Asia/Tehran", utc(2026, 3, 21, 21, 0), WallTime.EXISTS),
        (dt.datetime(2026, 9, 22, 0, 30), "Asia/Tehran", utc(2026, 9, 21, 21, 0), WallTime.EXISTS),
        # Santiago changes at midnight: 00:30 does not exist on 6 September 2026
        (
            dt.datetime(2026, 9, 6, 0, 30),
            "America/Santiago",
            utc(2026, 9, 6, 4, 30),
            WallTime.SKIPPED,
        ),
        (
            dt.datetime(2026, 4, 4, 23, 30),
            "America/Santiago",
            utc(2026, 4, 5, 2, 30),
            WallTime.REPEATED,
        ),
    ],
)
def test_to_instant_applies_the_policy(
    local: dt.datetime, zone: str, expected: dt.datetime, kind: WallTime
) -> None:
    instant = to_instant(local, zone)
    assert instant == expected
    assert instant.tzinfo is UTC
    assert classify_wall_time(local, zone) is kind
    assert to_instant(local, ZoneInfo(zone)) == expected
    shown = to_local(instant, zone)
    if kind is WallTime.SKIPPED:
        assert shown > local  # moved forward, never back
    else:
        assert shown == local


def test_new_york_gap_reads_as_dst_wall_time() -> None:
    instant = to_instant(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
    shown = instant.astimezone(ZoneInfo("America/New_York"))
    assert (shown.hour, shown.minute, shown.tzname()) == (3, 30, "EDT")


def test_fold_attribute_of_the_input_is_ignored() -> None:
    first = dt.datetime(2026, 11, 1, 1, 30)
    assert to_instant(first.replace(fold=1), "America/New_York") == to_instant(
        first, "America/New_York"
    )


def test_aware_local_time_is_refused() -> None:
    with pytest.raises(ValueError, match="wall time and must be naive"):
        to_instant(dt.datetime(2026, 1, 1, tzinfo=UTC), "Europe/Berlin")
    with pytest.raises(ValueError, match="must be timezone-aware"):
        to_local(dt.datetime(2026, 1, 1), "Europe/Berlin")
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        as_utc(dt.datetime(2026, 1, 1), "after")


def test_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        to_instant(dt.datetime(2026, 1, 1), "Mars/Olympus")
    with pytest.raises(ValueError, match="IANA zone name"):
        resolve_zone("")
    assert resolve_zone(" Europe/Berlin ") is ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 09:00", dt.datetime(2026, 12, 1, 9, 0)),
        ("2026-12-01T09:00", dt.datetime(2026, 12, 1, 9, 0)),
        ("2026-12-01T09:00:30", dt.datetime(2026, 12, 1, 9, 0, 30)),
        ("2026-12-01 9:05", dt.datetime(2026, 12, 1, 9, 5)),
        ("  2026-12-01 09:00  ", dt.datetime(2026, 12, 1, 9, 0)),
        ("2026-12-01  09:00", dt.datetime(2026, 12, 1, 9, 0)),
        ("2026-12-01\t09:00", dt.datetime(2026, 12, 1, 9, 0)),
        ("2026-12-01", dt.datetime(2026, 12, 1)),
        ("20261201T0900", dt.datetime(2026, 12, 1, 9, 0)),
    ],
)
def test_parse_local_reads_iso_forms(text: str, expected: dt.datetime) -> None:
    parsed = parse_local(text)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "local time is empty"),
        ("tomorrow 9am", "cannot read local time 'tomorrow 9am'"),
        ("2026-13-01 09:00", "cannot read local time '2026-13-01 09:00': month must be in 1..12"),
        ("2026-12-01 25:00", "cannot read local time '2026-12-01 25:00'"),
        ("2026-12-01T09:00+01:00", "carries a UTC offset"),
        ("2026-12-01T09:00Z", "carries a UTC offset"),
    ],
)
def test_parse_local_errors_quote_the_value(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_local(text)


@pytest.mark.parametrize(
    ("local", "zone"),
    [
        (dt.datetime(9999, 12, 31, 23, 59), "America/New_York"),
        (dt.datetime(1, 1, 1, 0, 30), "Asia/Tehran"),
    ],
)
def test_to_instant_out_of_range_is_a_value_error_naming_the_time(
    local: dt.datetime, zone: str
) -> None:
    from socialkit.schedule.time.zones import to_instant

    with pytest.raises(ValueError, match=rf"{local:%m-%d %H:%M} in {zone} is out of range"):
        to_instant(local, zone)
