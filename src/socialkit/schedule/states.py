"""The publication state machine: every state, and which moves between them are legal.

::

    draft → pending_approval → scheduled → claimed → publishing → published → deleted
                                  │  ▲        │           │
                                  │  │        └ lease lost: back to scheduled (nothing was sent)
                                  │  └─ retry_wait (Transient / RateLimited, attempts left)
                                  │                       ├→ failed   (Rejected, attempts exhausted)
                                  │                       └→ unknown  (UnknownOutcome, crash or lease lost mid-call)
                                  │                              → reconcile → published | scheduled | person decides
                                  ├→ missed    (past due beyond the grace period, by policy)
                                  ├→ paused    (pause switch; resumes to scheduled)
                                  └→ cancelled

``claimed`` is leased and not yet sent, so it is always safe to hand back. ``publishing``
is written just before the request goes out; a publication found in ``publishing`` with
an expired lease may have been sent, so it goes to ``unknown``, never back to
``scheduled``. A receipt from the platform moves any state but ``deleted`` to
``published``: the platform's word wins over what the engine believed. ``deleted`` is where
a person takes a published post down again (:meth:`~socialkit.AsyncScheduler.delete`).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE_STATES",
    "ATTENTION",
    "CLAIMABLE_STATES",
    "EDITABLE_STATES",
    "LEASED_STATES",
    "RECEIPT_KEEPS",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "PublicationState",
    "can_transition",
]


class PublicationState(StrEnum):
    """Where a publication is in its life. See the module docstring for the diagram."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    UNKNOWN = "unknown"
    MISSED = "missed"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DELETED = "deleted"


S = PublicationState

TRANSITIONS: dict[PublicationState, frozenset[PublicationState]] = {
    S.DRAFT: frozenset({S.PENDING_APPROVAL, S.SCHEDULED, S.PAUSED, S.CANCELLED, S.DRAFT}),
    S.PENDING_APPROVAL: frozenset(
        {S.SCHEDULED, S.DRAFT, S.PAUSED, S.CANCELLED, S.PENDING_APPROVAL}
    ),
    S.SCHEDULED: frozenset(
        {S.CLAIMED, S.MISSED, S.PAUSED, S.CANCELLED, S.PENDING_APPROVAL, S.SCHEDULED, S.DRAFT}
    ),
    S.RETRY_WAIT: frozenset(
        {S.CLAIMED, S.PAUSED, S.CANCELLED, S.PENDING_APPROVAL, S.SCHEDULED, S.FAILED, S.RETRY_WAIT}
    ),
    S.PAUSED: frozenset(
        {S.SCHEDULED, S.RETRY_WAIT, S.PENDING_APPROVAL, S.CANCELLED, S.PAUSED, S.DELETED}
    ),
    S.CLAIMED: frozenset(
        {S.PUBLISHING, S.SCHEDULED, S.RETRY_WAIT, S.FAILED, S.MISSED, S.CANCELLED, S.UNKNOWN}
    ),
    S.PUBLISHING: frozenset({S.PUBLISHED, S.RETRY_WAIT, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.PUBLISHED, S.SCHEDULED, S.PUBLISHING, S.FAILED, S.UNKNOWN}),
    S.PUBLISHED: frozenset({S.DELETED}),
    S.FAILED: frozenset({S.SCHEDULED, S.DELETED, S.FAILED}),
    S.MISSED: frozenset({S.SCHEDULED}),
    S.CANCELLED: frozenset(),
    S.DELETED: frozenset({S.DELETED}),
}
"""Legal moves. A receipt is the one exception: it publishes from any state but deleted.
A move to the same state leaves the publication where it is (an edit of a ``retry_wait``
one never sent: it keeps waiting, until the same time).
A ``paused`` or ``failed`` thread whose first parts went out moves to ``deleted`` when a
person takes those parts down (marked ``attention="deleting"`` by a move to the same
state first, so that nothing resumes or reschedules it while the platform deletes). A
person who gives such a delete up (``resolve(abandon=True)``) moves a ``paused`` one to
``cancelled`` and leaves a ``failed`` one ``failed``, the mark off."""

TERMINAL_STATES = frozenset({S.PUBLISHED, S.FAILED, S.MISSED, S.CANCELLED, S.DELETED})
"""States the engine never leaves on its own (a person may reschedule failed or missed)."""

CLAIMABLE_STATES = frozenset({S.SCHEDULED, S.RETRY_WAIT})
"""States a worker may claim for publishing once their ``run_at`` has come."""

LEASED_STATES = frozenset({S.CLAIMED, S.PUBLISHING})
"""States that belong to a worker while its lease lasts."""

EDITABLE_STATES = frozenset({S.DRAFT, S.PENDING_APPROVAL, S.SCHEDULED, S.RETRY_WAIT, S.PAUSED})
"""States in which content, time or approval may still change (nothing was sent)."""

ACTIVE_STATES = frozenset(set(PublicationState) - TERMINAL_STATES)
"""Everything not terminal."""

RECEIPT_KEEPS = frozenset({S.PUBLISHED, S.DELETED})
"""States a receipt does not move to ``published`` (a receipt for a deleted publication
marks it for a person instead: ``attention="delete"``)."""


def can_transition(source: PublicationState, target: PublicationState) -> bool:
    """Whether ``source → target`` is a legal move (receipts aside)."""
    return target in TRANSITIONS[source]


# Why a publication waits for a person (``Publication.attention``): "deleting" is a
# delete of a half-sent thread that did not finish (some parts may be gone).
ATTENTION = ("reconcile", "reauth", "delete", "deleting")
