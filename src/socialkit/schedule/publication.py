"""Publications and what the store keeps about them: history, approvals, receipts.

These are the user-facing, serialisable records (pydantic, JSON Schema). The engine's
hot-path records (claims, transitions) are attrs classes in :mod:`socialkit.schedule.records`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import Field, JsonValue, field_validator

from socialkit.models._base import SocialModel, require_aware
from socialkit.models.content import Draft, Post
from socialkit.models.problems import Problem
from socialkit.models.receipt import PostRef, Receipt
from socialkit.schedule.states import TERMINAL_STATES, PublicationState

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Approval",
    "Event",
    "Page",
    "PauseScope",
    "Publication",
    "RateLimitCleared",
    "StoredReceipt",
]


class Approval(SocialModel):
    """One person's decision on one revision of a publication.

    Attributes:
        actor: who decided.
        decision: ``approved`` or ``rejected``.
        revision: the content hash the decision binds to; an edit makes it void.
        at: when (aware, UTC).
        comment: why, for the history.
    """

    actor: str = Field(min_length=1)
    decision: Literal["approved", "rejected"]
    revision: str
    at: dt.datetime
    comment: str | None = None


class StoredReceipt(SocialModel):
    """A receipt as the store keeps it: append-only, with the attempt that produced it.

    Attributes:
        attempt: the claim attempt that sent the request (the fencing number).
        source: ``platform`` (the publish call returned it), ``reconcile`` (found by
            looking) or ``person`` (given to ``resolve``).
        recorded_at: when the store recorded it.
        receipt: the platform's references.
    """

    attempt: int
    source: Literal["platform", "reconcile", "person"] = "platform"
    recorded_at: dt.datetime
    receipt: Receipt


class Event(SocialModel):
    """One entry of the durable event log, which is also every publication's history.

    Events are numbered by ``seq``, strictly increasing per store; a consumer keeps the
    last ``seq`` it handled as its cursor (``events(since=seq)``).

    Attributes:
        seq: the position in the log.
        at: when the change was committed (the engine's clock).
        kind: what happened. The engine's moves: ``created``, ``transition`` (any
            other move of the state), ``claimed``, ``lease_expired``, ``released`` (a
            claim handed back unsent), ``receipt``, ``checkpoint``, ``account`` (an
            account's status changed), ``rule``. People's actions: ``approved``,
            ``rejected``, ``edited``, ``rescheduled``, ``cancelled``, ``resolved``,
            ``pause``, ``resume``, ``rate_limit_cleared``. Deleting: ``deleting`` (started), ``deleted``,
            ``delete_refused``, ``delete_unknown`` (no answer), ``delete_abandoned``,
            ``delete_overtaken`` (parts taken down after the publication was moved
            meanwhile: a person abandoned the delete while it ran, or another delete
            of it finished first).
        publication_id, workspace, account_id, campaign: what the event is about.
        actor: who made the change (``engine``, a worker id, a person).
        reason: why, in words.
        attempt: the publication's attempt number at the time.
        from_state, to_state: the move, for state changes.
        error: the platform error (:meth:`PlatformError.describe`), when there was one.
        data: anything else worth keeping (a receipt's first id, a rule's cursor).
    """

    seq: int
    at: dt.datetime
    kind: str
    publication_id: str | None = None
    workspace: str | None = None
    account_id: str | None = None
    campaign: str | None = None
    actor: str = "engine"
    reason: str | None = None
    attempt: int = 0
    from_state: PublicationState | None = None
    to_state: PublicationState | None = None
    error: dict[str, JsonValue] | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)


class PauseScope(SocialModel):
    """What a pause switch covers: everything, one account or one campaign.

    Attributes:
        kind: ``all``, ``account`` or ``campaign``.
        value: the account or campaign id (empty for ``all``).
        workspace: the tenant the switch applies to.
        actor, reason, at: who flipped it, why, and when.
    """

    kind: Literal["all", "account", "campaign"]
    value: str = ""
    workspace: str = "default"
    actor: str = "engine"
    reason: str | None = None
    at: dt.datetime | None = None

    def history_reason(self) -> str:
        """The reason its publications' history records: the one given, or
        ``paused (account acme-feed)``, ``paused (all)``."""
        return self.reason or f"paused ({self.kind} {self.value}".rstrip() + ")"

    def covers(self, workspace: str, account_id: str, campaign: str | None) -> bool:
        """Whether this switch holds a publication with these keys."""
        if workspace != self.workspace:
            return False
        if self.kind == "all":
            return True
        if self.kind == "account":
            return account_id == self.value
        return campaign is not None and campaign == self.value


class RateLimitCleared(SocialModel):
    """What :meth:`AsyncScheduler.clear_rate_limit` lifted, in one store transaction.

    Attributes:
        account_id: the account.
        held_until: until when its budgets held it, or ``None`` when none held it (or
            none was stored).
        scopes: the scopes of the budgets forgotten (a budget stored but no longer
            holding anything is forgotten too), ordered.
        released: the ids of its publications that waited in ``retry_wait`` because
            they met the rate limit and are due now, ordered.
        metrics_released: how many of its metric collections waited for the rate limit
            (put back until the hold's end, or their own collection met it) and are due
            now.
    """

    account_id: str
    held_until: dt.datetime | None = None
    scopes: tuple[str, ...] = ()
    released: tuple[str, ...] = ()
    metrics_released: int = 0

    @property
    def lifted(self) -> bool:
        """Whether anything was lifted: a budget forgotten, a publication or a metric
        collection released (``False``: nothing held the account, and nothing was
        written)."""
        return bool(self.scopes or self.released or self.metrics_released)


class Publication(SocialModel):
    """One post on one account: the unit the engine schedules, claims and publishes.

    Attributes:
        id: the publication id (time-ordered, opaque).
        workspace: the tenant.
        account_id, platform: where it goes.
        revision: the hash of the pinned post revision (:meth:`Post.revision`).
        post: the pinned post, when the store returned it.
        draft: the rendered draft, pinned when it was first sent, so retries and
            reconciliation use the same bytes.
        due_at: when it should go out (aware, UTC).
        local_time, zone: the wall time and IANA zone of the intent (``09:00 Asia/Tehran``).
        state: see :class:`PublicationState`.
        run_at: when the engine may next claim it (``due_at``, or a retry's time).
        attempt: the claim counter; every conditional update is fenced by it.
        sends: how many times a request went out.
        failures: how many sends failed with a retryable error.
        lease_owner, lease_expires_at: the worker holding it, while claimed or publishing.
        idempotency_key: unique per store; thread part ``i`` uses ``f"{key}.{i}"`` beyond 0.
        campaign: the campaign id.
        rule_id: the recurrence or queue rule that created it.
        approvals_required: how many approvals the policy asked for.
        approvals: every decision, newest last (only those on ``revision`` since the
            latest rejection and the latest edit count: :meth:`approved_by`).
        grace: how late it may still go out on its first attempt (``None``: no limit).
        publish_late: past the grace period, publish anyway instead of ``missed``.
        checkpoints: references of thread parts already published, in order.
        receipts: every receipt recorded, in order.
        problems: validation problems that stopped it.
        last_error: the last platform error.
        attention: why a person is needed (``reconcile``, ``reauth``, or ``delete``: a
            receipt came in after the post was deleted), ``deleting`` while a person's
            delete takes a half-sent thread down (nothing moves it meanwhile; it stays
            while the platform refuses part way: run delete again, or give it up with
            ``resolve(abandon=True)``), or ``None``.
        created_at, updated_at: bookkeeping.
        history: the publication's events, when requested.
    """

    id: str
    workspace: str = "default"
    account_id: str
    platform: str
    revision: str
    post: Post | None = None
    draft: Draft | None = None
    due_at: dt.datetime
    local_time: dt.datetime
    zone: str
    state: PublicationState
    run_at: dt.datetime
    attempt: int = 0
    sends: int = 0
    failures: int = 0
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    idempotency_key: str
    campaign: str | None = None
    rule_id: str | None = None
    approvals_required: int = 0
    approvals: tuple[Approval, ...] = ()
    grace: dt.timedelta | None = None
    publish_late: bool = False
    checkpoints: tuple[PostRef, ...] = ()
    receipts: tuple[StoredReceipt, ...] = ()
    problems: tuple[Problem, ...] = ()
    last_error: dict[str, JsonValue] | None = None
    attention: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    history: tuple[Event, ...] = ()

    @field_validator("due_at", "run_at", "created_at", "updated_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        require_aware(value, "publication times")
        return value

    @field_validator("local_time")
    @classmethod
    def _naive(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError("local_time is a wall time; its zone is in `zone`")
        return value

    @property
    def receipt(self) -> Receipt | None:
        """The first receipt recorded, or ``None``."""
        return self.receipts[0].receipt if self.receipts else None

    @property
    def is_terminal(self) -> bool:
        """True for published, failed, missed, cancelled and deleted."""
        return self.state in TERMINAL_STATES

    def approved_by(self) -> tuple[str, ...]:
        """Who approved the current revision since the latest rejection and the latest
        edit, in order: the approvals the engine counts (see :func:`standing_approvers`).

        The latest edit is read from ``history``: on a publication read without its
        history, approvals given before an edit back to the same content are listed too.
        """
        return standing_approvers(
            self.approvals, self.revision, since=decisions_before_edit(self.history)
        )


class Page(SocialModel):
    """One page of a listing, with the cursor of the next page (``None`` at the end)."""

    items: tuple[Publication, ...]
    next_cursor: str | None = None


def standing_approvers(
    approvals: Sequence[Approval], revision: str, *, since: int = 0
) -> tuple[str, ...]:
    """Who approved ``revision`` since the latest rejection and the latest edit, in the
    order they did.

    Approvals bind to a revision: one of another revision never counts. A rejection (of
    any revision) sends the post back to ``draft``, and the approvals given before it are
    void, also when the same content comes back for approval. So is every approval given
    before the latest edit, also when the edit brought back content approved before.
    The same person approving twice counts once.

    Args:
        since: how many of ``approvals`` were recorded before the latest edit (see
            :func:`decisions_before_edit`); those never count.
    """
    approvers: dict[str, None] = {}
    for approval in approvals[since:]:
        if approval.decision == "rejected":
            approvers.clear()
        elif approval.revision == revision:
            approvers[approval.actor] = None
    return tuple(approvers)


def decisions_before_edit(history: Sequence[Event]) -> int:
    """How many approval decisions a publication had when it was last edited, read from
    its ``history`` (0 when it never was, or the history was not read).

    An ``edited`` event records the number in its data; for one recorded before it did,
    the ``approved`` and ``rejected`` events before it are counted.
    """
    decisions = 0
    before = 0
    for event in history:
        if event.kind in ("approved", "rejected"):
            decisions += 1
        elif event.kind == "edited":
            recorded = event.data.get("decisions")
            before = decisions = (
                recorded
                if isinstance(recorded, int) and not isinstance(recorded, bool)
                else decisions
            )
    return before
