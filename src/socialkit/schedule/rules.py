"""Scheduling rules in local time: the names the engine uses, from :mod:`socialkit.schedule.time`.

One-off wall times, RRULE recurrences, weekly posting slots and evergreen recycling,
all under one DST policy. See :mod:`socialkit.schedule.time` for the policy and
``docs/scheduling-time.md`` for what it means to users.
"""

from __future__ import annotations

from socialkit.schedule.time import (
    Occurrence,
    Recurrence,
    Recycling,
    RRuleError,
    WallTime,
    classify_wall_time,
    iter_slot_occurrences,
    latest_missed,
    next_free_slot,
    next_recycle,
    occurrence_key,
    one_off,
    parse_local,
    parse_rrule,
    slot_occurrences,
    to_instant,
    to_local,
)

__all__ = [
    "Occurrence",
    "RRuleError",
    "Recurrence",
    "Recycling",
    "WallTime",
    "classify_wall_time",
    "iter_slot_occurrences",
    "latest_missed",
    "next_free_slot",
    "next_recycle",
    "occurrence_key",
    "one_off",
    "parse_local",
    "parse_rrule",
    "slot_occurrences",
    "to_instant",
    "to_local",
]
