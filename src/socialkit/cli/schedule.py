"""The scheduling commands: ``schedule``, ``queue``, ``list``, ``show``, ``approve``,
``reject``, ``cancel``, ``reschedule``, ``resolve``, ``pause``, ``resume`` and ``run``.

They work on the store of the project file (``store = "sqlite:///socialkit.db"``) or
``--store``. Exit codes: 0 on success; 1 when a post is invalid or an action is refused
(the publication moved on); 2 for a usage problem.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import emit, fail, state

if TYPE_CHECKING:
    from socialkit.cli._targets import Target
    from socialkit.models.problems import Problem
    from socialkit.schedule.engine.events import StateChange
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import Event, PauseScope, Publication

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ActorOption = Annotated[
    str, typer.Option("--actor", metavar="NAME", help="Who does it (for the history).")
]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The publication id.")]
FileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="A post as YAML or JSON.", show_default=False)
]
ToOption = Annotated[
    list[str],
    typer.Option("--to", "-t", metavar="ACCOUNT", help="A project account (repeatable)."),
]


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_command)
    app.command("queue")(queue_command)
    app.command("list")(list_command)
    app.command("show")(show_command)
    app.command("approve")(approve_command)
    app.command("reject")(reject_command)
    app.command("cancel")(cancel_command)
    app.command("reschedule")(reschedule_command)
    app.command("resolve")(resolve_command)
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
    app.command("run")(run_command)


# -- plumbing ---------------------------------------------------------------------------


def _default_actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database in some containers
        return "cli"


def _scheduler(*, existing: bool = False) -> Scheduler:
    """The project's scheduler; with ``existing``, refused when its store is not there
    (a command that only reads or acts on publications must not create an empty store,
    where a typo in a store URL would look like a store with nothing in it)."""
    from socialkit.schedule.facade import Scheduler

    config = state().config()
    url = _lasting_store(state().store_url())
    if existing:
        from socialkit.cli.store import existing_store

        existing_store(url, "store", hint="nothing was scheduled on it yet")
    return Scheduler(
        url,
        credentials=config.credential_provider(),
        media=config.media_store(),
        campaigns=config.campaigns,
        accounts=config.accounts,
        workspace=config.workspace,
    )


def _lasting_store(url: str) -> str:
    """``url``, refused when it is a ``memory://`` store: it would be gone when the
    command ends, and no other command (or worker) could ever see what it holds."""
    if url.partition("://")[0].lower() == "memory":
        raise fail(
            f"store: a memory:// store lives inside one process and is gone when the command "
            f"ends (got {url!r}); give a sqlite:/// or postgresql:// store",
            code=2,
        )
    return url


def _local(p: Publication) -> str:
    return f"{p.local_time:%Y-%m-%d %H:%M} {p.zone}"


def _row(p: Publication) -> dict[str, Any]:
    return {
        "id": p.id,
        "state": p.state.value,
        "account": p.account_id,
        "platform": p.platform,
        "local_time": p.local_time.isoformat(),
        "zone": p.zone,
        "due_at": p.due_at.isoformat(),
        "campaign": p.campaign,
        "attention": p.attention,
        "attempt": p.attempt,
        "revision": p.revision,
        "url": p.receipt.url if p.receipt else None,
    }


def _line(p: Publication) -> str:
    note = f"  needs {p.attention}" if p.attention else ""
    campaign = f"  [{p.campaign}]" if p.campaign else ""
    url = f"  {p.receipt.url}" if p.receipt and p.receipt.url else ""
    return f"{p.id}  {p.state.value:<16} {_local(p):<28} {p.account_id}{campaign}{note}{url}"


def _event_line(e: Event) -> str:
    move = ""
    if e.to_state is not None:
        move = f"{e.from_state.value if e.from_state else '-'} → {e.to_state.value}"
    reason = f"  {e.reason}" if e.reason else ""
    error = f"  [{e.error.get('error')}]" if e.error else ""
    return f"  {e.at:%Y-%m-%d %H:%M:%S}  #{e.attempt}  {e.kind:<13} {move:<30} by {e.actor}{reason}{error}"


def _read_checked(file: Path, accounts: list[str]) -> Any:
    """The post, after checking it for every target; exits 1 with the problems otherwise."""
    from socialkit.cli._targets import problem_line, read_post, resolve_targets
    from socialkit.platforms.registry import get_registry
    from socialkit.platforms.validation import validate

    config = state().config()
    registry = get_registry()
    targets = resolve_targets(config, registry, accounts=list(dict.fromkeys(accounts)))
    found = read_post(file, config)
    problems: list[tuple[Target | None, Problem]] = [(None, p) for p in found.problems]
    if found.post is not None:
        campaign = None
        if found.post.campaign:
            campaign = next((c for c in config.campaigns if c.id == found.post.campaign), None)
        for target in targets:
            capabilities = registry.info(target.platform).platform.capabilities
            problems.extend(
                (target, p)
                for p in validate(
                    found.post, capabilities, platform=target.platform, campaign=campaign
                )
            )
    errors = [(t, p) for t, p in problems if p.severity == "error"]
    if found.post is None or errors:
        sys.stderr.write(f"{file}: not scheduled, the post has problems:\n")
        for where, problem in errors or problems:
            sys.stderr.write(problem_line(problem, where) + "\n")
        raise typer.Exit(1)
    return found.post


def _time_notes(pubs: list[Publication], now: dt.datetime) -> list[str]:
    """What a person should know about the times they gave: past, skipped or repeated
    by the clocks (the DST policy)."""
    from socialkit.schedule.time.zones import WallTime, classify_wall_time, resolve_zone

    notes = []
    for p in pubs:
        # A minute's slack: "now" typed to the minute is not "in the past".
        if p.due_at < now - dt.timedelta(minutes=1):
            notes.append(
                f"{_local(p)} is in the past for {p.account_id}; a worker publishes it at "
                "once if it is within the grace period, otherwise it is missed"
            )
        kind = classify_wall_time(p.local_time, p.zone)
        if kind is WallTime.SKIPPED:
            fires = p.due_at.astimezone(resolve_zone(p.zone))
            notes.append(
                f"{_local(p)} does not exist (the clocks skip it); it fires at "
                f"{fires:%H:%M} {fires.tzname()} for {p.account_id}"
            )
        elif kind is WallTime.REPEATED:
            fires = p.due_at.astimezone(resolve_zone(p.zone))
            notes.append(
                f"{_local(p)} happens twice (the clocks go back); it fires once, the first "
                f"time ({fires:%H:%M} {fires.tzname()}) for {p.account_id}"
            )
    return notes


def _kept_notes(
    pubs: list[Publication], key: str, local: dt.datetime, zone: str | None
) -> list[str]:
    """Scheduling again with a key returns what the key already made; say so when the
    time asked for differs, rather than let the output look like a new schedule."""
    config = state().config()
    notes = []
    for p in pubs:
        wanted = zone or config.account(p.account_id).timezone
        if (p.local_time, p.zone) != (local, wanted):
            notes.append(
                f"--key {key!r} already scheduled {p.id} for {p.account_id} at {_local(p)}; "
                "nothing changed (reschedule it, or use another key)"
            )
    return notes


def _refused(exc: Exception) -> typer.Exit:
    return fail(str(exc), code=1)


# -- creating ---------------------------------------------------------------------------


def schedule_command(
    file: FileArgument,
    to: ToOption,
    at: Annotated[
        str,
        typer.Option("--at", metavar="TIME", help='Local wall time, e.g. "2026-12-01 09:00".'),
    ],
    tz: Annotated[
        str | None,
        typer.Option("--tz", metavar="ZONE", help="IANA zone (default: each account's own zone)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            help="Idempotency key: scheduling again with it changes nothing.",
        ),
    ] = None,
    approval: Annotated[
        bool, typer.Option("--approval", help="Needs approval before it can go out.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Schedule a post file on accounts at a local wall time (one publication each)."""
    from socialkit.errors import SocialkitError
    from socialkit.schedule.time.zones import parse_local, zone_name

    # Checked before the post, so a typo in a time is the one line the user sees.
    try:
        local = parse_local(at)
    except ValueError as exc:
        raise fail(f"--at: {exc}", code=2) from None
    try:
        zone = zone_name(tz) if tz is not None else None
    except ValueError as exc:
        raise fail(f"--tz: {exc}", code=2) from None
    if key is not None and not key.strip():
        # An empty key (`--key "$KEY"` with KEY unset) would make every such schedule
        # the same one, and all but the first would change nothing.
        raise fail(f"--key: give a key that names this schedule (got {key!r})", code=2)
    post = _read_checked(file, to)
    with _scheduler() as scheduler:
        try:
            pubs = scheduler.schedule(
                post,
                list(dict.fromkeys(to)),
                at=local,
                tz=zone,
                key=key,
                needs_approval=approval or None,
                actor=_default_actor(),
            )
        except (SocialkitError, ValueError) as exc:
            raise fail(str(exc), code=2) from None
    notes = _time_notes(pubs, dt.datetime.now(dt.UTC))
    if key is not None:
        notes.extend(_kept_notes(pubs, key, local, zone))
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    emit(
        {"publications": [_row(p) for p in pubs]},
        as_json=as_json,
        text="\n".join(f"scheduled {_line(p)}" for p in pubs),
    )


def queue_command(
    file: FileArgument,
    to: ToOption,
    approval: Annotated[
        bool, typer.Option("--approval", help="Needs approval before it can go out.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a post file to each account's queue: its next free posting slot."""
    post = _read_checked(file, to)
    with _scheduler() as scheduler:
        pubs = scheduler.queue(
            post, list(dict.fromkeys(to)), needs_approval=approval or None, actor=_default_actor()
        )
    emit(
        {"publications": [_row(p) for p in pubs]},
        as_json=as_json,
        text="\n".join(f"queued {_line(p)}" for p in pubs),
    )


# -- reading ----------------------------------------------------------------------------

_ATTENTION = ("reconcile", "reauth")  # why a publication waits for a person


def list_command(
    state_filter: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", metavar="STATE", help="Only these states (repeatable)."),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", metavar="ID", help="One campaign.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", metavar="ID", help="One account.")
    ] = None,
    attention: Annotated[
        bool, typer.Option("--attention", help="Only those waiting for a person.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, max=10_000, help="At most N.")
    ] = 100,
    cursor: Annotated[
        str | None, typer.Option("--cursor", metavar="CURSOR", help="Next page (from --json).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List publications by due time."""
    from socialkit.schedule.states import PublicationState

    known = {s.value for s in PublicationState}
    for name in state_filter or ():
        if name not in known:
            raise fail(
                f"--state: unknown state {name!r} (states: {', '.join(sorted(known))})", code=2
            )
    from socialkit.cli.store import missing_store
    from socialkit.errors import StoreError
    from socialkit.schedule.stores._common import decode_cursor, encode_cursor

    missing = missing_store(state().store_url())
    if missing is not None:
        # Nothing to list, and nothing created: a typo in a store URL says so.
        try:
            if cursor is not None:
                decode_cursor(cursor)
        except StoreError as exc:
            raise fail(f"--cursor: {exc} (use next_cursor from list --json)", code=2) from None
        sys.stderr.write(f"note: {missing}; nothing was scheduled on it yet\n")
        emit({"publications": [], "next_cursor": None}, as_json=as_json, text="no publications")
        return
    with _scheduler() as scheduler:
        # Each reason a person is needed is its own filtered listing (filtering one page
        # afterwards would show an empty page while later ones hold some); they are
        # merged in due order, and the cursor continues after the last one shown.
        reasons: tuple[str | None, ...] = _ATTENTION if attention else (None,)
        try:
            pages = [
                scheduler.list(
                    state=state_filter or None,
                    campaign=campaign,
                    account=account,
                    attention=reason,
                    cursor=cursor,
                    limit=limit,
                )
                for reason in reasons
            ]
        except StoreError as exc:
            if cursor is not None and "cursor" in str(exc):
                raise fail(f"--cursor: {exc} (use next_cursor from list --json)", code=2) from None
            raise
        if not any(page.items for page in pages) and cursor is None:
            for note in _unknown_filters(scheduler, account, campaign):
                sys.stderr.write(f"note: {note}\n")
    found = sorted((p for page in pages for p in page.items), key=lambda p: (p.due_at, p.id))
    items = found[:limit]
    more = len(found) > limit or any(page.next_cursor for page in pages)
    next_cursor = encode_cursor(items[-1].due_at, items[-1].id) if more and items else None
    emit(
        {"publications": [_row(p) for p in items], "next_cursor": next_cursor},
        as_json=as_json,
        text="\n".join(_line(p) for p in items) or "no publications",
    )


def _unknown_filters(scheduler: Scheduler, account: str | None, campaign: str | None) -> list[str]:
    """Why an empty listing may be a typo: a filter naming an account or campaign that
    neither the project file nor the store knows."""
    config = state().config()
    notes = []
    if account is not None:
        known = {a.id for a in config.accounts} | {r.account.id for r in scheduler.accounts()}
        if account not in known:
            notes.append(
                f"--account: unknown account {account!r} "
                f"(accounts: {', '.join(sorted(known)) or 'none'})"
            )
    if campaign is not None:
        known = {c.id for c in config.campaigns}
        if campaign not in known and not scheduler.list(campaign=campaign, limit=1).items:
            notes.append(
                f"--campaign: unknown campaign {campaign!r}: not in the project file and no "
                f"publication has it (campaigns: {', '.join(sorted(known)) or 'none'})"
            )
    return notes


_SHOWN_TEXT = 200  # characters of the post's text that `show` prints


def show_command(publication_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one publication with its history."""
    with _scheduler(existing=True) as scheduler:
        p = scheduler.get(publication_id)
    lines = [
        _line(p),
        f"  revision {p.revision[:16]}  attempt {p.attempt}  sends {p.sends}  "
        f"failures {p.failures}  due {p.due_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if p.post is not None:
        text = p.post.text
        if len(text) <= _SHOWN_TEXT:
            lines.append(f"  text: {text!r}")
        else:  # say it is cut, and where the rest is
            lines.append(
                f"  text: {text[:_SHOWN_TEXT] + '…'!r} ({len(text)} characters; "
                "show --json has the whole post)"
            )
    for problem in p.problems:
        lines.append(f"  problem: {problem.describe()}")
    for receipt in p.receipts:
        refs = ", ".join(ref.url or ref.id for ref in receipt.receipt.parts)
        lines.append(f"  receipt (attempt {receipt.attempt}, {receipt.source}): {refs}")
    lines.append("history:")
    lines.extend(_event_line(e) for e in p.history)
    data = _row(p) | {
        "history": [e.model_dump(mode="json") for e in p.history],
        "receipts": [r.model_dump(mode="json") for r in p.receipts],
        "problems": [x.model_dump(mode="json") for x in p.problems],
        "post": p.post.model_dump(mode="json") if p.post is not None else None,
    }
    emit(data, as_json=as_json, text="\n".join(lines))


# -- people -----------------------------------------------------------------------------


def approve_command(
    publication_id: IdArgument,
    actor: ActorOption = "",
    comment: Annotated[
        str | None, typer.Option("--comment", metavar="TEXT", help="Why (for the history).")
    ] = None,
    revision: Annotated[
        str | None,
        typer.Option(
            "--revision", metavar="REV", help="The revision you reviewed (refused if edited since)."
        ),
    ] = None,
) -> None:
    """Approve a pending publication's current revision."""
    import re

    from socialkit.errors import StaleTransition

    if revision is not None:
        revision = revision.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{8,64}", revision):
            raise fail(
                "--revision: give the revision you reviewed, as `socialkit show` prints it "
                f"(8 to 64 hex digits; got {revision!r})",
                code=2,
            )
    with _scheduler(existing=True) as scheduler:
        if revision is not None:
            revision = _reviewed_revision(scheduler.get(publication_id), revision)
        try:
            p = scheduler.approve(
                publication_id, actor=actor or _default_actor(), comment=comment, revision=revision
            )
        except StaleTransition as exc:
            raise _refused(exc) from None
    emit(None, as_json=False, text=f"approved {_line(p)}")


def _reviewed_revision(p: Publication, given: str) -> str:
    """The full revision ``given`` (a prefix, as ``show`` prints it) names.

    The current revision is approved; an earlier one of this publication is refused (it
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
    actor: ActorOption = "",
    comment: Annotated[
        str | None, typer.Option("--comment", metavar="TEXT", help="Why (for the history).")
    ] = None,
) -> None:
    """Reject a pending publication (it goes back to draft)."""
    from socialkit.errors import StaleTransition

    with _scheduler(existing=True) as scheduler:
        try:
            p = scheduler.reject(publication_id, actor=actor or _default_actor(), comment=comment)
        except StaleTransition as exc:
            raise _refused(exc) from None
    emit(None, as_json=False, text=f"rejected {_line(p)}")


def cancel_command(
    publication_id: IdArgument,
    actor: ActorOption = "",
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (for the history).")
    ] = None,
) -> None:
    """Cancel a publication that was not sent yet."""
    from socialkit.errors import StaleTransition

    with _scheduler(existing=True) as scheduler:
        try:
            p = scheduler.cancel(publication_id, actor=actor or _default_actor(), reason=reason)
        except StaleTransition as exc:
            raise _refused(exc) from None
    emit(None, as_json=False, text=f"cancelled {_line(p)}")


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
    actor: ActorOption = "",
) -> None:
    """Move a publication not sent yet (or a failed or missed one) to another time."""
    from socialkit.errors import StaleTransition
    from socialkit.schedule.time.zones import parse_local, zone_name

    try:
        local = parse_local(at)
    except ValueError as exc:
        raise fail(f"--at: {exc}", code=2) from None
    try:
        zone = zone_name(tz) if tz is not None else None
    except ValueError as exc:
        raise fail(f"--tz: {exc}", code=2) from None
    with _scheduler(existing=True) as scheduler:
        try:
            p = scheduler.reschedule(
                publication_id, at=local, tz=zone, actor=actor or _default_actor()
            )
        except StaleTransition as exc:
            raise _refused(exc) from None
    for note in _time_notes([p], dt.datetime.now(dt.UTC)):
        sys.stderr.write(f"note: {note}\n")
    emit(None, as_json=False, text=f"rescheduled {_line(p)}")


def resolve_command(
    publication_id: IdArgument,
    published: Annotated[
        str | None,
        typer.Option("--published", metavar="POST_ID", help="It is on the platform: its id."),
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", metavar="URL", help="With --published: its URL.")
    ] = None,
    retry: Annotated[bool, typer.Option("--retry", help="It is not there: send it again.")] = False,
    abandon: Annotated[bool, typer.Option("--abandon", help="Give up on it (failed).")] = False,
    actor: ActorOption = "",
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (for the history).")
    ] = None,
) -> None:
    """Settle a publication whose outcome is unknown: --published POST_ID, --retry or --abandon."""
    from socialkit.errors import StaleTransition
    from socialkit.models.receipt import PostRef, Receipt

    if sum([published is not None, retry, abandon]) != 1:
        raise fail("give exactly one of --published POST_ID, --retry, --abandon", code=2)
    if url is not None and published is None:
        raise fail(f"--url: only with --published POST_ID (got --url {url!r})", code=2)
    if published is not None and not published.strip():
        raise fail("--published: give the post's id on the platform (got '')", code=2)
    with _scheduler(existing=True) as scheduler:
        current = scheduler.get(publication_id, history=False)
        receipt = None
        if published is not None:
            receipt = Receipt(
                platform=current.platform,
                account_id=current.account_id,
                parts=(PostRef(id=published, url=url),),
                published_at=dt.datetime.now(dt.UTC),
            )
        try:
            p = scheduler.resolve(
                publication_id,
                published=receipt,
                retry=retry,
                abandon=abandon,
                actor=actor or _default_actor(),
                reason=reason,
            )
        except StaleTransition as exc:
            raise _refused(exc) from None
    emit(None, as_json=False, text=f"resolved {_line(p)}")


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
    problems = _unknown_filters(scheduler, account, campaign)
    if problems:
        raise fail(problems[0], code=2)


def _what(account: str | None, campaign: str | None) -> str:
    if account is not None:
        return f"account {account}"
    return f"campaign {campaign}" if campaign is not None else "everything"


def pause_command(
    account: Annotated[
        str | None, typer.Option("--account", metavar="ID", help="One account.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", metavar="ID", help="One campaign.")
    ] = None,
    actor: ActorOption = "",
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (for the history).")
    ] = None,
) -> None:
    """Stop publishing: everything, one account or one campaign (from the next claim)."""
    scope = _scope_options(account, campaign)
    with _scheduler() as scheduler:
        _check_scope(scheduler, account, campaign)
        already = _switch(scheduler.pauses(), account, campaign)
        held = scheduler.pause(**scope, actor=actor or _default_actor(), reason=reason)
    text = f"paused {_what(account, campaign)}: {held} publications held"
    if already is not None:
        why = f": {already.reason}" if already.reason else ""
        text += f" (it was already paused by {already.actor}{why})"
    emit(None, as_json=False, text=text)


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
    actor: ActorOption = "",
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (for the history).")
    ] = None,
) -> None:
    """Resume what a pause held."""
    scope = _scope_options(account, campaign)
    with _scheduler() as scheduler:
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
        back = scheduler.resume(**scope, actor=actor or _default_actor(), reason=reason)
        still = scheduler.pauses()
    text = f"resumed {_what(account, campaign)}: {back} publications due again"
    if still:
        text += f"\nstill paused: {', '.join(_what_paused(p) for p in still)}"
    emit(None, as_json=False, text=text)


def _what_paused(scope: PauseScope) -> str:
    return "everything" if scope.kind == "all" else f"{scope.kind} {scope.value}"


# -- running ----------------------------------------------------------------------------


class _Progress:
    """What ``socialkit run`` shows: counts by outcome and the latest changes."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.recent: list[str] = []
        self.lock = threading.Lock()
        self.plain = not sys.stdout.isatty()

    def changed(self, change: StateChange) -> None:
        line = (
            f"{change.at:%H:%M:%S} {change.publication_id} {change.account_id}: "
            f"{change.from_state.value if change.from_state else '-'} → {change.to_state.value}"
            + (f" ({change.reason})" if change.reason else "")
        )
        with self.lock:
            self.counts[change.to_state.value] = self.counts.get(change.to_state.value, 0) + 1
            self.recent = [*self.recent[-9:], line]
        if self.plain:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title="socialkit run", expand=False)
        table.add_column("state")
        table.add_column("count", justify="right")
        with self.lock:
            for name, count in sorted(self.counts.items()):
                table.add_row(name, str(count))
            recent = "\n".join(self.recent)
        from rich.console import Group
        from rich.text import Text

        return Group(table, Text(recent or "waiting for due publications…"))


def _run_workers(count: int, *, once: bool) -> int:
    """``run --workers``: ``count`` worker processes on this process's store.

    No store URL goes on the workers' command lines, where ``ps`` shows it (and any
    password in it) to every user of the machine: a store from the project file is read
    from the same file by each worker, and ``--store`` reaches them through the
    environment (:data:`STORE_ENV`), which only their user can read.
    """
    import os

    from socialkit.cli._app import STORE_ENV
    from socialkit.schedule.workers import run_workers

    cli = state()
    _lasting_store(cli.store_url())
    previous = os.environ.get(STORE_ENV)
    if cli.store:
        os.environ[STORE_ENV] = cli.store  # the workers inherit this process's environment
    try:
        return run_workers(count, store_url=None, config_path=cli.config_path, once=once)
    finally:
        if previous is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = previous


def run_command(
    once: Annotated[
        bool, typer.Option("--once", help="Publish what is due now, then exit (cron, CI).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            help="Worker processes on this machine, sharing the store; the same command on "
            "another machine joins them (PostgreSQL).",
        ),
    ] = 1,
) -> None:
    """Run a worker: publish what comes due until Ctrl-C or SIGTERM (graceful).

    Shows live progress on a terminal and plain log lines otherwise.
    """
    if workers > 1:
        raise typer.Exit(_run_workers(workers, once=once))
    import signal
    import types

    from socialkit.hookspecs import hookimpl
    from socialkit.platforms.registry import get_registry

    progress = _Progress()
    if once:
        progress.plain = True  # no live display for a one-shot run: print each change
    plugin = types.ModuleType("socialkit_cli_progress")

    @hookimpl
    def publication_state_changed(change: StateChange) -> None:
        progress.changed(change)

    plugin.publication_state_changed = publication_state_changed  # type: ignore[attr-defined]
    scheduler = _scheduler()
    scheduler.open()  # adds the engine's hook specs to the registry
    get_registry().register_plugin(plugin, "socialkit-cli-progress")
    try:
        if once:
            stats = scheduler.run(until_idle=True)
            emit(
                None,
                as_json=False,
                text=f"claimed {stats.claimed}, reconciled {stats.reconciled}, "
                f"metric collections {stats.metric_tasks}",
            )
            return
        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        scheduler.start()
        try:
            if progress.plain:
                from socialkit.cli.store import shown_url

                sys.stdout.write(
                    f"socialkit run: worker started on {shown_url(state().store_url())}\n"
                )
                sys.stdout.flush()
                while not stopping.wait(0.5):
                    pass
            else:
                from rich.live import Live

                with Live(progress.render(), refresh_per_second=4) as live:
                    while not stopping.wait(0.25):
                        live.update(progress.render())
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            stopped = scheduler.stop()
        handed = stopped.handed_back if stopped else 0
        sys.stdout.write(f"stopped: {handed} unsent claims handed back\n")
    finally:
        get_registry().manager.unregister(plugin)
        scheduler.close()
