"""Wall times and instants: the DST policy in one place.

socialkit stores UTC instants and keeps the IANA zone and the local wall time of the
intent beside them. Turning a wall time into an instant follows one policy everywhere:

* a wall time that exists once maps to that instant;
* a wall time that does not exist (skipped by a spring-forward change) is moved forward by
  the length of the gap: 02:30 on a day New York jumps from 02:00 to 03:00 fires at
  03:30 EDT;
* a wall time that exists twice (repeated by a fall-back change) fires once, at the first
  of the two instants (``fold=0``): 01:30 on New York's fall-back day fires at 01:30 EDT.

This is what :pep:`495` prescribes for ``fold=0`` and what :mod:`zoneinfo` does, so
:func:`to_instant` is a thin, checked wrapper; the policy is written out here because the
scheduler's promises (nothing skipped, nothing doubled) rest on it.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from functools import lru_cache
from typing import TypeAlias
from zoneinfo import ZoneInfo

from socialkit.models.account import check_zone

__all__ = [
    "WallTime",
    "ZoneLike",
    "classify_wall_time",
    "parse_local",
    "resolve_zone",
    "to_instant",
    "to_local",
]

UTC = dt.UTC

ZoneLike: TypeAlias = str | ZoneInfo
"""An IANA zone name (``"Europe/Berlin"``) or a :class:`~zoneinfo.ZoneInfo`."""


class WallTime(enum.StrEnum):
    """What a local wall time is in its zone on its day."""

    EXISTS = "exists"
    """The wall time happens exactly once."""
    SKIPPED = "skipped"
    """The clocks jump over it (spring forward); it fires moved forward by the gap."""
    REPEATED = "repeated"
    """The clocks pass it twice (fall back); it fires once, at the first pass."""


@lru_cache(maxsize=512)
def _zone_by_name(name: str) -> ZoneInfo:
    check_zone(name)
    return ZoneInfo(name)


def resolve_zone(zone: ZoneLike) -> ZoneInfo:
    """The :class:`~zoneinfo.ZoneInfo` for ``zone``.

    Raises:
        ValueError: ``zone`` is not a known IANA zone name; the message names it.
    """
    if isinstance(zone, ZoneInfo):
        return zone
    if not isinstance(zone, str) or not zone.strip():
        raise ValueError(f"time zone must be an IANA zone name (got {zone!r})")
    return _zone_by_name(zone.strip())


def zone_name(zone: ZoneLike) -> str:
    """The IANA name of ``zone`` (``ZoneInfo.key``)."""
    info = resolve_zone(zone)
    return info.key if info.key is not None else str(info)


def require_naive(local: dt.datetime, what: str = "local") -> None:
    """Refuse anything but a naive datetime, naming ``what``."""
    if not isinstance(local, dt.datetime):
        raise TypeError(f"{what} must be a datetime (got {type(local).__name__})")
    if local.tzinfo is not None:
        raise ValueError(
            f"{what} is a wall time and must be naive; give the zone separately "
            f"(got {local.isoformat()})"
        )


def _require_aware(instant: dt.datetime, what: str) -> None:
    if not isinstance(instant, dt.datetime):
        raise TypeError(f"{what} must be a datetime (got {type(instant).__name__})")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {instant.isoformat()})")


def as_utc(instant: dt.datetime, what: str = "instant") -> dt.datetime:
    """``instant`` converted to UTC; refuses a naive datetime, naming ``what``."""
    _require_aware(instant, what)
    return instant.astimezone(UTC)


def to_instant(local: dt.datetime, zone: ZoneLike) -> dt.datetime:
    """The UTC instant at which the wall time ``local`` in ``zone`` fires.

    Applies the DST policy: a skipped wall time is moved forward by the gap, a repeated
    one resolves to its first occurrence (``fold=0``). The ``fold`` attribute of
    ``local`` is ignored, so equal wall times always give equal instants.

    Args:
        local: a naive wall time, as the person meant it.
        zone: the IANA zone the wall time is read in.

    Returns:
        An aware datetime in UTC.

    Raises:
        ValueError: ``local`` is aware, ``zone`` is unknown, or the instant falls outside
            the years 1 to 9999 (the end of 9999-12-31 west of UTC, say).

    Example:
        >>> to_instant(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
        datetime.datetime(2026, 3, 8, 7, 30, tzinfo=datetime.timezone.utc)
    """
    require_naive(local)
    info = resolve_zone(zone)
    try:
        return local.replace(tzinfo=info, fold=0).astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{local.isoformat(' ', 'minutes')} in {info.key} is out of range: its UTC time "
            "is outside the years 0001 to 9999"
        ) from None


def to_local(instant: dt.datetime, zone: ZoneLike) -> dt.datetime:
    """The naive wall time a clock in ``zone`` shows at ``instant`` (an aware datetime)."""
    _require_aware(instant, "instant")
    return instant.astimezone(resolve_zone(zone)).replace(tzinfo=None, fold=0)


def classify_wall_time(local: dt.datetime, zone: ZoneLike) -> WallTime:
    """Whether ``local`` exists once, is skipped, or is repeated in ``zone``."""
    require_naive(local)
    info = resolve_zone(zone)
    first = local.replace(tzinfo=info, fold=0)
    second = local.replace(tzinfo=info, fold=1)
    if first.utcoffset() == second.utcoffset():
        return WallTime.EXISTS
    shown = first.astimezone(UTC).astimezone(info).replace(tzinfo=None, fold=0)
    return WallTime.REPEATED if shown == local else WallTime.SKIPPED


def earliest_instant(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A lower bound on :func:`to_instant` of every wall time at or after ``local``.

    For a wall time that exists (once or twice) this is its first instant; for a skipped
    one it is the instant the gap would put it at with the offset after the change,
    which lies before the change. Any later wall time maps to the same instant or a later
    one (the first instant a clock reads at least ``local`` never moves backwards), which
    is what lets occurrences be released in instant order while expanding in wall time.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return min(first, second)


_LOOSE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:(?:\s+|T)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?)?$"
)
_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$", re.IGNORECASE)


def parse_local(text: str) -> dt.datetime:
    """Parse a local wall time such as ``"2026-12-01 09:00"`` into a naive datetime.

    Accepts ``YYYY-MM-DD HH:MM``, ``YYYY-MM-DDTHH:MM[:SS]`` (other ISO 8601 forms that
    :meth:`datetime.fromisoformat` reads, such as ``20261201T0900``, too), a one-digit
    hour (``"2026-12-01 9:00"``), any run of spaces or tabs between the date and the time,
    and a bare date (midnight). A wall time carries no offset: the zone is given
    separately, so ``"…+01:00"`` and ``"…Z"`` are refused.

    Raises:
        ValueError: the text is not a local date and time; the message quotes it.
    """
    if not isinstance(text, str):
        raise TypeError(f"local time must be text (got {type(text).__name__})")
    value = text.strip()
    if not value:
        raise ValueError("local time is empty; expected e.g. '2026-12-01 09:00'")
    if len(value) > 10 and _OFFSET.search(value):
        raise ValueError(
            f"local time {text!r} carries a UTC offset; give the wall time alone "
            "(e.g. '2026-12-01 09:00') and the zone separately"
        )
    match = _LOOSE.match(value)
    if match is not None:
        hour = match["h"] or "0"
        canonical = f"{match['date']}T{int(hour):02d}:{match['m'] or '00'}:{match['s'] or '00'}"
    else:
        canonical = value
    try:
        parsed = dt.datetime.fromisoformat(canonical)
    except ValueError as exc:
        reason = str(exc) if match is not None else "not a date and time"
        raise ValueError(
            f"cannot read local time {text!r}: {reason}; expected e.g. '2026-12-01 09:00'"
        ) from None
    if parsed.tzinfo is not None:
        raise ValueError(
            f"local time {text!r} carries a UTC offset; give the wall time alone "
            "and the zone separately"
        )
    return parsed
