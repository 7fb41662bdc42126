"""Finding what earlier attempts of a publication wrote, by the record keys' signatures.

A retry writes at the same record key as the first attempt when it knows the first
attempt's instant (``ctx.first_attempt_at``). To be safe when it does not (a retry after
a refresh, or an engine that did not record the instant), a retry first lists the posts
written since the first attempt (or in the last :data:`LOOKBACK`) and takes a record as
its own when the key carries the part's signature (see :func:`~socialkit_bluesky._tid.has_signature`)
and the text is the part's text, and no other publication claims it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from socialkit_bluesky._records import StrongRef
from socialkit_bluesky._tid import derive_record_key, has_signature

if TYPE_CHECKING:
    from collections.abc import Mapping

    from socialkit import Context
    from socialkit_bluesky._client import RepoClient

__all__ = [
    "CLOCK_SLACK",
    "LOOKBACK",
    "EarlierRecord",
    "find_earlier_records",
    "records_at_derived_keys",
]

LOOKBACK = timedelta(hours=24)
"""How far back a retry looks when it does not know when the first attempt was."""
CLOCK_SLACK = timedelta(minutes=5)
"""Allowance for clocks that disagree (ours and the one that stamped the first attempt)."""


@attrs.frozen
class EarlierRecord:
    """A record an earlier attempt wrote: its strong ref and its ``createdAt``."""

    ref: StrongRef
    created_at: datetime | None


def _created_at(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


async def find_earlier_records(
    repo: RepoClient, ctx: Context, wanted: Mapping[str, str]
) -> dict[str, EarlierRecord]:
    """Records earlier attempts wrote, by idempotency key.

    Args:
        repo: the call's repository client.
        ctx: the call's context (its clock, first attempt and ``is_claimed``).
        wanted: idempotency key → the text its record has.

    Returns:
        idempotency key → the record found for it (keys with no record are absent).
    """
    if not wanted:
        return {}
    now = ctx.now()
    since = (ctx.first_attempt_at or now - LOOKBACK) - CLOCK_SLACK
    found: dict[str, EarlierRecord] = {}
    for record in await repo.posts_between(since, now + CLOCK_SLACK):
        uri = str(record.get("uri", ""))
        rkey = uri.rsplit("/", 1)[-1]
        value: dict[str, Any] = record.get("value") or {}
        for key, text in wanted.items():
            if key in found or not has_signature(rkey, key) or value.get("text") != text:
                continue
            if await ctx.is_claimed(uri):
                continue
            ref = StrongRef(uri=uri, cid=str(record["cid"]))
            found[key] = EarlierRecord(ref=ref, created_at=_created_at(value.get("createdAt")))
    return found


async def records_at_derived_keys(
    repo: RepoClient, ctx: Context, wanted: Mapping[str, tuple[str, int]]
) -> dict[str, EarlierRecord]:
    """The records at the keys the first attempt derived, read with ``getRecord``.

    The direct way to find a publication's records when ``ctx.first_attempt_at`` is known:
    one ``getRecord`` per part instead of listing the repository. It stops at the first
    key that holds nothing (or something else), so the caller can fall back to
    :func:`find_earlier_records` for records written under another anchor.

    Args:
        repo: the call's repository client.
        ctx: the call's context (its first attempt and ``is_claimed``).
        wanted: idempotency key → (the text its record has, its millisecond offset),
            in the order the parts were written.

    Returns:
        idempotency key → the record found for it, for the keys before the first miss.
    """
    found: dict[str, EarlierRecord] = {}
    anchor = ctx.first_attempt_at
    if anchor is None:
        return found
    for key, (text, offset_ms) in wanted.items():
        derived = derive_record_key(key, anchor, offset_ms=offset_ms)
        record = await repo.get_record(derived.rkey)
        if record is None:
            break
        value: dict[str, Any] = record.get("value") or {}
        if value.get("text") != text or value.get("createdAt") != derived.created_at:
            break
        uri = str(record["uri"])
        if await ctx.is_claimed(uri):
            break
        ref = StrongRef(uri=uri, cid=str(record["cid"]))
        found[key] = EarlierRecord(ref=ref, created_at=_created_at(value.get("createdAt")))
    return found
