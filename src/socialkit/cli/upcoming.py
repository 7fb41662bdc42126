"""``socialkit upcoming``: a rule's next occurrences, local and UTC, as the engine fires them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from socialkit.cli._app import emit, fail, say

if TYPE_CHECKING:
    from pydantic import ValidationError

    from socialkit.schedule.time.occurrence import Occurrence


# Python's words for a date past the year 9999 (or before 1).
_OUT_OF_RANGE = re.compile(r"year -?\d+ is out of range|date value out of range")


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "rrule"
        where = {"rrule": "--rrule", "tz": "--tz", "start": "--start"}.get(where, where)
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _note(occurrence: Occurrence) -> str:
    from socialkit.schedule.time.zones import WallTime

    kind = occurrence.wall_time
    if kind is WallTime.SKIPPED:
        moved = occurrence.fires_local.replace(tzinfo=None) - occurrence.local
        hours, rest = divmod(int(moved.total_seconds()) // 60, 60)
        return f"skipped by the clocks: moved forward {hours}:{rest:02d}"
    if kind is WallTime.REPEATED:
        return "repeated by the clocks: fires once, the first time"
    return ""


def occurrence_line(occurrence: Occurrence) -> str:
    """One occurrence as ``upcoming`` prints it: the intended local time, when it fires
    (after the clocks' changes), UTC, and a note when the clocks skip or repeat it."""
    fires = occurrence.fires_local
    return "  ".join(
        (
            occurrence.local.strftime("%a %Y-%m-%d %H:%M"),
            f"fires {fires:%H:%M} {fires.tzname() or ''}".ljust(18),
            occurrence.due_at.strftime("%Y-%m-%d %H:%M UTC"),
            _note(occurrence),
        )
    ).rstrip()


RruleOption = Annotated[
    str,
    typer.Option(
        "--rrule",
        metavar="RULE",
        help="RFC 5545 rule, e.g. 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0'.",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("upcoming")
    def upcoming(
        rrule: RruleOption,
        tz: Annotated[
            str,
            typer.Option(
                "--tz", metavar="ZONE", help="IANA zone the rule's wall times are read in."
            ),
        ],
        start: Annotated[
            str | None,
            typer.Option(
                "--start",
                metavar="TIME",
                help="Local start of the rule (DTSTART), e.g. '2026-12-01 09:00'. "
                "Default: --after when given, else now in --tz, to the minute.",
            ),
        ] = None,
        after: Annotated[
            str | None,
            typer.Option(
                "--after",
                metavar="TIME",
                help="Previous scheduled local time: list what comes after it, "
                "as the engine continues a rule.",
            ),
        ] = None,
        count: Annotated[
            int,
            typer.Option(
                "--count", "-n", metavar="N", min=1, max=10_000, help="How many occurrences."
            ),
        ] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show a rule's next occurrences: the intended local time, when it fires, and UTC."""
        import datetime as dt

        from pydantic import ValidationError

        from socialkit.schedule.time import Recurrence, parse_local, to_local
        from socialkit.schedule.time.zones import zone_name

        # Each option is read on its own so the error names it (exit 2: a usage problem).
        try:
            zone = zone_name(tz)
        except ValueError as exc:
            raise fail(f"--tz: {exc}", code=2) from None
        try:
            previous = parse_local(after) if after is not None else None
        except ValueError as exc:
            raise fail(f"--after: {exc}", code=2) from None
        try:
            if start is not None:
                start_local = parse_local(start)
            elif previous is not None:
                # The previous occurrence was the rule's; "now" as its start would list
                # from today whatever --after says.
                start_local = previous
            else:
                now = dt.datetime.now(dt.UTC)
                start_local = to_local(now, zone).replace(second=0, microsecond=0)
        except ValueError as exc:
            raise fail(f"--start: {exc}", code=2) from None
        if previous is not None and previous < start_local:
            say(
                f"note: --after {previous.isoformat(sep=' ')} is before the rule's start "
                f"{start_local.isoformat(sep=' ')}; listing from the start",
                err=True,
            )
        try:
            rule = Recurrence(rrule=rrule, tz=zone, start=start_local)
        except ValidationError as exc:
            if any(_OUT_OF_RANGE.search(str(item["msg"])) for item in exc.errors()):
                # The rule's first time is looked for up to 100 years past the start:
                # from the year 9900 on that passes the last date Python holds.
                raise fail(
                    f"--start: {start_local.isoformat(' ', 'minutes')} is too late: the "
                    "rule's first time is looked for up to 100 years after the start, past "
                    "the year 9999 from 9900 on; give an earlier --start",
                    code=2,
                ) from None
            raise fail(_describe(exc), code=2) from None
        except ValueError as exc:
            raise fail(f"--rrule: {exc}", code=2) from None
        try:
            occurrences = rule.after(previous, limit=count)
        except OverflowError:  # a time near year 1 or 9999, in a zone that moves it past
            raise fail(
                f"--start: {start_local.isoformat(' ', 'minutes')} in {zone} is out of range: "
                "the rule's times fall outside the years 0001 to 9999",
                code=2,
            ) from None
        minute = rule.minute_from_start() if start is None and previous is None else None
        if minute is not None:
            say(
                f"note: the rule names no BYMINUTE and starts now, so it fires at minute "
                f"{minute:02d}; add BYMINUTE=0 for on the hour, or give --start",
                err=True,
            )
        lines = [f"{rule.rrule} in {rule.tz}, starting {rule.start.isoformat(sep=' ')}"]
        lines.extend(occurrence_line(occurrence) for occurrence in occurrences)
        if len(occurrences) < count:  # the rule's COUNT or UNTIL ends it before --count
            lines.append("no further occurrences")
        emit(
            {
                "rrule": rule.rrule,
                "tz": rule.tz,
                "start": rule.start.isoformat(),
                "after": previous.isoformat() if previous is not None else None,
                "occurrences": [occurrence.to_dict() for occurrence in occurrences],
            },
            as_json=as_json,
            text="\n".join(lines),
        )
