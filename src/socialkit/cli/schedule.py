"""``socialkit schedule``, ``queue``, ``list`` and ``show``: publications made and read.

They work on the store of the project file (``store = "sqlite:///socialkit.db"``) or
``--store``. Exit codes: 0 on success; 1 when a post is invalid; 2 for a usage problem.
The people's commands are in :mod:`socialkit.cli.people`, ``run`` in :mod:`socialkit.cli.run`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from socialkit.cli._app import emit, fail, say, state
from socialkit.cli._publications import (
    FileArgument,
    IdArgument,
    JsonOption,
    ToOption,
    approvals_line,
    default_actor,
    event_line,
    kept_notes,
    keyed_publications,
    next_attempt,
    open_scheduler,
    option_error,
    parse_when,
    publication_line,
    publication_row,
    read_checked,
    refuse_another_post,
    time_notes,
    unknown_filters,
    workspace_note,
)
from socialkit.cli.run import _Progress  # noqa: F401 - importable from here, as before

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_command)
    app.command("queue")(queue_command)
    app.command("list")(list_command)
    app.command("show")(show_command)


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
    """Schedule a post file on accounts at a local wall time (one publication each).

    A time the clocks skip or repeat, or one already past but within the grace period,
    is scheduled with a note; one further past is refused. Exits 1 when the post is
    invalid, 2 on a usage error.
    """
    from socialkit.errors import SocialkitError
    from socialkit.schedule.engine.grace import PastGracePeriod

    # Checked before the post, so a typo in a time is the one line the user sees.
    local, zone = parse_when(at, tz)
    if key is not None and not key.strip():
        # An empty key (`--key "$KEY"` with KEY unset) would make every such schedule
        # the same one, and all but the first would change nothing.
        raise fail(f"--key: give a key that names this schedule (got {key!r})", code=2)
    post = read_checked(file, to, as_json=as_json)
    revision = post.revision()
    accounts = list(dict.fromkeys(to))
    with open_scheduler() as scheduler:
        kept = keyed_publications(scheduler, key, accounts) if key is not None else {}
        refuse_another_post(kept, key or "", revision)
        try:
            pubs = scheduler.schedule(
                post,
                accounts,
                at=local,
                tz=zone,
                key=key,
                needs_approval=approval or None,
                actor=default_actor(),
            )
        except PastGracePeriod as exc:  # name the option; publish_late is not one
            raise fail(f"--{exc.problem}; give a later time", code=2) from None
        except (SocialkitError, ValueError) as exc:
            raise fail(option_error(exc), code=2) from None
    # Those the key had made return as they are; one that holds another post was made by
    # another process between the check above and the schedule.
    kept_ids = {p.id for p in kept.values()}
    made = {p.id for p in pubs if p.id not in kept_ids and p.revision == revision}
    other = [p for p in pubs if p.revision != revision]
    notes = time_notes([p for p in pubs if p.id in made], dt.datetime.now(dt.UTC))
    if key is not None:
        notes.extend(kept_notes([p for p in pubs if p.id not in made], key, local, zone))
    for note in notes:
        say(f"note: {note}", err=True)
    emit(
        {"publications": [publication_row(p) for p in pubs]},
        as_json=as_json,
        text="\n".join(
            f"{'scheduled' if p.id in made else 'already scheduled'} {publication_line(p)}"
            for p in pubs
        ),
    )
    if other:
        held = ", ".join(f"{p.id} for {p.account_id}" for p in other)
        raise fail(f"--key: {key!r} already scheduled another post ({held}); use another key")


def queue_command(
    file: FileArgument,
    to: ToOption,
    approval: Annotated[
        bool, typer.Option("--approval", help="Needs approval before it can go out.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a post file to each account's queue: its next free posting slot."""
    post = read_checked(file, to, as_json=as_json)
    config = state().config()
    for account_id in dict.fromkeys(to):
        if not config.account(account_id).posting_slots:
            raise fail(
                f"--to: account {account_id!r} has no posting slots, so there is no slot to "
                "queue the post in; add posting_slots to its [[accounts]] entry in the "
                "project file, or use 'socialkit schedule --at'",
                code=2,
            )
    with open_scheduler() as scheduler:
        pubs = scheduler.queue(
            post, list(dict.fromkeys(to)), needs_approval=approval or None, actor=default_actor()
        )
    emit(
        {"publications": [publication_row(p) for p in pubs]},
        as_json=as_json,
        text="\n".join(f"queued {publication_line(p)}" for p in pubs),
    )


# -- reading ----------------------------------------------------------------------------


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
    rule: Annotated[
        str | None,
        typer.Option("--rule", metavar="RULE_ID", help="Those one rule made (socialkit rules)."),
    ] = None,
    attention: Annotated[
        bool, typer.Option("--attention", help="Only those waiting for a person.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, max=10_000, help="At most N.")
    ] = 100,
    cursor: Annotated[
        str | None,
        typer.Option(
            "--cursor",
            metavar="CURSOR",
            help="Next page: the cursor a full page notes (next_cursor with --json), with the "
            "same filters (a cursor is a place in due order, not tied to them: with others it "
            "goes on from that place).",
        ),
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
        if cursor is not None:
            try:
                decode_cursor(cursor)
            except StoreError:
                raise _bad_cursor(cursor) from None
        say(f"note: {missing}; nothing was scheduled on it yet", err=True)
        emit({"publications": [], "next_cursor": None}, as_json=as_json, text="no publications")
        return
    with open_scheduler() as scheduler:
        # Each reason a person is needed is its own filtered listing (filtering one page
        # afterwards would show an empty page while later ones hold some); they are
        # merged in due order, and the cursor continues after the last one shown.
        from socialkit.schedule.states import ATTENTION

        reasons: tuple[str | None, ...] = ATTENTION if attention else (None,)
        try:
            pages = [
                scheduler.list(
                    state=state_filter or None,
                    campaign=campaign,
                    account=account,
                    rule=rule,
                    attention=reason,
                    cursor=cursor,
                    limit=limit,
                )
                for reason in reasons
            ]
        except StoreError as exc:
            if cursor is not None and str(exc).startswith("cursor: "):
                raise _bad_cursor(cursor) from None
            raise
        if not any(page.items for page in pages) and cursor is None:
            notes = unknown_filters(scheduler, account, campaign)
            if rule is not None and rule not in {r.id for r in scheduler.rules()}:
                notes.append(
                    f"--rule: no rule {rule!r} in workspace {scheduler.aio.workspace!r} "
                    "(socialkit rules --all lists them)"
                )
            if not notes:
                elsewhere = workspace_note(scheduler)
                notes = [elsewhere] if elsewhere else []
            for note in notes:
                say(f"note: {note}", err=True)
    found = sorted((p for page in pages for p in page.items), key=lambda p: (p.due_at, p.id))
    items = found[:limit]
    more = len(found) > limit or any(page.next_cursor for page in pages)
    next_cursor = encode_cursor(items[-1].due_at, items[-1].id) if more and items else None
    emit(
        {"publications": [publication_row(p) for p in items], "next_cursor": next_cursor},
        as_json=as_json,
        text="\n".join(publication_line(p) for p in items) or "no publications",
    )
    if next_cursor is not None and not as_json:
        # The text listing ended at --limit without a word, as if that were all.
        say(
            f"note: more follow; for the next page, run it again with --cursor {next_cursor}",
            err=True,
        )


def _bad_cursor(cursor: str) -> typer.Exit:
    return fail(
        f"--cursor: not a listing cursor (got {cursor!r}); give the one a full page notes "
        "on standard error, or next_cursor from list --json",
        code=2,
    )


_SHOWN_TEXT = 200  # characters of the post's text that `show` prints


def show_command(publication_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one publication with its history."""
    from socialkit.cli._holds import holding_line, holding_publication

    with open_scheduler(existing=True) as scheduler:
        p = scheduler.get(publication_id)
        holder = holding_publication(scheduler, p)
    now = dt.datetime.now(dt.UTC)
    lines = [
        publication_line(p),
        f"  revision {p.revision[:16]}  attempt {p.attempt}  sends {p.sends}  "
        f"failures {p.failures}  due {p.due_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    approvals = approvals_line(p)
    if approvals is not None and p.state in ("pending_approval", "draft"):
        lines.append(f"  {approvals}")  # how many of those it needs count, and whose
    upcoming = next_attempt(p, now)
    if upcoming is not None:  # retry_wait, unknown: when the engine takes it up again
        lines.append(f"  {upcoming}")
    if holder is not None:  # its account is held by an unknown outcome
        lines.append(f"  {holding_line(holder, now)}")
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
        parts = receipt.receipt.parts
        # A platform may show a thread at one address (the feed's page): name it once.
        where = list(dict.fromkeys(ref.url or ref.id for ref in parts))
        count = f" ({len(parts)} parts)" if len(parts) > 1 and len(where) == 1 else ""
        lines.append(
            f"  receipt (attempt {receipt.attempt}, {receipt.source}): {', '.join(where)}{count}"
        )
    lines.append("history:")
    lines.extend(event_line(e) for e in p.history)
    data = publication_row(p) | {
        "run_at": p.run_at.isoformat(),
        "held_by": holder.id if holder is not None else None,
        "approvals_required": p.approvals_required,
        "approved_by": list(p.approved_by()),
        "history": [e.model_dump(mode="json") for e in p.history],
        "receipts": [r.model_dump(mode="json") for r in p.receipts],
        "problems": [x.model_dump(mode="json") for x in p.problems],
        "post": p.post.model_dump(mode="json") if p.post is not None else None,
    }
    emit(data, as_json=as_json, text="\n".join(lines))
