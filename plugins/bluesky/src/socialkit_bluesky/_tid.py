"""Record keys fixed by the publication: TIDs and ``createdAt`` derived from its idempotency key.

An atproto TID is a 64-bit integer written as 13 characters of base32-sortable
(``234567abcdefghijklmnopqrstuvwxyz``): the top bit is zero, then 53 bits of microseconds
since the Unix epoch, then a 10-bit clock id. Posts live under TID record keys, and
readers sort a repository by them, so the timestamp part should be the real time of
the post.

:func:`derive_record_key` makes the key a pure function of the part's idempotency key
and the publication's *anchor* (the instant of its first attempt)::

    instant_ms   = floor(anchor, ms) + offset_ms          # offset: the part's index
    digest       = sha256(idempotency_key)[0:8] as a big-endian integer
    timestamp_us = instant_ms * 1000 + digest % 1000
    clock_id     = (digest // 1000) % 1024
    rkey         = base32sort((timestamp_us << 10) | clock_id)
    createdAt    = instant_ms as ISO 8601 UTC with milliseconds ("...T09:00:00.002Z")

Every attempt of a publication therefore writes the same record at the same key, so a
retry after a lost response finds the first record instead of making a second one.

The low 20 bits of the key (the sub-millisecond microseconds and the clock id) depend on
the idempotency key alone: its *signature*. A record written under another anchor (an
attempt that did not know the first attempt's instant) is still recognised by it, with a
one-in-a-million chance of a false match that the record's text then rules out.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import attrs

__all__ = [
    "TID_PATTERN",
    "RecordKey",
    "decode_tid",
    "derive_record_key",
    "encode_tid",
    "format_created_at",
    "has_signature",
    "key_signature",
    "tid_at",
]

_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_S32_INDEX = {c: i for i, c in enumerate(_S32)}
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
"""The syntax of a TID, as the atproto specification states it."""
_MAX_TIMESTAMP_US = (1 << 53) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_tid(timestamp_us: int, clock_id: int) -> str:
    """The TID for ``timestamp_us`` (microseconds since the epoch) and ``clock_id`` (0..1023)."""
    if not 0 <= timestamp_us <= _MAX_TIMESTAMP_US:
        raise ValueError(f"TID timestamp must be in 0..2**53-1 microseconds (got {timestamp_us})")
    if not 0 <= clock_id < 1024:
        raise ValueError(f"TID clock id must be in 0..1023 (got {clock_id})")
    value = (timestamp_us << 10) | clock_id
    return "".join(_S32[(value >> (5 * shift)) & 31] for shift in range(12, -1, -1))


def decode_tid(tid: str) -> tuple[int, int]:
    """``(timestamp_us, clock_id)`` of a TID; :class:`ValueError` when it is not one."""
    if not TID_PATTERN.match(tid):
        raise ValueError(f"not a TID: {tid!r}")
    value = 0
    for char in tid:
        value = (value << 5) | _S32_INDEX[char]
    return value >> 10, value & 1023


def format_created_at(instant: datetime) -> str:
    """``instant`` as an atproto datetime: UTC, millisecond precision, ``Z`` suffix."""
    if instant.tzinfo is None:
        raise ValueError("createdAt needs an aware datetime")
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@attrs.frozen
class RecordKey:
    """Where a post's record goes and the ``createdAt`` it carries.

    Attributes:
        rkey: the record key, a TID.
        created_at: the record's ``createdAt``.
    """

    rkey: str
    created_at: str


def key_signature(idempotency_key: str) -> tuple[int, int]:
    """``(microseconds % 1000, clock_id)`` every record key derived from this key carries."""
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:8], "big")
    return digest % 1000, (digest // 1000) % 1024


def has_signature(rkey: str, idempotency_key: str) -> bool:
    """Whether ``rkey`` is a TID derived from ``idempotency_key`` (under any anchor)."""
    try:
        timestamp_us, clock_id = decode_tid(rkey)
    except ValueError:
        return False
    return (timestamp_us % 1000, clock_id) == key_signature(idempotency_key)


def tid_at(instant: datetime, clock_id: int = 0) -> str:
    """The TID of ``instant`` (aware) with ``clock_id``: a bound for scanning a repository."""
    micros = (instant.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return encode_tid(max(0, min(micros, _MAX_TIMESTAMP_US)), clock_id)


def derive_record_key(idempotency_key: str, anchor: datetime, *, offset_ms: int = 0) -> RecordKey:
    """The record key and ``createdAt`` of one part (see the module docstring for the formula).

    Args:
        idempotency_key: the part's idempotency key (stable across attempts).
        anchor: the publication's fixed instant (its first attempt), aware.
        offset_ms: milliseconds after the anchor; the part's index keeps a thread in order.
    """
    if anchor.tzinfo is None:
        raise ValueError("the anchor of a record key must be timezone-aware")
    if offset_ms < 0:
        raise ValueError(f"offset_ms must not be negative (got {offset_ms})")
    micros = (anchor.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    instant_ms = micros // 1000 + offset_ms
    sub_ms, clock_id = key_signature(idempotency_key)
    rkey = encode_tid(instant_ms * 1000 + sub_ms, clock_id)
    created = _EPOCH + timedelta(milliseconds=instant_ms)
    return RecordKey(rkey=rkey, created_at=format_created_at(created))
