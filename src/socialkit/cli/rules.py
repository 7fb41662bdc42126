"""``socialkit recur``, ``rules`` and ``stop-rule``: recurring posts from the command line.

``recur`` makes a rule (:meth:`Scheduler.recur <socialkit.schedule.facade.Scheduler.recur>`),
``rules`` lists them and ``stop-rule`` stops one, with ``--cancel`` cancelling what it
already made: the crisis switch for one recurring post, where ``pause`` holds a whole
account or campaign. Exit codes: 0 on success; 1 when the post is invalid; 2 for a usage
problem (a bad option, a rule nobody knows, a store that is not there).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import counted, emit, fail, say, state
from socialkit.cli._publications import (
    ActorOption,
    FileArgument,
    JsonOption,
    ReasonOption,
    ToOption,
    default_actor,
    open_scheduler,
    publication_line,
    publication_row,
    read_checked,
)
from socialkit.cli.upcoming import RruleOption, occurrence_line

if TYPE_CHECKING:
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import Publication
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.time import Recurrence
    from socialkit.schedule.time.occurrence import Occurrence

__all__ = ["register"]

_NEXT = 3  # occurrences `recur` shows after the publications the rule made at once


def register(app: typer.Typer) -> None:
    app.command("recur")(recur_command)
    app.command("rules")(rules_command)
    app.command("stop-rule")(stop_rule_command)


def _named(message: str) -> str:
    """The scheduler's error for an argument, named as the option a person typed."""
    for name in ("rrule", "start", "tz", "limit"):
        if message.startswith(f"{name}: "):
            return f"--{message}"
    return message


def recur_command(
    file: FileArgument,
    to: ToOption,
    rrule: RruleOption,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz", metavar="ZONE", help="IANA zone of the rule (default: each account's own)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="TIME",
            help="Local start of the rule (DTSTART), e.g. '2026-12-01 09:00' (default: now).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", metavar="N", min=1, help="At most N occurrences ever (default: no cap)."
        ),
    ] = None,
    approval: Annotated[
        bool, typer.Option("--approval", help="Each occurrence needs approval.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish a post file on every occurrence of a recurrence rule (RRULE) in a zone.

    Without --tz each account's own zone is used (one rule per zone). Prints each rule's
    id, the publications it made at once (a window ahead) and its next occurrences.
    """
    from socialkit.errors import SocialkitError
    from socialkit.schedule.engine.grace import PastGracePeriod
    from socialkit.schedule.time.zones import parse_local, zone_name

    # Each option is read before the post, so a typo in one is the line the user sees.
    try:
        zone = zone_name(tz) if tz is not None else None
    except ValueError as exc:
        raise fail(f"--tz: {exc}", code=2) from None
    try:
        start_local = parse_local(start) if start is not None else None
    except ValueError as exc:
        raise fail(f"--start: {exc}", code=2) from None
    post = read_checked(file, to, as_json=as_json)
    with open_scheduler() as scheduler:
        try:
            made = scheduler.recur(
                post,
                list(dict.fromkeys(to)),
                rrule=rrule,
                tz=zone,
                start=start_local,
                limit=limit,
                needs_approval=approval or None,
                actor=default_actor(),
            )
        except PastGracePeriod as exc:
            raise fail(_named(str(exc)), code=2) from None
        except (SocialkitError, ValueError) as exc:
            raise fail(_named(str(exc)), code=2) from None
        shown = [_made(scheduler, rule) for rule in made]
    lines: list[str] = []
    for rule, (pubs, following) in zip(made, shown, strict=True):
        lines.append(f"rule {rule_line(rule)}")
        lines.extend(f"  scheduled {publication_line(p)}" for p in pubs)
        lines.extend(f"  then {occurrence_line(o)}" for o in following)
        if len(following) < _NEXT:
            lines.append("  no further occurrences")
    emit(
        {
            "rules": [
                rule_row(rule)
                | {
                    "publications": [publication_row(p) for p in pubs],
                    "next": [o.to_dict() for o in following],
                }
                for rule, (pubs, following) in zip(made, shown, strict=True)
            ]
        },
        as_json=as_json,
        text="\n".join(lines),
    )


def _recurrence(rule: Rule) -> Recurrence:
    from socialkit.schedule.time import Recurrence

    return Recurrence.model_validate(rule.spec)


def _made(scheduler: Scheduler, rule: Rule) -> tuple[list[Publication], list[Occurrence]]:
    """The publications ``rule`` made at once, and its next occurrences after them."""
    pubs = list(scheduler.list(rule=rule.id, limit=1000).items)
    if rule.remaining == 0:
        return pubs, []
    recurrence = _recurrence(rule)
    previous = dt.datetime.fromisoformat(rule.cursor) if rule.cursor else None
    if previous is None:
        # The rule made nothing yet: its first occurrences may be past (a start before
        # now), and those beyond the grace period never fire, so they are not shown.
        oldest = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=rule.grace_s or 0)
        last = recurrence.latest_at_or_before(oldest)
        previous = last.local if last is not None else None
    wanted = _NEXT if rule.remaining is None else min(_NEXT, rule.remaining)
    return pubs, recurrence.after(previous, limit=wanted)


def _what(rule: Rule) -> str:
    spec = rule.spec
    if rule.kind == "rrule":
        return f"{spec.get('rrule')} in {spec.get('tz')}"
    recycling = spec.get("recycling")
    every = recycling if isinstance(recycling, dict) else {}
    if every.get("every_days") is not None:
        how = f"every {every['every_days']} days"
    else:
        how = f"every {every.get('every_slots')} posting slots"
    return f"evergreen {how} in {spec.get('zone')}"


def rule_row(rule: Rule) -> dict[str, Any]:
    spec = rule.spec
    recycling = spec.get("recycling")
    return {
        "id": rule.id,
        "kind": rule.kind,
        "rrule": spec.get("rrule") if rule.kind == "rrule" else None,
        "recycling": recycling if rule.kind == "evergreen" else None,
        "zone": spec.get("tz") if rule.kind == "rrule" else spec.get("zone"),
        "start": spec.get("start") if rule.kind == "rrule" else spec.get("first"),
        "accounts": list(rule.account_ids),
        "campaign": rule.campaign,
        "remaining": rule.remaining,
        "active": rule.active,
        "revision": rule.revision,
        "approvals_required": rule.approvals_required,
        "created_at": rule.created_at.isoformat(),
    }


def rule_line(rule: Rule) -> str:
    campaign = f"  [{rule.campaign}]" if rule.campaign else ""
    left = f"  at most {rule.remaining} more" if rule.remaining is not None else ""
    active = "active" if rule.active else "stopped"
    return f"{rule.id}  {active:<7} {_what(rule)}  {', '.join(rule.account_ids)}{campaign}{left}"


def rules_command(
    every: Annotated[bool, typer.Option("--all", help="Stopped and finished rules too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the active recurring rules (with --all, the stopped and finished ones too)."""
    from socialkit.cli.store import missing_store

    missing = missing_store(state().store_url())
    if missing is not None:  # nothing to list, and nothing created: a typo says so
        say(f"note: {missing}; nothing was scheduled on it yet", err=True)
        emit({"rules": []}, as_json=as_json, text="no rules")
        return
    with open_scheduler(existing=True) as scheduler:
        found = scheduler.rules(active=None if every else True)
    found = sorted(found, key=lambda r: (r.created_at, r.id))
    empty = "no rules" if every else "no active rules (--all lists the stopped ones too)"
    emit(
        {"rules": [rule_row(r) for r in found]},
        as_json=as_json,
        text="\n".join(rule_line(r) for r in found) or empty,
    )


def stop_rule_command(
    rule_id: Annotated[
        str, typer.Argument(metavar="RULE_ID", help="The rule id (socialkit rules).")
    ],
    cancel: Annotated[
        bool,
        typer.Option("--cancel", help="Also cancel what it already made and did not send yet."),
    ] = False,
    actor: ActorOption = None,
    reason: ReasonOption = None,
) -> None:
    """Stop a recurring rule: it makes no more publications.

    Those it already made (a window ahead) still go out, unless --cancel.
    """
    from socialkit.errors import StoreError

    with open_scheduler(existing=True) as scheduler:
        known = {r.id: r for r in scheduler.rules(active=None)}
        if rule_id not in known:
            listed = ", ".join(r for r, v in known.items() if v.active) or "none"
            raise fail(
                f"RULE_ID: no rule {rule_id!r} in workspace {scheduler.aio.workspace!r} "
                f"(active rules: {listed}; socialkit rules --all lists them all)",
                code=2,
            )
        was_active = known[rule_id].active
        waiting = ("scheduled", "pending_approval", "paused", "draft")
        try:
            cancelled = scheduler.stop_rule(
                rule_id, actor=actor or default_actor(), cancel=cancel, reason=reason
            )
        except StoreError as exc:
            raise fail(str(exc).replace("rule_id: ", "RULE_ID: ", 1), code=2) from None
        left = 0 if cancel else len(scheduler.list(rule=rule_id, state=waiting, limit=10_000).items)
    verb = f"stopped rule {rule_id}" if was_active else f"rule {rule_id} was already stopped"
    if cancel:
        text = f"{verb}; cancelled {counted(cancelled, 'publication')} it had made"
    elif left:
        some = counted(left, "publication")
        go = "goes" if left == 1 else "go"
        text = f"{verb}; the {some} it already made still {go} out: --cancel cancels them"
    else:
        text = f"{verb}; it made no publication that is still to go out"
    emit(None, as_json=False, text=text)
