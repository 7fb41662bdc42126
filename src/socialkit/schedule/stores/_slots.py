"""The posting-slot check every store makes when it inserts publications marked
``free_slot`` (``queue()``, evergreen comebacks by slots): in the insert's own write
transaction, no publication of the same account in a state that holds a slot may be due
at the same instant. Each store reads what holds the slots its own way (under its lock,
in SQLite's only write transaction, under a PostgreSQL advisory lock of the account);
these helpers decide from what it read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.errors import SlotTaken
from socialkit.schedule.states import ACTIVE_STATES
from socialkit.schedule.stores._common import to_us

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Collection, Sequence

    from socialkit.schedule.records import NewPublication

__all__ = ["HOLDING_SLOTS", "SlotKey", "refuse_taken_slots", "slot_of", "slots_to_check"]

# The states in which a publication holds its posting slot: every one that is not
# terminal, a ``draft`` too (a rejected post keeps its time). Sorted, so that a query
# (and a SQL statement built from it) is the same each time.
HOLDING_SLOTS = tuple(sorted(ACTIVE_STATES))
# A posting slot of an account: (workspace, account_id, due_at in microseconds).
SlotKey = tuple[str, str, int]


def slots_to_check(
    publications: Sequence[NewPublication], keys_taken: Collection[str]
) -> list[NewPublication]:
    """The items whose slot the insert must find free: those marked ``free_slot`` that
    it inserts (one whose idempotency key is taken is not inserted, so it takes no slot:
    ``queue()`` again with the same key returns the publication it made)."""
    return [p for p in publications if p.free_slot and p.idempotency_key not in keys_taken]


def slot_of(new: NewPublication) -> SlotKey:
    """The slot ``new`` would take."""
    return (new.workspace, new.account_id, to_us(new.due_at))


def refuse_taken_slots(checked: Sequence[NewPublication], held: Collection[SlotKey]) -> None:
    """Raise :class:`SlotTaken` naming each item of ``checked`` whose slot is ``held`` (by
    a stored publication in a state of :data:`HOLDING_SLOTS`, read in the insert's own
    transaction) or taken by an earlier item of the same insert; return when none is."""
    seen: set[SlotKey] = set()
    taken: list[tuple[str, str, dt.datetime]] = []
    for new in checked:
        slot = slot_of(new)
        if slot in held or slot in seen:
            taken.append((new.workspace, new.account_id, new.due_at))
        seen.add(slot)
    if taken:
        named = ", ".join(f"{account} at {due.isoformat()}" for _, account, due in taken)
        raise SlotTaken(f"posting slot taken meanwhile: {named}", taken)
