"""The DST suite: six zones over two years, checked against an independent oracle.

The oracle does not use ``to_instant`` or zoneinfo's fold handling: it finds every
UTC-offset change of a zone by scanning instants, then reads the policy off the
segments — a wall time that exists fires at its first instant, one in a gap fires at
the wall time read with the offset before the change (moved forward by the gap).

The engine is simulated on an injected clock: it asks for the next occurrence from the
previous scheduled local time, jumps the clock to it and "fires" — no sleeps.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from socialkit.schedule.time import Recurrence, WallTime, latest_missed, to_instant

UTC = dt.UTC
ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Australia/Sydney",
    "America/Santiago",
)
START = dt.datetime(2026, 1, 1)
END = dt.datetime(2028, 1, 1)  # two whole years of local wall time
DAYS = (END - START).days


@cache
def transitions(zone: str) -> tuple[tuple[dt.datetime, dt.timedelta, dt.timedelta], ...]:
    """(instant, offset before, offset after) for every offset change near the window."""
    info = ZoneInfo(zone)
    found = []
    t = dt.datetime(2025, 12, 25, tzinfo=UTC)
    stop = dt.datetime(2028, 1, 8, tzinfo=UTC)
    step = dt.timedelta(minutes=15)
    offset = t.astimezone(info).utcoffset()
    while t < stop:
        nxt = t + step
        new = nxt.astimezone(info).utcoffset()
        if new != offset:
            # every change in these zones is on a quarter hour; pin it to the minute
            lo = t
            while lo.astimezone(info).utcoffset() == offset:
                lo += dt.timedelta(minutes=1)
            assert offset is not None
            assert new is not None
            found.append((lo, offset, new))
            offset = new
        t = nxt
    return tuple(found)


def segments(zone: str) -> list[tuple[dt.datetime | None, dt.datetime | None, dt.timedelta]]:
    """(from, to, offset) spans of constant offset, open at both ends."""
    changes = transitions(zone)
    info = ZoneInfo(zone)
    if not changes:
        offset = START.replace(tzinfo=info).utcoffset()
        assert offset is not None
        return [(None, None, offset)]
    spans: list[tuple[dt.datetime | None, dt.datetime | None, dt.timedelta]] = [
        (None, changes[0][0], changes[0][1])
    ]
    for (at, _, after), nxt in zip(changes, [*changes[1:], None], strict=True):
        spans.append((at, nxt[0] if nxt else None, after))
    return spans


def oracle(local: dt.datetime, zone: str) -> tuple[dt.datetime, WallTime]:
    """The policy's instant for ``local`` and what kind of wall time it is."""
    candidates = []
    for lo, hi, offset in segments(zone):
        instant = (local - offset).replace(tzinfo=UTC)
        if (lo is None or instant >= lo) and (hi is None or instant < hi):
            candidates.append(instant)
    if candidates:
        return min(candidates), WallTime.EXISTS if len(candidates) == 1 else WallTime.REPEATED
    for at, before, after in transitions(zone):
        if (local - before).replace(tzinfo=UTC) >= at > (local - after).replace(tzinfo=UTC):
            return (local - before).replace(tzinfo=UTC), WallTime.SKIPPED
    raise AssertionError(f"oracle found no instant for {local} in {zone}")


def daily(zone: str, hour: int, minute: int) -> Recurrence:
    return Recurrence(rrule=f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}", tz=zone, start=START)


def expand_window(rule: Recurrence) -> list:
    end = to_instant(END, rule.tz)
    return rule.after(None, limit=100_000, until=end - dt.timedelta(microseconds=1))


def test_the_oracle_sees_the_expected_changes() -> None:
    # Two spring-forward and two fall-back changes a year where DST is observed; none
    # in Tehran since Iran abolished DST in 2022.
    for zone in ZONES:
        count = len(transitions(zone))
        assert count == (0 if zone == "Asia/Tehran" else 4), (zone, transitions(zone))
    lord_howe = {after - before for _, before, after in transitions("Australia/Lord_Howe")}
    assert lord_howe == {dt.timedelta(minutes=30), dt.timedelta(minutes=-30)}
    # Santiago changes its clocks at local midnight (24:00 standard time)
    assert {(at + before).time() for at, before, _ in transitions("America/Santiago")} == {
        dt.time(0, 0)
    }


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("hour", "minute"), [(9, 0), (2, 30), (1, 30), (0, 30)])
def test_daily_rule_fires_once_every_local_day(zone: str, hour: int, minute: int) -> None:
    occurrences = expand_window(daily(zone, hour, minute))
    # nothing skipped, nothing doubled: one per local date, every date
    assert len(occurrences) == DAYS
    assert [o.local.date() for o in occurrences] == [
        (START + dt.timedelta(days=i)).date() for i in range(DAYS)
    ]
    due = [o.due_at for o in occurrences]
    assert all(a < b for a, b in itertools.pairwise(due))
    kinds = set()
    for o in occurrences:
        expected, kind = oracle(o.local, zone)
        kinds.add(kind)
        assert o.due_at == expected, (o, kind)
        assert o.wall_time is kind
        assert o.local.time() == dt.time(hour, minute)
        assert o.key == o.local.strftime("%Y-%m-%dT%H:%M:%S")
        wall = o.fires_local.replace(tzinfo=None)
        if kind is WallTime.SKIPPED:
            (gap,) = [
                after - before
                for at, before, after in transitions(zone)
                if at <= o.due_at < at + (after - before)
            ]
            assert wall == o.local + gap  # moved forward by the gap
        else:
            assert wall == o.local
    if zone == "Asia/Tehran":
        assert kinds == {WallTime.EXISTS}
        assert {o.fires_local.utcoffset() for o in occurrences} == {
            dt.timedelta(hours=3, minutes=30)
        }


def _gap_and_fold_cases() -> list[tuple[str, str, dt.datetime, WallTime]]:
    """A wall time in the middle of every gap and every fold of the window."""
    cases = []
    for zone in ZONES:
        for at, before, after in transitions(zone):
            shift = after - before
            if shift > dt.timedelta(0):  # spring forward: [at+before, at+after) is skipped
                middle = (at + before + shift / 2).replace(tzinfo=None)
                cases.append((zone, f"{zone} gap {middle}", middle, WallTime.SKIPPED))
            else:  # fall back: [at+after, at+before) happens twice
                middle = (at + after - shift / 2).replace(tzinfo=None)
                cases.append((zone, f"{zone} fold {middle}", middle, WallTime.REPEATED))
    return cases


CASES = _gap_and_fold_cases()


def test_every_change_has_a_case() -> None:
    assert len(CASES) == 20
    assert {kind for *_, kind in CASES} == {WallTime.SKIPPED, WallTime.REPEATED}


@pytest.mark.parametrize(("zone", "label", "middle", "kind"), CASES, ids=[c[1] for c in CASES])
def test_daily_rule_at_the_changing_wall_time(
    zone: str, label: str, middle: dt.datetime, kind: WallTime
) -> None:
    del label
    rule = daily(zone, middle.hour, middle.minute)
    occurrences = expand_window(rule)
    assert len(occurrences) == DAYS
    on_day = [o for o in occurrences if o.local.date() == middle.date()]
    assert len(on_day) == 1
    (o,) = on_day
    assert o.local == middle.replace(second=0)
    assert o.wall_time is kind
    assert o.due_at == oracle(o.local, zone)[0]
    at, before, after = next(
        t for t in transitions(zone) if abs(t[0] - o.due_at) < dt.timedelta(hours=2)
    )
    if kind is WallTime.SKIPPED:
        assert o.fires_local.replace(tzinfo=None) == o.local + (after - before)
        assert o.fires_local.utcoffset() == after
    else:  # the first pass, before the clocks go back
        assert o.due_at < at
        assert o.fires_local.utcoffset() == before
        assert o.fires_local.replace(tzinfo=None) == o.local


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("minutes", ["0", "15,45"])
def test_hourly_rule_over_two_years(zone: str, minutes: str) -> None:
    rule = Recurrence(rrule=f"FREQ=HOURLY;BYMINUTE={minutes}", tz=zone, start=START)
    occurrences = expand_window(rule)
    per_hour = len(minutes.split(","))
    wall_times = [
        START + dt.timedelta(hours=h, minutes=int(m))
        for h in range(DAYS * 24)
        for m in minutes.split(",")
    ]
    policy = {local: oracle(local, zone) for local in wall_times}
    expected: dict[dt.datetime, dt.datetime] = {}
    for local in wall_times:
        expected.setdefault(policy[local][0], local)  # earliest wall time wins
    assert [(o.due_at, o.local) for o in occurrences] == sorted(expected.items())
    due = [o.due_at for o in occurrences]
    assert all(a < b for a, b in itertools.pairwise(due))
    # nothing doubled: at most one occurrence per local wall time
    assert len({o.local for o in occurrences}) == len(occurrences)
    # nothing skipped: every wall time of the rule fires, or shares the instant of one that does
    fired = {o.due_at for o in occurrences}
    assert all(policy[local][0] in fired for local in wall_times)
    # every wall time that exists on the clock face is shown by some firing
    shown = {o.fires_local.replace(tzinfo=None) for o in occurrences}
    existing = [w for w in wall_times if policy[w][1] is not WallTime.SKIPPED]
    assert set(existing) <= shown
    collisions = len(wall_times) - len(occurrences)
    if zone == "Asia/Tehran":
        assert collisions == 0
        assert len(occurrences) == DAYS * 24 * per_hour
    elif zone == "Australia/Lord_Howe":
        # a 30-minute gap moves :00 to :30 and :15 to :45: a collision only when both are in
        # the rule (once a year)
        assert collisions == (0 if minutes == "0" else 2)
    else:
        # a one-hour gap moves each skipped wall time onto the next hour's, once a year
        assert collisions == 2 * per_hour


@pytest.mark.parametrize("zone", ZONES)
def test_engine_loop_on_an_injected_clock(zone: str) -> None:
    """The engine's chain: next from the previous local time, clock jumps to it."""
    rule = Recurrence(rrule="FREQ=DAILY;BYHOUR=1,2,9;BYMINUTE=30", tz=zone, start=START)
    long = expand_window(rule)
    clock = to_instant(START, zone) - dt.timedelta(hours=1)
    previous: dt.datetime | None = None
    fired = []
    end = to_instant(END, zone)
    while True:
        (nxt,) = rule.after(previous, limit=1)
        if nxt.due_at >= end:
            break
        assert nxt.due_at > clock  # never in the past of the engine's clock
        clock = nxt.due_at  # the injected clock jumps to the due time
        fired.append(nxt)
        previous = nxt.local
    assert fired == long
    assert len({(o.local.date(), o.local.time()) for o in fired}) == len(fired)


@pytest.mark.parametrize("zone", ZONES)
def test_downtime_fires_the_latest_missed_once(zone: str) -> None:
    rule = daily(zone, 2, 30)
    long = expand_window(rule)
    # the worker last scheduled the occurrence of 8 March 2026, then was down 250 days
    last = next(o for o in long if o.local.date() == dt.date(2026, 3, 8))
    now = last.due_at + dt.timedelta(days=250, hours=5)
    missed = latest_missed(rule, last.local, now)
    expected = [o for o in long if last.due_at < o.due_at <= now][-1]
    assert missed == expected
    # the chain resumes after it, with nothing in between fired
    (resumed,) = rule.after(missed.local, limit=1)
    assert resumed.due_at > now
    assert latest_missed(rule, missed.local, now) is None
