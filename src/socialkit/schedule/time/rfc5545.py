"""RRULE (RFC 5545 §3.3.10) parsing with errors that name the bad part.

:mod:`dateutil.rrule` expands rules; this module reads the text first, so a typo gives
``RRULE part BYHOUR=25: hours are 0..23`` instead of dateutil's bare ``ValueError``, and
so the defaults a rule takes from its start (the weekday of a ``WEEKLY`` rule, the time of
day of a ``DAILY`` one) are written out explicitly. Explicit defaults are what let a long
rule be expanded from a later anchor instead of from its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
from dateutil import rrule as du

__all__ = ["FREQUENCIES", "RRuleError", "RulePlan", "parse_rrule"]

FREQUENCIES: dict[str, int] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
    "HOURLY": du.HOURLY,
    "MINUTELY": du.MINUTELY,
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PARTS = (
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
_INT_LISTS: dict[str, tuple[int, int, bool, str]] = {
    # part: (lowest, highest, negatives allowed, what the numbers are)
    "BYSECOND": (0, 59, False, "seconds are 0..59"),
    "BYMINUTE": (0, 59, False, "minutes are 0..59"),
    "BYHOUR": (0, 23, False, "hours are 0..23"),
    "BYMONTHDAY": (1, 31, True, "days of the month are 1..31 or -31..-1"),
    "BYYEARDAY": (1, 366, True, "days of the year are 1..366 or -366..-1"),
    "BYWEEKNO": (1, 53, True, "ISO weeks are 1..53 or -53..-1"),
    "BYMONTH": (1, 12, False, "months are 1..12"),
    "BYSETPOS": (1, 366, True, "set positions are 1..366 or -366..-1"),
}
_BYDAY = re.compile(r"^(?P<n>[+-]?\d{1,2})?(?P<day>[A-Z]{2})$")
_UNTIL = re.compile(r"^\d{8}(T\d{6}Z?)?$")
_DATE_ONLY = re.compile(r"^\d{8}$|^\d{4}-\d{2}-\d{2}$")


class RRuleError(ValueError):
    """An RRULE that cannot be read; the message names the part and the value."""


@attrs.frozen(slots=True)
class RulePlan:
    """A parsed RRULE: what the rule says, before it is anchored at a start.

    Attributes:
        text: the rule in canonical form (upper case, no ``RRULE:`` prefix).
        freq: the dateutil frequency constant.
        interval: ``INTERVAL`` (1 when absent).
        count: ``COUNT``, or None.
        until_local: ``UNTIL`` as a local wall time (a floating date-time, or the end
            of the day for a bare date), or None.
        until_utc: ``UNTIL`` as an aware UTC instant (a ``…Z`` value), or None.
        wkst: the week start (0 = Monday, the RFC default).
        by: the ``BY…`` parts as dateutil keyword arguments.
    """

    text: str
    freq: int
    interval: int
    count: int | None
    until_local: dt.datetime | None
    until_utc: dt.datetime | None
    wkst: int
    by: dict[str, Any]

    @property
    def freq_name(self) -> str:
        """``DAILY``, ``WEEKLY``, …"""
        return next(name for name, value in FREQUENCIES.items() if value == self.freq)

    def dateutil_kwargs(self, start: dt.datetime) -> dict[str, Any]:
        """Keyword arguments for :class:`dateutil.rrule.rrule`, defaults made explicit.

        ``dtstart``, ``count`` and ``until`` are left to the caller. The defaults are
        the ones RFC 5545 and dateutil take from the start: the month and day of a
        ``YEARLY`` rule, the day of a ``MONTHLY`` one, the weekday of a ``WEEKLY`` one,
        and the hour, minute and second of anything coarser than those.
        """
        kwargs: dict[str, Any] = {
            "freq": self.freq,
            "interval": self.interval,
            "wkst": self.wkst,
            **self.by,
        }
        day_parts = ("byweekno", "byyearday", "bymonthday", "byweekday")
        if not any(part in self.by for part in day_parts):
            if self.freq == du.YEARLY:
                kwargs.setdefault("bymonth", (start.month,))
                kwargs["bymonthday"] = (start.day,)
            elif self.freq == du.MONTHLY:
                kwargs["bymonthday"] = (start.day,)
            elif self.freq == du.WEEKLY:
                kwargs["byweekday"] = (start.weekday(),)
        if self.freq < du.HOURLY:
            kwargs.setdefault("byhour", (start.hour,))
        if self.freq < du.MINUTELY:
            kwargs.setdefault("byminute", (start.minute,))
        kwargs.setdefault("bysecond", (start.second,))
        return kwargs


def _fail(name: str, value: str, reason: str, text: str) -> RRuleError:
    return RRuleError(f"RRULE part {name}={value}: {reason} (in {text!r})")


def _int_list(name: str, value: str, text: str) -> tuple[int, ...]:
    low, high, negatives, what = _INT_LISTS[name]
    numbers: list[int] = []
    for item in value.split(","):
        try:
            number = int(item)
        except ValueError:
            raise _fail(name, value, f"{item!r} is not a whole number; {what}", text) from None
        ok = low <= number <= high or (negatives and -high <= number <= -1)
        if not ok:
            raise _fail(name, value, f"{number} is out of range; {what}", text)
        numbers.append(number)
    return tuple(dict.fromkeys(numbers))


def _positive(name: str, value: str, text: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise _fail(name, value, "must be a whole number of at least 1", text)
    return int(value)


def _weekday(name: str, value: str, code: str, text: str) -> int:
    if code not in _WEEKDAYS:
        raise _fail(name, value, f"{code!r} is not a weekday; use {', '.join(_WEEKDAYS)}", text)
    return _WEEKDAYS.index(code)


def _byday(value: str, freq: str, has_weekno: bool, text: str) -> tuple[du.weekday, ...]:
    days: list[du.weekday] = []
    for item in value.split(","):
        match = _BYDAY.match(item)
        if match is None:
            raise _fail("BYDAY", value, f"{item!r} is not a weekday such as MO, +1MO or -1FR", text)
        index = _weekday("BYDAY", value, match["day"], text)
        ordinal = int(match["n"]) if match["n"] else None
        if ordinal is not None:
            if freq not in ("MONTHLY", "YEARLY") or (freq == "YEARLY" and has_weekno):
                raise _fail(
                    "BYDAY",
                    value,
                    f"{item!r}: a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY "
                    "(without BYWEEKNO)",
                    text,
                )
            limit = 5 if freq == "MONTHLY" else 53
            if ordinal == 0 or abs(ordinal) > limit:
                raise _fail(
                    "BYDAY", value, f"{item!r}: the number must be 1..{limit} or -{limit}..-1", text
                )
        days.append(du.weekday(index, ordinal))
    return tuple(dict.fromkeys(days))


def _until(value: str, text: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(local, utc): one of them set."""
    if _DATE_ONLY.match(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise _fail("UNTIL", value, str(exc), text) from None
        # A bare date ends the rule after that whole local day.
        return dt.datetime.combine(day, dt.time(23, 59, 59)), None
    if not _UNTIL.match(value):
        raise _fail(
            "UNTIL",
            value,
            "expected a UTC date-time such as 20261231T235959Z "
            "(or a local 20261231T235959, or a date 20261231)",
            text,
        )
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _fail("UNTIL", value, str(exc), text) from None
    if moment.tzinfo is not None:
        return None, moment.astimezone(dt.UTC)
    return moment, None


_UNSUPPORTED = ("RDATE", "EXDATE", "EXRULE")
_UNSUPPORTED_REASON = "RDATE, EXDATE and EXRULE are not supported: a rule is one RRULE"
_PROPERTY_LINE = re.compile(r"^(?P<name>[A-Za-z-]+)[:;]")


def _refuse_other_properties(source: str, text: str) -> None:
    """Refuse iCalendar lines beside the RRULE (``DTSTART:…``, ``EXDATE:…``, a second
    ``RRULE:``), pasted from a calendar: each gets its own reason, not a complaint
    about the ``FREQ`` value they ran into."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    names = []
    for line in lines:
        match = _PROPERTY_LINE.match(line)
        names.append(match["name"].upper() if match else None)
    for line, name in zip(lines, names, strict=True):
        if name == "DTSTART":
            raise RRuleError(
                f"RRULE line {line!r}: give the start as the recurrence's start "
                f"(start=, --start), not as a DTSTART line (in {text!r})"
            )
        if name in _UNSUPPORTED:
            raise RRuleError(f"RRULE line {line!r}: {_UNSUPPORTED_REASON} (in {text!r})")
    if names.count("RRULE") > 1:
        raise RRuleError(
            f"RRULE has {names.count('RRULE')} RRULE lines; a rule is one RRULE, such as "
            f"'FREQ=DAILY;BYHOUR=9;BYMINUTE=0' (make one rule for each) (in {text!r})"
        )


def parse_rrule(text: str) -> RulePlan:
    """Read an RRULE value such as ``FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0``.

    Names and values are case-insensitive and an ``RRULE:`` prefix is allowed. Beyond
    the syntax, the RFC's restrictions are checked: ``FREQ`` is required, ``COUNT`` and
    ``UNTIL`` exclude each other, ``BYWEEKNO`` needs ``YEARLY``, ``BYYEARDAY`` is not for
    ``DAILY``/``WEEKLY``/``MONTHLY``, ``BYMONTHDAY`` is not for ``WEEKLY``, a numbered
    ``BYDAY`` (``-1FR``) needs ``MONTHLY`` or ``YEARLY``, and ``BYSETPOS`` needs another
    ``BY…`` part. ``FREQ=SECONDLY`` is refused: nothing is published every second, and
    so are ``RDATE``, ``EXDATE`` and ``EXRULE`` (also as lines pasted beside the rule),
    which socialkit does not support, and a ``DTSTART`` (the start is given apart).

    Raises:
        RRuleError: the message names the part, the value and the whole rule.
    """
    if not isinstance(text, str):
        raise RRuleError(f"RRULE must be text (got {type(text).__name__})")
    source = text.strip()
    _refuse_other_properties(source, text)
    if source.upper().startswith("RRULE:"):
        source = source[len("RRULE:") :]
    if not source:
        raise RRuleError("RRULE is empty; expected e.g. 'FREQ=DAILY;BYHOUR=9;BYMINUTE=0'")
    parts: dict[str, str] = {}
    for chunk in source.split(";"):
        if not chunk.strip():
            continue
        name, sep, value = chunk.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name:
            raise RRuleError(f"RRULE part {chunk!r} is not NAME=VALUE (in {text!r})")
        if name == "DTSTART":
            raise RRuleError(
                f"RRULE part {chunk!r}: give the start as the recurrence's start, "
                f"not inside the rule (in {text!r})"
            )
        if name in _UNSUPPORTED:
            raise RRuleError(
                f"RRULE part {name!r}: {_UNSUPPORTED_REASON}; leave it out (in {text!r})"
            )
        if name not in _PARTS:
            raise RRuleError(
                f"RRULE part {name!r} is not an RFC 5545 rule part; known parts: "
                f"{', '.join(_PARTS)} (in {text!r})"
            )
        if name in parts:
            raise RRuleError(f"RRULE part {name} appears twice (in {text!r})")
        if not value:
            raise _fail(name, value, "has no value", text)
        parts[name] = value
    canonical = ";".join(f"{name}={value}" for name, value in parts.items())

    if "FREQ" not in parts:
        raise RRuleError(f"RRULE has no FREQ part; start with FREQ=DAILY, WEEKLY, … (in {text!r})")
    freq = parts["FREQ"]
    if freq == "SECONDLY":
        raise _fail("FREQ", freq, "socialkit schedules at most once a minute (MINUTELY)", text)
    if freq not in FREQUENCIES:
        raise _fail("FREQ", freq, f"use one of {', '.join(FREQUENCIES)}", text)
    if "COUNT" in parts and "UNTIL" in parts:
        raise RRuleError(f"RRULE parts COUNT and UNTIL exclude each other (in {text!r})")

    by: dict[str, Any] = {}
    for name in _INT_LISTS:
        if name in parts:
            by[name.lower()] = _int_list(name, parts[name], text)
    if "BYDAY" in parts:
        by["byweekday"] = _byday(parts["BYDAY"], freq, "BYWEEKNO" in parts, text)
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise _fail("BYWEEKNO", parts["BYWEEKNO"], "only allowed with FREQ=YEARLY", text)
    if "BYYEARDAY" in parts and freq in ("DAILY", "WEEKLY", "MONTHLY"):
        raise _fail("BYYEARDAY", parts["BYYEARDAY"], f"not allowed with FREQ={freq}", text)
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise _fail("BYMONTHDAY", parts["BYMONTHDAY"], "not allowed with FREQ=WEEKLY", text)
    if len(by.get("bysecond", ())) > 1:
        raise _fail(
            "BYSECOND", parts["BYSECOND"], "socialkit schedules at most once a minute", text
        )
    if "BYSETPOS" in parts and len(by) == 1:
        raise _fail("BYSETPOS", parts["BYSETPOS"], "needs another BY… part to select from", text)

    until_local = until_utc = None
    if "UNTIL" in parts:
        until_local, until_utc = _until(parts["UNTIL"], text)
    return RulePlan(
        text=canonical,
        freq=FREQUENCIES[freq],
        interval=_positive("INTERVAL", parts["INTERVAL"], text) if "INTERVAL" in parts else 1,
        count=_positive("COUNT", parts["COUNT"], text) if "COUNT" in parts else None,
        until_local=until_local,
        until_utc=until_utc,
        wkst=_weekday("WKST", parts["WKST"], parts["WKST"], text) if "WKST" in parts else 0,
        by=by,
    )
