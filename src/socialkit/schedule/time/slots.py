"""Posting slots: the weekly grid an account's queue fills.

An account has weekly slots (weekday × local wall time, :class:`~socialkit.models.account.PostingSlot`)
read in the account's own zone. "Add to queue" puts a post into the next free slot.
Slot wall times follow the same DST policy as every rule: a slot the clocks skip fires
moved forward by the gap, a repeated one fires once, and two slots that land on one
instant count as one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

from socialkit.schedule.time.occurrence import Occurrence, in_instant_order, occurrence_key
from socialkit.schedule.time.zones import as_utc, resolve_zone, to_local, zone_name

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator

    from socialkit.models.account import PostingSlot
    from socialkit.schedule.time.zones import ZoneLike

__all__ = ["iter_slot_occurrences", "next_free_slot", "slot_occurrences"]

_TICK = dt.timedelta(microseconds=1)
# Wall times this far before a moment cannot fire after it (offsets differ by < 48 h).
_LOOKBACK = dt.timedelta(days=2)


def iter_slot_occurrences(
    slots: Iterable[PostingSlot], zone: ZoneLike, after: dt.datetime
) -> Iterator[Occurrence]:
    """Every slot firing strictly after the aware instant ``after``, in firing order (endless).

    Raises:
        ValueError: there are no slots, or ``after`` is naive.
    """
    info = resolve_zone(zone)
    name = zone_name(info)
    after_utc = as_utc(after, "after")
    by_weekday: dict[int, list[dt.time]] = {}
    for slot in slots:
        by_weekday.setdefault(int(slot.weekday), []).append(slot.time)
    if not by_weekday:
        raise ValueError("the account has no posting slots; add some before queueing")
    times = {day: sorted(set(values)) for day, values in by_weekday.items()}

    def wall_times() -> Iterator[dt.datetime]:
        day = (to_local(after_utc, info) - _LOOKBACK).date()
        while True:
            for time in times.get(day.weekday(), ()):
                yield dt.datetime.combine(day, time)
            day += dt.timedelta(days=1)

    for due_at, local in in_instant_order(wall_times(), info, after=after_utc):
        yield Occurrence(local=local, due_at=due_at, zone=name, key=occurrence_key(local))


def next_free_slot(
    slots: Iterable[PostingSlot],
    zone: ZoneLike,
    after: dt.datetime,
    taken: Collection[dt.datetime] = (),
) -> Occurrence:
    """The first slot firing after ``after`` whose instant is not ``taken`` ("add to queue").

    Args:
        slots: the account's weekly slots.
        zone: the account's zone; slot times are wall times in it.
        after: an aware instant, usually the engine's ``now``; the slot fires strictly later.
        taken: aware instants already used by the account's queued publications.

    Raises:
        ValueError: no slots, or a naive ``after`` or ``taken`` value.
    """
    used = {as_utc(moment, "taken instant") for moment in taken}
    for occurrence in iter_slot_occurrences(slots, zone, after):
        if occurrence.due_at not in used:
            return occurrence
    raise AssertionError("unreachable: slot occurrences are endless")  # pragma: no cover


def slot_occurrences(
    slots: Iterable[PostingSlot], zone: ZoneLike, start: dt.datetime, end: dt.datetime
) -> list[Occurrence]:
    """Slot firings with ``start <= due_at < end`` (aware instants), in firing order."""
    lo, hi = as_utc(start, "start"), as_utc(end, "end")
    if hi <= lo:
        return []
    return list(
        itertools.takewhile(lambda o: o.due_at < hi, iter_slot_occurrences(slots, zone, lo - _TICK))
    )
