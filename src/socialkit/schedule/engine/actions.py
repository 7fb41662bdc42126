"""What people do to publications: approve, reject, edit, cancel, reschedule, resolve, delete.

Each action reads the publication, checks that it is allowed, and applies one fenced
transition (so a worker that moved the publication meanwhile makes the action fail with
:class:`~socialkit.errors.StaleTransition` rather than be lost). The notification hooks
fire after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import TYPE_CHECKING, Literal

from socialkit.errors import PlatformError, StaleTransition, UnknownOutcome, Unsupported
from socialkit.models.receipt import Receipt
from socialkit.platforms.publish import with_refresh
from socialkit.schedule.engine.events import StateChange
from socialkit.schedule.engine.grace import missable_grace, past_grace, refuse_missed
from socialkit.schedule.publication import Approval, decisions_before_edit, standing_approvers
from socialkit.schedule.records import DELETING, DeletionRecord, ReceiptRecord, Transition
from socialkit.schedule.states import EDITABLE_STATES, PublicationState

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Awaitable, Callable

    from socialkit.models.content import Post
    from socialkit.platforms.base import Platform
    from socialkit.platforms.context import Context
    from socialkit.schedule.approval import ApprovalPolicy
    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.publication import Publication
    from socialkit.schedule.records import DeletionKind

__all__ = [
    "approve",
    "cancel",
    "delete",
    "edit",
    "reject",
    "reschedule",
    "resolve",
]

S = PublicationState


async def _commit(s: Services, p: Publication, t: Transition) -> Publication:
    """Apply ``t`` and report, to the hooks, the state it wrote (``t.to``, or ``paused``
    when a pause switch held it), never one read afterwards: a worker may have claimed
    the publication in between. Returns the publication as it is now."""
    written = await _transition(s, t)
    after = await s.store.get(p.id, history=True)
    change = StateChange(
        publication_id=p.id,
        workspace=p.workspace,
        account_id=p.account_id,
        campaign=p.campaign,
        from_state=p.state,
        to_state=_fallback(t, after.state) if written is None else written,
        at=s.clock.now(),
        actor=t.actor,
        reason=t.reason,
        attempt=p.attempt,  # the fence: a transition never changes it
    )
    if change.to_state == S.FAILED:
        s.notifier.failed(change, None)
    else:
        s.notifier.changed(change)
    return after


def _fallback(t: Transition, read: PublicationState) -> PublicationState:
    """What ``t`` wrote, from a store that does not say (see :func:`_transition`): the
    state read afterwards when ``t`` could have written it (``t.to``, or ``paused`` when
    a pause switch held it), else ``t.to``: never a move someone else made since."""
    held = t.to in (S.SCHEDULED, S.RETRY_WAIT) and read == S.PAUSED
    return read if read == t.to or held else t.to


async def _transition(s: Services, t: Transition) -> PublicationState | None:
    """``store.transition``; the state it wrote, or ``None`` from a store written for an
    earlier socialkit, which returned nothing (see docs/stores.md)."""
    written = await s.store.transition(t, now=s.clock.now())
    return written if isinstance(written, PublicationState) else None


def _refuse(p: Publication, action: str, allowed: str) -> StaleTransition:
    return StaleTransition(
        f"cannot {action} publication {p.id}: it is {p.state.value} (allowed when {allowed})"
    )


def _refuse_change(p: Publication, action: Literal["edit", "reschedule"]) -> StaleTransition:
    """Why ``p`` cannot be edited or rescheduled now, and what a person can do instead.

    "Allowed when nothing was sent yet" alone misled: a ``claimed`` or ``missed``
    publication was not sent either, and a ``retry_wait`` one whose request went out looks
    like one waiting to be sent."""
    state = p.state
    if state == S.CLAIMED:
        hint = "a worker claimed it and is about to send it; cancel still stops it"
    elif state == S.PUBLISHING:
        hint = "it is being sent right now"
    elif state == S.UNKNOWN:
        hint = "it may be on the platform: resolve it first; resolve(retry=True) schedules it again"
    elif state == S.PUBLISHED:
        hint = "it is on the platform"
    elif state == S.DELETED:
        hint = "it was published, then deleted"
    elif action == "reschedule":
        hint = "allowed when not yet sent, failed or missed"
    elif state in (S.MISSED, S.FAILED) and p.sends == 0:
        hint = "nothing was sent: reschedule it first, then edit it"
    elif p.sends:
        instead = "cancel it and schedule" if state == S.RETRY_WAIT else "schedule"
        hint = (
            f"{p.sends} request(s) for it went out already; edit works only while nothing "
            f"was sent: {instead} the new content as a new post"
        )
    else:
        hint = "allowed while nothing was sent: draft, pending_approval, scheduled, paused"
    return StaleTransition(f"cannot {action} publication {p.id}: it is {state.value} ({hint})")


# How many times approve(), reject() and cancel() read again and retry when another
# write landed between their read and their write (people clicking at the same moment,
# a worker's claim). Each
# retry means another person's decision was recorded (the count only grows, and a change
# of state or revision ends the loop on the next read), so this bounds nothing a team
# of approvers can reach; it only stops a loop that a bug could make endless.
_DECISION_TRIES = 100


async def _commit_raced(
    s: Services, read: Callable[[], Awaitable[tuple[Publication, Transition]]]
) -> Publication:
    """Commit the transition ``read()`` builds from a fresh read, fenced on what it read;
    when another write landed in between (:class:`StaleTransition` from the store), read
    and build again, at most ``_DECISION_TRIES`` times. A refusal ``read()`` raises
    itself is not retried."""
    tries = 0
    while True:
        tries += 1
        p, transition = await read()
        try:
            return await _commit(s, p, transition)
        except StaleTransition:
            if tries >= _DECISION_TRIES:
                raise


async def approve(
    s: Services,
    publication_id: str,
    *,
    actor: str,
    revision: str | None = None,
    comment: str | None = None,
) -> Publication:
    """Approve the current revision; it is scheduled once enough people approved it.

    Only approvals of the current revision given since the latest rejection and the
    latest edit count (see :func:`standing_approvers`). Two people approving at once
    both count: the loser of the race reads the publication again and retries while it
    is still waiting for approval of the same revision. Each person counts once: one who
    already approved the current revision (since the latest rejection and edit) is
    refused with :class:`StaleTransition`, and nothing is recorded.

    Args:
        revision: the revision the approver saw; refused when the post was edited since.
    """
    return await _decide(s, publication_id, "approved", actor, revision, comment)


async def reject(
    s: Services,
    publication_id: str,
    *,
    actor: str,
    comment: str | None = None,
    revision: str | None = None,
) -> Publication:
    """Reject the current revision: back to ``draft``, to be edited (or cancelled).

    Approvals given before the rejection no longer count, even when the same content is
    submitted again (see :func:`standing_approvers`); they stay in ``approvals`` and the
    history. (Nor do approvals given before an edit.)

    Args:
        revision: the revision the person reviewed; refused when the post was edited
            since (the new content was not what they rejected).
    """
    return await _decide(s, publication_id, "rejected", actor, revision, comment)


async def _decide(
    s: Services,
    publication_id: str,
    decision: Literal["approved", "rejected"],
    actor: str,
    revision: str | None,
    comment: str | None,
) -> Publication:
    """Record one approval decision, fenced on the state, the revision and the number of
    decisions already recorded (so a decision made at the same moment is never
    overwritten), retrying when another decision won the race."""
    action = "approve" if decision == "approved" else "reject"
    seen = revision

    async def read() -> tuple[Publication, Transition]:
        nonlocal seen
        # With the history: it says which decisions came before the latest edit.
        p = await s.store.get(publication_id, history=True)
        if p.state != S.PENDING_APPROVAL:
            raise _refuse(p, action, "pending_approval")
        if seen is not None and seen != p.revision:
            raise StaleTransition(
                f"publication {p.id} was edited: {actor} reviewed revision {seen[:12]}, "
                f"it is now at {p.revision[:12]}; review it again"
            )
        seen = p.revision
        since = decisions_before_edit(p.history)
        standing = standing_approvers(p.approvals, p.revision, since=since)
        if decision == "approved" and actor in standing:
            # Each person counts once: a second approval would change nothing but the
            # record, and say nothing of the person still missing.
            raise StaleTransition(
                f"cannot approve publication {p.id}: {actor} already approved revision "
                f"{p.revision[:12]}; each person counts once ({len(standing)} of "
                f"{max(1, p.approvals_required)} approvals, by {', '.join(standing)}): "
                "another person must approve it"
            )
        made = Approval(
            actor=actor, decision=decision, revision=p.revision, at=s.clock.now(), comment=comment
        )
        approvals = (*p.approvals, made)
        if decision == "rejected":
            to = S.DRAFT
        elif len(standing_approvers(approvals, p.revision, since=since)) >= max(
            1, p.approvals_required
        ):
            to = S.SCHEDULED
        else:
            to = S.PENDING_APPROVAL
        return p, Transition(
            id=p.id,
            expect_state=p.state,
            expect_attempt=p.attempt,
            expect_revision=p.revision,
            expect_approvals=len(p.approvals),
            to=to,
            approvals=approvals,
            kind=decision,
            actor=actor,
            reason=comment or f"{decision} by {actor}",
            data={"revision": p.revision},
        )

    return await _commit_raced(s, read)


async def edit(
    s: Services, publication_id: str, post: Post, *, actor: str, policy: ApprovalPolicy
) -> Publication:
    """Pin a new revision. When the policy wants approval, it needs approval again.

    Fenced on the revision it replaces: of two edits made at once, the second fails with
    :class:`~socialkit.errors.StaleTransition` instead of silently replacing the first.
    """
    p = await s.store.get(publication_id)
    if p.state not in EDITABLE_STATES or p.sends:
        raise _refuse_change(p, "edit")
    revision = await s.store.put_revision(post, now=s.clock.now())
    account = await s.account(p.workspace, p.account_id)
    required = policy.approvals_required(
        post, account, campaign=p.campaign, requested=p.approvals_required > 0 or None
    )
    if required:
        target = S.PENDING_APPROVAL
    elif p.state in (S.DRAFT, S.PENDING_APPROVAL):
        target = S.SCHEDULED
    else:
        # It stays where it is: scheduled, paused, or retry_wait (never sent: waiting
        # for a reconnect, or after an error before the request), at the same time and
        # still waiting for what it waited for.
        target = p.state
    return await _commit(
        s,
        p,
        Transition(
            id=p.id,
            expect_state=p.state,
            expect_attempt=p.attempt,
            expect_revision=p.revision,
            to=target,
            revision=revision,
            approvals_required=required,
            attention=p.attention if target == p.state else None,
            kind="edited",
            actor=actor,
            reason=f"edited by {actor}",
            # Approvals recorded before this edit no longer count, even when it brings
            # back content approved before (see decisions_before_edit).
            data={
                "revision": revision,
                "previous_revision": p.revision,
                "decisions": len(p.approvals),
            },
        ),
    )


async def cancel(
    s: Services, publication_id: str, *, actor: str, reason: str | None = None
) -> Publication:
    """Cancel anything not yet sent (a claim not yet sent is safe to cancel).

    A thread whose first parts are already on the platform (waiting to retry after a
    later part failed) is refused, naming those parts: cancelling it would leave them
    there with no receipt to delete them by. Let it publish the rest (reschedule it to
    choose when), then :func:`delete` it.
    """

    async def read() -> tuple[Publication, Transition]:
        # A worker's claim (or hand-back) meanwhile makes the write stale: what the
        # publication is then says whether it can still be cancelled.
        p = await s.store.get(publication_id)
        _cancellable(p)
        return p, Transition(
            id=p.id,
            expect_state=p.state,
            expect_attempt=p.attempt,
            to=S.CANCELLED,
            kind="cancelled",
            actor=actor,
            reason=reason or f"cancelled by {actor}",
        )

    return await _commit_raced(s, read)


_CANCELLABLE = ", ".join(
    state.value for state in S if state in EDITABLE_STATES or state == S.CLAIMED
)


def _cancellable(p: Publication) -> None:
    """:class:`StaleTransition` naming why ``p`` cannot be cancelled, if it cannot."""
    if p.attention == DELETING:
        raise StaleTransition(
            f"cannot cancel publication {p.id}: a delete of its thread did not finish "
            "(some parts may be gone); run delete again, or give it up with "
            "resolve(abandon=True) (a paused one is cancelled then)"
        )
    if p.state not in (*EDITABLE_STATES, S.CLAIMED):
        # Says why, or where cancelling is allowed: "it is published (nothing was sent)"
        # read as if the published post had never gone out.
        hints = {
            S.PUBLISHING: "it is being sent right now",
            S.UNKNOWN: "resolve it instead",
            S.PUBLISHED: "it is on the platform; delete it to take it down",
        }
        hint = hints.get(p.state, f"allowed when {_CANCELLABLE}")
        raise StaleTransition(f"cannot cancel publication {p.id}: it is {p.state.value} ({hint})")
    if p.checkpoints:
        published = ", ".join(ref.id for ref in p.checkpoints)
        raise StaleTransition(
            f"cannot cancel publication {p.id}: {len(p.checkpoints)} part(s) of its thread "
            f"are already on the platform ({published}), and cancelling would leave them "
            "there with nothing to delete them by; let it publish the rest (reschedule it "
            "to choose when), then delete it: delete takes every part down; or, to take "
            "them down now, pause it and delete it"
        )


async def reschedule(
    s: Services,
    publication_id: str,
    *,
    due_at: dt.datetime,
    local_time: dt.datetime,
    zone: str,
    actor: str,
) -> Publication:
    """Move a publication to another time (also brings back a failed or missed one).

    A person's reschedule starts a fresh send budget: ``failures`` goes back to 0, so a
    post that failed after its retries gets ``RetryPolicy.max_attempts`` sends again (its
    history keeps the failures before).
    """
    p = await s.store.get(publication_id)
    if p.state not in (*EDITABLE_STATES, S.FAILED, S.MISSED):
        raise _refuse_change(p, "reschedule")
    if p.attention == DELETING:
        raise StaleTransition(
            f"cannot reschedule publication {p.id}: a delete is taking its parts down "
            "from the platform"
        )
    if (
        p.checkpoints
        and p.state == S.FAILED
        and _delete_began(await s.store.get(p.id, history=True))
    ):
        raise StaleTransition(
            f"cannot reschedule publication {p.id}: parts of its thread were taken down "
            "by a delete, and the rest would be sent as replies to them; delete it to take "
            "the rest down"
        )
    # A moment the misfire policy would miss at once is refused, as schedule() refuses
    # it. Not when it never misses this one: it may publish late, it was sent before (a
    # failed one brought back), or it is a rule's occurrence (the latest one still fires).
    grace = missable_grace(p)
    if grace is not None and p.rule_id is None:
        refuse_missed(
            past_grace(
                "at", local_time, zone, due_at, p.account_id, s.clock.now(), grace.total_seconds()
            ),
            "give a later time",
        )
    target = p.state if p.state in (S.DRAFT, S.PENDING_APPROVAL) else S.SCHEDULED
    return await _commit(
        s,
        p,
        Transition(
            id=p.id,
            expect_state=p.state,
            expect_attempt=p.attempt,
            to=target,
            due_at=due_at,
            run_at=due_at,
            local_time=local_time,
            zone=zone,
            reset_failures=True,
            kind="rescheduled",
            actor=actor,
            reason=f"rescheduled by {actor} to {local_time.isoformat()} {zone}",
        ),
    )


async def resolve(
    s: Services,
    publication_id: str,
    *,
    actor: str,
    published: Receipt | None = None,
    retry: bool = False,
    abandon: bool = False,
    reason: str | None = None,
) -> Publication:
    """Settle an ``unknown`` publication by a person's decision.

    Exactly one of:
        published: it is on the platform; here is its receipt: of the publication's
            platform and account, naming every part of the thread (``parts[0]`` the
            post, then each reply), so that the post can be measured and deleted.
        retry: it is not on the platform; send it again, with a fresh send budget
            (``failures`` back to 0, as a reschedule does).
        abandon: give up on it (``failed``), whatever happened.

    ``abandon=True`` also gives up a delete of a half-sent thread that did not finish
    (``attention="deleting"``: the platform keeps refusing, or a person removed the parts
    by hand): the mark comes off, a ``paused`` thread is ``cancelled`` and a ``failed``
    one stays ``failed``. Its checkpoints, receipts and history stay; the
    ``delete_abandoned`` event lists the parts not known to be gone
    (``data["post_ids_left"]``). A delete still running then records the parts it takes
    down afterwards all the same (see :func:`delete`). Nothing sends the rest: a ``failed`` one is not
    rescheduled again, though :func:`delete` may still take its parts down later.

    Raises:
        TypeError: ``retry`` or ``abandon`` is not a bool, or ``published`` not a Receipt.
        ValueError: not exactly one decision, or a receipt of another platform or
            account, or with fewer parts than the thread.
    """
    for name, flag in (("retry", retry), ("abandon", abandon)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name}: expected True or False (got {flag!r})")
    if published is not None and not isinstance(published, Receipt):
        raise TypeError(
            f"published: expected the post's Receipt (got {type(published).__name__} {published!r})"
        )
    chosen = [published is not None, retry, abandon]
    if sum(chosen) != 1:
        raise ValueError("resolve needs exactly one of published=receipt, retry=True, abandon=True")
    p = await s.store.get(publication_id)
    if p.attention == DELETING and p.state in PARTLY_SENT:
        if not abandon:
            raise StaleTransition(
                f"cannot resolve publication {p.id} with "
                f"{'a receipt' if published is not None else 'retry'}: a delete of its "
                "thread did not finish and some parts may be gone; run delete again, or "
                "give it up with abandon=True"
            )
        return await _abandon_delete(s, p.id, actor, reason)
    if p.state != S.UNKNOWN:
        raise _refuse(p, "resolve", "unknown")
    if published is not None:
        _check_receipt(p, published)
        record = ReceiptRecord(
            id=p.id,
            attempt=p.attempt,
            receipt=published,
            source="person",
            actor=actor,
            reason=reason or f"resolved as published by {actor}",
            # Published is published, whoever found out: metrics are collected as usual.
            metrics=s.metric_offsets(p.platform),
        )
        [moved] = await s.store.record_receipts([record], now=s.clock.now())
        after = await s.store.get(p.id, history=True)
        if not moved:
            # A worker's receipt moved it first (and its worker announced it): the
            # person's receipt is kept, and nothing is announced twice.
            return after
        s.notifier.published(
            StateChange(
                publication_id=p.id,
                workspace=p.workspace,
                account_id=p.account_id,
                campaign=p.campaign,
                from_state=p.state,
                to_state=S.PUBLISHED,  # what this receipt did, whatever happened since
                at=s.clock.now(),
                actor=actor,
                reason=record.reason,
                attempt=p.attempt,
            ),
            published,
        )
        return after
    return await _commit(
        s,
        p,
        Transition(
            id=p.id,
            expect_state=S.UNKNOWN,
            expect_attempt=p.attempt,
            to=S.SCHEDULED if retry else S.FAILED,
            # Its place in the account's queue is its due time: the posts due after it,
            # which waited behind it, must not go first now.
            run_at=min(s.clock.now(), p.due_at),
            # Sending again is a person's decision, as a reschedule is: a fresh budget.
            reset_failures=retry,
            kind="resolved",
            actor=actor,
            reason=reason
            or (
                f"resolved by {actor}: not on the platform; send again"
                if retry
                else f"abandoned by {actor}"
            ),
        ),
    )


async def _abandon_delete(
    s: Services, publication_id: str, actor: str, reason: str | None
) -> Publication:
    """Give up the unfinished delete of a half-sent thread marked ``deleting``: a move
    naming the mark to ``cancelled`` (``paused``) or to ``failed`` (``failed``), mark off."""
    p = await s.store.get(publication_id, history=True)
    if p.attention != DELETING or p.state not in PARTLY_SENT:
        raise StaleTransition(
            f"cannot abandon the delete of publication {p.id}: it is {p.state.value}, "
            "no longer being deleted; read it again"
        )
    gone = _deleted_post_ids(p)
    left = [ref.id for ref in p.checkpoints if ref.id not in gone]
    transition = Transition(
        id=p.id,
        expect_state=p.state,
        expect_attempt=p.attempt,
        expect_attention=DELETING,
        # The state machine has paused → cancelled, and failed → failed: both terminal.
        to=S.CANCELLED if p.state == S.PAUSED else p.state,
        attention=None,
        kind="delete_abandoned",
        actor=actor,
        reason=reason
        or (
            f"delete abandoned by {actor}: {len(left)} part(s) may still be on the platform"
            + (f" ({', '.join(left)})" if left else "")
        ),
        data={"post_ids_left": left},
    )
    if transition.to != p.state:
        return await _commit(s, p, transition)
    # Failed it was and failed it stays: no state change to announce.
    await s.store.transition(transition, now=s.clock.now())
    return await s.store.get(p.id, history=True)


def _delete_began(p: Publication) -> bool:
    """Whether a delete took (or gave up taking) parts of ``p``'s thread down: sending
    the rest would reply to deleted parts. Needs ``p``'s history."""
    if any(event.kind == "delete_abandoned" for event in p.history):
        return True
    gone = _deleted_post_ids(p)
    return any(ref.id in gone for ref in p.checkpoints)


def _check_receipt(p: Publication, receipt: Receipt) -> None:
    """Refuse a receipt that is not the whole of ``p`` on its platform and account: the
    engine would measure, and delete, the wrong posts or only some of them."""
    if (receipt.platform, receipt.account_id) != (p.platform, p.account_id):
        raise ValueError(
            f"published: the receipt is for {receipt.platform} account "
            f"{receipt.account_id!r}, and publication {p.id} is for {p.platform} account "
            f"{p.account_id!r}; give the receipt of the post on {p.platform} from "
            f"{p.account_id!r}"
        )
    parts = len(p.draft.parts) if p.draft is not None else 1
    if len(receipt.parts) > parts:
        raise ValueError(
            f"published: the receipt names {len(receipt.parts)} parts, and publication "
            f"{p.id} is a post of {parts}; a receipt names this publication's parts only "
            "(a first comment goes in Receipt.first_comment)"
        )
    if len(receipt.parts) < parts:
        known = ", ".join(ref.id for ref in p.checkpoints)
        raise ValueError(
            f"published: the receipt names {len(receipt.parts)} part(s), and publication "
            f"{p.id} is a thread of {parts}; give a receipt naming every part, in order "
            "(parts[0] the post, then each reply)"
            + (f"; the parts known to be published so far are {known}" if known else "")
            + ", or resolve it with retry=True or abandon=True"
        )


async def delete(
    s: Services, publication_id: str, *, actor: str, reason: str | None = None
) -> Publication:
    """Take a published post down: the platform deletes every part of it, then the
    publication moves to ``deleted`` (its receipts and history stay).

    A thread half sent (its first parts on the platform, the rest not) can be taken down
    too once nothing will send the rest: when it is ``paused`` (pause it first, the
    crisis switch) or ``failed``. Its published parts are deleted and it moves to
    ``deleted``.

    The engine asks the platform for one part at a time, the last part first (replies
    before the post they reply to): each request is ``platform.delete`` with a receipt
    naming that one part (a first comment goes with the first request). The history's
    ``deleted`` event lists the post ids taken down (``data["post_ids"]``).

    The platform is asked first, so a refusal (:class:`~socialkit.errors.Unsupported`, a
    permission error) leaves the publication ``published``; a thread's last parts may
    be gone already, and a ``delete_refused`` (``delete_unknown`` when the answer never
    came) event says which: ``data["post_ids"]`` the post ids this delete took down,
    ``data["post_ids_left"]`` those not known to be gone. A delete cancelled while the
    platform is asked (the sync facade's timeout, SIGINT) records ``delete_unknown`` the
    same way, shielded from the cancellation, then lets the cancellation go on. Run it
    again: it asks only for the parts not recorded gone. Running it again after a crash
    between the two steps is safe: adapters treat a post already gone as deleted.

    A half-sent thread is fenced before the platform is asked: a transition to its own
    state marks it ``attention="deleting"``, and while it is marked nothing resumes,
    reschedules or otherwise moves it (the stores refuse any transition that does not
    name the mark, and ``resume`` leaves it ``paused``), so no worker sends the rest as
    replies to deleted parts. A resume or reschedule that landed first makes the delete
    fail with :class:`~socialkit.errors.StaleTransition` before anything is deleted. When
    the platform refuses the first part asked for, nothing was deleted: the mark is
    taken off again (a ``delete_refused`` event with the error, no ``post_ids`` and every
    part in ``post_ids_left``; a pause lifted meanwhile resumes it then). When it refuses
    a later part, or its answer never came (:class:`~socialkit.errors.UnknownOutcome`, a
    timeout, a cancellation while it waited), the mark stays, and a
    ``delete_refused`` (or ``delete_unknown``) event records the post ids deleted so far
    in ``data["post_ids"]``: the next delete asks only for the parts not recorded gone.
    A thread that stays marked because the platform keeps refusing can be given up with
    :func:`resolve` ``(abandon=True)``.

    What the platform took down is recorded as a receipt is, never fenced out
    (``store.record_deletion``): a person who abandons the delete while it runs makes it
    stop short of ``deleted``, as does another delete of it that finishes first, yet its
    history still lists the parts it took down (a ``delete_overtaken`` event, or
    ``delete_refused``/``delete_unknown``, whose reason says it was abandoned while it
    ran, or that it was moved), and this call raises
    :class:`~socialkit.errors.StaleTransition` saying so.

    Every distinct receipt is deleted (a post the platform made twice goes twice),
    including receipts recorded while the deletion ran; one recorded after it marks the
    publication for a person (``attention="delete"``), and deleting again takes that
    post down too.
    """
    p = await s.store.get(publication_id, history=True)
    gone = _deleted_post_ids(p)
    pending = _live_receipts(p, gone) + _live_parts(p, gone, s.clock.now())
    if p.state == S.DELETED and not pending:
        raise _refuse(p, "delete", "published, or deleted with a receipt recorded since")
    if p.state in PARTLY_SENT and not p.checkpoints:
        raise _refuse(p, "delete", "published, or paused or failed with parts on the platform")
    if p.state not in (S.PUBLISHED, S.DELETED, *PARTLY_SENT):
        raise _refuse(p, "delete", "published (a thread half sent: paused or failed)")
    if not pending and p.state == S.PUBLISHED:
        raise StaleTransition(f"cannot delete publication {p.id}: it has no receipt")
    account = await s.account(p.workspace, p.account_id)
    platform = s.registry.platform(account.platform)
    if not platform.capabilities.delete:
        raise Unsupported(f"{platform.name} cannot delete posts (its capabilities say so)")
    ctx = (await s.context(account, platform)).evolve(publication_id=p.id)
    if not (await s.capabilities(account, platform, ctx)).delete:
        raise Unsupported(f"{platform.name} cannot delete posts (its server says so)")
    # A thread half sent is fenced first: a resume or reschedule could otherwise make it
    # claimable while its parts are being deleted, and a worker would send the rest.
    fence = p if p.state in PARTLY_SENT else None
    if fence is not None:
        await _fence(s, fence, actor)
    started = p
    deleted: list[str] = []
    try:
        p = await _take_down(s, p, platform, ctx, pending, gone, deleted)
    except asyncio.CancelledError:
        # Cancelled while the platform was asked (the sync facade's timeout, SIGINT): a
        # request may have taken its part down with no answer read. That is an unknown
        # outcome, recorded as one (a thread stays marked) even while this task is
        # being cancelled, then the cancellation goes on.
        cancelled = UnknownOutcome(
            f"deleting publication {p.id} on {platform.name} was cancelled while the "
            "platform was asked; what that request took down is not known: run delete again"
        )
        await asyncio.shield(
            _record_gone(s, started, actor, deleted, _left(pending, gone), cancelled)
        )
        raise
    except Exception as exc:
        # A part is deleted by a request of its own: a half-sent thread refused at the
        # first one asked for lost nothing, unless an earlier delete, marked still, got
        # further than its history says (a crash, a timeout), and the mark comes off.
        # Anything else goes into the history, whatever became of the publication
        # meanwhile: the parts gone and those left.
        refused_at_once = not deleted and not isinstance(exc, UnknownOutcome)
        if fence is not None and fence.attention != DELETING and refused_at_once:
            await _unfence(s, fence, actor, _left(pending, gone), exc)
        else:
            await _record_gone(s, started, actor, deleted, _left(pending, gone), exc)
        raise
    if fence is not None and p.state != S.PUBLISHED:
        # Nothing but a receipt (which publishes from any state) moves it past the mark:
        # the fence is what was read before the platform was asked.
        p, expect_attention = fence, DELETING
    else:
        expect_attention = None
    try:
        return await _commit(
            s,
            p,
            Transition(
                id=p.id,
                expect_state=p.state,
                expect_attempt=p.attempt,
                expect_attention=expect_attention,
                to=S.DELETED,
                kind="deleted",
                actor=actor,
                reason=reason or f"deleted by {actor}",
                data={"post_ids": deleted},
            ),
        )
    except StaleTransition as exc:
        if not deleted:
            raise
        # Moved while the platform deleted (a person abandoned the delete, or another
        # delete finished first): the posts this one took down still reach the history.
        why = await _record_gone(s, started, actor, deleted, [], None)
        raise StaleTransition(
            f"publication {p.id} {why}; the {len(deleted)} part(s) this delete took down "
            f"({', '.join(deleted)}) are recorded in its history, and it stays as it is"
        ) from exc


async def _fence(s: Services, p: Publication, actor: str) -> None:
    """Mark a half-sent thread ``deleting`` (a move to its own state, fenced on what was
    read). :class:`StaleTransition` when it moved meanwhile (resumed, rescheduled)."""
    await s.store.transition(
        Transition(
            id=p.id,
            expect_state=p.state,
            expect_attempt=p.attempt,
            # Marked already: an earlier delete was interrupted (or runs at the same time).
            expect_attention=DELETING if p.attention == DELETING else None,
            to=p.state,
            attention=DELETING,
            kind="deleting",
            actor=actor,
            reason=f"being deleted by {actor}",
        ),
        now=s.clock.now(),
    )


async def _unfence(
    s: Services, p: Publication, actor: str, left: list[str], error: Exception
) -> None:
    """Take the ``deleting`` mark off ``p`` (as read before it was marked) after the
    platform refused the delete (``error``) and nothing was deleted: it is as it was,
    except that a ``paused`` one whose pause was lifted meanwhile is resumed now (the
    store keeps it ``paused`` while a switch covers it). Its ``delete_refused`` event
    carries what every one does: ``data["post_ids"]`` (none taken down),
    ``data["post_ids_left"]`` (``left``: every part still there) and the error."""
    release = Transition(
        id=p.id,
        expect_state=p.state,
        expect_attempt=p.attempt,
        expect_attention=DELETING,
        to=S.SCHEDULED if p.state == S.PAUSED else p.state,
        attention=p.attention,
        kind="delete_refused",
        actor=actor,
        reason=(
            f"delete by {actor}: the platform refused ({type(error).__name__}: {error}); "
            f"nothing was deleted, {len(left)} left" + (f" ({', '.join(left)})" if left else "")
        ),
        error=error.describe() if isinstance(error, PlatformError) else None,
        data={"post_ids": [], "post_ids_left": left},
    )
    with contextlib.suppress(StaleTransition):  # a receipt published it meanwhile
        written = await _transition(s, release)
        if written is None:
            written = _fallback(release, (await s.store.get(p.id)).state)
        if written != p.state:
            s.notifier.changed(
                StateChange(
                    publication_id=p.id,
                    workspace=p.workspace,
                    account_id=p.account_id,
                    campaign=p.campaign,
                    from_state=p.state,
                    to_state=written,
                    at=s.clock.now(),
                    actor=actor,
                    reason="resumed: the delete was refused and no pause holds it any more",
                    attempt=p.attempt,
                )
            )


async def _record_gone(
    s: Services,
    started: Publication,
    actor: str,
    deleted: list[str],
    left: list[str],
    error: Exception | None,
) -> str:
    """Record in the history of ``started`` (as read, with its history, when the delete
    began) the post ids a delete took down (``deleted``) and those not known to be gone
    (``left``) when it stopped short of ``deleted``: the platform refused a part, or did
    not answer (``error``), or the publication was moved meanwhile (``error`` None). The
    store records it whatever the publication's state is now (as it records a receipt),
    so a person's abandon while the platform deletes loses nothing; the next delete
    skips the post ids (:func:`_deleted_post_ids`). Returns what became of the
    publication meanwhile, in words, for the reason and the caller's error."""
    now = await s.store.get(started.id, history=True)
    abandon = next(
        (e for e in now.history[len(started.history) :] if e.kind == "delete_abandoned"), None
    )
    if abandon is not None:
        became = f"was abandoned by {abandon.actor} while this delete ran"
    elif now.attention == DELETING:
        became = (
            "stays marked deleting: run delete again for the rest, or give up with "
            "resolve(abandon=True)"
        )
    elif error is not None:
        became = f"stays {now.state.value}: run delete again for the rest"
    else:
        became = f"was moved while this delete ran (it is {now.state.value})"
    done = f"{len(deleted)} part(s) deleted ({', '.join(deleted)})" if deleted else "none deleted"
    rest = f"{len(left)} left ({', '.join(left)})" if left else "none left"
    if error is None:
        kind: DeletionKind = "delete_overtaken"
        what = f"delete by {actor}: {done}, {rest}"
    else:
        kind = "delete_unknown" if isinstance(error, UnknownOutcome) else "delete_refused"
        answer = "did not answer" if isinstance(error, UnknownOutcome) else "refused"
        what = (
            f"delete by {actor}: the platform {answer} ({type(error).__name__}: {error}); "
            f"{done} by this delete, {rest}"
        )
    await s.store.record_deletion(
        DeletionRecord(
            id=started.id,
            kind=kind,
            post_ids=tuple(deleted),
            post_ids_left=tuple(left),
            actor=actor,
            reason=f"{what}; it {became}",
            error=error.describe() if isinstance(error, PlatformError) else None,
        ),
        now=s.clock.now(),
    )
    return became


def _left(pending: list[Receipt], gone: set[str]) -> list[str]:
    """The post ids of ``pending`` not known to be gone, each once, in receipt order."""
    return list(dict.fromkeys(i for r in pending for i in _post_ids(r) if i not in gone))


async def _take_down(
    s: Services,
    p: Publication,
    platform: Platform,
    ctx: Context,
    pending: list[Receipt],
    gone: set[str],
    deleted: list[str],
) -> Publication:
    """Delete every receipt in ``pending`` on the platform, and any recorded meanwhile,
    one part a request (:func:`_one_part_each`); appends the post ids deleted to
    ``deleted`` (each receipt's in its own order) and adds them to ``gone``, also when a
    request fails part way, and keeps ``pending`` the receipts being deleted (the ids of
    which not in ``gone`` are left then); returns the publication as last read."""
    timeout = s.config.publish_timeout.total_seconds()
    while pending:
        for receipt in pending:
            taken: set[str] = set()
            before = set(gone)  # a part sent again with a first comment is not new
            try:
                for one in _one_part_each(receipt, gone):
                    try:
                        async with asyncio.timeout(timeout):
                            # An expired token is refreshed once (the refused call deleted
                            # nothing).
                            await with_refresh(
                                platform, ctx, functools.partial(platform.delete, one)
                            )
                    except TimeoutError:
                        raise UnknownOutcome(
                            f"deleting publication {p.id} on {platform.name} timed out after "
                            f"{timeout:g} s (post {one.ref.id}); it may be gone: run delete again"
                        ) from None
                    taken.update(_post_ids(one))
            finally:
                deleted.extend(
                    post_id
                    for post_id in _post_ids(receipt)
                    if post_id in taken and post_id not in before
                )
                gone.update(taken)
        # A receipt recorded meanwhile (a worker that lost its lease, say) goes too. The
        # list is changed in place: what is left of it is the caller's when a part fails.
        p = await s.store.get(p.id)
        pending[:] = _live_receipts(p, gone) + _live_parts(p, gone, s.clock.now())
    return p


def _one_part_each(receipt: Receipt, gone: set[str]) -> list[Receipt]:
    """The requests that delete ``receipt``'s posts not in ``gone``: one receipt a part,
    the last part first (replies before the post they reply to). A first comment goes
    with the first request (adapters delete it before that request's part), or, when
    every part is gone, with the last part again (gone counts as deleted)."""
    parts = [ref for ref in receipt.parts if ref.id not in gone]
    comment = receipt.first_comment
    if comment is not None and comment.id in gone:
        comment = None
    if not parts and comment is not None:
        parts = [receipt.parts[-1]]
    requests: list[Receipt] = []
    for ref in reversed(parts):
        requests.append(receipt.model_copy(update={"parts": (ref,), "first_comment": comment}))
        comment = None
    return requests


def _post_ids(receipt: Receipt) -> list[str]:
    """Every post a receipt names: its parts and a first comment."""
    ids = [ref.id for ref in receipt.parts]
    if receipt.first_comment is not None:
        ids.append(receipt.first_comment.id)
    return ids


_GONE_KINDS = frozenset({"deleted", "delete_refused", "delete_unknown", "delete_overtaken"})
"""History events whose ``data["post_ids"]`` name posts a delete took down: a delete
that finished, one the platform refused (or did not answer) part way through, and one
that finished after the publication was moved meanwhile (a person abandoned it)."""


def _deleted_post_ids(p: Publication) -> set[str]:
    """The posts earlier deletions of ``p`` took down (from its history)."""
    gone: set[str] = set()
    for event in p.history:
        ids = event.data.get("post_ids") if event.kind in _GONE_KINDS and event.data else None
        if isinstance(ids, list):
            gone.update(str(post_id) for post_id in ids)
    return gone


PARTLY_SENT = (S.PAUSED, S.FAILED)
"""States in which a thread's first parts may be on the platform while nothing sends the
rest (a worker claims neither): delete takes those parts down."""


def _live_parts(p: Publication, gone: set[str], now: dt.datetime) -> list[Receipt]:
    """The parts of a thread half sent (``p.checkpoints``) not taken down yet, as one
    receipt (deleted a part at a time: :func:`_one_part_each`)."""
    if p.state not in PARTLY_SENT or not p.checkpoints or p.receipts:
        return []
    live = tuple(ref for ref in p.checkpoints if ref.id not in gone)
    if not live:
        return []
    return [Receipt(platform=p.platform, account_id=p.account_id, parts=live, published_at=now)]


def _live_receipts(p: Publication, gone: set[str]) -> list[Receipt]:
    """``p``'s receipts naming a post not taken down yet, each distinct one once."""
    live: list[Receipt] = []
    seen: set[tuple[str, ...]] = set()
    for stored in p.receipts:
        ids = tuple(_post_ids(stored.receipt))
        if ids in seen or gone.issuperset(ids):
            continue
        seen.add(ids)
        live.append(stored.receipt)
    return live
