"""The engine's internal records: what goes into and comes out of a :class:`Store` call.

These are slotted attrs classes (cheap to build in the hot path); the user-facing,
serialisable views are the pydantic models in :mod:`socialkit.schedule.publication`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

from socialkit.schedule.states import PublicationState

if TYPE_CHECKING:
    import datetime as dt

    from socialkit.models.account import Account
    from socialkit.models.problems import Problem
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.schedule.publication import Approval

__all__ = [
    "DELETING",
    "AccountRecord",
    "Added",
    "Budget",
    "CheckpointRecord",
    "Claim",
    "ClearedRateLimit",
    "DeletionRecord",
    "MetricTask",
    "Moved",
    "NewPublication",
    "PublicationQuery",
    "PublishStart",
    "ReceiptRecord",
    "SchemaInfo",
    "Transition",
]

ClaimKind = Literal["publish", "reconcile"]
DELETING = "deleting"
"""The ``attention`` of a ``paused`` or ``failed`` thread whose parts a person's delete is
taking down: nothing resumes, reschedules or otherwise moves it (a transition must name
the mark in ``expect_attention``; ``resume`` leaves it ``paused``) until the delete ends,
or the platform refuses the first part asked for and the mark is taken off, or a person
gives the delete up (``resolve(abandon=True)``: ``paused`` → ``cancelled``, ``failed``
stays ``failed``)."""
AccountStatus = Literal["ok", "needs_reauth"]


def _no_nul(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    # PostgreSQL cannot store a NUL in text, and SQLite's JSON functions, which look ids
    # up in batches, do not match one: an id with one could never be claimed.
    if "\x00" in value:
        raise ValueError(f"{attribute.name}: must not contain a NUL character (got {value!r})")


@attrs.frozen(kw_only=True, slots=True)
class NewPublication:
    """A publication to insert. ``state`` is the initial state (scheduled, pending
    approval or draft); the store holds it as ``paused`` when a pause switch covers it.

    ``grace_s`` is how many seconds past ``due_at`` the first attempt may still start
    (``None``: no limit); ``publish_late`` publishes a one-off past its grace instead of
    marking it ``missed``.

    ``free_slot``: it takes a posting slot picked as free (``queue()``, evergreen
    comebacks). The store checks, in the insert's own transaction, that no publication
    of the account in a non-terminal state is due at ``due_at`` (an item whose key is
    taken is not inserted, so it is not checked), and raises
    :class:`~socialkit.errors.SlotTaken`, inserting nothing, when one is: two processes
    that picked the same slot cannot both take it.
    """

    id: str = attrs.field(validator=_no_nul)
    account_id: str
    platform: str
    revision: str
    due_at: dt.datetime
    local_time: dt.datetime
    zone: str
    idempotency_key: str
    workspace: str = "default"
    state: PublicationState = PublicationState.SCHEDULED
    campaign: str | None = None
    rule_id: str | None = None
    approvals_required: int = 0
    grace_s: float | None = None
    publish_late: bool = False
    actor: str = "engine"
    reason: str | None = None
    free_slot: bool = False


@attrs.frozen(kw_only=True, slots=True)
class Added:
    """What :meth:`Store.add_returning` did with one :class:`NewPublication`.

    ``state`` is the state stored: the item's, or ``paused`` when a pause switch covered
    it when it was inserted. ``None`` when its idempotency key was taken and nothing was
    inserted: ``id`` is then the existing publication's.
    """

    id: str
    state: PublicationState | None


@attrs.frozen(kw_only=True, slots=True)
class Claim:
    """A leased publication handed to a worker.

    ``kind`` is ``publish`` (it was scheduled or waiting to retry; state is now
    ``claimed``) or ``reconcile`` (its outcome is unknown; state stays ``unknown`` under
    the lease). ``attempt`` is the fencing number every later update must name.
    """

    id: str
    attempt: int
    kind: ClaimKind
    workspace: str
    account_id: str
    platform: str
    revision: str
    due_at: dt.datetime
    local_time: dt.datetime
    zone: str
    idempotency_key: str
    campaign: str | None
    rule_id: str | None
    sends: int
    failures: int
    lease_expires_at: dt.datetime
    draft_json: str | None = None
    checkpoints: tuple[PostRef, ...] = ()

    @property
    def state(self) -> PublicationState:
        """The state the claim holds the publication in."""
        return PublicationState.CLAIMED if self.kind == "publish" else PublicationState.UNKNOWN


@attrs.frozen(kw_only=True, slots=True)
class PublishStart:
    """Mark one claim as being sent (``claimed``/``unknown`` → ``publishing``).

    ``draft_json`` pins the rendered draft on the first send; later sends reuse it.
    """

    id: str
    attempt: int
    from_state: PublicationState = PublicationState.CLAIMED
    draft_json: str | None = None


@attrs.frozen(kw_only=True, slots=True)
class Transition:
    """A conditional state change: applied only ``WHERE id=? AND state=? AND attempt=?``.

    Fields left ``None`` are unchanged, except ``attention``, which every transition sets
    (``None`` clears it: a move ends whatever a person was needed for). Leaving
    ``claimed`` or ``publishing`` releases the lease unless ``keep_lease``.

    Attributes:
        id, expect_state, expect_attempt: the fence.
        to: the new state.
        actor, reason, error, kind, data: what goes into the event log.
        expect_revision: also require this revision (approvals bind to it).
        expect_approvals: also require this many recorded approval decisions (two people
            deciding at once must not overwrite each other's decision).
        expect_attention: also require this ``attention``. A publication marked
            ``deleting`` (a person's delete is taking a half-sent thread down) moves only
            by a transition that names that mark here: stores refuse every other one as
            stale.
        run_at: when it may next be claimed.
        due_at, local_time, zone: a new due time (reschedule).
        revision: a new pinned revision (edit); clears the pinned draft.
        approvals, approvals_required: new approval state.
        problems: validation problems to keep.
        attention: why a person is needed now.
        count_failure: add one to ``failures``.
        reset_failures: set ``failures`` back to 0 (a person brought it back: a
            reschedule, or ``resolve(retry=True)``, starts a fresh send budget; the
            history keeps the failures before).
        keep_lease: keep the lease (reconciliation moving on under the same claim).
    """

    id: str
    expect_state: PublicationState
    expect_attempt: int
    to: PublicationState
    actor: str = "engine"
    reason: str | None = None
    error: dict[str, object] | None = None
    kind: str = "transition"
    data: dict[str, object] | None = None
    expect_revision: str | None = None
    expect_approvals: int | None = None
    expect_attention: str | None = None
    run_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    local_time: dt.datetime | None = None
    zone: str | None = None
    revision: str | None = None
    approvals: tuple[Approval, ...] | None = None
    approvals_required: int | None = None
    problems: tuple[Problem, ...] | None = None
    attention: str | None = None
    count_failure: bool = False
    reset_failures: bool = False
    keep_lease: bool = False


@attrs.frozen(kw_only=True, slots=True)
class ReceiptRecord:
    """A receipt to record for ``attempt``: always kept, even from a worker that lost
    its lease, and it publishes the publication from any state.

    ``metrics`` schedules metric collections ``(label, seconds after published_at)`` in
    the same transaction, when this receipt is the one that publishes.
    """

    id: str
    attempt: int
    receipt: Receipt
    source: Literal["platform", "reconcile", "person"] = "platform"
    actor: str = "engine"
    reason: str | None = None
    metrics: tuple[tuple[str, float], ...] = ()


DeletionKind = Literal["delete_refused", "delete_unknown", "delete_overtaken"]


@attrs.frozen(kw_only=True, slots=True)
class DeletionRecord:
    """What a person's delete did on the platform before it stopped short of ``deleted``,
    for the history of publication ``id``: always kept (append-only, never fenced, as a
    receipt is), so that the post ids it took down are never lost, and it moves nothing.

    ``kind`` says why it stopped: the platform refused a part (``delete_refused``), its
    answer never came (``delete_unknown``), or the publication was moved while the
    platform deleted (``delete_overtaken``: a person abandoned the delete, or another
    delete finished first). ``post_ids`` are the posts this delete took down (the next
    delete skips them), ``post_ids_left`` those not known to be gone; ``error`` is the
    platform's (:meth:`~socialkit.errors.PlatformError.describe`), when there was one.
    """

    id: str
    kind: DeletionKind
    post_ids: tuple[str, ...]
    post_ids_left: tuple[str, ...]
    actor: str = "engine"
    reason: str | None = None
    error: dict[str, object] | None = None

    def event_fields(self) -> dict[str, Any]:
        """The history event's ``actor``, ``reason``, ``error`` and ``data``, as the
        stores' event builders take them."""
        return {
            "actor": self.actor,
            "reason": self.reason,
            "error": self.error,
            "data": {"post_ids": list(self.post_ids), "post_ids_left": list(self.post_ids_left)},
        }


@attrs.frozen(kw_only=True, slots=True)
class CheckpointRecord:
    """Thread part ``part`` of publication ``id`` was published as ``ref`` in ``attempt``."""

    id: str
    attempt: int
    part: int
    ref: PostRef


@attrs.frozen(kw_only=True, slots=True)
class Moved:
    """One publication a store call moved as a side effect, committed: the misfire
    policy (``scheduled`` → ``missed``) or a pause switch (``scheduled``/``retry_wait`` →
    ``paused``, ``paused`` → ``scheduled``). The engine fires a state-change hook for it.
    """

    id: str
    workspace: str
    account_id: str
    campaign: str | None
    from_state: PublicationState
    to_state: PublicationState
    attempt: int
    at: dt.datetime
    actor: str = "engine"
    reason: str | None = None


@attrs.frozen(kw_only=True, slots=True)
class PublicationQuery:
    """A filter for :meth:`Store.list`. Results are ordered by ``(due_at, id)``.

    ``between`` is a half-open ``[start, end)`` range of ``due_at``; ``cursor`` is the
    ``next_cursor`` of the previous page.
    """

    states: tuple[PublicationState, ...] = ()
    workspace: str | None = None
    campaign: str | None = None
    account_id: str | None = None
    rule_id: str | None = None
    attention: str | None = None
    between: tuple[dt.datetime, dt.datetime] | None = None
    cursor: str | None = None
    limit: int = 100
    include_post: bool = False


@attrs.frozen(kw_only=True, slots=True)
class Budget:
    """An account's request budget, from the platform's rate-limit headers.

    Nothing is sent to the account while ``remaining <= 0`` before ``reset_at``, or
    before ``blocked_until`` (a ``RateLimited`` with ``retry_after``).
    """

    account_id: str
    workspace: str = "default"
    scope: str = "default"
    remaining: int | None = None
    limit: int | None = None
    reset_at: dt.datetime | None = None
    blocked_until: dt.datetime | None = None

    def blocks(self, now: dt.datetime) -> dt.datetime | None:
        """Until when this budget stops sends, or ``None`` when it does not."""
        until: dt.datetime | None = None
        if (
            self.remaining is not None
            and self.remaining <= 0
            and self.reset_at is not None
            and self.reset_at > now
        ):
            until = self.reset_at
        if self.blocked_until is not None and self.blocked_until > now:
            until = self.blocked_until if until is None else max(until, self.blocked_until)
        return until


@attrs.frozen(kw_only=True, slots=True)
class ClearedRateLimit:
    """What :meth:`Store.clear_budget` did, in one transaction.

    Attributes:
        budgets: the account's budgets it dropped, as they stood, ordered by scope.
        released: the ids (ordered) of the account's publications it made due at once:
            those waiting in ``retry_wait`` because they met the rate limit (their last
            error ``RateLimited``, their ``run_at`` later), moved to ``retry_wait`` again
            with ``run_at`` now.
        metrics_released: how many of the account's metric collections it made due at
            once: those put back until the hold's end, or because their own collection
            met the rate limit.
    """

    budgets: tuple[Budget, ...] = ()
    released: tuple[str, ...] = ()
    metrics_released: int = 0

    def __bool__(self) -> bool:
        """Whether it did anything: a budget dropped, a publication or a metric
        collection released."""
        return bool(self.budgets or self.released or self.metrics_released)


@attrs.frozen(kw_only=True, slots=True)
class AccountRecord:
    """An account as the store keeps it: the model, and whether it needs a person."""

    account: Account
    status: AccountStatus = "ok"
    status_reason: str | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen(kw_only=True, slots=True)
class MetricTask:
    """A scheduled metric collection for one published publication.

    ``failures`` counts its transient errors so far (a rate limit does not count); a
    task put back (:meth:`Store.retry_metric_task`) is due at its new time.

    ``skipped`` names the earlier collections of the publication this one is collected
    instead of: claimed so late that a later collection was due too (a worker down for
    two days finds +1 h and +24 h due), the store hands out the last one due and records
    the others as skipped, so the platform is asked once for one set of figures.
    """

    id: int
    publication_id: str
    due_at: dt.datetime
    label: str
    workspace: str
    account_id: str
    platform: str
    campaign: str | None
    failures: int = 0
    skipped: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class SchemaInfo:
    """The store's schema version, the oldest code schema that can still use it, and the
    schema this code writes."""

    version: int
    min_compatible: int
    code_version: int
