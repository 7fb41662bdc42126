"""The per-call context an adapter receives: who, with what, and how to report back."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.errors import ConfigError, Rejected, Transient
from socialkit.models.media_store import MediaMismatch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    import httpx

    from socialkit.models.account import Account
    from socialkit.models.credentials import Credentials
    from socialkit.models.media import Media
    from socialkit.models.media_store import MediaStore
    from socialkit.models.receipt import PostRef
    from socialkit.platforms.capabilities import Capabilities
    from socialkit.platforms.credentials import CredentialProvider

__all__ = ["Context", "RateLimitReport", "utcnow"]


_EPOCH_FLOOR = 1_000_000_000
"""Epoch seconds of 2001-09-09: a smaller ``reset`` is a delay read as a date in 1970."""


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


@attrs.frozen(kw_only=True)
class RateLimitReport:
    """What an adapter learned about an account's request budget from a response.

    ``problem`` says why a ``reset`` the adapter gave was left out (a delay passed as
    epoch seconds, say); the contract kit fails on it, the engine ignores it.
    """

    remaining: int | None
    reset_at: datetime | None
    limit: int | None = None
    scope: str = "default"
    problem: str | None = None


async def _no_checkpoint(part: int, ref: PostRef) -> None:
    return None


async def _never_claimed(post_id: str) -> bool:
    return False


def _ignore_rate_limit(report: RateLimitReport) -> None:
    return None


@attrs.frozen(kw_only=True)
class Context:
    """What the engine hands an adapter for one call. Frozen; fields may be added later.

    Attributes:
        account: the account to act as.
        credentials: its credentials, loaded through the provider.
        http: the shared, pooled ``httpx.AsyncClient`` (a ``MockTransport`` one in tests).
        media: the media store to read attachments from.
        clock: the current instant (injectable; always aware, UTC).
        publication_id: the publication being worked on, when there is one.
        idempotency_keys: one key per thread part, stable across attempts.
        attempt: the attempt number, from 1.
        published_parts: references of parts already published by earlier attempts; a
            thread resumes after the last one.
        first_attempt_at: when the first attempt of this publication that may have taken
            effect was sent (its outcome became unknown), if any; ``None`` on a first
            attempt and when every earlier one certainly took no effect.
        capabilities: the capabilities resolved for this account, when known.
        logger: a logger for the adapter (never log credentials).
    """

    account: Account
    credentials: Credentials
    http: httpx.AsyncClient
    media: MediaStore
    clock: Callable[[], datetime] = utcnow
    publication_id: str | None = None
    idempotency_keys: tuple[str, ...] = ()
    attempt: int = 1
    published_parts: tuple[PostRef, ...] = ()
    first_attempt_at: datetime | None = None
    capabilities: Capabilities | None = None
    logger: logging.Logger = attrs.field(factory=lambda: logging.getLogger("socialkit.platform"))
    on_rate_limit: Callable[[RateLimitReport], None] = _ignore_rate_limit
    on_checkpoint: Callable[[int, PostRef], Awaitable[None]] = _no_checkpoint
    is_claimed_by_other: Callable[[str], Awaitable[bool]] = _never_claimed
    credential_provider: CredentialProvider | None = None

    def __repr__(self) -> str:
        return (
            f"Context(account={self.account.id!r}, publication_id={self.publication_id!r}, "
            f"attempt={self.attempt})"
        )

    def now(self) -> datetime:
        """The clock's current instant."""
        return self.clock()

    @property
    def settings(self) -> dict[str, Any]:
        """The account's adapter settings."""
        return dict(self.account.settings)

    def idempotency_key(self, part: int = 0) -> str:
        """The idempotency key of thread part ``part`` (0 is the post itself).

        Raises:
            ConfigError: when the caller gave no keys (a publish outside the engine must
                pass them; :func:`socialkit.publish_now` does).
        """
        if not self.idempotency_keys:
            raise ConfigError("this context carries no idempotency keys")
        if part < len(self.idempotency_keys):
            return self.idempotency_keys[part]
        return f"{self.idempotency_keys[0]}.{part}"

    async def read_media(self, media: Media) -> bytes:
        """The bytes of ``media`` from the media store, read off the event loop (so lease
        heartbeats keep beating during a large read), in socialkit's error classes.

        Raises:
            Rejected: the bytes are not in the media store (retrying cannot bring them
                back; the post needs its media added again), or the store holds other
                bytes than the post described.
            Transient: the store could not be read (an I/O error); nothing was sent, so
                the engine retries.
        """
        what = f"media {media.sha256} ({media.filename or media.mime_type})"
        try:
            data = await asyncio.to_thread(self.media.read_bytes, media)
        except FileNotFoundError:
            raise Rejected(f"{what} is not in the media store") from None
        except MediaMismatch as exc:
            raise Rejected(f"{what}: the media store holds other bytes: {exc}") from None
        except OSError as exc:
            raise Transient(f"{what}: the media store could not be read: {exc}") from exc
        if len(data) != media.size:
            raise Rejected(f"{what}: the media store holds {len(data)} bytes, not {media.size}")
        return data

    def report_rate_limit(
        self,
        *,
        remaining: int | None,
        reset: datetime | float | None,
        limit: int | None = None,
        scope: str = "default",
    ) -> None:
        """Tell the engine the account's budget, from a response's rate-limit headers.

        Args:
            remaining: requests left in the window.
            reset: when the window resets: an aware datetime or epoch seconds.
            limit: the window's size, when known.
            scope: which budget (``"default"``, ``"media"``), when a platform has several.

        A ``reset`` that cannot be a moment (a naive datetime; a number too small for
        epoch seconds, such as the delay ``60``, which would read as 1970; not finite) is
        left out with a warning on :attr:`logger`, and the rest is reported: this is
        called after the platform answered, so it must not fail the call (a write that
        took effect would lose its receipt). The report's ``problem`` says why, and the
        contract kit fails on it.
        """
        reset_at: datetime | None = None
        problem: str | None = None
        shown = repr(reset)[:40]
        given: object = reset  # adapters pass header values: checked, not trusted
        if isinstance(given, bool) or (
            given is not None and not isinstance(given, int | float | datetime)
        ):
            problem = f"reset={shown} is not a moment (give a datetime or epoch seconds)"
        elif isinstance(reset, int | float):
            # False for NaN, the infinities and integers beyond any float alike.
            if not abs(reset) < 1e308:
                problem = f"reset={shown} is not a moment"
            elif reset < _EPOCH_FLOOR:
                problem = (
                    f"reset={reset!r} reads as epoch seconds, "
                    f"{datetime.fromtimestamp(max(0.0, float(reset)), UTC).isoformat()}; "
                    "for a delay, pass reset=ctx.now() + timedelta(seconds=...)"
                )
            else:
                try:
                    reset_at = datetime.fromtimestamp(float(reset), UTC)
                except (OverflowError, OSError, ValueError):
                    problem = f"reset={reset!r} is beyond any date"
        elif reset is not None:
            if reset.tzinfo is None:
                problem = "reset must be timezone-aware or epoch seconds (got a naive datetime)"
            else:
                reset_at = reset
        if problem is not None:
            self.logger.warning("report_rate_limit: %s; the reset is left out", problem)
        self.on_rate_limit(
            RateLimitReport(
                remaining=remaining, reset_at=reset_at, limit=limit, scope=scope, problem=problem
            )
        )

    async def checkpoint(self, part: int, ref: PostRef) -> None:
        """Record durably that thread part ``part`` was published as ``ref``.

        Call it right after each part is accepted; a later attempt then starts after
        the last checkpointed part (see :attr:`published_parts`).
        """
        await self.on_checkpoint(part, ref)

    async def is_claimed(self, post_id: str) -> bool:
        """True when another publication already owns the platform post ``post_id``.

        :meth:`Platform.find_published` uses it so that two publications of the same
        text (an evergreen re-post) are not mistaken for each other.
        """
        return await self.is_claimed_by_other(post_id)

    async def save_credentials(self, credentials: Credentials) -> None:
        """Persist refreshed credentials through the provider (no-op without one)."""
        if self.credential_provider is not None:
            await self.credential_provider.save(self.account, credentials)

    def credentials_lock(self) -> AbstractAsyncContextManager[None]:
        """The provider's per-account lock, held while refreshing credentials."""
        if self.credential_provider is not None:
            return self.credential_provider.lock(self.account)
        return _null_lock()

    def evolve(self, **changes: Any) -> Context:
        """A copy with ``changes`` applied (for example refreshed ``credentials``)."""
        return attrs.evolve(self, **changes)


@asynccontextmanager
async def _null_lock() -> AsyncIterator[None]:
    await asyncio.sleep(0)
    yield
