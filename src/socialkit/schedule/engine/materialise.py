"""Rules → occurrences → publications, a window ahead.

Each pass computes a rule's next occurrences from its cursor (the local wall time of the
last one materialised: recurrence is stateless, never computed from "now"), and inserts
one publication per occurrence and account — each with the idempotency key
``rule:<rule>:<account>:<occurrence key>`` — in the same transaction that moves the
cursor. Two workers racing on one rule cannot insert anything twice.

After downtime, the occurrences that came due meanwhile are not inserted one by one:
only the latest of them is, whatever the grace period (the store's misfire policy then
fires it, or marks it missed past its grace period), and a warning names the skipped
span. Evergreen comebacks are caught up the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

import attrs

from socialkit.errors import StaleTransition
from socialkit.schedule.engine.grace import made_minute
from socialkit.schedule.records import NewPublication
from socialkit.schedule.rules import Occurrence, Recurrence, Recycling, next_recycle
from socialkit.schedule.states import PublicationState
from socialkit.schedule.stores._common import new_id

if TYPE_CHECKING:
    from socialkit.models.account import Account
    from socialkit.schedule.engine.services import Services
    from socialkit.schedule.recurring import Rule

__all__ = ["materialise", "materialise_all", "occurrence_key_for"]

S = PublicationState
log = logging.getLogger("socialkit.schedule")
_TICK = dt.timedelta(microseconds=1)


def occurrence_key_for(rule_id: str, account_id: str, occurrence_key: str) -> str:
    """The idempotency key of one rule occurrence on one account."""
    return f"rule:{rule_id}:{account_id}:{occurrence_key}"


async def materialise_all(services: Services, now: dt.datetime) -> int:
    """Materialise every active rule; returns how many publications were created."""
    created = 0
    failing = services.failing_rules
    for rule in await services.store.list_rules(active=True):
        try:
            created += len(await materialise(services, rule, now))
        except StaleTransition:
            continue  # another worker advanced it at the same moment
        except Exception as exc:
            # One broken rule (say, an evergreen rule whose account lost its posting
            # slots) must not stop the others or the worker. It stays active and is
            # tried again on the next pass, so fixing its cause is enough. The error is
            # logged with its traceback once, not on every pass while it lasts.
            described = f"{type(exc).__name__}: {exc}"
            if failing.get(rule.id) == described:
                log.debug("rule %s still cannot be materialised: %s", rule.id, described)
            else:
                failing[rule.id] = described
                log.exception(
                    "rule %s could not be materialised; the other rules go on, and it is "
                    "tried again on every pass (logged again when the error changes)",
                    rule.id,
                )
        else:
            if failing.pop(rule.id, None) is not None:
                log.warning("rule %s is materialised again", rule.id)
    return created


async def materialise(
    services: Services, rule: Rule, now: dt.datetime, *, slots_held: bool = False
) -> list[str]:
    """Insert ``rule``'s occurrences up to ``now + window``; returns the new ids.

    ``slots_held``: the caller holds the account's slot lock already (``evergreen()``
    making its rule).
    """
    if not rule.active:
        return []
    if _by_slots(rule):
        # Comebacks take free posting slots: picked under the account's slot lock, as
        # queue() does, and picked again while the store finds one taken by another
        # process, so a queued post and a comeback never take the same slot.
        held = contextlib.nullcontext() if slots_held else None
        async with held or services.slot_lock(rule.workspace, rule.account_ids[0]):
            # Each attempt reads the slots taken over the rule's window, not ten years
            # ahead, and stores nothing but the occurrences: nothing to carry over.
            return await services.in_free_slots(
                f"rule {rule.id}", lambda _free: _materialise(services, rule, now)
            )
    return await _materialise(services, rule, now)


def _by_slots(rule: Rule) -> bool:
    """Whether ``rule`` brings its post back in free posting slots (evergreen, every N
    slots)."""
    recycling = rule.spec.get("recycling") if rule.kind == "evergreen" else None
    return isinstance(recycling, dict) and recycling.get("every_slots") is not None


async def _materialise(services: Services, rule: Rule, now: dt.datetime) -> list[str]:
    horizon = now + services.config.window
    if rule.kind == "rrule":
        occurrences, finished = _recurrence(rule, now, horizon, services.config.rule_batch)
        cursor = occurrences[-1].local.isoformat() if occurrences else rule.cursor
    else:
        occurrences, finished, cursor = await _evergreen(services, rule, now, horizon)
    remaining = rule.remaining
    if remaining is not None:
        occurrences = occurrences[:remaining]
        remaining -= len(occurrences)
        finished = finished or remaining <= 0
    if not occurrences and not finished:
        return []
    accounts = [await services.account(rule.workspace, a) for a in rule.account_ids]
    # Comebacks by slots must find their slots free when stored, and so must a first
    # occurrence evergreen() picked in a slot (a first_at given is the caller's own time).
    free_slot = _by_slots(rule) and (
        rule.cursor is not None or bool(rule.spec.get("first_in_slot"))
    )
    publications = [
        _publication(rule, account, occurrence, free_slot)
        for occurrence in occurrences
        for account in accounts
    ]
    if remaining is not None and occurrences and rule.kind == "rrule":
        cursor = occurrences[-1].local.isoformat()
    return await services.store.advance_rule(
        rule.id,
        expect_cursor=rule.cursor,
        cursor=cursor,
        publications=publications,
        now=now,
        remaining=remaining,
        active=False if finished else None,
    )


def _publication(
    rule: Rule, account: Account, occurrence: Occurrence, free_slot: bool
) -> NewPublication:
    return NewPublication(
        id=new_id(),
        account_id=account.id,
        platform=account.platform,
        revision=rule.revision,
        due_at=occurrence.due_at,
        local_time=occurrence.local,
        zone=occurrence.zone,
        idempotency_key=occurrence_key_for(rule.id, account.id, occurrence.key),
        workspace=rule.workspace,
        state=S.PENDING_APPROVAL if rule.approvals_required else S.SCHEDULED,
        campaign=rule.campaign,
        rule_id=rule.id,
        approvals_required=rule.approvals_required,
        grace_s=rule.grace_s,
        reason=f"occurrence {occurrence.key} of rule {rule.id}",
        free_slot=free_slot,
    )


def _recurrence(
    rule: Rule, now: dt.datetime, horizon: dt.datetime, batch: int
) -> tuple[list[Occurrence], bool]:
    recurrence = Recurrence.model_validate(rule.spec)
    after = dt.datetime.fromisoformat(rule.cursor) if rule.cursor else None
    out: list[Occurrence] = []
    # Occurrences due by now and not yet created (none while workers keep the window
    # ahead): only the latest is created, whatever the grace period, so a rule fires
    # once after downtime (the misfire policy decides whether that one still goes out).
    latest = recurrence.latest_at_or_before(now, after_local=after)
    if latest is not None:
        in_grace = rule.grace_s is not None and (now - latest.due_at).total_seconds() <= (
            rule.grace_s
        )
        # Without a grace period, the minute the rule was made in counts as its own (the
        # default start is that minute, seconds before the rule was made).
        made = made_minute(rule.created_at) if rule.grace_s is None else rule.created_at
        if latest.due_at < made and not in_grace:
            # It was due before the rule existed, so no downtime made it miss: a rule
            # given a start in the past begins with its next occurrence.
            after = latest.local
        else:
            first = next(recurrence.iter_after(after), None)
            if first is not None and first.due_at < latest.due_at:
                log.warning(
                    "rule %s: occurrences from %s up to %s came due while no worker ran; "
                    "only the latest is created (the misfire policy decides whether it "
                    "fires)",
                    rule.id,
                    first.local.isoformat(),
                    latest.local.isoformat(),
                )
            out.append(latest)
            after = latest.local
    for occurrence in recurrence.iter_after(after):
        if occurrence.due_at > horizon or len(out) >= batch:
            return out, False
        out.append(occurrence)
    return out, True  # the rule ended (COUNT or UNTIL)


async def _evergreen(
    services: Services, rule: Rule, now: dt.datetime, horizon: dt.datetime
) -> tuple[list[Occurrence], bool, str | None]:
    """Evergreen occurrences; the cursor is ``"<local iso>|<times recycled>|<its zone>"``."""
    spec = rule.spec
    policy = Recycling.model_validate(spec["recycling"])
    zone = str(spec["zone"])
    if rule.cursor is None:
        first = Occurrence.at(dt.datetime.fromisoformat(str(spec["first"])), zone)
        if "first_due" in spec:  # the instant asked for (rules stored before: the wall time)
            first = attrs.evolve(first, due_at=dt.datetime.fromisoformat(str(spec["first_due"])))
        if spec.get("first_in_slot"):
            account = await services.account(rule.workspace, rule.account_ids[0])
            if await services.taken_slots(account, first.due_at, first.due_at + _TICK):
                # Another process took the slot evergreen() picked before its first
                # publication was stored: the next free one, as queue() would pick now.
                first = await services.next_free_slot(account, now)
        if first.due_at > horizon:
            return [], False, None
        return [first], False, f"{first.local.isoformat()}|0"
    # The previous one's zone is the third part (an account moved to another zone reads
    # its slots in the new one; rules stored before: the rule's zone).
    local, _, rest = rule.cursor.partition("|")
    count, _, last_zone = rest.partition("|")
    previous = Occurrence.at(dt.datetime.fromisoformat(local), last_zone or zone)
    recycled = int(count or 0)
    account = await services.account(rule.workspace, rule.account_ids[0])
    taken: list[dt.datetime] = []
    if policy.every_slots is not None:
        # The slots queue() treats as taken (the same query: every active state, every
        # page), the ones the store checks each comeback against. A comeback past the
        # horizon is not made in this pass, so only those up to the horizon, inclusive,
        # matter; those after the previous one too when it is past (comebacks caught up
        # after downtime come due before now).
        taken = await services.taken_slots(account, min(now, previous.due_at), horizon + _TICK)
    out: list[Occurrence] = []
    finished = False
    while len(out) < services.config.rule_batch:
        following = next_recycle(
            policy,
            previous,
            recycled=recycled,
            slots=account.posting_slots,
            zone=account.timezone if policy.every_slots else zone,
            taken=taken,
        )
        if following is None:
            finished = True
            break
        if following.due_at > horizon:
            break
        if following.zone != zone:
            # The account moved to another zone: its wall times there are other
            # instants, so their keys name the zone (or 09:00 there would be taken for
            # 09:00 in the old zone, and dropped as already created).
            following = attrs.evolve(following, key=f"{following.key}@{following.zone}")
        if following.due_at <= now and out and out[-1].due_at <= now:
            # Comebacks that came due while no worker ran: only the latest is created
            # (the earlier ones count toward the limit, as a rule's COUNT does).
            out[-1] = following
        else:
            out.append(following)
        taken.append(following.due_at)
        previous, recycled = following, recycled + 1
    return out, finished, f"{previous.local.isoformat()}|{recycled}|{previous.zone}"
