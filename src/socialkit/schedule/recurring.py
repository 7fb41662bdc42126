"""Rules as the store keeps them: a recurrence or evergreen schedule for a post."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, JsonValue

from socialkit.models._base import SocialModel

__all__ = ["Rule"]


class Rule(SocialModel):
    """A rule that creates publications: an RRULE in a zone, or an evergreen re-queue.

    The engine materialises a rule's occurrences a window ahead: it inserts one
    publication per occurrence and account, each with a unique idempotency key, in the
    same transaction that moves ``cursor`` on. Recurrence is stateless: the next
    occurrence is computed from the cursor (the previous scheduled local time), never
    from "now".

    Attributes:
        id: the rule id.
        workspace: the tenant.
        kind: ``rrule`` (RFC 5545 in ``spec["tz"]``) or ``evergreen`` (re-queue every
            ``spec["every_days"]`` days into the account's posting slots).
        spec: the serialised recurrence; the engine reads it, the store does not.
        revision: the pinned post revision.
        account_ids: the accounts each occurrence goes to.
        campaign: the campaign of the publications it creates.
        cursor: the local wall time (ISO) of the last occurrence materialised, per the
            engine; ``None`` before the first.
        remaining: how many occurrences may still be created (``None``: no limit).
        active: whether the engine still materialises it.
        grace_s: the grace period of its publications, in seconds.
        approvals_required: approvals each of its publications needs.
        created_at, updated_at: bookkeeping.
    """

    id: str
    workspace: str = "default"
    kind: Literal["rrule", "evergreen"] = "rrule"
    spec: dict[str, JsonValue] = Field(default_factory=dict)
    revision: str
    account_ids: tuple[str, ...] = Field(min_length=1)
    campaign: str | None = None
    cursor: str | None = None
    remaining: int | None = None
    active: bool = True
    grace_s: float | None = None
    approvals_required: int = 0
    created_at: dt.datetime
    updated_at: dt.datetime
