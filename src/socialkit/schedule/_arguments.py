"""Arguments of :class:`~socialkit.schedule.AsyncScheduler`: their types, checks and how
a moment, a zone or a pause is read from them."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from pydantic import ValidationError

from socialkit.errors import ConfigError
from socialkit.models._arguments import account_items as account_items
from socialkit.models._arguments import check_post as check_post
from socialkit.models._arguments import shown as shown
from socialkit.models.account import Account
from socialkit.schedule.engine.grace import age, made_minute
from socialkit.schedule.publication import PauseScope
from socialkit.schedule.rules import Occurrence, Recurrence, parse_local
from socialkit.schedule.states import PublicationState
from socialkit.schedule.time.zones import resolve_zone

if TYPE_CHECKING:
    import builtins
    from zoneinfo import ZoneInfo

    from socialkit.models.content import Post
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.publication import Publication
    from socialkit.schedule.records import NewPublication


__all__ = ["AccountsArg", "ScheduleRequest", "When"]

S = PublicationState
AccountsArg = Account | str | Iterable[Account | str]
"""One account or several: :class:`Account` objects of the scheduler's workspace (stored as
given) or ids of stored ones."""
When = dt.datetime | dt.date | str
"""A moment: an aware datetime, or a local wall time (naive datetime or ``"2026-12-01 09:00"``)
read in ``tz`` (or each account's own zone); a date is its local midnight, as ``"2026-12-01"``
is."""


@attrs.frozen(kw_only=True, slots=True)
class ScheduleRequest:
    """One entry of :meth:`AsyncScheduler.schedule_many`: a post, its accounts, a moment."""

    post: Post
    accounts: AccountsArg
    at: When
    tz: str | None = None
    campaign: str | None = None
    key: str | None = None


def keyed(key: str, workspace: str, account_id: str) -> str:
    """The idempotency key of the publication ``schedule(..., key=key)`` makes for one
    account. The default workspace keeps the form it always had; another workspace's key
    carries the workspace's name, so two tenants using the same key never meet."""
    if workspace == "default":
        return f"{key}:{account_id}"
    return f"{workspace}/{key}:{account_id}"


def created_publication(
    new: NewPublication, post: Post, now: dt.datetime, state: PublicationState
) -> Publication:
    """The publication just inserted, without reading it back.

    The first one is validated; each later one is a copy of it with every field it sets
    replaced (``model_copy``: no validation again, for values the
    engine made itself, checked before the insert). It runs after the commit, where
    nothing may raise: a caller told "failed" would schedule the post again.
    """
    values: dict[str, Any] = {
        "id": new.id,
        "workspace": new.workspace,
        "account_id": new.account_id,
        "platform": new.platform,
        "revision": new.revision,
        "post": post,
        "due_at": new.due_at,
        "local_time": new.local_time,
        "zone": new.zone,
        "state": state,
        "run_at": new.due_at,
        "idempotency_key": new.idempotency_key,
        "campaign": new.campaign,
        "approvals_required": new.approvals_required,
        "grace": dt.timedelta(seconds=new.grace_s) if new.grace_s is not None else None,
        "publish_late": new.publish_late,
        "created_at": now,
        "updated_at": now,
    }
    template = _created[0]
    if template is None:
        from socialkit.schedule.publication import Publication

        first = _created[0] = Publication(**values)
        return first
    return template.model_copy(update=values)


# The first publication created_publication made: the others are copies of it (the same
# fields set, so equal to a validated one in every way, ``model_fields_set`` included).
_created: list[Publication | None] = [None]


MILLISECOND = dt.timedelta(milliseconds=1)


def grace_seconds(grace: dt.timedelta | None, config: EngineConfig) -> float | None:
    chosen = grace if grace is not None else config.grace
    return chosen.total_seconds() if chosen is not None else None


def due_moment(at: When, zone: str) -> tuple[dt.datetime, dt.datetime, str]:
    """``(due_at, local_time, zone)`` of :func:`occurrence_at`, without building an
    :class:`Occurrence` for an aware instant (the common case in bulk schedules)."""
    if isinstance(at, dt.datetime) and at.tzinfo is not None and at.utcoffset() is not None:
        instant = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
        if zone == "UTC":
            return instant, instant.replace(tzinfo=None), zone
        return instant, instant.astimezone(zone_info(zone)).replace(tzinfo=None), zone
    occurrence = occurrence_at(at, zone)
    return occurrence.due_at, occurrence.local, occurrence.zone


def occurrence_at(at: When, zone: str) -> Occurrence:
    """An occurrence for an aware instant or a local wall time read in ``zone`` (a date:
    its local midnight).

    Raises:
        TypeError: ``at`` is none of these.
    """
    if isinstance(at, str):
        return Occurrence.at(parse_local(at), zone)
    if not isinstance(at, dt.datetime):
        if isinstance(at, dt.date):
            return Occurrence.at(dt.datetime.combine(at, dt.time()), zone)
        raise TypeError(
            "expected an aware datetime, a local wall time (a naive datetime, or text such "
            f"as '2026-12-01 09:00') or a date (got {shown(at)})"
        )
    if at.tzinfo is not None and at.utcoffset() is not None:
        instant = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
        local = instant.astimezone(zone_info(zone)).replace(tzinfo=None)
        return Occurrence(local=local, due_at=instant, zone=zone, key=local.isoformat())
    return Occurrence.at(at, zone)


@functools.lru_cache(maxsize=1024)
def zone_info(name: str) -> ZoneInfo:
    # resolve_zone caches the ZoneInfo too; this skips its argument checks for the names
    # a bulk schedule repeats on every request (the hot path of schedule_many).
    return resolve_zone(name)


def checked_occurrence(field: str, at: When, zone: str) -> Occurrence:
    """:func:`occurrence_at`, with a bad time or zone reported under the argument's name."""
    try:
        return occurrence_at(at, zone)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{field}: {exc}") from None


def check_tz(tz: str | None, field: str = "tz") -> None:
    """Refuse a zone that is not an IANA name (``None``: each account's own zone)."""
    if tz is None:
        return
    try:
        resolve_zone(tz)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def check_grace(grace: dt.timedelta | None) -> None:
    if grace is not None and not isinstance(grace, dt.timedelta):
        raise TypeError(
            "grace: expected a datetime.timedelta such as timedelta(hours=1), or None "
            f"(got {shown(grace)})"
        )
    if grace is not None and grace < dt.timedelta(0):
        raise ValueError(f"grace: must not be negative (got {grace.total_seconds():g} s)")


def check_accounts(items: builtins.list[Account | str], field: str) -> None:
    """Refuse no account, or one given twice (it would get the post twice)."""
    if not items:
        raise ConfigError(f"{field}: no accounts given")
    seen: set[str] = set()
    for item in items:
        account_id = item if isinstance(item, str) else item.id
        if account_id in seen:
            raise ConfigError(
                f"{field}: account {account_id!r} is given twice; each account gets one publication"
            )
        seen.add(account_id)


def check_actor(actor: str) -> None:
    """``actor``: who did it, as non-blank text (it goes into the history)."""
    if not isinstance(actor, str):
        raise TypeError(f"actor: expected who did it, as text such as 'ann' (got {shown(actor)})")
    if not actor.strip():
        raise ValueError(f"actor: say who did it, for the history (got {actor!r})")


def check_key(key: str | None, field: str = "key") -> None:
    """An idempotency key: non-blank text, or ``None`` for none. An empty key was taken as
    no key at all, so scheduling again with it made another publication each time."""
    if key is None:
        return
    if not isinstance(key, str):
        raise TypeError(
            f"{field}: expected an idempotency key as text such as 'launch-2026', or None "
            f"(got {shown(key)})"
        )
    if not key.strip():
        raise ValueError(
            f"{field}: an idempotency key must not be blank (got {key!r}); give None for none"
        )


def check_note(value: str | None, field: str) -> None:
    """A ``reason`` or ``comment``: text, or ``None`` for none."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{field}: expected text, or None for none (got {shown(value)})")


def check_filter(value: object, field: str, what: str) -> None:
    """A ``list`` filter: an id as text, or ``None`` for any (another value matched
    nothing and said nothing)."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{field}: expected {what} as text, or None for any (got {shown(value)})")


def check_between(between: object) -> None:
    """``between`` of a listing: a ``(start, end)`` pair of aware datetimes."""
    if not (
        isinstance(between, tuple | list)
        and len(between) == 2
        and all(isinstance(value, dt.datetime) for value in between)
    ):
        raise TypeError(
            "between: expected a (start, end) pair of aware datetimes, such as "
            "(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC)) "
            f"(got {shown(between)})"
        )
    start, end = between
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"between: the {name} must be an aware datetime (got {value!r})")
    if start > end:
        raise ValueError(
            f"between: the start {start.isoformat()} is after the end {end.isoformat()}"
        )


def check_whole(value: int, field: str, what: str) -> None:
    """A count or a position: an ``int`` (not a bool, not text such as ``"5"``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field}: expected {what}, as a whole number (got {shown(value)})")


def check_count(
    value: int | None, field: str, unit: str, *, most: int | None = None, none: str = ""
) -> None:
    """An optional count of at least 1 (and at most ``most``) ``unit``: ``None``, or an
    ``int`` (not a bool, a float or text such as ``"3"``). ``none`` says what ``None``
    means (``" for no cap"``)."""
    if value is None:
        return
    span = "at least 1" if most is None else f"1 to {most:,}"
    expected = f"a whole number of {unit}, {span}, or None{none}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field}: expected {expected} (got {shown(value)})")
    if value < 1 or (most is not None and value > most):
        raise ValueError(f"{field}: must be {expected} (got {value})")


def check_revision(revision: str | None) -> None:
    """The revision a person reviewed: the full content hash, or ``None``."""
    if revision is None:
        return
    if not isinstance(revision, str):
        raise TypeError(
            "revision: expected the hash of the revision you reviewed (publication.revision), "
            f"or None (got {shown(revision)})"
        )
    if not _FULL_REVISION.fullmatch(revision):
        raise ValueError(
            "revision: must be the full hash of the revision you reviewed, 64 hex digits as "
            f"publication.revision holds it (got {revision!r}, {len(revision)} characters); "
            "a prefix is not taken: an approval binds to the exact content"
        )


_FULL_REVISION = re.compile(r"[0-9a-f]{64}")


def check_cursor(since: int, limit: int) -> None:
    check_whole(since, "since", "an event seq")
    check_whole(limit, "limit", "how many events")
    if since < 0:
        raise ValueError(f"since: an event seq is 0 or more (got {since})")
    if limit < 1:
        raise ValueError(f"limit: must be at least 1 event (got {limit})")


def check_page_cursor(cursor: object) -> None:
    """``cursor`` of a listing: ``None`` or a page's ``next_cursor``.

    Raises:
        TypeError: it is not text.
        StoreError: it is no listing cursor (as the stores' own refusal is, named here).
    """
    from socialkit.errors import StoreError
    from socialkit.schedule.stores._common import decode_cursor

    if cursor is None:
        return
    if not isinstance(cursor, str):
        raise TypeError(
            f"cursor: expected the next_cursor of a page, as text (got {shown(cursor)})"
        )
    try:
        decode_cursor(cursor)
    except StoreError:
        raise StoreError(
            f"cursor: not a listing cursor (got {cursor!r}); give the next_cursor of a page"
        ) from None


def states_of(
    state: PublicationState | str | Iterable[PublicationState | str] | None,
) -> tuple[PublicationState, ...]:
    """A listing's ``state`` filter: one state, several, or ``None`` for any."""
    if state is None:
        return ()
    if isinstance(state, str):
        return (state_of(state),)
    if not isinstance(state, Iterable):
        raise TypeError(
            "state: expected a state such as 'scheduled', several of them, or None "
            f"(got {shown(state)})"
        )
    return tuple(state_of(x) for x in state)


def state_of(value: PublicationState | str) -> PublicationState:
    try:
        return PublicationState(value)
    except ValueError:
        known = ", ".join(s.value for s in PublicationState)
        raise ValueError(f"state: unknown state {value!r} (one of {known})") from None


def rule_over(
    recurrence: Recurrence, account_ids: str, now: dt.datetime, grace_s: float | None
) -> str | None:
    """What is wrong with a new rule whose occurrences are all past the grace period, or
    without one, all past (``None`` when one is still to come or within it). A new rule
    never fires an occurrence from before it existed and beyond its grace; without a
    grace period, one in the minute it is made in (its default start) is not from before
    it existed."""
    over = grace_s or 0.0
    last = recurrence.latest_at_or_before(now - dt.timedelta(seconds=over))
    if last is None or next(recurrence.iter_after(last.local), None) is not None:
        return None
    if grace_s is None and last.due_at >= made_minute(now):
        return None
    if (now - last.due_at).total_seconds() <= over and grace_s is not None:
        return None
    past = f"past the grace period ({grace_s:g} s)" if grace_s is not None else "in the past"
    return (
        f"rrule: every occurrence is {past}: the last, "
        f"{last.local:%Y-%m-%d %H:%M} {last.zone} for {account_ids}, was "
        f"{age(now - last.due_at)} ago, so the rule would publish nothing"
    )


def local_start(start: When | None, zone: str, now: dt.datetime) -> dt.datetime:
    if start is None:
        return now.astimezone(zone_info(zone)).replace(tzinfo=None, second=0, microsecond=0)
    return checked_occurrence("start", start, zone).local


def read_rule(rrule: str, zone: str, start: dt.datetime) -> Recurrence:
    """The rule, or a ``ValueError`` naming the argument (``rrule``; ``start`` or ``tz``
    when the problem is theirs) instead of pydantic's report on the ``Recurrence`` model
    ("1 validation error for Recurrence", its input and a link)."""
    try:
        return Recurrence(rrule=rrule, tz=zone, start=start)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "rrule"
            problems.append(f"{field}: {str(error['msg']).removeprefix('Value error, ')}")
        raise ValueError("; ".join(problems)) from None


def pause_scope(
    workspace: str, account: str | None, campaign: str | None, actor: str, reason: str | None
) -> PauseScope:
    if account is not None and campaign is not None:
        raise ConfigError("pause one scope at a time: an account or a campaign, not both")
    if account is not None:
        return PauseScope(
            kind="account", value=account, workspace=workspace, actor=actor, reason=reason
        )
    if campaign is not None:
        return PauseScope(
            kind="campaign", value=campaign, workspace=workspace, actor=actor, reason=reason
        )
    return PauseScope(kind="all", workspace=workspace, actor=actor, reason=reason)
