"""What the scheduling commands share: the project's scheduler, option types, and how a
publication, an event and a time note are printed."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import emit, fail, say, state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from socialkit.cli._targets import Target
    from socialkit.models.account import Account
    from socialkit.models.problems import Problem
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import Event, Publication

__all__ = [
    "ActorOption",
    "CommentOption",
    "FileArgument",
    "IdArgument",
    "JsonOption",
    "ReasonOption",
    "ToOption",
    "approvals_line",
    "checked_actor",
    "default_actor",
    "event_line",
    "kept_notes",
    "keyed_publications",
    "lasting_store",
    "local_time",
    "next_attempt",
    "open_scheduler",
    "option_error",
    "parse_when",
    "publication_line",
    "publication_row",
    "read_checked",
    "reconnect_command",
    "refuse_another_post",
    "refused",
    "refusing_stale",
    "time_notes",
    "unknown_filters",
    "workspace_note",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def checked_actor(value: str | None) -> str | None:
    """``--actor`` as given (None when it was not: the login name is used); a blank one is
    a usage error naming the option and the value, read before the command runs (exit 2)."""
    if value is not None and not value.strip():
        raise typer.BadParameter("say who does it, for the history: a name, not blank")
    return value


ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        metavar="NAME",
        callback=checked_actor,
        help="Who does it (for the history; default: your login name).",
    ),
]
CommentOption = Annotated[
    str | None, typer.Option("--comment", metavar="TEXT", help="Why (for the history).")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", metavar="TEXT", help="Why (for the history).")
]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The publication id.")]
FileArgument = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="A post as YAML or JSON (see docs/cli.md#post-files).",
        show_default=False,
    ),
]
ToOption = Annotated[
    list[str],
    typer.Option("--to", "-t", metavar="ACCOUNT", help="A project account (repeatable)."),
]


def default_actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database in some containers
        return "cli"


def open_scheduler(*, existing: bool = False, hint: str | None = None) -> Scheduler:
    """The project's scheduler; with ``existing``, refused when its store is not there
    (a command that only reads or acts on publications must not create an empty store,
    where a typo in a store URL would look like a store with nothing in it). ``hint``
    replaces the error's default ending (how such a store comes to be)."""
    from socialkit.schedule.facade import Scheduler

    config = state().config()
    url = lasting_store(state().store_url())
    if existing:
        from socialkit.cli.store import existing_store

        existing_store(url, "store", hint=hint or "nothing was scheduled on it yet")
    return Scheduler(
        url,
        credentials=config.credential_provider(),
        media=config.media_store(),
        campaigns=config.campaigns,
        accounts=config.accounts,
        workspace=config.workspace,
        approval=config.approval.policy(),
    )


def lasting_store(url: str) -> str:
    """``url``, refused when it is a ``memory://`` store: it would be gone when the
    command ends, and no other command (or worker) could ever see what it holds."""
    if url.partition("://")[0].lower() == "memory":
        raise fail(
            f"store: a memory:// store lives inside one process and is gone when the command "
            f"ends (got {url!r}); give a sqlite:/// or postgresql:// store",
            code=2,
        )
    from socialkit.cli.store import refuse_a_directory

    return refuse_a_directory(url, "store")


def local_time(p: Publication) -> str:
    return f"{p.local_time:%Y-%m-%d %H:%M} {p.zone}"


def next_attempt(p: Publication, now: dt.datetime) -> str | None:
    """When the engine next takes up a ``retry_wait`` or ``unknown`` publication, in its
    zone and in UTC: ``next attempt 2026-12-01 09:05:30 Asia/Tehran (2026-12-01
    05:35:30 UTC), in 10 minutes``; ``None`` in the other states (their due time says it).
    """
    from socialkit.schedule.engine.grace import age as _age
    from socialkit.schedule.states import PublicationState as S
    from socialkit.schedule.time.zones import resolve_zone

    local = p.run_at.astimezone(resolve_zone(p.zone))
    wait = p.run_at - now
    soon = f"in {_age(wait)}" if wait > dt.timedelta(0) else "due now"
    utc = f"{p.run_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    # An account in UTC: the time once ("… UTC (… UTC)" said the same thing twice).
    shown = utc if p.zone == "UTC" else f"{local:%Y-%m-%d %H:%M:%S} {p.zone} ({utc})"
    when = f"{shown}, {soon}"
    if p.state == S.RETRY_WAIT:
        if p.attention == "reauth":  # held until the account is connected again
            return (
                "next attempt once its account is reconnected (needs reauth): fix its "
                f"credentials, then run `{reconnect_command(p.account_id)}`"
            )
        return f"next attempt {when}"
    if p.state == S.UNKNOWN:
        if p.attention is not None:
            return (
                f"not reconciled by the engine: a person decides (socialkit resolve {p.id} "
                "--published POST_ID | --retry | --abandon)"
            )
        if p.lease_owner is not None:
            return f"being reconciled now by {p.lease_owner}"
        return f"reconciled {when}: the engine looks for the post before anything is sent again"
    return None


def publication_row(p: Publication) -> dict[str, Any]:
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


def reconnect_command(account_id: str) -> str:
    """The command that lets an account's held publications go once a person fixed its
    credentials (``socialkit accounts reconnect acme-x``)."""
    return f"socialkit accounts reconnect {account_id}"


def publication_line(p: Publication) -> str:
    note = f"  needs {p.attention}" if p.attention else ""
    if p.attention == "reauth":
        note += f" ({reconnect_command(p.account_id)})"
    elif p.attention == "deleting":  # a delete that did not finish: parts may be gone
        note += f" (socialkit delete {p.id}, or give up: socialkit resolve {p.id} --abandon)"
    campaign = f"  [{p.campaign}]" if p.campaign else ""
    live = p.state != "deleted"  # a deleted post's address leads nowhere
    url = f"  {p.receipt.url}" if live and p.receipt and p.receipt.url else ""
    return f"{p.id}  {p.state.value:<16} {local_time(p):<28} {p.account_id}{campaign}{note}{url}"


# The widest state change, "pending_approval → pending_approval", so every history
# line's "by" starts in one column (a constant: the CLI imports the engine lazily).
MOVE_WIDTH = 35


def event_line(e: Event) -> str:
    move = ""
    if e.to_state is not None:
        move = f"{e.from_state.value if e.from_state else '-'} → {e.to_state.value}"
    reason = f"  {e.reason}" if e.reason else ""
    error = f"  [{e.error.get('error')}]" if e.error else ""
    revision = _event_revision(e)
    return (
        f"  {e.at:%Y-%m-%d %H:%M:%S}  #{e.attempt}  {e.kind:<13} {move:<{MOVE_WIDTH}} "
        f"by {e.actor}{revision}{reason}{error}"
    )


def _event_revision(e: Event) -> str:
    """The revision an approval or a rejection was bound to, or an edit's old and new
    one, as ``show`` prints a revision (16 hex digits): which content a decision was
    about, and which edit voided it."""
    data = e.data or {}
    revision, previous = data.get("revision"), data.get("previous_revision")
    if e.kind == "edited" and isinstance(revision, str) and isinstance(previous, str):
        return f"  revision {previous[:16]} → {revision[:16]}"
    if e.kind in ("approved", "rejected") and isinstance(revision, str):
        return f"  revision {revision[:16]}"
    return ""


def approvals_line(p: Publication) -> str | None:
    """``approvals 1 of 2 (ann)`` for a publication that needs approval: how many of the
    approvals it needs count (those of its current revision since the latest rejection
    and edit), and whose; ``None`` for one that needs none."""
    if p.approvals_required <= 0:
        return None
    standing = p.approved_by()
    who = f" ({', '.join(standing)})" if standing else ""
    return f"approvals {len(standing)} of {p.approvals_required}{who}"


def read_checked(file: Path, accounts: list[str], *, as_json: bool = False) -> Any:
    """The post, after checking it for every target; exits 1 with the problems otherwise.

    Warnings (a text that becomes a thread, a campaign the project does not know) do not
    stop it; each is one ``warning:`` line on standard error, as ``validate`` lists them.
    With ``as_json``, the problems of an invalid post are printed as JSON on standard
    output (``{"file", "problems", "publications": []}``, as ``publish --json`` does).
    """
    from socialkit.cli._targets import problem_line, read_post, resolve_targets
    from socialkit.cli.posts import _campaign, _problem_json
    from socialkit.platforms.registry import get_registry
    from socialkit.platforms.validation import validate

    config = state().config()
    registry = get_registry()
    targets = resolve_targets(config, registry, accounts=list(dict.fromkeys(accounts)))
    found = read_post(file, config)
    problems: list[tuple[Target | None, Problem]] = [(None, p) for p in found.problems]
    post = found.post or found.partial  # every problem at once, as `socialkit validate`
    if post is not None:
        campaign, note = _campaign(config, post)
        if note is not None:
            problems.append((None, note))
        for target in targets:
            capabilities = registry.info(target.platform).platform.capabilities
            problems.extend(
                (target, p)
                for p in validate(
                    post,
                    capabilities,
                    platform=target.platform,
                    campaign=campaign,
                    registry=registry,
                )
            )
    errors = [(t, p) for t, p in problems if p.severity == "error"]
    if found.post is None or errors:
        if as_json:
            shown = errors or problems
            emit(
                {
                    "file": str(file),
                    "problems": [_problem_json(p, t) for t, p in shown],
                    "publications": [],
                },
                as_json=True,
            )
            raise typer.Exit(1)
        say(f"{file}: not scheduled, the post has problems:", err=True)
        for where, problem in errors or problems:
            say(problem_line(problem, where), err=True)
        raise typer.Exit(1)
    for where, problem in problems:
        say(
            f"warning: {problem_line(problem, where).strip().removeprefix('warning').lstrip()}",
            err=True,
        )
    return found.post


def time_notes(pubs: list[Publication], now: dt.datetime) -> list[str]:
    """What a person should know about the times they gave: past, skipped or repeated
    by the clocks (the DST policy)."""
    from socialkit.schedule.engine.grace import age as _age
    from socialkit.schedule.engine.grace import missable_grace
    from socialkit.schedule.time.zones import WallTime, classify_wall_time, resolve_zone

    notes = []
    for p in pubs:
        # A minute's slack: "now" typed to the minute is not "in the past".
        late_by = now - p.due_at
        if late_by > dt.timedelta(minutes=1):
            grace = missable_grace(p)
            if grace is None:
                outcome = "a worker publishes it at once"
            elif late_by <= grace:
                outcome = (
                    f"within its grace period ({grace.total_seconds():g} s), so a worker "
                    "publishes it at once"
                )
            else:  # a rule's occurrence: the misfire policy decides
                outcome = (
                    f"past its grace period ({grace.total_seconds():g} s), so a worker marks "
                    "it missed unless it is its rule's latest occurrence"
                )
            notes.append(
                f"{local_time(p)} is {_age(late_by)} in the past for {p.account_id}; {outcome}"
            )
        kind = classify_wall_time(p.local_time, p.zone)
        if kind is WallTime.SKIPPED:
            fires = p.due_at.astimezone(resolve_zone(p.zone))
            notes.append(
                f"{local_time(p)} does not exist (the clocks skip it); it fires at "
                f"{fires:%H:%M} {fires.tzname()} for {p.account_id}"
            )
        elif kind is WallTime.REPEATED:
            fires = p.due_at.astimezone(resolve_zone(p.zone))
            notes.append(
                f"{local_time(p)} happens twice (the clocks go back); it fires once, the first "
                f"time ({fires:%H:%M} {fires.tzname()}) for {p.account_id}"
            )
    return notes


def keyed_publications(
    scheduler: Scheduler, key: str, accounts: list[str]
) -> dict[str, Publication]:
    """The publications ``schedule --key`` already made, by account: a key used again
    returns them instead of scheduling anything."""
    from socialkit._runtime import run_sync
    from socialkit.schedule._arguments import keyed

    store = scheduler.aio.store
    found = {}
    for account in accounts:
        p = run_sync(store.find_by_key(keyed(key, scheduler.aio.workspace, account)))
        if p is not None:
            found[account] = p
    return found


def refuse_another_post(kept: dict[str, Publication], key: str, revision: str) -> None:
    """A key that already scheduled another post (or another revision of it) is refused
    before anything is scheduled: the output would show the old post as if it were the
    new one."""
    other = [p for p in kept.values() if p.revision != revision]
    if other:
        held = ", ".join(f"{p.id} for {p.account_id}" for p in other)
        raise fail(
            f"--key: {key!r} already scheduled another post ({held}, revision "
            f"{other[0].revision[:12]}; this file is revision {revision[:12]}); nothing was "
            "scheduled: use another key for this post",
            code=2,
        )


def kept_notes(
    pubs: list[Publication], key: str, local: dt.datetime, zone: str | None
) -> list[str]:
    """Scheduling again with a key returns what the key already made: say so, and say
    when the time asked for differs, so the output does not look like a new schedule."""
    config = state().config()
    notes = []
    for p in pubs:
        wanted = zone or config.account(p.account_id).timezone
        note = f"--key {key!r} already scheduled {p.id} for {p.account_id} at {local_time(p)}"
        if (p.local_time, p.zone) != (local, wanted):
            note += "; nothing changed (reschedule it, or use another key)"
        else:
            note += "; nothing changed"
        notes.append(note)
    return notes


def parse_when(at: str, tz: str | None) -> tuple[dt.datetime, str | None]:
    """``--at`` as a local wall time and ``--tz`` as a zone name; a bad one is a usage
    error naming the option (exit 2)."""
    from socialkit.schedule.time.zones import parse_local, zone_name

    try:
        local = parse_local(at)
    except ValueError as exc:
        raise fail(f"--at: {exc}", code=2) from None
    try:
        return local, zone_name(tz) if tz is not None else None
    except ValueError as exc:
        raise fail(f"--tz: {exc}", code=2) from None


def option_error(exc: Exception) -> str:
    """The scheduler's error for a bad argument, named as the option a person typed: it
    names ``at`` and ``tz`` as its arguments, and they are ``--at`` and ``--tz`` here."""
    message = str(exc)
    return "--" + message if message.startswith(("at: ", "tz: ")) else message


def refused(exc: Exception) -> typer.Exit:
    return fail(str(exc), code=1)


@contextlib.contextmanager
def refusing_stale() -> Iterator[None]:
    """A :class:`StaleTransition` inside becomes :func:`refused` (one error line, exit 1)."""
    from socialkit.errors import StaleTransition

    try:
        yield
    except StaleTransition as exc:
        raise refused(exc) from None


def unknown_filters(scheduler: Scheduler, account: str | None, campaign: str | None) -> list[str]:
    """Why an empty listing may be a typo: a filter naming an account or campaign that
    neither the project file nor the store knows (in the project's workspace)."""
    config = state().config()
    notes = []
    if account is not None:
        known = {a.id for a in config.accounts} | {r.account.id for r in scheduler.accounts()}
        if account not in known:
            elsewhere = workspace_note(scheduler, account=account)
            notes.append(
                f"--account: unknown account {account!r} "
                f"(accounts: {', '.join(sorted(known)) or 'none'})"
                + (f"; {elsewhere}" if elsewhere else "")
            )
    if campaign is not None:
        known = {c.id for c in config.campaigns}
        if campaign not in known and not scheduler.list(campaign=campaign, limit=1).items:
            known |= stored_campaigns(scheduler)
            if campaign not in known:  # a rule's or a pause switch's: known to the store
                notes.append(
                    f"--campaign: unknown campaign {campaign!r}: not in the project file, "
                    "and no publication, rule or pause of the store has it (campaigns: "
                    f"{', '.join(sorted(known)) or 'none'})"
                )
    return notes


def stored_campaigns(scheduler: Scheduler) -> set[str]:
    """The campaigns the store knows in the project's workspace: those of its
    publications, its rules and its campaign pause switches. Reads every publication
    (a page of a thousand at a time): for an error or a note, not for every command."""
    found = {r.campaign for r in scheduler.rules() if r.campaign}
    found |= {p.value for p in scheduler.pauses() if p.kind == "campaign"}
    cursor: str | None = None
    while True:
        page = scheduler.list(limit=1000, cursor=cursor)
        found |= {p.campaign for p in page.items if p.campaign}
        cursor = page.next_cursor
        if cursor is None:
            return found


def workspace_note(scheduler: Scheduler, *, account: str | None = None) -> str | None:
    """What to say when the store keeps its accounts (or ``account``) in another
    workspace than the project's: every listing of the project's workspace is empty
    then, as when a store made with one project file is read without it.

    ``None`` when that is not so (or the project's workspace has accounts of its own and
    no ``account`` is asked about)."""
    from socialkit._runtime import run_sync

    mine = scheduler.aio.workspace
    if account is None and scheduler.accounts():
        return None
    stored = run_sync(_stored_accounts(state().store_url()))
    others: dict[str, list[str]] = {}
    for a in stored:
        if a.workspace != mine and (account is None or a.id == account):
            others.setdefault(a.workspace, []).append(a.id)
    if not others:
        return None
    if account is not None:
        what, where = "it", ", ".join(repr(ws) for ws in sorted(others))
    else:
        what = "its accounts"
        where = "; ".join(
            f"{ws!r} ({', '.join(sorted(ids))})" for ws, ids in sorted(others.items())
        )
    return (
        f"the project's workspace is {mine!r}, and the store keeps {what} in workspace "
        f'{where}: set workspace = "{min(others)}" in the project file, or give its project '
        "file with -c FILE"
    )


async def _stored_accounts(url: str) -> list[Account]:
    """Every account the store keeps, in every workspace."""
    from socialkit.schedule.stores import store_from_url

    store = store_from_url(url)
    await store.open()
    try:
        return [record.account for record in await store.list_accounts(workspace=None)]
    finally:
        await store.close()
