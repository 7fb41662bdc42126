"""Factories for adapter tests: accounts, credentials, posts, sample images, a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from socialkit.models.account import Account
from socialkit.models.content import Post, ThreadPart
from socialkit.models.credentials import Credentials

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit.models.media import Media

__all__ = [
    "SAMPLE_JPEG",
    "SAMPLE_PNG",
    "SAMPLE_SECRET",
    "FrozenClock",
    "make_account",
    "make_credentials",
    "make_post",
]

SAMPLE_SECRET = "skt-contract-9f8e7d6c5b4a39281706"
"""A token that must never show up in a log line, a repr, a receipt or an exception."""

SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da637866e9f61f0005d30265c914fc0c0000000049454e44ae426082"
)
"""A 1×1 red PNG (70 bytes)."""

SAMPLE_JPEG = bytes.fromhex(
    "ffd8"  # start of image
    "ffe000104a46494600010100000100010000"  # JFIF header
    "ffdb004300"
    + "01" * 64  # one quantisation table, all ones
    + "ffc0000b080008000801011100"  # baseline, 8×8, one grey component
    + "ffc4001400"
    + "01"
    + "00" * 15
    + "00"  # DC table: one code, category 0
    + "ffc4001410"
    + "01"
    + "00" * 15
    + "00"  # AC table: one code, end of block
    + "ffda0008010100003f00"  # start of scan
    + "3f"  # DC 0 (mid grey) then end of block, padded with ones
    + "ffd9"  # end of image
)
"""An 8×8 mid-grey baseline JPEG, for platforms that refuse PNG."""


class FrozenClock:
    """A clock that stands still until told to move; pass it as ``Context.clock``.

    Args:
        start: the first instant (aware); 2026-03-14 15:09:26 UTC by default.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
        if self.now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware start instant")

    def __call__(self) -> datetime:
        return self.now

    def __repr__(self) -> str:
        return f"FrozenClock({self.now.isoformat()})"

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move the clock forward (``advance(30)``, ``advance(hours=2)``); returns the new now."""
        self.now = self.now + timedelta(seconds=seconds, **delta)
        return self.now


def make_account(
    platform: str,
    *,
    id: str | None = None,
    handle: str = "contract",
    settings: dict[str, Any] | None = None,
    **fields: Any,
) -> Account:
    """An :class:`~socialkit.Account` for tests (id ``contract-<platform>`` by default)."""
    return Account(
        id=id or f"contract-{platform}",
        platform=platform,
        handle=handle,
        settings=dict(settings or {}),
        **fields,
    )


def make_credentials(**values: str) -> Credentials:
    """:class:`~socialkit.Credentials` with ``values``; ``access_token`` defaults to
    :data:`SAMPLE_SECRET`."""
    values.setdefault("access_token", SAMPLE_SECRET)
    return Credentials().with_values(values)


def make_post(
    text: str = "Hello from the socialkit contract kit",
    *,
    thread: Sequence[str] = (),
    media: Sequence[Media] = (),
    **fields: Any,
) -> Post:
    """A :class:`~socialkit.Post` with optional thread parts (given as texts) and media."""
    return Post(
        text=text,
        media=tuple(media),
        thread=tuple(ThreadPart(text=part) for part in thread),
        **fields,
    )
