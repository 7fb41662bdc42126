"""Occurrences: one firing of a rule, and the order they fire in.

Rules are expanded in local wall time and each wall time is mapped to an instant with
:func:`~socialkit.schedule.time.zones.to_instant`. Around a spring-forward change that
mapping is not monotonic (02:45 in the gap fires at 03:45, after 03:15), and two wall
times can land on the same instant (02:00 in the gap and 03:00 both fire at 03:00).
:func:`in_instant_order` turns wall times in increasing order into occurrences in
strictly increasing instant order, keeping the earliest wall time when two collide.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import attrs

from socialkit.schedule.time.zones import (
    UTC,
    WallTime,
    classify_wall_time,
    earliest_instant,
    resolve_zone,
    to_instant,
    zone_name,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Iterator
    from zoneinfo import ZoneInfo

    from socialkit.schedule.time.zones import ZoneLike

__all__ = ["Occurrence", "in_instant_order", "occurrence_key", "one_off"]


def occurrence_key(local: dt.datetime) -> str:
    """The stable key of an occurrence: its local wall time, ``YYYY-MM-DDTHH:MM:SS``.

    The engine builds idempotency keys from a rule's id and this key, so the same
    intended wall time can never be materialised twice, however often a rule is
    re-expanded.
    """
    return local.strftime("%Y-%m-%dT%H:%M:%S")


@attrs.frozen(slots=True, order=False)
class Occurrence:
    """One firing of a rule.

    Attributes:
        local: the naive wall time as intended (``02:30`` even when 02:30 is skipped).
        due_at: the aware UTC instant it fires at, by the DST policy.
        zone: the IANA zone ``local`` is read in.
        key: a stable string derived from ``local`` (see :func:`occurrence_key`).
    """

    local: dt.datetime
    due_at: dt.datetime
    zone: str
    key: str

    @classmethod
    def at(cls, local: dt.datetime, zone: ZoneLike) -> Occurrence:
        """The occurrence of the wall time ``local`` in ``zone`` (by the DST policy)."""
        local = local.replace(fold=0)
        return cls(
            local=local,
            due_at=to_instant(local, zone),
            zone=zone_name(zone),
            key=occurrence_key(local),
        )

    @property
    def fires_local(self) -> dt.datetime:
        """The aware local time a clock in :attr:`zone` shows when it fires."""
        return self.due_at.astimezone(resolve_zone(self.zone))

    @property
    def wall_time(self) -> WallTime:
        """Whether :attr:`local` exists, is skipped (moved forward) or is repeated."""
        return classify_wall_time(self.local, self.zone)

    @property
    def shifted(self) -> bool:
        """True when the intended wall time was skipped and fires moved forward."""
        return self.fires_local.replace(tzinfo=None) != self.local

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form: ISO strings, UTC with ``Z``."""
        return {
            "key": self.key,
            "local": self.local.isoformat(),
            "zone": self.zone,
            "due_at": self.due_at.isoformat().replace("+00:00", "Z"),
            "fires_local": self.fires_local.isoformat(),
            "wall_time": self.wall_time.value,
        }


def one_off(local: dt.datetime, zone: ZoneLike) -> Occurrence:
    """A one-off publication at the wall time ``local`` in ``zone``."""
    return Occurrence.at(local, zone)


def in_instant_order(
    locals_: Iterable[dt.datetime],
    zone: ZoneInfo,
    *,
    after: dt.datetime | None = None,
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """``(due_at, local)`` pairs in strictly increasing ``due_at`` order.

    Args:
        locals_: naive wall times in increasing order (may be endless).
        zone: the zone they are read in.
        after: only pairs with ``due_at`` strictly after this aware instant.

    A pair is released once no later wall time can map to an instant at or before it
    (bounded by :func:`~socialkit.schedule.time.zones.earliest_instant`), so the
    buffer holds at most a DST gap's worth of wall times. When several wall times map
    to one instant only the earliest wall time is kept: at most one firing per instant.
    """
    pending: list[tuple[dt.datetime, dt.datetime]] = []
    last = after.astimezone(UTC) if after is not None else None
    for local in locals_:
        floor = earliest_instant(local, zone)
        while pending and pending[0][0] < floor:
            due_at, held = heapq.heappop(pending)
            if last is None or due_at > last:
                last = due_at
                yield due_at, held
        heapq.heappush(pending, (local.replace(tzinfo=zone, fold=0).astimezone(UTC), local))
    while pending:
        due_at, held = heapq.heappop(pending)
        if last is None or due_at > last:
            last = due_at
            yield due_at, held
