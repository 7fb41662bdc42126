"""Posting slots ("add to queue") and evergreen recycling."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from socialkit.models.account import PostingSlot, Weekday
from socialkit.schedule.time import (
    Occurrence,
    Recycling,
    WallTime,
    next_free_slot,
    next_recycle,
    slot_occurrences,
)

UTC = dt.UTC
NY = "America/New_York"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def slot(day: str, hhmm: str) -> PostingSlot:
    return PostingSlot(weekday=day, time=dt.time.fromisoformat(hhmm))  # type: ignore[arg-type]


WEEKDAYS_9_AND_17 = tuple(
    slot(day, t) for day in ("mon", "tue", "wed", "thu", "fri") for t in ("09:00", "17:00")
)


def test_next_free_slot_is_the_next_slot_in_the_accounts_zone() -> None:
    # Friday 6 March 2026, 18:00 in New York (EST): next is Monday 09:00 EDT
    after = utc(2026, 3, 6, 23)
    got = next_free_slot(WEEKDAYS_9_AND_17, NY, after)
    assert got.local == dt.datetime(2026, 3, 9, 9)
    assert got.due_at == utc(2026, 3, 9, 13)  # EDT since Sunday
    assert got.zone == NY
    assert got.key == "2026-03-09T09:00:00"


def test_next_free_slot_skips_taken_instants() -> None:
    after = utc(2026, 3, 9, 12)
    taken = [
        utc(2026, 3, 9, 13),
        dt.datetime(2026, 3, 9, 17, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
    ]
    got = next_free_slot(WEEKDAYS_9_AND_17, NY, after, taken)
    # 09:00 and 17:00 on Monday are taken (the second given in local offset form)
    assert got.local == dt.datetime(2026, 3, 10, 9)


def test_slot_exactly_at_after_is_not_free() -> None:
    got = next_free_slot(WEEKDAYS_9_AND_17, NY, utc(2026, 3, 9, 13))
    assert got.local == dt.datetime(2026, 3, 9, 17)


def test_slots_errors() -> None:
    with pytest.raises(ValueError, match="no posting slots"):
        next_free_slot((), NY, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        next_free_slot(WEEKDAYS_9_AND_17, NY, dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="taken instant must be timezone-aware"):
        next_free_slot(WEEKDAYS_9_AND_17, NY, utc(2026, 1, 1), [dt.datetime(2026, 1, 1)])
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        next_free_slot(WEEKDAYS_9_AND_17, "Nowhere/Special", utc(2026, 1, 1))


def test_slot_occurrences_over_a_week() -> None:
    got = slot_occurrences(WEEKDAYS_9_AND_17, "Europe/Berlin", utc(2026, 3, 23), utc(2026, 3, 30))
    assert len(got) == 10
    assert [o.local.weekday() for o in got] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert slot_occurrences(WEEKDAYS_9_AND_17, NY, utc(2026, 3, 30), utc(2026, 3, 23)) == []
    # half-open: a slot exactly at the end is left out, one exactly at the start kept
    first, last = got[0].due_at, got[-1].due_at
    assert slot_occurrences(WEEKDAYS_9_AND_17, "Europe/Berlin", first, last) == got[:-1]


def test_slots_on_dst_days() -> None:
    # Sunday slots at 02:30 and 03:30: on 8 March 2026 02:30 is skipped and lands on
    # 03:30 EDT, the other slot's instant: one firing, not two
    slots = (slot("sun", "02:30"), slot("sun", "03:30"), slot("sun", "01:30"))
    got = slot_occurrences(slots, NY, utc(2026, 3, 7), utc(2026, 3, 9))
    assert [(o.local.strftime("%H:%M"), o.fires_local.strftime("%H:%M %Z")) for o in got] == [
        ("01:30", "01:30 EST"),
        ("02:30", "03:30 EDT"),
    ]
    assert got[1].wall_time is WallTime.SKIPPED
    # 1 November 2026: 01:30 happens twice and fires once, at the first (EDT)
    got = slot_occurrences(slots, NY, utc(2026, 10, 31), utc(2026, 11, 2))
    assert [(o.local.strftime("%H:%M"), o.fires_local.strftime("%H:%M %Z")) for o in got] == [
        ("01:30", "01:30 EDT"),
        ("02:30", "02:30 EST"),
        ("03:30", "03:30 EST"),
    ]


def test_queue_fills_slots_in_order() -> None:
    """Adding five posts to the queue one after another fills five consecutive slots."""
    slots = (slot("mon", "09:00"), slot(Weekday.WED, "12:30"))  # type: ignore[arg-type]
    taken: list[dt.datetime] = []
    now = utc(2026, 3, 20)
    for _ in range(5):
        taken.append(next_free_slot(slots, "Australia/Lord_Howe", now, taken).due_at)
    assert taken == sorted(taken)
    assert [t.astimezone(UTC).isoformat() for t in taken] == [
        "2026-03-22T22:00:00+00:00",  # Mon 23 March 09:00 +11:00
        "2026-03-25T01:30:00+00:00",  # Wed 12:30 +11:00
        "2026-03-29T22:00:00+00:00",
        "2026-04-01T01:30:00+00:00",
        "2026-04-05T22:30:00+00:00",  # after 5 April: +10:30
    ]


def test_recycling_policy_validation() -> None:
    with pytest.raises(ValidationError, match="exactly one of every_days or every_slots"):
        Recycling()
    with pytest.raises(ValidationError, match="exactly one of every_days or every_slots"):
        Recycling(every_days=3, every_slots=2)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Recycling(every_days=0)
    assert Recycling.model_validate_json('{"every_days": 30, "limit": 3}').limit == 3
    assert Recycling.model_validate({"every_slots": 4}).every_slots == 4


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"every_days": True}, "every_days", "Input should be a valid integer"),
        ({"every_days": 1.5}, "every_days", "Input should be a valid integer"),
        ({"every_days": 86_400}, "every_days", "Input should be less than or equal to 3660"),
        ({"every_slots": 10_001}, "every_slots", "less than or equal to 10000"),
        ({"every_slots": 2, "limit": True}, "limit", "Input should be a valid integer"),
    ],
)
def test_recycling_refuses_values_that_are_not_a_count(
    options: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Recycling(**options)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]
    assert error["input"] == options[field]


def test_recycle_every_n_days_keeps_the_wall_time_across_dst() -> None:
    previous = Occurrence.at(dt.datetime(2026, 3, 1, 9), NY)
    got = next_recycle(Recycling(every_days=14), previous, recycled=0)
    assert got is not None
    assert got.local == dt.datetime(2026, 3, 15, 9)
    assert got.due_at == utc(2026, 3, 15, 13)  # 09:00 EDT, not 10:00
    assert got.due_at - previous.due_at == dt.timedelta(days=14, hours=-1)


def test_recycle_limit() -> None:
    previous = Occurrence.at(dt.datetime(2026, 3, 1, 9), NY)
    policy = Recycling(every_days=7, limit=2)
    assert next_recycle(policy, previous, recycled=1) is not None
    assert next_recycle(policy, previous, recycled=2) is None
    with pytest.raises(ValueError, match="recycled must be >= 0"):
        next_recycle(policy, previous, recycled=-1)


def test_recycle_every_n_slots() -> None:
    previous = Occurrence.at(dt.datetime(2026, 3, 9, 9), NY)  # Monday 09:00
    policy = Recycling(every_slots=3)
    got = next_recycle(policy, previous, recycled=0, slots=WEEKDAYS_9_AND_17)
    assert got is not None
    # Mon 17, Tue 09, Tue 17: the third slot after
    assert got.local == dt.datetime(2026, 3, 10, 17)
    # taken: it moves on to the first free slot after it
    busy = [got.due_at, utc(2026, 3, 11, 13)]
    later = next_recycle(policy, previous, recycled=0, slots=WEEKDAYS_9_AND_17, taken=busy)
    assert later is not None
    assert later.local == dt.datetime(2026, 3, 11, 17)
    with pytest.raises(ValueError, match="needs the account's posting slots"):
        next_recycle(policy, previous, recycled=0)
