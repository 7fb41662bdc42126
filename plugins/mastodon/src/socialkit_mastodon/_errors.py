"""Mastodon's answers mapped into socialkit's error taxonomy, and its rate-limit headers.

=========================================  ==========================================
What happened                              What the adapter raises
=========================================  ==========================================
connection refused, connect/pool timeout   :class:`~socialkit.Transient` (nothing was sent)
httpx refuses to send the request          :class:`~socialkit.Rejected` (nothing was sent;
(``LocalProtocolError``,                   sent again, it is refused again)
``UnsupportedProtocol``)
read timeout, broken response on a write   :class:`~socialkit.UnknownOutcome`
the same on a read                         :class:`~socialkit.Transient`
3xx (a redirect: ``http://`` to            :class:`~socialkit.Rejected` naming the
``https://``, another host)                ``Location``: socialkit does not follow
                                           redirects, so nothing was created; the
                                           ``instance`` setting must change
401                                        :class:`~socialkit.NeedsReauth` (Mastodon tokens
                                           do not expire: 401 means revoked or invalid)
403                                        :class:`~socialkit.Forbidden` (a valid token
                                           refused: a scope it lacks, a disabled login);
                                           a ``NeedsReauth``, so a publish waits for a
                                           person, but a metrics read alone fails
408, 425                                   :class:`~socialkit.Transient`
429                                        :class:`~socialkit.RateLimited` (``reset_at``
                                           from ``X-RateLimit-Reset``; ``Retry-After``
                                           in seconds or as an HTTP date)
422 and other 4xx                          :class:`~socialkit.Rejected` with the server's
                                           ``error``
5xx on a write                             :class:`~socialkit.UnknownOutcome`
5xx on a read                              :class:`~socialkit.Transient`
=========================================  ==========================================
"""

from __future__ import annotations

import email.utils
import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from socialkit import (
    Forbidden,
    NeedsReauth,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
    scrub_server_text,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

__all__ = [
    "RateLimitHeaders",
    "error_for_response",
    "parse_reset",
    "parse_retry_after",
    "rate_limit_headers",
    "server_message",
]


_EPOCH_FLOOR = 1_000_000_000  # 2001-09-09: a smaller number is no epoch instant


def parse_reset(value: str | None) -> datetime | None:
    """``X-RateLimit-Reset`` as an aware datetime.

    Mastodon sends an ISO 8601 timestamp (``2025-01-01T12:05:00.123Z``); some servers and
    proxies send epoch seconds, which are accepted too. A number too small to be an epoch
    instant (a delay of ``60``, which would read as a minute into 1970 and have the engine
    ask again at once) and anything else give ``None``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < _EPOCH_FLOOR:
            return None
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):  # past year 9999
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_retry_after(value: str | None) -> tuple[float | None, datetime | None]:
    """``Retry-After`` (RFC 9110): ``(seconds, None)`` for a delay, ``(None, instant)``
    for an HTTP date (``Sat, 14 Mar 2026 16:09:26 GMT``), ``(None, None)`` otherwise."""
    if value is None or not value.strip():
        return None, None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return (max(0.0, seconds), None) if math.isfinite(seconds) else (None, None)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return None, when.astimezone(UTC)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


class RateLimitHeaders:
    """The ``X-RateLimit-*`` headers of one response, parsed."""

    __slots__ = ("limit", "remaining", "reset_at")

    def __init__(self, limit: int | None, remaining: int | None, reset_at: datetime | None):
        self.limit = limit
        self.remaining = remaining
        self.reset_at = reset_at

    @property
    def present(self) -> bool:
        """True when the response carried any of the headers."""
        return not (self.limit is None and self.remaining is None and self.reset_at is None)


def rate_limit_headers(headers: httpx.Headers) -> RateLimitHeaders:
    """Parse ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``."""
    return RateLimitHeaders(
        _int_header(headers, "X-RateLimit-Limit"),
        _int_header(headers, "X-RateLimit-Remaining"),
        parse_reset(headers.get("X-RateLimit-Reset")),
    )


def server_message(response: httpx.Response, secrets: Iterable[str] = ()) -> str:
    """The server's ``error`` (and ``error_description``), or the status line.

    Scrubbed of ``secrets`` (the credential values the request carried) and of anything
    shaped like a credential, on one line, at most 300 characters: a server may echo the
    request in its error.
    """
    return scrub_server_text(_server_text(response), secrets)


def _server_text(response: httpx.Response) -> str:
    try:
        body: Any = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # a nested validation error object
            error = error.get("error")
        description = body.get("error_description")
        if isinstance(error, str) and error:
            if isinstance(description, str) and description and description != error:
                return f"{error}: {description}"
            return error
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def error_for_response(
    response: httpx.Response,
    *,
    operation: str,
    write: bool,
    scope: str = "default",
    secrets: Iterable[str] = (),
) -> PlatformError | None:
    """The error a non-2xx ``response`` means, or ``None`` for a success (a 2xx).

    Args:
        response: the response.
        operation: what was attempted, for the message (``"create status"``).
        write: whether the request could have changed something on the server.
        scope: the rate-limit budget the request counts against (``"media"`` for
            uploads): a 429 holds only that budget.
        secrets: the credential values the request carried, never to be quoted back.
    """
    status = response.status_code
    if status < 300:
        return None
    if status < 400:
        return _redirected(response, operation, secrets)
    message = f"mastodon {operation}: {server_message(response, secrets)}"
    common: dict[str, Any] = {"status_code": status}
    if status == 429:
        reset_at = rate_limit_headers(response.headers).reset_at
        retry_after, retry_at = parse_retry_after(response.headers.get("Retry-After"))
        if retry_at is not None:
            # An HTTP date is an instant, like the reset: the later of the two holds.
            reset_at = retry_at if reset_at is None else max(reset_at, retry_at)
        return RateLimited(
            message, retry_after=retry_after, reset_at=reset_at, scope=scope, **common
        )
    if status == 403:
        # The token is good but may not do this (Mastodon: "This action is outside the
        # authorized scopes"; a login disabled or unconfirmed answers 403 too).
        return Forbidden(f"{message} (reconnect the account: socialkit auth mastodon)", **common)
    if status == 401:
        return NeedsReauth(f"{message} (reconnect the account: socialkit auth mastodon)", **common)
    if status in (408, 425):
        return Transient(message, **common)
    if status >= 500:
        if write:
            return UnknownOutcome(message, **common)
        return Transient(message, **common)
    return Rejected(message, **common)


def _redirected(response: httpx.Response, operation: str, secrets: Iterable[str]) -> Rejected:
    """A 3xx: the engine's client follows no redirect, so the request did nothing there.

    Usually ``settings.instance`` says ``http://`` for a server that lives on ``https://``,
    or names a host that moved: sending again would be redirected again, so the answer is
    :class:`~socialkit.Rejected` (not :class:`~socialkit.Transient`), naming where the
    server points. On a status ``POST`` nothing was created: not
    :class:`~socialkit.UnknownOutcome` either.
    """
    status = response.status_code
    raw = response.headers.get("Location") or ""
    hint = ""
    try:
        target = urlsplit(raw)
        if target.scheme in ("http", "https") and target.hostname:
            host = f"[{target.hostname}]" if ":" in target.hostname else target.hostname
            server = f"{target.scheme}://{host}"
            server += f":{target.port}" if target.port else ""
            hint = f" (it points to {server})"
            raw = target._replace(netloc=server.split("://", 1)[1]).geturl()  # no user:pass@
    except ValueError:  # a port that is no number
        raw = raw.rpartition("@")[2]
    location = scrub_server_text(raw, secrets)
    where = f"redirecting to {location}" if location else "a redirect without a Location"
    return Rejected(
        f"mastodon {operation}: the server answered HTTP {status} {response.reason_phrase}, "
        f"{where}; socialkit does not follow redirects, so nothing was done. Set the "
        f"account's settings.instance to the server's own address{hint}",
        status_code=status,
    )
