"""The people's commands: ``approve``, ``reject``, ``cancel``, ``reschedule``,
``resolve``, ``delete``, ``pause``, ``resume`` and ``clear-rate-limit``.

Each prints one line. Exit codes: 0 on success; 1 when the publication's state does not
allow the action (it moved on), the post was edited since it was reviewed, or the
platform refused to delete; 2 for a usage problem.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from socialkit.cli._app import counted, emit, fail, say
from socialkit.cli._publications import (
    ActorOption,
    CommentOption,
    IdArgument,
    ReasonOption,
    approvals_line,
    default_actor,
    open_scheduler,
    option_error,
    parse_when,
    publication_line,
    refusing_stale,
    time_notes,
    unknown_filters,
)

if TYPE_CHECKING:
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import PauseScope, Publication, RateLimitCleared

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("approve")(approve_command)
    app.command("reject")(reject_command)
    app.command("cancel")(cancel_command)
    app.command("reschedule")(reschedule_command)
    app.command("resolve")(resolve_command)
    app.command("delete")(delete_command)
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
    app.command("clear-rate-limit")(clear_rate_limit_command)


# -- people -----------------------------------------------------------------------------


RevisionOption = Annotated[
    str | None,
    typer.Option(
        "--revision", metavar="REV", help="The revision you reviewed (refused if edited since)."
    ),
]


def _revision_given(revision: str | None) -> str | None:
    """``--revision`` as hex digits, or a usage error."""
    import re

    if revision is None:
        return None
    revision = revision.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", revision):
        raise fail(
            "--revision: give the revision you reviewed, as `socialkit show` prints it "
            f"(8 to 64 hex digits; got {revision!r})",
            code=2,
        )
    return revision


def approve_command(
    publication_id: IdArgument,
    actor: ActorOption = None,
    comment: CommentOption = None,
    revision: RevisionOption = None,
) -> None:
    """Approve a pending publication's current revision."""
    _decide("approved", publication_id, actor, comment, revision)


def _decide(
    decision: Literal["approved", "rejected"],
    publication_id: str,
    actor: str | None,
    comment: str | None,
    revision: str | None,
) -> None:
    """``approve`` and ``reject``: bound to ``--revision`` when given, and the line
    naming what was decided on."""
    revision = _revision_given(revision)
    with open_scheduler(existing=True) as scheduler:
        if revision is not None:
            revision = _reviewed_revision(scheduler.get(publication_id), revision)
        decide = scheduler.approve if decision == "approved" else scheduler.reject
        with refusing_stale():
            p = decide(
                publication_id, actor=actor or default_actor(), comment=comment, revision=revision
            )
    emit(None, as_json=False, text=f"{decision} {publication_line(p)}{_decided(p)}")


def _decided(p: Publication) -> str:
    """What an approval or a rejection was bound to, for its line: the revision (as
    ``show`` prints it), and how many of the approvals it needs count now, and whose.
    Without ``--revision`` the current revision is approved: this says which one."""
    approvals = approvals_line(p) if p.state == "pending_approval" else None
    return f"  (revision {p.revision[:16]}" + (f"; {approvals})" if approvals else ")")


def _reviewed_revision(p: Publication, given: str) -> str:
    """The full revision ``given`` (a prefix, as ``show`` prints it) names.

    The current revision is decided on; an earlier one of this publication is refused (it
    was edited since: exit 1); a prefix of none of them, or of more than one, is a usage
    error naming the revisions that would fit (exit 2).
    """
    known = {p.revision: "current"}
    for approval in p.approvals:
        known.setdefault(approval.revision, "earlier")
    for event in p.history:
        for key in ("previous_revision", "revision"):
            value = event.data.get(key)
            if isinstance(value, str):
                known.setdefault(value, "earlier")
    matches = sorted((r for r in known if r.startswith(given)), key=lambda r: known[r])
    if len(matches) > 1:
        listed = ", ".join(f"{r[:16]} ({known[r]})" for r in matches)
        raise fail(
            f"--revision: {given!r} is ambiguous: it starts {len(matches)} revisions of "
            f"publication {p.id} ({listed}); give more of the current one",
            code=2,
        )
    if not matches:
        raise fail(
            f"--revision: no revision of publication {p.id} starts with {given!r} "
            f"(its current revision is {p.revision[:16]}, as `socialkit show {p.id}` "
            "prints it)",
            code=2,
        )
    if known[matches[0]] == "earlier":
        raise fail(
            f"--revision: publication {p.id} was edited since revision {given!r} was "
            f"reviewed: it is now at {p.revision[:16]}; review it again "
            f"(`socialkit show {p.id}`)",
            code=1,
        )
    return matches[0]


def reject_command(
    publication_id: IdArgument,
    actor: ActorOption = None,
    comment: CommentOption = None,
    revision: RevisionOption = None,
) -> None:
    """Reject a pending publication (it goes back to draft)."""
    _decide("rejected", publication_id, actor, comment, revision)


def cancel_command(
    publication_id: IdArgument,
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Cancel a publication that was not sent yet."""

    with open_scheduler(existing=True) as scheduler, refusing_stale():
        p = scheduler.cancel(publication_id, actor=actor or default_actor(), reason=reason)
    emit(None, as_json=False, text=f"cancelled {publication_line(p)}")


def delete_command(
    publication_id: IdArgument,
    actor: ActorOption = None,
    reason: ReasonOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (needed without a terminal).")
    ] = False,
) -> None:
    """Take a published post down on its platform (every part); it becomes deleted. A
    thread half sent (paused or failed) has its published parts taken down."""

    from socialkit.errors import CredentialsError, PlatformError, Rejected

    if not yes:
        if not sys.stdin.isatty():
            raise fail(
                "delete removes the post from the platform and cannot be undone; "
                "pass --yes to delete without being asked",
                code=2,
            )
        typer.confirm(f"Delete publication {publication_id} from its platform?", abort=True)
    with open_scheduler(existing=True) as scheduler, refusing_stale():
        try:
            p = scheduler.delete(publication_id, actor=actor or default_actor(), reason=reason)
        except Rejected as exc:
            # The platform said no for good: running delete again would not help.
            raise fail(
                f"publication {publication_id} was not deleted: {exc}. It stays as it was "
                "(a thread's first parts may be gone already)"
            ) from None
        except (PlatformError, CredentialsError) as exc:
            raise fail(
                f"publication {publication_id} was not deleted: {exc}. It stays as it was "
                "(a thread's first parts may be gone already); run delete again"
            ) from None
    emit(None, as_json=False, text=f"deleted {publication_line(p)}")


def reschedule_command(
    publication_id: IdArgument,
    at: Annotated[
        str,
        typer.Option("--at", metavar="TIME", help='Local wall time, e.g. "2026-12-01 09:00".'),
    ],
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz", metavar="ZONE", help="IANA zone (default: the publication's own zone)."
        ),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Move a publication not sent yet (or a failed or missed one) to another time."""

    from socialkit.schedule.engine.grace import PastGracePeriod

    local, zone = parse_when(at, tz)
    with open_scheduler(existing=True) as scheduler, refusing_stale():
        try:
            p = scheduler.reschedule(
                publication_id, at=local, tz=zone, actor=actor or default_actor()
            )
        except PastGracePeriod as exc:  # name the option, as schedule --at does
            raise fail(f"--{exc}", code=2) from None
        except ValueError as exc:  # a time out of range, say
            raise fail(option_error(exc), code=2) from None
    for note in time_notes([p], dt.datetime.now(dt.UTC)):
        say(f"note: {note}", err=True)
    emit(None, as_json=False, text=f"rescheduled {publication_line(p)}")


def resolve_command(
    publication_id: IdArgument,
    published: Annotated[
        list[str] | None,
        typer.Option(
            "--published",
            metavar="POST_ID",
            help="It is on the platform: its id (once per part of a thread, in order).",
        ),
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option("--url", metavar="URL", help="With --published: its URL (once per part)."),
    ] = None,
    retry: Annotated[bool, typer.Option("--retry", help="It is not there: send it again.")] = False,
    abandon: Annotated[
        bool,
        typer.Option(
            "--abandon",
            help="Give up on it (failed); a thread whose delete did not finish: stop "
            "deleting (paused: cancelled).",
        ),
    ] = False,
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Settle a publication whose outcome is unknown: --published POST_ID, --retry or
    --abandon (also gives up a thread's delete that did not finish)."""
    from socialkit.models.receipt import PostRef, Receipt

    ids = published or []
    urls = url or []
    if sum([bool(ids), retry, abandon]) != 1:
        raise fail("give exactly one of --published POST_ID, --retry, --abandon", code=2)
    if urls and not ids:
        raise fail(f"--url: only with --published POST_ID (got --url {urls[0]!r})", code=2)
    if urls and len(urls) != len(ids):
        raise fail(
            f"--url: give one per --published, in the same order "
            f"(got {len(urls)} URLs for {len(ids)} posts)",
            code=2,
        )
    if any(not i.strip() for i in ids):
        raise fail("--published: give the post's id on the platform (got '')", code=2)
    with open_scheduler(existing=True) as scheduler:
        current = scheduler.get(publication_id, history=False)
        receipt = None
        parts = len(current.draft.parts) if current.draft is not None else 1
        if ids and len(ids) < parts:
            known = ", ".join(ref.id for ref in current.checkpoints)
            raise fail(
                f"--published: publication {current.id} is a thread of {parts} posts; give "
                f"--published once per part, in order (got {len(ids)})"
                + (f"; the parts known to be published so far are {known}" if known else ""),
                code=2,
            )
        if ids:
            receipt = Receipt(
                platform=current.platform,
                account_id=current.account_id,
                parts=tuple(
                    PostRef(id=i, url=urls[n] if urls else None) for n, i in enumerate(ids)
                ),
                published_at=dt.datetime.now(dt.UTC),
            )
        with refusing_stale():
            try:
                p = scheduler.resolve(
                    publication_id,
                    published=receipt,
                    retry=retry,
                    abandon=abandon,
                    actor=actor or default_actor(),
                    reason=reason,
                )
            except ValueError as exc:  # a receipt that does not match the publication
                raise fail(f"--published: {str(exc).removeprefix('published: ')}", code=2) from exc
    emit(None, as_json=False, text=f"resolved {publication_line(p)}")


def _scope_options(account: str | None, campaign: str | None) -> dict[str, str | None]:
    if account is not None and campaign is not None:
        raise fail("give --account or --campaign, not both", code=2)
    if account is not None and not account.strip():
        raise fail("--account: give an account id (got '')", code=2)
    if campaign is not None and not campaign.strip():
        raise fail("--campaign: give a campaign id (got '')", code=2)
    return {"account": account, "campaign": campaign}


def _check_scope(scheduler: Scheduler, account: str | None, campaign: str | None) -> None:
    """Refuse a pause scope that names nothing: a typo would otherwise hold nothing while
    the person believes the crisis switch is on."""
    problems = unknown_filters(scheduler, account, campaign)
    if problems:
        ahead = (
            "; to pause a campaign before its first post, add it to the project file's "
            "[[campaigns]] (an id and a name)"
            if campaign is not None
            else ""
        )
        raise fail(problems[0] + ahead, code=2)


def _what(account: str | None, campaign: str | None) -> str:
    if account is not None:
        return f"account {account}"
    return f"campaign {campaign}" if campaign is not None else "everything"


_NO_STORE = (
    "nothing was scheduled on it yet, so nothing can be paused or resumed "
    "(check the store URL; `socialkit store migrate` creates an empty store)"
)


def pause_command(
    account: Annotated[
        str | None, typer.Option("--account", metavar="ID", help="One account.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", metavar="ID", help="One campaign.")
    ] = None,
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Stop publishing: everything, one account or one campaign, at once (a post claimed
    but not yet sent is handed back)."""
    scope = _scope_options(account, campaign)
    with open_scheduler(existing=True, hint=_NO_STORE) as scheduler:
        _check_scope(scheduler, account, campaign)
        already = _switch(scheduler.pauses(), account, campaign)
        held = scheduler.pause(**scope, actor=actor or default_actor(), reason=reason)
        ahead = campaign is not None and not scheduler.list(campaign=campaign, limit=1).items
    text = f"paused {_what(account, campaign)}: {counted(held, 'publication')} held"
    if already is not None:
        why = f": {already.reason}" if already.reason else ""
        text += f" (it was already paused by {already.actor}{why})"
    emit(None, as_json=False, text=text)
    if ahead:
        # Known to the project file (or a rule), but nothing of it is stored yet.
        say(
            f"note: no publication has campaign {campaign!r} yet: the switch holds the "
            "ones scheduled from now on, until `socialkit resume --campaign "
            f"{campaign}`",
            err=True,
        )


def _switch(
    switches: list[PauseScope], account: str | None, campaign: str | None
) -> PauseScope | None:
    """The pause switch of exactly this scope, when it is on."""
    kind, value = ("account", account) if account else ("campaign", campaign or "")
    if not account and not campaign:
        kind = "all"
    return next((p for p in switches if p.kind == kind and (p.value or "") == value), None)


def resume_command(
    account: Annotated[
        str | None, typer.Option("--account", metavar="ID", help="One account.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", metavar="ID", help="One campaign.")
    ] = None,
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Resume what a pause held."""
    scope = _scope_options(account, campaign)
    with open_scheduler(existing=True, hint=_NO_STORE) as scheduler:
        before = scheduler.pauses()
        if _switch(before, account, campaign) is None:
            on = ", ".join(_what_paused(p) for p in before) or "nothing"
            if account or campaign:
                raise fail(f"{_what(account, campaign)} is not paused (paused: {on})", code=1)
            if not before:
                raise fail("nothing is paused", code=1)
            raise fail(
                f"there is no pause of everything to resume (paused: {on}; resume those "
                "with --account ID or --campaign ID)",
                code=1,
            )
        back = scheduler.resume(**scope, actor=actor or default_actor(), reason=reason)
        still = scheduler.pauses()
    # Not "due again": a resumed publication keeps its due time, which may be days ahead.
    text = f"resumed {_what(account, campaign)}: {counted(back, 'publication')} no longer held"
    if still:
        text += f"\nstill paused: {', '.join(_what_paused(p) for p in still)}"
    emit(None, as_json=False, text=text)


def _what_paused(scope: PauseScope) -> str:
    return "everything" if scope.kind == "all" else f"{scope.kind} {scope.value}"


def clear_rate_limit_command(
    account: Annotated[
        str, typer.Option("--account", metavar="ID", help="The account to send to again.")
    ],
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Lift an account's rate-limit hold now, before the platform's reset (it lifted a
    block, or its Retry-After was wrong): its budget is forgotten and its posts waiting
    for the limit (and its metric collections) are due at once."""
    _scope_options(account, None)
    with open_scheduler(existing=True) as scheduler:
        _check_scope(scheduler, account, None)
        cleared = scheduler.clear_rate_limit(account, actor=actor or default_actor(), reason=reason)
    if not cleared.lifted:
        raise fail(f"account {account} is not rate limited", code=1)
    emit(
        None,
        as_json=False,
        text=f"cleared the rate limit of account {account}: {_what_was_lifted(cleared)}",
    )


def _what_was_lifted(cleared: RateLimitCleared) -> str:
    """What ``clear-rate-limit`` lifted, in words: the budget and the posts released."""
    if cleared.held_until is not None:
        budget = f"held until {cleared.held_until.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    elif cleared.scopes:
        budget = f"its budget ({', '.join(cleared.scopes)}) held nothing"
    else:
        budget = "no budget held it"
    n = len(cleared.released)
    if n == 0:
        released = "no publication was waiting for it"
    elif n == 1:
        released = "1 publication waiting for it is due now"
    else:
        released = f"{n} publications waiting for it are due now"
    m = cleared.metrics_released
    if m:
        collections = counted(m, "metric collection")
        released += f"; {collections} waiting for it {'is' if m == 1 else 'are'} due now"
    return f"{budget}; {released}"
