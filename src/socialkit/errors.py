"""Every exception socialkit raises, in one tree.

Adapters map each platform error into the :class:`PlatformError` branch; the engine reads
the class, never the message, to decide what happens next::

    SocialkitError                     base of everything below
    ├── ConfigError                    bad project file, store URL, account or option
    ├── InvalidPost                    a post does not fit its targets (``.problems``)
    ├── CredentialsError               credentials missing or unreadable (names the key, never the value)
    ├── PluginError                    a plugin failed to import, register or match the contract
    ├── UnknownPlatform                no installed plugin provides this platform name
    ├── StoreError                     the store refused or failed an operation
    │   ├── StaleTransition            a conditional update lost a race (state or attempt moved on)
    │   └── SlotTaken                  a posting slot picked as free was taken meanwhile (``.slots``)
    └── PlatformError                  raised by adapters
        ├── RateLimited                slow down; ``retry_after`` / ``reset_at`` say until when
        ├── Transient                  the request provably did not take effect; safe to retry
        ├── UnknownOutcome             a write whose effect is unknown (read timeout, 5xx after sending)
        ├── AuthExpired                refresh the credentials once, then retry
        ├── NeedsReauth                a person must reconnect the account
        │   └── Forbidden              valid credentials, not allowed this call (a scope, a permission)
        └── Rejected                   permanent; the platform said no (``reason``)
            └── Unsupported            the platform cannot do this at all (delete, metrics, …)

Messages never contain secrets: adapters put the platform's error text in them, never a
request header or a token.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from socialkit.models.problems import Problem

__all__ = [
    "AuthExpired",
    "ConfigError",
    "CredentialsError",
    "Forbidden",
    "InvalidPost",
    "NeedsReauth",
    "PlatformError",
    "PluginError",
    "RateLimited",
    "Rejected",
    "SlotTaken",
    "SocialkitError",
    "StaleTransition",
    "StoreError",
    "Transient",
    "UnknownOutcome",
    "UnknownPlatform",
    "Unsupported",
]


class SocialkitError(Exception):
    """Base class of every exception socialkit raises on purpose."""


class ConfigError(SocialkitError):
    """A project file, store URL, account or option is wrong; the message names it."""


class CredentialsError(SocialkitError):
    """Credentials for an account are missing or unreadable.

    The message names the account and the missing key, never a secret value.
    """


class UnknownPlatform(SocialkitError):
    """No installed plugin provides the requested platform."""

    def __init__(self, name: str, available: Sequence[str] = ()) -> None:
        self.name = name
        self.available = tuple(available)
        hint = f"; installed: {', '.join(sorted(self.available))}" if self.available else ""
        super().__init__(f"unknown platform {name!r}{hint}")


class PluginError(SocialkitError):
    """A plugin could not be used; the registry reports it and skips it."""

    def __init__(self, plugin: str, message: str, *, distribution: str | None = None) -> None:
        self.plugin = plugin
        self.distribution = distribution
        where = f" (from {distribution})" if distribution else ""
        super().__init__(f"plugin {plugin!r}{where}: {message}")


class InvalidPost(SocialkitError):
    """A post has problems for one or more targets.

    Attributes:
        problems: every problem found, each naming the field, the limit and the value.
    """

    def __init__(self, problems: Sequence[Problem], *, subject: str = "post") -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "; ".join(p.describe() for p in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{subject} is invalid: {lines}{more}")


class StoreError(SocialkitError):
    """The store refused or failed an operation."""


class StaleTransition(StoreError):
    """A conditional update found the row in another state or attempt: someone else moved it."""


class SlotTaken(StoreError):
    """A publication that had to take a free posting slot found it held, in the insert's
    own transaction, by another publication of its account (one another process stored
    after the slot was picked); nothing of that insert was stored.

    ``queue()`` and evergreen comebacks catch it and pick again; it reaches a caller only
    when the slots picked kept being taken.

    Attributes:
        slots: ``(workspace, account_id, due_at)`` of each slot found taken.
    """

    def __init__(self, message: str, slots: Sequence[tuple[str, str, datetime]] = ()) -> None:
        self.slots = tuple(slots)
        super().__init__(message)


class PlatformError(SocialkitError):
    """Base of the errors adapters raise; the subclass tells the engine what to do.

    Args:
        message: the platform's own explanation, safe to log (no secrets).
        status_code: the HTTP status, when there was one.
        platform_code: the platform's machine-readable error code (``"InvalidRequest"``).
        details: extra data safe to store in the publication's history.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int | None = None,
        platform_code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or type(self).__name__
        self.status_code = status_code
        self.platform_code = platform_code
        self.details = dict(details or {})
        super().__init__(self.message)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for a publication's history."""
        out: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.status_code is not None:
            out["status_code"] = self.status_code
        if self.platform_code is not None:
            out["platform_code"] = self.platform_code
        if self.details:
            out["details"] = self.details
        return out


class RateLimited(PlatformError):
    """The platform asked us to slow down.

    Args:
        retry_after: seconds to wait (a number, or a ``timedelta``, kept as its seconds),
            when the platform said so.
        reset_at: when the budget resets (an aware datetime), when the platform said so.
        scope: which budget ran out (``"default"``, or one a platform keeps apart, such
            as ``"media"`` for uploads), as in ``ctx.report_rate_limit``. The engine holds
            the whole account until then for the default budget; for another one, only
            the publication that met it waits.

    Raises:
        TypeError: ``retry_after`` is not a number of seconds or a ``timedelta`` (a
            ``Retry-After`` header's text, say: read it first), or ``reset_at`` is not
            a datetime (an epoch number from a reset header: convert it).
        ValueError: ``retry_after`` is not finite, or ``reset_at`` is naive.
    """

    def __init__(
        self,
        message: str = "rate limited",
        *,
        retry_after: float | timedelta | None = None,
        reset_at: datetime | None = None,
        scope: str = "default",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        # Checked here, where the adapter raises it: a wrong type found only when the
        # engine reads it would break the engine's handling of the rate limit instead
        # (a publish left ``publishing``, a metric collection left leased).
        if isinstance(retry_after, timedelta):
            retry_after = retry_after.total_seconds()
        elif retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int | float)
        ):
            raise TypeError(
                "retry_after: expected seconds (a number) or a datetime.timedelta, or None "
                f"(got {type(retry_after).__name__} {retry_after!r})"
            )
        if retry_after is not None and not math.isfinite(retry_after):
            raise ValueError(f"retry_after: must be a finite number of seconds (got {retry_after})")
        if reset_at is not None and not isinstance(reset_at, datetime):
            raise TypeError(
                "reset_at: expected an aware datetime.datetime, or None "
                f"(got {type(reset_at).__name__} {reset_at!r})"
            )
        if reset_at is not None and reset_at.tzinfo is None:
            raise ValueError("reset_at must be timezone-aware")
        self.retry_after: float | None = retry_after
        self.reset_at = reset_at
        self.scope = scope

    def resume_at(self, now: datetime) -> datetime | None:
        """The earliest instant a retry makes sense, or ``None`` when unknown."""
        candidates = []
        if self.retry_after is not None:
            candidates.append(now + timedelta(seconds=max(0.0, self.retry_after)))
        if self.reset_at is not None:
            candidates.append(self.reset_at.astimezone(UTC))
        return max(candidates) if candidates else None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        if self.reset_at is not None:
            out["reset_at"] = self.reset_at.isoformat()
        if self.scope != "default":
            out["scope"] = self.scope
        return out


class Transient(PlatformError):
    """The request provably did not take effect (connection refused, connect timeout)."""


class UnknownOutcome(PlatformError):
    """A write was sent and its effect is unknown; reconcile before anything else."""


class AuthExpired(PlatformError):
    """The access token expired; refresh once through the provider, then retry."""


class NeedsReauth(PlatformError):
    """The account's credentials were revoked or are missing; a person must reconnect it."""


class Forbidden(NeedsReauth):
    """The credentials are valid but may not make this call: a permission or OAuth scope
    they were not granted (HTTP 403 on most platforms, where 401 means the credentials
    themselves are bad). A person must grant it, usually by connecting the account
    again with the missing scope.

    What the engine does depends on the call. From ``publish`` (or a refresh), it is a
    :class:`NeedsReauth`: the account is marked as waiting for a person and its
    publications wait. From ``fetch_metrics``, only that read is refused: the account is
    not marked (it may still publish), and the collection is tried again after the
    backoff delay, counted, then given up with the error recorded, as a
    :class:`Transient` one is.
    """


class Rejected(PlatformError):
    """The platform refused permanently; ``message`` holds its reason."""

    @property
    def reason(self) -> str:
        return self.message


class Unsupported(Rejected):
    """The platform cannot do this at all (for example, delete or metrics)."""
