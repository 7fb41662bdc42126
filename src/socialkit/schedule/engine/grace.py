"""Grace periods: a moment already past a publication's grace period would be ``missed``
at once, so the calls that set a moment (schedule, reschedule, evergreen) refuse it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt

    from socialkit.schedule.publication import Publication

__all__ = [
    "PastGracePeriod",
    "age",
    "made_minute",
    "missable_grace",
    "past_grace",
    "refuse_missed",
]


_REMEDY = "give a later time, or publish_late=True to publish it now"


class PastGracePeriod(ValueError):
    """A moment already past its grace period: it would be ``missed`` at once.

    ``problem`` says what is wrong without the remedy, for callers (the command line)
    whose remedy is not ``publish_late=True``.
    """

    def __init__(
        self,
        problem: str,
        remedy: str = _REMEDY,
    ) -> None:
        super().__init__(f"{problem}; {remedy}")
        self.problem = problem


def refuse_missed(problem: str | None, remedy: str = _REMEDY) -> None:
    """Raise :class:`PastGracePeriod` for what :func:`past_grace` found, if anything."""
    if problem is not None:
        raise PastGracePeriod(problem, remedy)


def past_grace(
    field: str,
    local: dt.datetime,
    zone: str,
    due_at: dt.datetime,
    account_id: str,
    now: dt.datetime,
    grace_s: float,
) -> str | None:
    """What is wrong with ``due_at`` (named ``field``) when it is past the grace period."""
    late_by = now - due_at
    if late_by.total_seconds() <= grace_s:
        return None
    return (
        f"{field}: {local:%Y-%m-%d %H:%M} {zone} for {account_id} was "
        f"{age(late_by)} ago, past the grace period ({grace_s:g} s); it would be missed at "
        "once"
    )


def made_minute(created_at: dt.datetime) -> dt.datetime:
    """The moment a rule made at ``created_at`` without a grace period counts as
    existing from: the start of that minute. A rule's default start is "now" to the
    minute (``recur()`` without ``start``), so its first occurrence is seconds before the
    rule was made; it is not one from before the rule existed. (With a grace period, that
    occurrence fires when it is within it, and would be missed at once otherwise.)"""
    return created_at.replace(second=0, microsecond=0)


def age(delta: dt.timedelta) -> str:
    """``delta`` for people: "3 days", "2 hours", "5 minutes", "40 s"."""
    seconds = delta.total_seconds()
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def missable_grace(publication: Publication) -> dt.timedelta | None:
    """How late ``publication`` may still start before the misfire policy marks it
    ``missed``; ``None`` when it never is (no grace period, it may publish late, or it
    was sent before: a failed one brought back)."""
    if publication.publish_late or publication.sends > 0:
        return None
    return publication.grace
