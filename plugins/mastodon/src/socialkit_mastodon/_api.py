"""One Mastodon server as the adapter talks to it: URLs, auth, errors, rate-limit reports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from socialkit import (
    ConfigError,
    CredentialsError,
    NeedsReauth,
    Rejected,
    Transient,
    UnknownOutcome,
    request_secrets,
)
from socialkit_mastodon._errors import error_for_response, rate_limit_headers, server_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from socialkit import Account, Context

__all__ = ["MastodonApi", "instance_url"]

_USER_AGENT = "socialkit-mastodon"


def instance_url(value: object, *, account_id: str | None = None) -> str:
    """The server's base URL (``https://host[:port]``) from an ``instance`` setting.

    ``mastodon.social``, ``https://mastodon.social`` and ``https://mastodon.social/`` all
    give ``https://mastodon.social``. Plain ``http`` is kept when written out (a server
    on loopback in tests).

    Raises:
        ConfigError: the setting is missing or not a server address.
    """
    who = f"mastodon account {account_id!r}" if account_id else "mastodon"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{who} needs settings.instance, the server's address "
            "(for example 'https://mastodon.social')"
        )
    raw = value.strip()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{who}: settings.instance {value!r} is not an http(s) server address")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"{who}: settings.instance {value!r} must be the server's address alone, "
            "without a path (for example 'https://mastodon.social')"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def account_instance(account: Account) -> str:
    """The base URL of ``account``'s server."""
    return instance_url(account.setting("instance"), account_id=account.id)


class MastodonApi:
    """Requests to one server on behalf of one context.

    Every response's ``X-RateLimit-*`` headers go to ``ctx.report_rate_limit`` (scope
    ``media`` for uploads, which have their own budget), and every failure is raised as
    the :mod:`socialkit.errors` class that tells the engine what to do.
    """

    def __init__(self, ctx: Context, base_url: str | None = None) -> None:
        self.ctx = ctx
        self.base_url = base_url or account_instance(ctx.account)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def auth_command(self) -> str:
        """The command that connects this account (and saves its token)."""
        return f"socialkit auth mastodon --instance {self.base_url} --account {self.ctx.account.id}"

    def reconnect_hint(self) -> str:
        """The commands that connect this account again, for a :class:`NeedsReauth`."""
        return (
            f"connect it again with: {self.auth_command()}, "
            f"then socialkit accounts reconnect {self.ctx.account.id}"
        )

    def _auth_headers(self) -> dict[str, str]:
        try:
            token = self.ctx.credentials.require("access_token")
        except CredentialsError as exc:
            # exc names where the provider looked (an environment variable, a file)
            raise NeedsReauth(
                f"mastodon: {exc}. socialkit auth mastodon saves the token to a secrets "
                "file (.socialkit/secrets.json unless --secrets says otherwise): read it with "
                "socialkit.FileCredentialProvider(path), or in socialkit.toml with "
                '[credentials] provider = "file" and path = "<the file>". Not connected yet? '
                f"Run: {self.auth_command()}"
            ) from None
        # A secrets file or variable often ends in a newline; a token never holds white
        # space, and an HTTP client refuses a header that does (or any non-ASCII).
        token = token.strip()
        if not token or not all("!" <= c <= "~" for c in token):
            account_id = self.ctx.account.id
            raise NeedsReauth(
                f"mastodon account {account_id!r}: its access_token is not a Mastodon access "
                "token (it holds spaces, control or non-ASCII characters; the value is not "
                f"shown); {self.reconnect_hint()}"
            )
        return {"Authorization": f"Bearer {token}"}

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        write: bool = False,
        auth: bool = True,
        scope: str = "default",
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; a 2xx response is returned, anything else raised.

        Args:
            method: the HTTP method.
            path: the path on the server (``/api/v1/statuses``).
            operation: what this is, for messages (``"create status"``).
            write: whether the request can change something on the server; decides
                between :class:`Transient` and :class:`UnknownOutcome` when the answer is
                lost or is a server error.
            auth: send the account's access token.
            scope: the rate-limit budget the response reports on.
            params, json_body, files, data, headers: as for :meth:`httpx.AsyncClient.request`.
        """
        all_headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if auth:
            all_headers.update(self._auth_headers())
        all_headers.update(headers or {})
        try:
            response = await self.ctx.http.request(
                method,
                self.url(path),
                params=dict(params) if params else None,
                json=dict(json_body) if json_body is not None else None,
                files=dict(files) if files else None,
                data=dict(data) if data else None,
                headers=all_headers,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(
                f"mastodon {operation}: could not reach {self.base_url} ({type(exc).__name__})"
            ) from None
        except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
            # httpx refused to send the request (a header or URL it cannot send): nothing
            # was sent, and sending it again would be refused the same way.
            raise Rejected(
                f"mastodon {operation}: the request to {self.base_url} could not be sent "
                f"({type(exc).__name__}); nothing was sent"
            ) from None
        except httpx.TransportError as exc:
            # Sent (at least partly) and no answer: the server may have acted on it.
            what = f"mastodon {operation}: no answer from {self.base_url} ({type(exc).__name__})"
            if write:
                raise UnknownOutcome(what) from None
            raise Transient(what) from None
        self._report(response, scope)
        secrets = request_secrets(self.ctx.credentials, data, json_body)
        error = error_for_response(
            response, operation=operation, write=write, scope=scope, secrets=secrets
        )
        if isinstance(error, NeedsReauth) and auth:
            # the token was revoked, lacks a scope, or the login is disabled: say how to
            # connect it again (a Forbidden stays one: a metrics read alone fails)
            raise type(error)(
                f"mastodon {operation}: {server_message(response, secrets)} "
                f"(account {self.ctx.account.id!r}; {self.reconnect_hint()})",
                status_code=error.status_code,
            )
        if error is not None:
            raise error
        return response

    def _report(self, response: httpx.Response, scope: str) -> None:
        limits = rate_limit_headers(response.headers)
        if limits.present:
            self.ctx.report_rate_limit(
                remaining=limits.remaining, reset=limits.reset_at, limit=limits.limit, scope=scope
            )

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, then the JSON body (see :func:`decode_json` when it is not JSON)."""
        response = await self.request(method, path, **kwargs)
        return decode_json(
            response, kwargs.get("operation", path), write=bool(kwargs.get("write", False))
        )


def decode_json(response: httpx.Response, operation: str, *, write: bool = False) -> Any:
    """The JSON body of ``response``.

    A body that is not JSON (a proxy's or captive portal's page) is :class:`Transient` on a
    read, which changed nothing and may get through later, and :class:`UnknownOutcome` on
    a write, which may still have taken effect.
    """
    try:
        return json.loads(response.content)
    except ValueError:
        message = (
            f"mastodon {operation}: the server answered HTTP {response.status_code} "
            "without a JSON body"
        )
        if write:
            raise UnknownOutcome(message, status_code=response.status_code) from None
        raise Transient(message, status_code=response.status_code) from None
