"""Evergreen recycling: re-queue a post that performs well, every N days or N slots."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from socialkit.models._base import SocialModel
from socialkit.schedule.time.occurrence import Occurrence
from socialkit.schedule.time.slots import iter_slot_occurrences
from socialkit.schedule.time.zones import as_utc

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from socialkit.models.account import PostingSlot
    from socialkit.schedule.time.zones import ZoneLike

__all__ = ["Recycling", "next_recycle"]


class Recycling(SocialModel):
    """How an evergreen post comes back: every N days or every N posting slots.

    Attributes:
        every_days: re-publish this many days after the last time, at the same local
            wall time (so a 09:00 post stays a 09:00 post across DST changes); 1 to 3660.
        every_slots: re-queue into the account's posting slots, this many slots after
            the last time (counting every slot, taken or free), then the first free one;
            1 to 10,000.
        limit: how many times the post is re-published at most; None for no limit.
    """

    # Strict: True is not one day. The upper bounds keep the dates computable and catch
    # a unit mix-up (minutes or seconds given as days).
    every_days: int | None = Field(default=None, ge=1, le=3660, strict=True)
    every_slots: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    limit: int | None = Field(default=None, ge=1, strict=True)

    @model_validator(mode="after")
    def _one_interval(self) -> Recycling:
        if (self.every_days is None) == (self.every_slots is None):
            raise ValueError(
                "give exactly one of every_days or every_slots "
                f"(got every_days={self.every_days}, every_slots={self.every_slots})"
            )
        return self


def next_recycle(
    policy: Recycling,
    previous: Occurrence,
    *,
    recycled: int,
    slots: Iterable[PostingSlot] = (),
    zone: ZoneLike | None = None,
    taken: Collection[dt.datetime] = (),
) -> Occurrence | None:
    """When an evergreen post comes back next, or None once ``policy.limit`` is reached.

    Args:
        policy: the recycling policy.
        previous: the occurrence the post last published at (its local wall time, zone
            and instant).
        recycled: how many times the post has been re-published so far (0 after the
            first publication).
        slots: the account's posting slots (needed for ``every_slots``).
        zone: the zone the slots are read in; defaults to ``previous.zone``.
        taken: aware instants already taken in the account's queue (``every_slots``).

    Returns:
        For ``every_days``: ``previous.local`` plus N days, at the same wall time, by the
        DST policy. For ``every_slots``: the N-th slot after ``previous.due_at``, or the
        first free slot after it when that one is taken.
    """
    if recycled < 0:
        raise ValueError(f"recycled must be >= 0 (got {recycled})")
    if policy.limit is not None and recycled >= policy.limit:
        return None
    if policy.every_days is not None:
        return Occurrence.at(previous.local + dt.timedelta(days=policy.every_days), previous.zone)
    assert policy.every_slots is not None
    slot_list = list(slots)
    if not slot_list:
        raise ValueError("every_slots recycling needs the account's posting slots (got none)")
    used = {as_utc(moment, "taken instant") for moment in taken}
    stream = iter_slot_occurrences(slot_list, zone or previous.zone, previous.due_at)
    for position, occurrence in enumerate(stream, start=1):
        if position >= policy.every_slots and occurrence.due_at not in used:
            return occurrence
    raise AssertionError("unreachable: slot occurrences are endless")  # pragma: no cover
