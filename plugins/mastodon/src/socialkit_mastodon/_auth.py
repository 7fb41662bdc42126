"""Connecting an account: register an app, authorise with OAuth 2 + PKCE, save the token.

The flow a person goes through (``socialkit auth mastodon --instance URL``)::

    app = await register_app(http, "https://mastodon.social")
    pkce = Pkce.generate()
    print(authorization_url(app, pkce))          # the person opens it and approves
    credentials = await exchange_code(http, app, code, pkce)
    await provider.save(account, credentials)

Mastodon access tokens do not expire; a token stops working only when the person revokes
it, and then the account must be connected again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import attrs
from pydantic import SecretStr

from socialkit import Credentials, NeedsReauth, Rejected, Transient
from socialkit_mastodon._api import instance_url
from socialkit_mastodon._errors import error_for_response

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_SCOPES",
    "OOB_REDIRECT_URI",
    "AppRegistration",
    "Pkce",
    "authorization_url",
    "exchange_code",
    "register_app",
]

OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
"""The redirect URI that makes the server show the code to the person instead."""

DEFAULT_SCOPES = "read write"
"""Publishing needs ``write:statuses`` and ``write:media``; metrics and lookups ``read``."""

_VERIFIER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


@attrs.frozen(kw_only=True, repr=False)
class Pkce:
    """A PKCE pair (RFC 7636): the secret verifier and its S256 challenge."""

    verifier: str
    challenge: str
    method: str = "S256"

    def __repr__(self) -> str:
        return f"Pkce(method={self.method!r}, challenge={self.challenge!r})"

    @classmethod
    def generate(cls, length: int = 64) -> Pkce:
        """A fresh verifier of ``length`` (43..128) unreserved characters."""
        if not 43 <= length <= 128:
            raise ValueError(f"a PKCE verifier has 43 to 128 characters (got {length})")
        verifier = "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(length))
        return cls(verifier=verifier, challenge=s256_challenge(verifier))


def s256_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@attrs.frozen(kw_only=True)
class AppRegistration:
    """An application registered on one server (``POST /api/v1/apps``).

    The client secret is a :class:`~pydantic.SecretStr`; it never shows in a repr.
    """

    instance: str
    client_id: str
    client_secret: SecretStr
    redirect_uri: str = OOB_REDIRECT_URI
    scopes: str = DEFAULT_SCOPES


def _raise_for(response: httpx.Response, operation: str, secrets: list[str]) -> Any:
    error = error_for_response(response, operation=operation, write=True, secrets=secrets)
    if error is not None:
        raise error
    try:
        return json.loads(response.content)
    except ValueError:
        raise Rejected(f"mastodon {operation}: the answer is not JSON") from None


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, Any], operation: str) -> Any:
    import httpx

    try:
        response = await http.post(url, json=body, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise Transient(
            f"mastodon {operation}: {url} did not answer ({type(exc).__name__})"
        ) from None
    # A server that echoes the request must not put the code or client secret in a message.
    secrets = [str(body[k]) for k in ("client_secret", "code", "code_verifier") if body.get(k)]
    return _raise_for(response, operation, secrets)


async def register_app(
    http: httpx.AsyncClient,
    instance: str,
    *,
    client_name: str = "socialkit",
    redirect_uri: str = OOB_REDIRECT_URI,
    scopes: str = DEFAULT_SCOPES,
    website: str | None = None,
) -> AppRegistration:
    """Register an application on ``instance`` (``POST /api/v1/apps``)."""
    base = instance_url(instance)
    body: dict[str, Any] = {
        "client_name": client_name,
        "redirect_uris": [redirect_uri],
        "scopes": scopes,
    }
    if website:
        body["website"] = website
    data = await _post(http, f"{base}/api/v1/apps", body, "register app")
    if not isinstance(data, dict) or not data.get("client_id") or not data.get("client_secret"):
        raise Rejected("mastodon register app: the answer has no client_id and client_secret")
    return AppRegistration(
        instance=base,
        client_id=str(data["client_id"]),
        client_secret=SecretStr(str(data["client_secret"])),
        redirect_uri=redirect_uri,
        scopes=scopes,
    )


def authorization_url(
    app: AppRegistration,
    pkce: Pkce,
    *,
    state: str | None = None,
    force_login: bool = False,
    lang: str | None = None,
) -> str:
    """The ``/oauth/authorize`` address the person opens to approve the app."""
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": app.scopes,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
    }
    if state:
        params["state"] = state
    if force_login:
        params["force_login"] = "true"
    if lang:
        params["lang"] = lang
    return f"{app.instance}/oauth/authorize?{urlencode(params)}"


async def exchange_code(
    http: httpx.AsyncClient, app: AppRegistration, code: str, pkce: Pkce
) -> Credentials:
    """Trade the authorisation code for an access token (``POST /oauth/token``).

    Returns:
        Credentials with ``access_token`` and the app's ``client_id`` and
        ``client_secret`` (kept so the token can be revoked later).

    Raises:
        NeedsReauth: the code was wrong, used or expired (the server's ``invalid_grant``).
    """
    body = {
        "grant_type": "authorization_code",
        "code": code.strip(),
        "client_id": app.client_id,
        "client_secret": app.client_secret.get_secret_value(),
        "redirect_uri": app.redirect_uri,
        "code_verifier": pkce.verifier,
        "scope": app.scopes,
    }
    try:
        data = await _post(http, f"{app.instance}/oauth/token", body, "exchange code")
    except Rejected as exc:
        if exc.status_code in (400, 401):
            raise NeedsReauth(
                f"{exc.message} (the code may be mistyped, used already, or expired)",
                status_code=exc.status_code,
            ) from None
        raise
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise Rejected("mastodon exchange code: the answer has no access_token")
    return Credentials().with_values(
        access_token=token,
        client_id=app.client_id,
        client_secret=app.client_secret.get_secret_value(),
    )
