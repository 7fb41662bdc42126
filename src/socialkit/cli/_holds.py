"""What holds an account's posts back, said on the command line: an ``unknown`` outcome
not settled yet (its account's later posts wait behind it), or a lease that has not
expired (a worker still sending, or one killed mid-publish whose lease runs on)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from socialkit.cli._app import counted

if TYPE_CHECKING:
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import Publication

__all__ = ["held_account_notes", "holding_publication", "lease_note"]

_PAGE = 500
_WAITING = ("scheduled", "retry_wait")


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    from socialkit.schedule.engine.grace import age

    shown = f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    return f"{shown}, in {age(moment - now)}" if moment > now else f"{shown}, now"


def _holds_accounts(scheduler: Scheduler) -> bool:
    """Whether the engine keeps an account's posts in order (``per_account`` set)."""
    return scheduler.aio.config.per_account is not None


def _unknown_settling(p: Publication, now: dt.datetime) -> str:
    """How the ``unknown`` publication ``p`` gets settled, for a note."""
    if p.attention is not None:
        return (
            f"it waits for a person: socialkit resolve {p.id} --published POST_ID | --retry "
            "| --abandon"
        )
    if p.lease_owner is not None:
        return f"being reconciled now by {p.lease_owner}"
    return f"reconciled {_when(p.run_at, now)}"


def holding_publication(scheduler: Scheduler, p: Publication) -> Publication | None:
    """The ``unknown`` publication that holds ``p``'s account (so ``p`` waits behind it),
    when ``p`` waits to be sent; ``None`` otherwise."""
    if p.state.value not in _WAITING or not _holds_accounts(scheduler):
        return None
    page = scheduler.list(state="unknown", account=p.account_id, limit=1)
    return page.items[0] if page.items else None


def holding_line(holder: Publication, now: dt.datetime) -> str:
    """``waits behind p… (outcome unknown; reconciled …): its account's posts go out in
    order`` for ``show``."""
    return (
        f"waits behind {holder.id}, whose outcome is unknown ({_unknown_settling(holder, now)}): "
        "the account's posts go out in order"
    )


def held_account_notes(scheduler: Scheduler, now: dt.datetime) -> list[str]:
    """One note per account whose due posts wait behind an ``unknown`` publication
    (``note: account acme-x is held by p…, whose outcome is unknown (…); 2 publications
    due wait behind it``)."""
    if not _holds_accounts(scheduler):
        return []
    notes = []
    seen: set[str] = set()
    cursor = None
    while True:
        page = scheduler.list(state="unknown", cursor=cursor, limit=_PAGE)
        for holder in page.items:
            if holder.account_id in seen:
                continue
            seen.add(holder.account_id)
            # in due order: the first page holds those due by now, unless more are
            behind = scheduler.list(state=_WAITING, account=holder.account_id, limit=_PAGE)
            due = [p for p in behind.items if p.run_at <= now]
            if not due:
                continue
            count = counted(len(due), "publication")
            wait = "waits" if len(due) == 1 else "wait"
            if behind.next_cursor is not None and len(due) == len(behind.items):
                count, wait = f"more than {count}", "wait"
            notes.append(
                f"note: account {holder.account_id} is held by {holder.id}, whose outcome "
                f"is unknown ({_unknown_settling(holder, now)}); {count} due {wait} behind "
                "it, so none overtakes a post that may be live"
            )
        cursor = page.next_cursor
        if cursor is None:
            return notes


def lease_note(scheduler: Scheduler, now: dt.datetime) -> str:
    """``note: 2 publications are held by a lease that has not expired …; the earliest
    ends … UTC, in 42 s`` (a worker killed mid-publish leaves its leases to run out);
    empty when no lease is held."""
    count = 0
    earliest: dt.datetime | None = None
    cursor = None
    while True:
        page = scheduler.list(
            state=("claimed", "publishing", "unknown"), cursor=cursor, limit=_PAGE
        )
        for p in page.items:
            ends = p.lease_expires_at
            if ends is None or ends <= now:
                continue
            count += 1
            earliest = ends if earliest is None else min(earliest, ends)
        cursor = page.next_cursor
        if cursor is None:
            break
    if earliest is None:
        return ""
    are = "is" if count == 1 else "are"
    return (
        f"note: {counted(count, 'publication')} {are} held by a worker's lease that has not "
        "expired (a worker still sending, or one stopped without handing its work back, "
        f"killed say); the earliest lease ends {_when(earliest, now)}: their accounts' "
        "posts wait until then (a run after it takes them up)"
    )
