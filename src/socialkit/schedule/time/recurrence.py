"""Recurring rules: an RRULE read in an IANA zone, expanded in local wall time.

A :class:`Recurrence` is stateless. Where it is in its sequence is the previous
occurrence's *local* wall time, which the engine stores; the next occurrences follow
from that, never from "now", so a worker that was down, a clock that jumped or a rule
expanded twice gives the same occurrences with the same keys.

Expansion runs on naive wall times (dateutil), then every wall time is mapped to an
instant by the DST policy of :mod:`~socialkit.schedule.time.zones` and released in
instant order (:func:`~socialkit.schedule.time.occurrence.in_instant_order`). The
guarantees, for every rule and zone:

* instants are strictly increasing: never two firings at one instant;
* at most one firing per local wall time (``BYHOUR=9,17`` fires twice a day, a wall time
  repeated by a fall-back change fires once, at its first pass);
* nothing is skipped: a wall time the clocks jump over fires moved forward by the gap,
  unless another wall time of the rule already fires at that instant;
* ``after(previous)`` chained from occurrence to occurrence gives exactly the sequence
  of one long expansion.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import attrs
from dateutil import rrule as du
from dateutil.relativedelta import relativedelta
from pydantic import field_validator, model_validator

from socialkit.models._base import SocialModel
from socialkit.schedule.time.occurrence import Occurrence, in_instant_order, occurrence_key
from socialkit.schedule.time.rfc5545 import RRuleError, RulePlan, parse_rrule
from socialkit.schedule.time.zones import (
    as_utc,
    earliest_instant,
    parse_local,
    require_naive,
    resolve_zone,
    to_instant,
    to_local,
    zone_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

__all__ = ["Recurrence", "latest_missed"]

# Two wall times more than this apart can never swap order as instants: UTC offsets lie
# strictly within ±24 h, so they differ by less than 48 h.
_REORDER_MARGIN = dt.timedelta(days=2)
# A rule must fire within this span after its start, or it is refused as never firing
# (dateutil would otherwise search up to the year 9999 for it).
_FIRST_WITHIN = relativedelta(years=100)
_TICK = dt.timedelta(microseconds=1)


@attrs.frozen(slots=True, eq=False)
class _Expansion:
    """A rule anchored at its start, able to expand from any later point cheaply."""

    plan: RulePlan
    start: dt.datetime
    kwargs: dict[str, Any]

    def rule(self, dtstart: dt.datetime, *, count: int | None) -> du.rrule:
        return du.rrule(dtstart=dtstart, count=count, until=self.plan.until_local, **self.kwargs)

    def anchor(self, target: dt.datetime | None) -> dt.datetime:
        """A start no later than ``target`` whose expansion matches the original's from there on.

        The anchor lies a whole number of ``INTERVAL`` periods after the start, so the
        periods line up; a weekly anchor is moved back to the first day of its week so the
        week's set (which ``BYSETPOS`` picks from) is whole. Rules with ``COUNT`` always
        expand from their start, since the count runs from there.
        """
        start = self.start
        if target is None or target <= start or self.plan.count is not None:
            return start
        freq, interval = self.plan.freq, self.plan.interval
        if freq in (du.YEARLY, du.MONTHLY):
            months = (target.year - start.year) * 12 + target.month - start.month
            per = interval * (12 if freq == du.YEARLY else 1)
            periods = months // per
            anchor = start + relativedelta(months=periods * per)
            if anchor > target:
                anchor = start + relativedelta(months=(periods - 1) * per)
            return anchor
        step = {
            du.WEEKLY: dt.timedelta(weeks=interval),
            du.DAILY: dt.timedelta(days=interval),
            du.HOURLY: dt.timedelta(hours=interval),
            du.MINUTELY: dt.timedelta(minutes=interval),
        }[freq]
        periods = (target - start) // step
        anchor = start + periods * step
        if freq == du.WEEKLY and periods > 0:
            back = (anchor.weekday() - self.plan.wkst) % 7
            anchor = dt.datetime.combine(anchor.date() - dt.timedelta(days=back), dt.time())
        return anchor

    def locals_from(self, target: dt.datetime | None) -> Iterator[dt.datetime]:
        """The rule's wall times in increasing order, complete from ``target`` on."""
        anchor = self.anchor(target)
        count = self.plan.count if anchor == self.start else None
        return iter(self.rule(anchor, count=count))

    def first_local(self) -> dt.datetime | None:
        """The earliest wall time within the search span, or None."""
        horizon = self.start + _FIRST_WITHIN
        until = self.plan.until_local
        probe = du.rrule(
            dtstart=self.start,
            until=horizon if until is None else min(until, horizon),
            **self.kwargs,
        )
        try:
            return next(iter(probe), None)
        except ValueError as exc:  # dateutil finds some empty combinations only while expanding
            raise RRuleError(f"RRULE {self.plan.text!r} cannot be expanded: {exc}") from None


@lru_cache(maxsize=1024)
def _expansion(text: str, start: dt.datetime) -> _Expansion:
    plan = parse_rrule(text)
    try:
        kwargs = plan.dateutil_kwargs(start)
        du.rrule(dtstart=start, **kwargs)  # dateutil's own consistency checks
    except ValueError as exc:
        raise RRuleError(f"RRULE {text!r} cannot be expanded: {exc}") from None
    return _Expansion(plan=plan, start=start, kwargs=kwargs)


@lru_cache(maxsize=1024)
def _first_local(text: str, start: dt.datetime) -> dt.datetime | None:
    return _expansion(text, start).first_local()


class Recurrence(SocialModel):
    """A recurring rule: an RRULE (RFC 5545) read in an IANA zone from a local start.

    Example:
        >>> rule = Recurrence(
        ...     rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0",
        ...     tz="Europe/Berlin",
        ...     start=dt.datetime(2026, 3, 23),
        ... )
        >>> [o.key for o in rule.after(None, limit=2)]
        ['2026-03-23T09:00:00', '2026-03-25T09:00:00']

    Attributes:
        rrule: the rule, e.g. ``FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0`` (stored in canonical
            upper case, without an ``RRULE:`` prefix). ``UNTIL`` is a UTC date-time
            (``…Z``) as the RFC asks; a floating date-time or a bare date is read as
            a local wall time in ``tz`` (a bare date includes its whole day).
        tz: the IANA zone the rule's wall times are read in.
        start: the naive local wall time the rule starts at (RFC 5545 ``DTSTART``); its
            time of day and weekday are the defaults for parts the rule leaves out.
            Seconds are kept, microseconds dropped.
    """

    rrule: str
    tz: str = "UTC"
    start: dt.datetime

    @field_validator("rrule")
    @classmethod
    def _check_rrule(cls, value: str) -> str:
        return parse_rrule(value).text

    @field_validator("tz", mode="before")
    @classmethod
    def _check_tz(cls, value: Any) -> Any:
        return zone_name(value)

    @field_validator("start", mode="before")
    @classmethod
    def _read_start(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_local(value)
        return value

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError(
                "start is a local wall time read in tz and must be naive "
                f"(got {value.isoformat()}); e.g. '2026-12-01 09:00'"
            )
        return value.replace(microsecond=0, fold=0)

    @model_validator(mode="after")
    def _check_fires(self) -> Recurrence:
        expansion = _expansion(self.rrule, self.start)
        first = _first_local(self.rrule, self.start)
        if first is None:
            raise ValueError(
                f"RRULE {self.rrule!r} never fires within 100 years of start "
                f"{self.start.isoformat()}"
            )
        until = expansion.plan.until_utc
        if until is not None and earliest_instant(first, self.zone) > until:
            raise ValueError(
                f"RRULE {self.rrule!r} never fires: UNTIL "
                f"{until.isoformat().replace('+00:00', 'Z')} is before its first occurrence "
                f"{first.isoformat()} {self.tz}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The :class:`~zoneinfo.ZoneInfo` of :attr:`tz`."""
        return resolve_zone(self.tz)

    @property
    def plan(self) -> RulePlan:
        """The parsed rule."""
        return _expansion(self.rrule, self.start).plan

    def minute_from_start(self) -> int | None:
        """The minute past the hour the rule takes from :attr:`start` when it names hours
        (``BYHOUR``) but no minute, as RFC 5545 says; ``None`` when that minute is 0 or
        the rule names its minutes. ``FREQ=DAILY;BYHOUR=9`` started at 14:37 fires at
        09:37: worth a word to whoever started it "now" (see ``scheduler.recur``)."""
        parts = {part.partition("=")[0] for part in self.rrule.split(";")}
        if "BYHOUR" not in parts or "BYMINUTE" in parts or self.start.minute == 0:
            return None
        return self.start.minute

    def iter_after(self, previous_local: dt.datetime | None = None) -> Iterator[Occurrence]:
        """Occurrences after ``previous_local`` in firing order, until the rule ends.

        Args:
            previous_local: the naive local wall time of the previous scheduled
                occurrence (:attr:`Occurrence.local`), or None to start from the start.
                Occurrences firing at or before that wall time's instant are not
                yielded, so chaining never repeats one.

        The iterator is endless for a rule without ``COUNT`` or ``UNTIL``.
        """
        zone = self.zone
        after: dt.datetime | None = None
        target: dt.datetime | None = None
        if previous_local is not None:
            require_naive(previous_local, "previous_local")
            after = to_instant(previous_local, zone)
            target = previous_local - _REORDER_MARGIN
        return self._occurrences(target, after)

    def after(
        self,
        previous_local: dt.datetime | None = None,
        *,
        limit: int,
        until: dt.datetime | None = None,
    ) -> list[Occurrence]:
        """The next occurrences after ``previous_local`` (see :meth:`iter_after`).

        Args:
            previous_local: the previous scheduled local wall time, or None.
            limit: at most this many occurrences.
            until: if given (aware), only occurrences with ``due_at <= until`` — the
                window the engine materialises ahead.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a whole number >= 0 (got {limit!r})")
        occurrences = self.iter_after(previous_local)
        if until is not None:
            end = as_utc(until, "until")
            occurrences = itertools.takewhile(lambda o: o.due_at <= end, occurrences)
        return list(itertools.islice(occurrences, limit))

    def between(self, start: dt.datetime, end: dt.datetime) -> list[Occurrence]:
        """Occurrences with ``start <= due_at < end`` (aware instants), in firing order."""
        lo, hi = as_utc(start, "start"), as_utc(end, "end")
        if hi <= lo:
            return []
        target = to_local(lo, self.zone) - _REORDER_MARGIN
        occurrences = self._occurrences(target, lo - _TICK, stop=hi)
        return list(itertools.takewhile(lambda o: o.due_at < hi, occurrences))

    def latest_at_or_before(
        self, moment: dt.datetime, *, after_local: dt.datetime | None = None
    ) -> Occurrence | None:
        """The last occurrence with ``due_at <= moment`` that comes after ``after_local``.

        Searches backwards from ``moment`` in windows that double, so a long outage costs
        about as much as the occurrences in the last window, not all of them.
        """
        moment = as_utc(moment, "now")
        zone = self.zone
        if after_local is not None:
            require_naive(after_local, "previous_local")
            floor = to_instant(after_local, zone) + _TICK
        else:
            floor = earliest_instant(self.start, zone)
        hi = moment + _TICK
        window = dt.timedelta(days=1)
        while hi > floor:
            lo = max(hi - window, floor)
            found = self.between(lo, hi)
            if found:
                return found[-1]
            hi, window = lo, window * 2
        return None

    def _occurrences(
        self,
        target: dt.datetime | None,
        after: dt.datetime | None,
        *,
        stop: dt.datetime | None = None,
    ) -> Iterator[Occurrence]:
        zone, name = self.zone, self.tz
        expansion = _expansion(self.rrule, self.start)
        locals_ = expansion.locals_from(target)
        until_utc = expansion.plan.until_utc
        bound = until_utc if stop is None or (until_utc is not None and until_utc < stop) else stop
        if bound is not None:
            edge = bound
            locals_ = itertools.takewhile(
                lambda local: earliest_instant(local, zone) <= edge, locals_
            )
        for due_at, local in in_instant_order(locals_, zone, after=after):
            if until_utc is not None and due_at > until_utc:
                return
            yield Occurrence(local=local, due_at=due_at, zone=name, key=occurrence_key(local))


def latest_missed(
    recurrence: Recurrence, previous_local: dt.datetime | None, now: dt.datetime
) -> Occurrence | None:
    """The occurrence a recurring rule fires after downtime: its latest missed one.

    After an outage a recurring rule fires once, for the latest occurrence that came due
    while nobody was running, not once per missed occurrence. This returns the last
    occurrence after ``previous_local`` with ``due_at <= now``, or None if none came due.
    The engine fires it (or not, by its grace policy) and continues with
    ``recurrence.after(missed.local, ...)``.

    Args:
        recurrence: the rule.
        previous_local: the local wall time of the last occurrence that was scheduled,
            or None if the rule never fired.
        now: the engine's clock (aware).
    """
    return recurrence.latest_at_or_before(now, after_local=previous_local)
