"""Recurrence: RRULE parsing errors, validation, expansion, chaining and misfires."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest
from dateutil import rrule as du
from pydantic import ValidationError

from socialkit.schedule.time import (
    Occurrence,
    Recurrence,
    RRuleError,
    latest_missed,
    one_off,
    parse_rrule,
    to_instant,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "RRULE is empty"),
        ("BYHOUR=9", "RRULE has no FREQ part"),
        ("FREQ=FORTNIGHTLY", "RRULE part FREQ=FORTNIGHTLY: use one of YEARLY, MONTHLY"),
        ("FREQ=SECONDLY", "RRULE part FREQ=SECONDLY: socialkit schedules at most once a minute"),
        ("FREQ=DAILY;BYHOUR=25", "RRULE part BYHOUR=25: 25 is out of range; hours are 0..23"),
        ("FREQ=DAILY;BYHOUR=9,x", "RRULE part BYHOUR=9,X: 'X' is not a whole number"),
        ("FREQ=DAILY;BYMINUTE=60", "RRULE part BYMINUTE=60: 60 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "RRULE part BYMONTHDAY=0: 0 is out of range"),
        ("FREQ=YEARLY;BYMONTH=13", "RRULE part BYMONTH=13"),
        ("FREQ=DAILY;INTERVAL=0", "RRULE part INTERVAL=0: must be a whole number of at least 1"),
        ("FREQ=DAILY;COUNT=-2", "RRULE part COUNT=-2"),
        ("FREQ=WEEKLY;BYDAY=MO,XX", "RRULE part BYDAY=MO,XX: 'XX' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=-1FR", "'-1FR': a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "'6MO': the number must be 1..5"),
        ("FREQ=WEEKLY;WKST=XX", "RRULE part WKST=XX"),
        ("FREQ=MONTHLY;BYWEEKNO=3", "RRULE part BYWEEKNO=3: only allowed with FREQ=YEARLY"),
        ("FREQ=DAILY;BYYEARDAY=3", "RRULE part BYYEARDAY=3: not allowed with FREQ=DAILY"),
        ("FREQ=WEEKLY;BYMONTHDAY=3", "RRULE part BYMONTHDAY=3: not allowed with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "RRULE part BYSETPOS=1: needs another BY… part"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z", "COUNT and UNTIL exclude each other"),
        ("FREQ=DAILY;UNTIL=tomorrow", "RRULE part UNTIL=TOMORROW: expected a UTC date-time"),
        ("FREQ=DAILY;UNTIL=20261301", "RRULE part UNTIL=20261301: month must be in 1..12"),
        ("FREQ=DAILY;BYHOUR", "RRULE part 'BYHOUR' is not NAME=VALUE"),
        ("FREQ=DAILY;BYHOUR=", "RRULE part BYHOUR=: has no value"),
        ("FREQ=DAILY;FREQ=WEEKLY", "RRULE part FREQ appears twice"),
        ("FREQ=DAILY;COLOR=RED", "RRULE part 'COLOR' is not an RFC 5545 rule part"),
        ("FREQ=DAILY;DTSTART=20260101T090000", "give the start as the recurrence's start"),
    ],
)
def test_rule_errors_name_the_part(rule: str, message: str) -> None:
    with pytest.raises(RRuleError) as raised:
        parse_rrule(rule)
    assert message in str(raised.value)
    if rule:
        assert repr(rule) in str(raised.value)  # the whole rule, for context


def test_rule_is_read_case_insensitively_and_canonicalised() -> None:
    plan = parse_rrule("rrule:freq=weekly;byday=mo,we;byhour=9;byminute=0;")
    assert plan.text == "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    assert plan.freq_name == "WEEKLY"
    assert plan.wkst == 0  # RFC 5545 default week start: Monday
    rule = Recurrence(rrule="rrule:freq=daily;byhour=9", tz="UTC", start="2026-01-01")
    assert rule.rrule == "FREQ=DAILY;BYHOUR=9"


def test_until_forms() -> None:
    assert parse_rrule("FREQ=DAILY;UNTIL=20261231T230000Z").until_utc == utc(2026, 12, 31, 23)
    assert parse_rrule("FREQ=DAILY;UNTIL=20261231T230000").until_local == dt.datetime(
        2026, 12, 31, 23
    )
    # a bare date includes its whole local day
    assert parse_rrule("FREQ=DAILY;UNTIL=20261231").until_local == dt.datetime(
        2026, 12, 31, 23, 59, 59
    )


def test_model_errors_name_the_field_and_part() -> None:
    with pytest.raises(ValidationError) as raised:
        Recurrence(rrule="FREQ=DAILY;BYHOUR=24", tz="Europe/Berlin", start="2026-01-01")
    assert raised.value.errors()[0]["loc"] == ("rrule",)
    assert "BYHOUR=24" in str(raised.value)
    with pytest.raises(ValidationError, match="unknown IANA time zone 'Europe/Springfield'"):
        Recurrence(rrule="FREQ=DAILY", tz="Europe/Springfield", start="2026-01-01")
    with pytest.raises(ValidationError, match="start is a local wall time read in tz"):
        Recurrence(rrule="FREQ=DAILY", tz="UTC", start=dt.datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="cannot read local time 'soon'"):
        Recurrence(rrule="FREQ=DAILY", tz="UTC", start="soon")
    with pytest.raises(ValidationError, match="rrule"):
        Recurrence(tz="UTC", start="2026-01-01")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Recurrence(rrule="FREQ=DAILY", start="2026-01-01", zone="UTC")  # type: ignore[call-arg]


def test_a_rule_that_never_fires_is_refused() -> None:
    with pytest.raises(ValidationError, match="never fires within 100 years"):
        Recurrence(rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", tz="UTC", start="2026-01-01")
    with pytest.raises(ValidationError, match="never fires: UNTIL 2025-12-31T00:00:00Z"):
        Recurrence(rrule="FREQ=DAILY;UNTIL=20251231T000000Z", tz="UTC", start="2026-01-01")
    with pytest.raises(ValidationError, match="never fires within 100 years"):
        Recurrence(rrule="FREQ=DAILY;UNTIL=20251231", tz="UTC", start="2026-01-01")
    # dateutil's own checks come back as a rule error too
    with pytest.raises(ValidationError, match="cannot be expanded"):
        Recurrence(rrule="FREQ=HOURLY;INTERVAL=2;BYHOUR=1,3", tz="UTC", start="2026-01-01")


def test_serialises_and_round_trips() -> None:
    rule = Recurrence(
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0",
        tz="Europe/Berlin",
        start=dt.datetime(2026, 3, 23, 8, 15, 0, 999),
    )
    data = json.loads(rule.model_dump_json())
    assert data == {
        "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0",
        "tz": "Europe/Berlin",
        "start": "2026-03-23T08:15:00",
    }
    assert Recurrence.model_validate_json(rule.model_dump_json()) == rule
    schema = Recurrence.model_json_schema()
    assert set(schema["required"]) == {"rrule", "start"}


def test_weekly_rule_in_berlin() -> None:
    rule = Recurrence(
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0",
        tz="Europe/Berlin",
        start=dt.datetime(2026, 3, 23),
    )
    got = rule.after(None, limit=4)
    assert [o.local for o in got] == [
        dt.datetime(2026, 3, 23, 9),
        dt.datetime(2026, 3, 25, 9),
        dt.datetime(2026, 3, 30, 9),  # after the change on 29 March: still 09:00 local
        dt.datetime(2026, 4, 1, 9),
    ]
    assert [o.due_at for o in got] == [
        utc(2026, 3, 23, 8),
        utc(2026, 3, 25, 8),
        utc(2026, 3, 30, 7),
        utc(2026, 4, 1, 7),
    ]
    assert {o.zone for o in got} == {"Europe/Berlin"}
    assert got[0].key == "2026-03-23T09:00:00"


def test_two_hours_a_day_fire_twice_a_day() -> None:
    rule = Recurrence(
        rrule="FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0", tz="America/New_York", start="2026-03-07"
    )
    got = rule.after(None, limit=6)
    assert [o.local.strftime("%d %H") for o in got] == [
        "07 09", "07 17", "08 09", "08 17", "09 09", "09 17",
    ]  # fmt: skip


def test_defaults_come_from_the_start() -> None:
    # no BYHOUR/BYMINUTE: the start's time of day; WEEKLY with no BYDAY: its weekday
    rule = Recurrence(rrule="FREQ=WEEKLY", tz="Asia/Tehran", start="2026-05-06 18:45")
    assert [o.local for o in rule.after(None, limit=2)] == [
        dt.datetime(2026, 5, 6, 18, 45),
        dt.datetime(2026, 5, 13, 18, 45),
    ]


def test_count_bounds_the_rule() -> None:
    rule = Recurrence(rrule="FREQ=DAILY;COUNT=3;BYHOUR=9", tz="UTC", start="2026-01-01")
    got = rule.after(None, limit=10)
    assert len(got) == 3
    assert rule.after(got[-1].local, limit=10) == []
    assert rule.after(got[0].local, limit=10) == got[1:]


def test_count_counts_wall_times_so_a_merged_one_uses_a_slot() -> None:
    # 02:00 and 03:00 on New York's spring-forward day fire at one instant: three wall
    # times of the count, two firings
    rule = Recurrence(rrule="FREQ=HOURLY;COUNT=3", tz="America/New_York", start="2026-03-08 01:00")
    assert [o.local.hour for o in rule.after(None, limit=10)] == [1, 2]


def test_until_utc_is_inclusive_and_read_as_an_instant() -> None:
    # 09:00 Berlin is 08:00Z in winter
    rule = Recurrence(
        rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260105T080000Z",
        tz="Europe/Berlin",
        start="2026-01-01",
    )
    got = rule.after(None, limit=100)
    assert [o.local.day for o in got] == [1, 2, 3, 4, 5]
    floating = Recurrence(
        rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0;UNTIL=20260105T085959",
        tz="Europe/Berlin",
        start="2026-01-01",
    )
    assert [o.local.day for o in floating.after(None, limit=100)] == [1, 2, 3, 4]
    whole_day = Recurrence(
        rrule="FREQ=DAILY;BYHOUR=9,23;BYMINUTE=0;UNTIL=20260102", tz="UTC", start="2026-01-01"
    )
    assert len(whole_day.after(None, limit=100)) == 4


def test_after_stops_at_the_window() -> None:
    rule = Recurrence(rrule="FREQ=DAILY;BYHOUR=9", tz="UTC", start="2026-01-01")
    got = rule.after(None, limit=100, until=utc(2026, 1, 3, 9))
    assert [o.local.day for o in got] == [1, 2, 3]
    assert rule.after(None, limit=0) == []
    with pytest.raises(ValueError, match="limit must be a whole number >= 0"):
        rule.after(None, limit=-1)


def test_previous_before_the_start_gives_the_start() -> None:
    rule = Recurrence(rrule="FREQ=DAILY;BYHOUR=9", tz="UTC", start="2026-01-01")
    assert rule.after(dt.datetime(2020, 1, 1), limit=1) == rule.after(None, limit=1)


def test_chain_after_a_skipped_wall_time() -> None:
    # 02:45 is skipped (fires 03:45 EDT), 03:15 exists (fires 03:15 EDT): the firing
    # order is 03:15 before 02:45, and the chain follows it
    rule = Recurrence(
        rrule="FREQ=HOURLY;BYMINUTE=15,45", tz="America/New_York", start="2026-03-08 01:00"
    )
    got = rule.after(None, limit=5)
    assert [o.local.strftime("%H:%M") for o in got] == ["01:15", "01:45", "02:15", "02:45", "04:15"]
    assert [o.fires_local.strftime("%H:%M") for o in got] == [
        "01:15", "01:45", "03:15", "03:45", "04:15",
    ]  # fmt: skip
    assert [o.shifted for o in got] == [False, False, True, True, False]
    assert rule.after(got[2].local, limit=2) == got[3:5]


def test_between_is_half_open() -> None:
    rule = Recurrence(rrule="FREQ=DAILY;BYHOUR=9", tz="UTC", start="2026-01-01")
    got = rule.between(utc(2026, 1, 2, 9), utc(2026, 1, 4, 9))
    assert [o.local.day for o in got] == [2, 3]
    assert rule.between(utc(2026, 1, 4), utc(2026, 1, 2)) == []
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        rule.between(dt.datetime(2026, 1, 1), utc(2026, 1, 2))


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYSETPOS=1;BYHOUR=9;BYMINUTE=0",
        "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA;BYHOUR=8",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=17;BYMINUTE=30",
        "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31;BYHOUR=2;BYMINUTE=30",
        "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
        "FREQ=YEARLY;INTERVAL=2;BYWEEKNO=1,27;BYDAY=MO",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=1,2,3;BYSETPOS=-1",
        "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,30",
        "FREQ=MINUTELY;INTERVAL=47;BYHOUR=1,2,3",
        "FREQ=WEEKLY",
        "FREQ=MONTHLY",
        "FREQ=YEARLY",
    ],
)
def test_expanding_from_far_ahead_matches_the_long_expansion(rrule: str) -> None:
    """``after`` re-anchors a long rule instead of expanding from its start; same result."""
    rule = Recurrence(rrule=rrule, tz="Europe/Berlin", start="2019-01-31 02:30")
    naive = du.rrule(dtstart=rule.start, **rule.plan.dateutil_kwargs(rule.start))
    for previous in (dt.datetime(2026, 3, 29, 2, 40), dt.datetime(2031, 7, 1, 8, 0)):
        got = rule.after(previous, limit=12)
        # the oracle: every wall time of the plain dateutil expansion, mapped and merged
        expected: dict[dt.datetime, dt.datetime] = {}
        after = to_instant(previous, "Europe/Berlin")
        for local in naive.xafter(previous - dt.timedelta(days=3), count=5000):
            instant = to_instant(local, "Europe/Berlin")
            if instant > after:
                expected.setdefault(instant, local)
        assert [(o.due_at, o.local) for o in got] == sorted(expected.items())[:12]


def test_latest_missed_fires_once_for_the_latest() -> None:
    rule = Recurrence(rrule="FREQ=HOURLY;BYMINUTE=0", tz="Europe/Berlin", start="2020-01-01")
    previous = dt.datetime(2023, 5, 1, 10)
    now = utc(2026, 5, 1, 12, 30)  # three years of downtime
    missed = latest_missed(rule, previous, now)
    assert missed is not None
    assert missed.local == dt.datetime(2026, 5, 1, 14)  # 12:00Z in CEST
    assert missed.due_at == utc(2026, 5, 1, 12)
    assert latest_missed(rule, missed.local, now) is None
    # exactly on time counts as due
    assert latest_missed(rule, previous, utc(2026, 5, 1, 12)) == missed


def test_latest_missed_for_sparse_rules_and_fresh_rules() -> None:
    rule = Recurrence(
        rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", tz="UTC", start="2026-01-01 09:00"
    )
    assert latest_missed(rule, None, utc(2027, 1, 1)) is None
    missed = latest_missed(rule, None, utc(2033, 1, 1))
    assert missed is not None
    assert missed.local == dt.datetime(2032, 2, 29, 9)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        latest_missed(rule, None, dt.datetime(2033, 1, 1))


def test_occurrence_record() -> None:
    occurrence = one_off(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
    assert occurrence == Occurrence.at(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
    assert occurrence.to_dict() == {
        "key": "2026-03-08T02:30:00",
        "local": "2026-03-08T02:30:00",
        "zone": "America/New_York",
        "due_at": "2026-03-08T07:30:00Z",
        "fires_local": "2026-03-08T03:30:00-04:00",
        "wall_time": "skipped",
    }
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        occurrence.key = "x"  # type: ignore[misc]
    assert not hasattr(occurrence, "__dict__")  # slotted


def test_arguments_of_the_wrong_kind_are_named() -> None:
    rule = Recurrence(rrule="FREQ=DAILY;BYHOUR=9", tz="UTC", start="2026-01-01")
    with pytest.raises(ValueError, match="previous_local is a wall time and must be naive"):
        rule.after(dt.datetime(2026, 1, 2, tzinfo=UTC), limit=1)
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        rule.after(None, limit=1, until=dt.datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        rule.between(utc(2026, 1, 1), dt.datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="previous_local is a wall time and must be naive"):
        latest_missed(rule, dt.datetime(2026, 1, 2, tzinfo=UTC), utc(2026, 2, 1))


def test_empty_combination_found_while_expanding_is_a_rule_error() -> None:
    # every 120 minutes from midnight only reaches even hours: BYHOUR=1 never fires
    with pytest.raises(
        ValidationError, match="RRULE 'FREQ=MINUTELY;INTERVAL=120;BYHOUR=1' cannot be expanded"
    ):
        Recurrence(rrule="FREQ=MINUTELY;INTERVAL=120;BYHOUR=1", tz="UTC", start="2026-01-01")
