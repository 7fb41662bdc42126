"""What every store shares: ids, time encoding, the row shape, and the pure decisions
(which rows a claim takes, which are missed) so that stores agree on them exactly."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import attrs

from socialkit.errors import StaleTransition, StoreError
from socialkit.models._base import canonical_json
from socialkit.models.problems import Problem
from socialkit.schedule.publication import Approval, Publication
from socialkit.schedule.records import DELETING, Transition
from socialkit.schedule.states import PublicationState, can_transition
from socialkit.schedule.stores._metric_waits import WAITING_FROM_US

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from socialkit.models.content import Draft, Post
    from socialkit.models.metrics import MetricSnapshot
    from socialkit.models.receipt import PostRef
    from socialkit.schedule.publication import Event, PauseScope, StoredReceipt
    from socialkit.schedule.records import Budget, MetricTask

__all__ = [
    "DELETING",
    "EPOCH",
    "HOLDABLE",
    "SUPERSEDED",
    "Row",
    "check_move",
    "decode_cursor",
    "dumps",
    "encode_cursor",
    "from_us",
    "late_metric_step",
    "metric_steps",
    "missed_ids",
    "move_rows",
    "new_id",
    "next_metric_step",
    "select_claims",
    "skipped_labels",
    "snapshot_columns",
    "snapshot_from_row",
    "snapshot_json",
    "stale_reason",
    "to_us",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
AccountKey = tuple[str, str]
CandidateT = TypeVar("CandidateT", bound=tuple[Any, ...])
# The states a pause switch holds a publication in (as ``paused``) instead.
HOLDABLE = (PublicationState.SCHEDULED, PublicationState.RETRY_WAIT)
EventT = TypeVar("EventT")


def to_us(value: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    if value.tzinfo is None:
        raise StoreError(f"store times must be timezone-aware (got {value.isoformat()})")
    return (value - EPOCH) // _US


def from_us(value: int) -> dt.datetime:
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=value)


# A metric snapshot is stored as its JSON, except what the engine stamps on it, which has
# columns of its own: ``after`` (``after_s``, seconds; schema 5), ``age`` (``age_s``,
# seconds) and ``skipped`` (``skipped_s``, a JSON list of seconds; both schema 8). Code
# of schema 3 to 7 reads the JSON with a model that refuses unknown fields, so the JSON
# must stay what it could read.
_STAMPED = {"after", "age", "skipped"}

SnapshotColumns = tuple[float | None, float | None, str | None]
"""``(after_s, age_s, skipped_s)`` of a stored snapshot (see :func:`snapshot_columns`)."""


def snapshot_json(snapshot: MetricSnapshot) -> str:
    """The JSON a snapshot is stored as (without the engine's stamps: see
    :func:`snapshot_columns`)."""
    return snapshot.model_dump_json(exclude_none=True, exclude=_STAMPED)


def snapshot_columns(snapshot: MetricSnapshot) -> SnapshotColumns:
    """The ``after_s``, ``age_s`` and ``skipped_s`` columns of a snapshot (``None`` for
    what it does not carry)."""
    return (
        snapshot.after.total_seconds() if snapshot.after is not None else None,
        snapshot.age.total_seconds() if snapshot.age is not None else None,
        json.dumps([s.total_seconds() for s in snapshot.skipped]) if snapshot.skipped else None,
    )


def snapshot_from_row(
    text: str, after_s: float | None, age_s: float | None, skipped_s: str | None
) -> MetricSnapshot:
    """A stored snapshot read back: its JSON and its ``after_s``, ``age_s`` and
    ``skipped_s`` columns."""
    from socialkit.models.metrics import MetricSnapshot

    snapshot = MetricSnapshot.model_validate_json(text)
    stamps: dict[str, object] = {}
    if after_s is not None:
        stamps["after"] = dt.timedelta(seconds=after_s)
    if age_s is not None:
        stamps["age"] = dt.timedelta(seconds=age_s)
    if skipped_s is not None:
        stamps["skipped"] = tuple(dt.timedelta(seconds=s) for s in json.loads(skipped_s))
    return snapshot.model_copy(update=stamps) if stamps else snapshot


def metric_steps(
    published_at: dt.datetime, metrics: Sequence[tuple[str, float]]
) -> tuple[str, int, str | None] | None:
    """The first metric collection after a publish, as ``(label, due_us, rest)``, where
    ``rest`` holds the later ones (JSON, ``None`` when there are none).

    A publish writes one task row, not one per collection: completing a task inserts
    the next from its ``rest`` (:func:`next_metric_step`). Collections come in due order
    whatever order ``metrics`` lists them in.
    """
    base = to_us(published_at)
    steps = sorted(
        ((label, base + int(seconds * 1_000_000)) for label, seconds in metrics),
        key=lambda step: step[1],
    )
    return _first_step(steps)


def next_metric_step(
    rest: str | None, state: PublicationState
) -> tuple[str, int, str | None] | None:
    """The collection after a completed task of a publication in ``state``, from the
    task's ``rest`` (see :func:`metric_steps`): ``(label, due_us, rest)``, or ``None``
    when it was the last or the post was deleted (nothing is collected for it)."""
    if not rest or state == PublicationState.DELETED:
        return None
    return _first_step([(str(label), int(due)) for label, due in json.loads(rest)])


class LateStep(NamedTuple):
    """The collection a store hands out instead of a claimed one whose later collections
    are due too (see :func:`late_metric_step`)."""

    label: str
    due_us: int
    rest: str | None
    skipped: tuple[str, ...]
    """Every collection it is made instead of: those the claimed task already stood in
    for, the claimed one, and the later ones due before it."""
    error: str
    """What the claimed task, done without a snapshot, records."""

    @property
    def skipped_json(self) -> str:
        """``skipped`` as the task's column holds it (read by :func:`skipped_labels`)."""
        return json.dumps(self.skipped)

    def instead_of(self, claimed: MetricTask, task_id: int) -> MetricTask:
        """The task handed out instead of ``claimed``, stored as ``task_id``."""
        return attrs.evolve(
            claimed,
            id=task_id,
            label=self.label,
            due_at=from_us(self.due_us),
            failures=0,
            skipped=self.skipped,
        )


def late_metric_step(
    label: str, rest: str | None, skipped: Sequence[str], now_us: int
) -> LateStep | None:
    """A claimed collection ``label`` (which already stood in for ``skipped``) whose later
    ones are due at ``now_us`` too (a worker down, an account waiting for a person, a
    rate limit): the last one due is collected instead, so the platform is asked once
    rather than once per label for the same figures, and the others are recorded as
    skipped. ``None`` when none of the later ones is due yet."""
    steps = [(str(later), int(due)) for later, due in json.loads(rest)] if rest else []
    due = [step for step in steps if step[1] <= now_us]
    if not due:
        return None
    instead = _first_step(steps[len(due) - 1 :])
    assert instead is not None  # steps[len(due) - 1] is the last one due
    also = (label, *(earlier for earlier, _ in due[:-1]))
    return LateStep(
        *instead,
        skipped=(*skipped, *also),
        error=(
            f"skipped ({', '.join(also)}): still waiting when the {instead[0]} collection "
            f"came due, so it was collected once, as {instead[0]}"
        ),
    )


def skipped_labels(text: str | None) -> tuple[str, ...]:
    """The collections a metric task stands in for, from its ``skipped`` column."""
    return tuple(str(label) for label in json.loads(text)) if text else ()


def _first_step(steps: Sequence[tuple[str, int]]) -> tuple[str, int, str | None] | None:
    """``(label, due_us, rest)`` of the first of ``steps``; ``None`` when there are none."""
    if not steps:
        return None
    (label, due), later = steps[0], steps[1:]
    return label, due, json.dumps(later) if later else None


_id_lock = threading.Lock()
_id_last = [0, 0]
# The random tail of ids: a generator seeded from the OS (one getrandom call per id
# costs more than the rest of new_id), seeded afresh in a forked child so that parent
# and child never share a sequence.
_id_random = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=lambda: _id_random.seed(os.urandom(32)))


def new_id(prefix: str = "p") -> str:
    """A unique id that sorts in creation order within a process (and roughly across
    processes): milliseconds, a per-millisecond counter, then 48 random bits. Equal due
    times are therefore claimed in the order they were scheduled."""
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _id_last[0]:
            millis, sequence = _id_last[0], _id_last[1] + 1
        else:
            sequence = 0
        _id_last[0], _id_last[1] = millis, sequence
        tail = _id_random.getrandbits(48)
    return f"{prefix}{millis:012x}{sequence:04x}{tail:012x}"


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def dumps(value: Any) -> str:
    """Compact JSON for stored columns."""
    return _encoder.encode(value)


def encode_cursor(due_at: dt.datetime, publication_id: str) -> str:
    """The listing cursor after ``(due_at, id)``."""
    return f"{to_us(due_at)}:{publication_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(due_us, id)`` from a listing cursor."""
    head, sep, tail = cursor.partition(":")
    if not sep or not head.lstrip("-").isdigit():
        raise StoreError(f"invalid listing cursor {cursor!r}")
    return int(head), tail


def check_move(current: PublicationState, target: PublicationState, publication_id: str) -> None:
    """Refuse a move the state machine does not allow."""
    if not can_transition(current, target):
        raise StoreError(
            f"publication {publication_id}: {current.value} → {target.value} is not a legal move"
        )


@attrs.define(slots=True)
class Row:
    """A publication row, as both stores hold or read it (times as aware datetimes)."""

    id: str
    workspace: str
    account_id: str
    platform: str
    revision: str
    draft: str | None
    due_at: dt.datetime
    local_time: str
    zone: str
    state: PublicationState
    run_at: dt.datetime
    expires_at: dt.datetime | None
    attempt: int
    sends: int
    failures: int
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    idempotency_key: str
    campaign: str | None
    rule_id: str | None
    approvals_required: int
    approvals: str | None
    grace_s: float | None
    publish_late: bool
    problems: str | None
    last_error: str | None
    attention: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def moved_values(self) -> tuple[Any, ...]:
        """What a transition may have changed, in the order both stores write it: ``id``,
        state, run_at, due_at, expires_at, local_time, zone, revision, draft, approvals,
        approvals_required, problems, last_error, failures, attention, lease_owner,
        lease_expires_at, updated_at (times as datetimes)."""
        return (
            self.id,
            self.state.value,
            self.run_at,
            self.due_at,
            self.expires_at,
            self.local_time,
            self.zone,
            self.revision,
            self.draft,
            self.approvals,
            self.approvals_required,
            self.problems,
            self.last_error,
            self.failures,
            self.attention,
            self.lease_owner,
            self.lease_expires_at,
            self.updated_at,
        )

    def apply(self, t: Transition, now: dt.datetime, held: bool) -> PublicationState:
        """Apply ``t``'s updates (the fence was already checked); returns the new state."""
        target = t.to
        if held and target in HOLDABLE:
            target = PublicationState.PAUSED
        self.state = target
        if t.run_at is not None:
            self.run_at = t.run_at
        if t.due_at is not None:
            self.due_at = t.due_at
            self.run_at = t.run_at or t.due_at
            self.expires_at = (
                t.due_at + dt.timedelta(seconds=self.grace_s) if self.grace_s is not None else None
            )
        if t.local_time is not None:
            self.local_time = t.local_time.isoformat()
        if t.zone is not None:
            self.zone = t.zone
        if t.revision is not None and t.revision != self.revision:
            self.revision = t.revision
            self.draft = None
        if t.approvals is not None:
            self.approvals = approvals_json(t.approvals)
        if t.approvals_required is not None:
            self.approvals_required = t.approvals_required
        if t.problems is not None:
            self.problems = problems_json(t.problems)
        if t.error is not None:
            self.last_error = dumps(t.error)
        if t.reset_failures:
            self.failures = 0
        if t.count_failure:
            self.failures += 1
        self.attention = t.attention
        if not t.keep_lease:
            self.lease_owner = None
            self.lease_expires_at = None
        self.updated_at = now
        return target

    def to_publication(
        self,
        *,
        post: Post | None = None,
        receipts: Sequence[StoredReceipt] = (),
        checkpoints: Sequence[PostRef] = (),
        history: Sequence[Event] = (),
    ) -> Publication:
        from socialkit.models.content import Draft

        draft: Draft | None = (
            Draft.model_validate_json(self.draft) if self.draft is not None else None
        )
        return Publication(
            id=self.id,
            workspace=self.workspace,
            account_id=self.account_id,
            platform=self.platform,
            revision=self.revision,
            post=post,
            draft=draft,
            due_at=self.due_at,
            local_time=dt.datetime.fromisoformat(self.local_time),
            zone=self.zone,
            state=self.state,
            run_at=self.run_at,
            attempt=self.attempt,
            sends=self.sends,
            failures=self.failures,
            lease_owner=self.lease_owner,
            lease_expires_at=self.lease_expires_at,
            idempotency_key=self.idempotency_key,
            campaign=self.campaign,
            rule_id=self.rule_id,
            approvals_required=self.approvals_required,
            approvals=tuple(Approval.model_validate(a) for a in json.loads(self.approvals or "[]")),
            grace=dt.timedelta(seconds=self.grace_s) if self.grace_s is not None else None,
            publish_late=self.publish_late,
            checkpoints=tuple(checkpoints),
            receipts=tuple(receipts),
            problems=tuple(Problem.model_validate(p) for p in json.loads(self.problems or "[]")),
            last_error=json.loads(self.last_error) if self.last_error else None,
            attention=self.attention,
            created_at=self.created_at,
            updated_at=self.updated_at,
            history=tuple(history),
        )


def counts(budget: Budget, now: dt.datetime) -> bool:
    """Whether ``budget``'s figures are of a window still open at ``now`` (the ones
    claims count and ``mark_publishing`` spends)."""
    return budget.remaining is not None and budget.reset_at is not None and budget.reset_at > now


def merge_budget(stored: Budget | None, new: Budget, now: dt.datetime) -> Budget:
    """What ``Store.set_budget`` keeps when ``new`` meets the ``stored`` budget of its
    scope: budgets are written in no particular order (a publish's, captured when it
    was sent, may land after a later one's ``RateLimited`` hold), so a write never
    loosens what is held.

    * ``blocked_until``: the later of the two (a hold is never shortened).
    * The figures (``remaining``, ``limit``, ``reset_at``) go together. While both
      windows are still open at ``now`` (the same or overlapping ones), the smaller
      ``remaining`` is kept (the stored on a tie); a window that has ended (or figures
      without a ``reset_at``) gives way to the new figures; new figures whose window
      has ended, or no figures at all (``remaining`` ``None``, as a ``RateLimited``
      metric collection writes), leave an open window's as they are.
    * ``limit``: the kept figures', else the other's.

    PostgreSQL's ``set_budget`` does the same in SQL (``_postgres_misc``)."""
    if stored is None:
        return new
    keep = (
        new.remaining is None
        or (not counts(new, now) and counts(stored, now))
        or (
            counts(new, now)
            and counts(stored, now)
            and stored.remaining is not None
            and new.remaining is not None
            and stored.remaining <= new.remaining
        )
    )
    kept, other = (stored, new) if keep else (new, stored)
    blocked = [b for b in (stored.blocked_until, new.blocked_until) if b is not None]
    return attrs.evolve(
        new,
        remaining=kept.remaining,
        limit=kept.limit if kept.limit is not None else other.limit,
        reset_at=kept.reset_at,
        blocked_until=max(blocked) if blocked else None,
    )


def cleared_budgets_data(
    cleared: Sequence[Budget], released: Sequence[str], metrics_released: int = 0
) -> dict[str, Any]:
    """The data of a ``rate_limit_cleared`` event: each budget ``Store.clear_budget``
    dropped, as it stood, so the log keeps what a person lifted (the figures are gone
    from the store), the ids of the publications it made due at once, and (when any)
    how many metric collections it made due at once."""
    figures = []
    for b in cleared:
        entry: dict[str, Any] = {"scope": b.scope, "remaining": b.remaining, "limit": b.limit}
        entry["reset_at"] = b.reset_at.isoformat() if b.reset_at else None
        entry["blocked_until"] = b.blocked_until.isoformat() if b.blocked_until else None
        figures.append({k: v for k, v in entry.items() if v is not None})
    data: dict[str, Any] = {"budgets": figures, "released": list(released)}
    if metrics_released:
        data["metrics_released"] = metrics_released
    return data


RATE_LIMITED_ERROR = "RateLimited"
"""The error type a metric task put back because ``fetch_metrics`` met a rate limit
records (the engine writes ``"{type}: {message}"``)."""


def metric_hold_ends(budgets: Iterable[Budget]) -> list[int]:
    """The instants (microseconds) a metric claim may have put an account's due
    collections back to while ``budgets`` held it: a claim moves them to the hold's end
    (``Budget.blocks``: a spent budget's ``reset_at``, or ``blocked_until``)."""
    ends = {
        to_us(instant)
        for b in budgets
        for instant in (b.reset_at, b.blocked_until)
        if instant is not None
    }
    return sorted(ends)


def waits_for_rate_limit(due_us: int, error: str | None, now_us: int, ends: Iterable[int]) -> bool:
    """Whether ``Store.clear_budget`` makes a metric task due now: undone, not leased
    (checked by the caller), due after ``now_us`` but not set aside for a person
    (``_metric_waits.WAITING_FROM_US``), and either put back by a claim to the end of a
    hold being cleared (``ends``, from :func:`metric_hold_ends`) or put back because its
    own collection met a rate limit (its error's type is :data:`RATE_LIMITED_ERROR`).
    One waiting on a transient error's backoff keeps its time, as a publication does.
    The caller leaves out an account waiting for a person: its collections wait for the
    person, not for the rate limit."""
    if not now_us < due_us < WAITING_FROM_US:
        return False
    return due_us in ends or (error or "").partition(":")[0] == RATE_LIMITED_ERROR


RATE_LIMIT_CLEARED = "rate limit cleared"
"""The reason of a publication ``clear_budget`` releases, when the person gave none."""


def rate_limit_releases(
    candidates: Iterable[tuple[str, int, str | None]],
    actor: str,
    reason: str | None,
    now: dt.datetime,
) -> list[Transition]:
    """What ``Store.clear_budget`` moves, in the same transaction as it drops the
    budgets: of ``candidates`` (``id``, ``attempt``, ``last_error`` as stored) — the
    account's ``retry_wait`` publications with no ``attention`` and a ``run_at`` after
    ``now`` — those whose last error is ``RateLimited`` go to ``retry_wait`` again with
    ``run_at`` now (each waits on its own ``run_at`` as well as on the budget, so
    dropping the budget alone would leave the one that met the limit waiting the full
    ``Retry-After``). One waiting on a transient error's backoff keeps its time. Ordered
    by id; fenced on state and attempt."""
    moves = []
    for pub_id, attempt, last_error in sorted(candidates):
        error = json.loads(last_error) if last_error else None
        if not isinstance(error, dict) or error.get("error") != "RateLimited":
            continue
        moves.append(
            Transition(
                id=pub_id,
                expect_state=PublicationState.RETRY_WAIT,
                expect_attempt=attempt,
                to=PublicationState.RETRY_WAIT,
                run_at=now,
                actor=actor,
                reason=reason or RATE_LIMIT_CLEARED,
            )
        )
    return moves


def approvals_json(approvals: Sequence[Approval]) -> str:
    return dumps([a.model_dump(mode="json", exclude_none=True) for a in approvals])


def problems_json(problems: Sequence[Problem]) -> str:
    return dumps([p.model_dump(mode="json", exclude_none=True) for p in problems])


def draft_json(draft: Draft) -> str:
    """The canonical JSON a pinned draft is stored as."""
    return canonical_json(draft.model_dump(mode="json", exclude_none=True))


def contiguous_parts(parts: Mapping[int, PostRef]) -> tuple[PostRef, ...]:
    """Checkpointed refs for parts 0, 1, … up to the first gap."""
    out: list[PostRef] = []
    while len(out) in parts:
        out.append(parts[len(out)])
    return tuple(out)


def covered(
    pauses: Sequence[PauseScope], workspace: str, account_id: str, campaign: str | None
) -> bool:
    """Whether any pause switch holds a publication with these keys."""
    return any(p.covers(workspace, account_id, campaign) for p in pauses)


def stale_reason(row: Row, t: Transition) -> str | None:
    """Why ``t``'s fence fails on ``row`` (its state, attempt, revision or number of
    approval decisions moved on), or ``None`` when it holds."""
    if row.state != t.expect_state or row.attempt != t.expect_attempt:
        return (
            f"publication {t.id} is {row.state.value} at attempt {row.attempt}, "
            f"not {t.expect_state.value} at attempt {t.expect_attempt}"
        )
    if row.attention == DELETING and t.expect_attention != DELETING:
        return (
            f"publication {t.id} is being deleted: its parts are being taken down from "
            "the platform; read it again"
        )
    if t.expect_attention is not None and row.attention != t.expect_attention:
        return (
            f"publication {t.id} is marked {row.attention!r}, not {t.expect_attention!r}: "
            "it moved on meanwhile; read it again"
        )
    if t.expect_revision is not None and row.revision != t.expect_revision:
        return (
            f"publication {t.id} is at revision {row.revision[:12]}, not "
            f"{t.expect_revision[:12]}: it was edited meanwhile; read it again"
        )
    if t.expect_approvals is not None:
        decisions = len(json.loads(row.approvals)) if row.approvals else 0
        if decisions != t.expect_approvals:
            return (
                f"publication {t.id} has {decisions} approval decisions, not "
                f"{t.expect_approvals}: someone approved or rejected it meanwhile; read it again"
            )
    return None


def move_rows(
    rows: Mapping[str, Row],
    transitions: Sequence[Transition],
    now: dt.datetime,
    pauses: Sequence[PauseScope],
    event: Callable[..., EventT],
    *,
    strict: bool = False,
) -> tuple[list[PublicationState | None], dict[str, Row], list[EventT]]:
    """Fence and apply ``transitions`` to ``rows`` (read in the write's transaction), in
    order: a second transition of the same publication sees the first.

    Returns one result each (the state written, ``paused`` when a pause switch held it;
    ``None``: its fence failed, :class:`StaleTransition` instead with ``strict``), the
    rows that moved (by id, each as it ends) and the event
    of each move, built by ``event(kind, id, workspace, account_id, campaign, actor=,
    reason=, attempt=, from_state=, to_state=, error=, data=)`` (the store's event row).
    :class:`StoreError` for a publication not in ``rows``; an illegal move raises from
    :func:`check_move`.
    """
    results: list[PublicationState | None] = []
    changed: dict[str, Row] = {}
    events: list[EventT] = []
    for t in transitions:
        row = rows.get(t.id)
        if row is None:
            raise StoreError(f"no publication {t.id!r}")
        stale = stale_reason(row, t)
        if stale is not None:
            if strict:
                raise StaleTransition(stale)
            results.append(None)
            continue
        check_move(row.state, t.to, t.id)
        before = row.state
        held = (
            t.to in HOLDABLE
            and bool(pauses)
            and covered(pauses, row.workspace, row.account_id, row.campaign)
        )
        after = row.apply(t, now, held)
        changed[row.id] = row
        data = dict(t.data or {})
        if after != t.to:
            data["held_by_pause"] = True
        events.append(
            event(
                t.kind,
                row.id,
                row.workspace,
                row.account_id,
                row.campaign,
                actor=t.actor,
                reason=t.reason,
                attempt=row.attempt,
                from_state=before.value,
                to_state=after.value,
                error=dict(t.error) if t.error is not None else None,
                data=data,
            )
        )
        results.append(after)
    return results, changed, events


def select_claims(
    candidates: Iterable[CandidateT],
    *,
    limit: int,
    per_account: int | None,
    in_flight: Mapping[AccountKey, int],
    blocked: set[AccountKey],
    budget_left: Mapping[AccountKey, int],
    pauses: Sequence[PauseScope],
    unsettled: Mapping[AccountKey, int] | None = None,
) -> list[CandidateT]:
    """Pick claims from candidate rows in due order.

    Each candidate is a tuple starting ``(id, workspace, account_id, campaign, state,
    ...)``; a candidate in state ``unknown`` is a reconciliation. Skips blocked accounts
    (needing a person, out of budget), paused scopes, and accounts at their in-flight
    limit; takes at most ``budget_left`` per account and ``limit`` in all. Consumes
    ``candidates`` lazily and stops as soon as the batch is full.

    ``in_flight`` counts each account's leases; ``unsettled`` its ``unknown``
    publications no one holds a lease on. Those hold the account as a lease does (one
    may be live on the platform, and its reconciliation may send it again), so a
    publish is claimed only below the limit with them counted; a reconciliation is
    already one of them, so it needs room among the leases only.
    """
    chosen: list[CandidateT] = []
    taken: dict[AccountKey, int] = {}
    published: dict[AccountKey, int] = {}  # of ``taken``, the publishes
    waiting = unsettled or {}
    if limit <= 0:
        return chosen
    for row in candidates:
        key = (row[1], row[2])
        if key in blocked:
            continue
        count = taken.get(key, 0)
        reconciling = row[4] == PublicationState.UNKNOWN
        if per_account is not None and (
            in_flight.get(key, 0) + count >= per_account
            if reconciling
            else in_flight.get(key, 0) + waiting.get(key, 0) + published.get(key, 0) >= per_account
        ):
            continue
        left = budget_left.get(key)
        if left is not None and count >= left:
            continue
        if pauses and covered(pauses, row[1], row[2], row[3]):
            continue
        taken[key] = count + 1
        if not reconciling:
            published[key] = published.get(key, 0) + 1
        chosen.append(row)
        if len(chosen) >= limit:
            break
    return chosen


SUPERSEDED = "a later occurrence of its rule is already due"
"""Why the misfire policy misses a rule's occurrence that is still within its grace."""


def missed_ids(
    overdue: Iterable[tuple[str, str | None, str, str, dt.datetime, bool]],
    latest_due: Mapping[tuple[str, str, str], dt.datetime],
) -> list[str]:
    """The misfire policy over rows ``(id, rule_id, workspace, account_id, due_at,
    publish_late)``: one-offs past their grace period, and rule occurrences past it or
    already due.

    A one-off is missed unless it publishes late. A rule's occurrence is missed unless it
    is the latest already-due occurrence of its rule and account (``latest_due`` maps
    ``(rule_id, workspace, account_id)`` to that due time, whatever that occurrence's
    state: once a later one was claimed or published, an earlier one never fires late).
    """
    out: list[str] = []
    for pub_id, rule_id, workspace, account_id, due_at, publish_late in overdue:
        if rule_id is None:
            if not publish_late:
                out.append(pub_id)
        elif due_at < latest_due.get((rule_id, workspace, account_id), due_at):
            out.append(pub_id)
    return out
