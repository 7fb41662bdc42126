"""Time for the scheduler: wall times, the DST policy, recurrence, posting slots.

Pure functions and data, no I/O and no clock: every "now" is passed in. Storage holds
UTC instants; intent is a local wall time in an IANA zone. The DST policy, applied by
:func:`to_instant` and everything built on it:

* a wall time the clocks skip fires moved forward by the gap (02:30 on New York's
  spring-forward day fires at 03:30 EDT);
* a wall time the clocks repeat fires once, at its first pass (``fold=0``);
* a rule fires at most once per local wall time and never twice at one instant.
"""

from __future__ import annotations

from socialkit.schedule.time.occurrence import Occurrence, occurrence_key, one_off
from socialkit.schedule.time.recurrence import Recurrence, latest_missed
from socialkit.schedule.time.recycling import Recycling, next_recycle
from socialkit.schedule.time.rfc5545 import RRuleError, RulePlan, parse_rrule
from socialkit.schedule.time.slots import iter_slot_occurrences, next_free_slot, slot_occurrences
from socialkit.schedule.time.zones import (
    WallTime,
    ZoneLike,
    as_utc,
    classify_wall_time,
    parse_local,
    resolve_zone,
    to_instant,
    to_local,
)

__all__ = [
    "Occurrence",
    "RRuleError",
    "Recurrence",
    "Recycling",
    "RulePlan",
    "WallTime",
    "ZoneLike",
    "as_utc",
    "classify_wall_time",
    "iter_slot_occurrences",
    "latest_missed",
    "next_free_slot",
    "next_recycle",
    "occurrence_key",
    "one_off",
    "parse_local",
    "parse_rrule",
    "resolve_zone",
    "slot_occurrences",
    "to_instant",
    "to_local",
]
