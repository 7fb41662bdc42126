"""XRPC over the engine's shared ``httpx.AsyncClient``, with every failure mapped to socialkit's taxonomy.

How a failure is classified (the engine reads the class, never the message):

==================================================  ==========================================
what happened                                       raised
==================================================  ==========================================
connection refused, connect/pool timeout            ``Transient`` (the request never left)
a bearer token no HTTP header can carry             ``NeedsReauth`` (nothing is sent)
httpx refuses to send the request                   ``Rejected`` (nothing was sent, and sending
(``LocalProtocolError``, ``UnsupportedProtocol``)   again would be refused the same way)
read/write timeout or broken connection             ``UnknownOutcome`` on a write; ``Transient``
                                                    on a read or a harmless call
429 or ``RateLimitExceeded``                        ``RateLimited`` (``Retry-After``,
                                                    ``RateLimit-Reset``)
``ExpiredToken``, ``InvalidToken``, other 401       ``AuthExpired`` (refresh, then retry)
``AccountTakedown``/``AccountDeactivated``/…        ``NeedsReauth``
408, 425                                            ``Transient``
501                                                 ``Unsupported``
other 5xx                                           ``UnknownOutcome`` on a write; ``Transient``
                                                    otherwise
any other 4xx (``InvalidRequest`` …)                ``Rejected`` with the server's message
a 2xx whose body is not JSON (a proxy's page)       ``UnknownOutcome`` on a write; ``Transient``
                                                    otherwise
==================================================  ==========================================

Every response's ``RateLimit-*`` headers (no ``X-`` prefix on atproto) are reported through
``ctx.report_rate_limit``. Tokens travel in the ``Authorization`` header only and never
appear in a message: httpx's own text of a failure (which may quote the header) is
scrubbed of the request's secrets before it is quoted.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from socialkit import (
    AuthExpired,
    NeedsReauth,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
    Unsupported,
    request_secrets,
    scrub_server_text,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

    from socialkit import Context

__all__ = ["XrpcClient", "clean_token", "error_for_response"]

_REAUTH_ERRORS = frozenset(
    {"AccountTakedown", "AccountDeactivated", "AccountSuspended", "AccountDeleted"}
)
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"})
_NOT_PROCESSED = frozenset({408, 425})


def clean_token(value: str | None) -> str | None:
    """A stored token as it is sent: without the white space around it that a secrets file
    or variable edited by hand leaves (a trailing newline); ``None`` when there is none, or
    when what is left is no token (white space, control or non-ASCII characters inside:
    no atproto token holds one, and an HTTP client refuses such a header)."""
    if value is None:
        return None
    token = value.strip()
    if not token or not all("!" <= char <= "~" for char in token):
        return None
    return token


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except (ValueError, OverflowError):  # junk, NaN, infinity
        return None


def _retry_after(headers: httpx.Headers, now: datetime) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


_EPOCH_FLOOR = 1_000_000_000  # 2001-09-09: a smaller RateLimit-Reset is no epoch instant


def _reset_at(headers: httpx.Headers) -> datetime | None:
    """``RateLimit-Reset`` (epoch seconds on atproto) as an instant; ``None`` when it is not one.

    A value that is no epoch instant (a delay of ``60``, a negative or absurd number) is
    left out rather than read as a date in 1970 or raised about: the header comes with an
    answer, often one to a write that took effect.
    """
    reset = _int_header(headers, "ratelimit-reset")
    if reset is None or reset < _EPOCH_FLOOR:
        return None
    try:
        return datetime.fromtimestamp(reset, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _error_body(response: httpx.Response, secrets: Iterable[str]) -> tuple[str | None, str]:
    """The server's error code and message, scrubbed of ``secrets`` and of anything shaped
    like a credential (a server may echo the request), each on one line and capped."""
    try:
        data = response.json()
    except ValueError:
        return None, scrub_server_text(response.text, secrets)
    if not isinstance(data, dict):
        return None, ""
    code = data.get("error")
    message = data.get("message")
    return (
        scrub_server_text(str(code), secrets)[:100] if code else None,
        scrub_server_text(str(message), secrets) if message else "",
    )


def error_for_response(
    response: httpx.Response,
    nsid: str,
    *,
    write: bool,
    now: datetime,
    secrets: Iterable[str] = (),
) -> PlatformError:
    """The taxonomy error for a non-2xx XRPC ``response`` to ``nsid``.

    Args:
        response: the answer.
        nsid: the method called (named in the message).
        write: whether the call changes the repository (a 5xx then leaves its effect unknown).
        now: the current instant, to turn an HTTP-date ``Retry-After`` into seconds.
        secrets: the credential values the request carried, never to be quoted back.
    """
    status = response.status_code
    code, message = _error_body(response, secrets)
    text = f"Bluesky {nsid} answered {status}"
    if code:
        text += f" {code}"
    if message:
        text += f": {message}"
    common: dict[str, Any] = {"status_code": status, "platform_code": code}
    if status == 429 or code == "RateLimitExceeded":
        return RateLimited(
            text,
            retry_after=_retry_after(response.headers, now),
            reset_at=_reset_at(response.headers),
            **common,
        )
    if code in _REAUTH_ERRORS:
        return NeedsReauth(text, **common)
    if code in _TOKEN_ERRORS or status == 401:
        return AuthExpired(text, **common)
    if status in _NOT_PROCESSED:
        return Transient(text, **common)
    if status == 501:
        return Unsupported(text, **common)
    if status >= 500:
        return UnknownOutcome(text, **common) if write else Transient(text, **common)
    return Rejected(text, **common)


class XrpcClient:
    """Calls XRPC methods on one service for one adapter call.

    Args:
        ctx: the adapter call's context (its ``http`` client, clock and rate-limit report).
        service: the base URL (``https://bsky.social``), without a trailing slash.
    """

    def __init__(self, ctx: Context, service: str) -> None:
        self.ctx = ctx
        self.service = service.rstrip("/")

    def __repr__(self) -> str:
        return f"XrpcClient({self.service!r})"

    async def query(
        self,
        nsid: str,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        *,
        token: str | None = None,
        service: str | None = None,
        scope: str = "default",
    ) -> dict[str, Any]:
        """A GET (an XRPC query); it changes nothing, so a lost answer is :class:`Transient`.

        Args:
            nsid: the method.
            params: the query parameters.
            token: the bearer token.
            service: another base URL than the client's (an AppView).
            scope: the rate-limit budget the response headers describe.
        """
        return await self._call(
            "GET", nsid, params=params, token=token, write=False, service=service, scope=scope
        )

    async def procedure(
        self,
        nsid: str,
        body: dict[str, Any] | None = None,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        token: str | None = None,
        write: bool = True,
        scope: str = "default",
    ) -> dict[str, Any]:
        """A POST (an XRPC procedure).

        Args:
            nsid: the method.
            body: a JSON body.
            content, content_type: a raw body instead (``uploadBlob``).
            token: the bearer token.
            write: whether a lost answer leaves the effect unknown (``False`` for calls
                that are harmless to repeat: sessions, blob uploads, deletes).
            scope: the rate-limit budget the response headers describe.
        """
        return await self._call(
            "POST",
            nsid,
            json=body,
            content=content,
            content_type=content_type,
            token=token,
            write=write,
            scope=scope,
        )

    async def _call(
        self,
        method: str,
        nsid: str,
        *,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        token: str | None = None,
        write: bool,
        scope: str = "default",
        service: str | None = None,
    ) -> dict[str, Any]:
        import httpx  # imported on first call: loading the plugin stays cheap

        base = (service or self.service).rstrip("/")
        url = f"{base}/xrpc/{nsid}"
        if params:
            url += "?" + urlencode(params)
        headers = {"accept": "application/json"}
        if token:
            sendable = clean_token(token)
            if sendable is None:
                raise NeedsReauth(
                    f"Bluesky {nsid}: the session token of account {self.ctx.account.id!r} "
                    "is not an atproto token (it holds spaces, control or non-ASCII "
                    "characters; the value is not shown); nothing was sent. Remove the "
                    "stored session (access_jwt, refresh_jwt) so the app password logs in "
                    "again, then: socialkit accounts reconnect " + self.ctx.account.id
                )
            headers["authorization"] = f"Bearer {sendable}"
        if content_type:
            headers["content-type"] = content_type
        try:
            response = await self.ctx.http.request(
                method, url, json=json, content=content, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(
                f"Bluesky {nsid}: could not reach {base} ({self._describe(exc, json, token)})"
            ) from None
        except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
            # httpx refused the request before sending it (a header or URL it cannot
            # send): nothing happened, and sending it again would be refused the same way.
            raise Rejected(
                f"Bluesky {nsid}: the request to {base} could not be sent; nothing was sent "
                f"({self._describe(exc, json, token)})"
            ) from None
        except httpx.TransportError as exc:
            what = f"Bluesky {nsid}: the answer was lost ({self._describe(exc, json, token)})"
            if write:
                raise UnknownOutcome(what + "; the write may have happened") from None
            raise Transient(what) from None
        self._report(response, scope)
        if response.is_success:
            if not response.content:
                return {}
            try:
                data = response.json()
            except ValueError:
                what = (
                    f"Bluesky {nsid} answered {response.status_code} with a body that is not JSON"
                )
                if write:
                    raise UnknownOutcome(what + "; the write may have happened") from None
                raise Transient(what) from None
            return data if isinstance(data, dict) else {"value": data}
        raise error_for_response(
            response,
            nsid,
            write=write,
            now=self.ctx.now(),
            secrets=request_secrets(self.ctx.credentials, json, sent=[token]),
        )

    def _describe(self, exc: Exception, body: dict[str, Any] | None, token: str | None) -> str:
        """httpx's failure as ``Name: text``, its text scrubbed of the request's secrets
        (httpx quotes a header it refuses, ``Authorization`` included)."""
        sent = [token, token.strip() if token else None]
        secrets = request_secrets(self.ctx.credentials, body, sent=sent)
        return scrub_server_text(f"{type(exc).__name__}: {exc}", secrets)

    def _report(self, response: httpx.Response, scope: str) -> None:
        headers = response.headers
        remaining = _int_header(headers, "ratelimit-remaining")
        reset_at = _reset_at(headers)
        if remaining is None and reset_at is None:
            return
        self.ctx.report_rate_limit(
            remaining=remaining,
            reset=reset_at,
            limit=_int_header(headers, "ratelimit-limit"),
            scope=scope,
        )
