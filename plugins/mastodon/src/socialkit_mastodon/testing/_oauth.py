"""OAuth 2 with PKCE, as the fake server answers it: apps, the approval step, tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from socialkit_mastodon.testing._documented import documented, message_response

if TYPE_CHECKING:
    import itertools
    from datetime import datetime

__all__ = ["OAuthEndpoints"]


class OAuthEndpoints:
    """``POST /api/v1/apps``, the person's approval at ``/oauth/authorize``, ``POST /oauth/token``."""

    base_url: str
    apps: dict[str, dict[str, Any]]
    _codes: dict[str, dict[str, str]]
    _ids: itertools.count[int]

    def issue_token(self) -> str:
        raise NotImplementedError

    def _register_app(self, request: httpx.Request, now: datetime) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if not body.get("client_name") or not body.get("redirect_uris"):
            return message_response(422, "Validation failed: Application name can't be blank")
        app: dict[str, Any] = documented("application")
        redirect_uris = body["redirect_uris"]
        if isinstance(redirect_uris, str):
            redirect_uris = redirect_uris.split()
        app.update(
            id=str(next(self._ids)),
            name=body["client_name"],
            website=body.get("website"),
            scopes=str(body.get("scopes") or "read").split(),
            redirect_uri="\n".join(redirect_uris),
            redirect_uris=redirect_uris,
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(32),
        )
        self.apps[app["client_id"]] = app
        return httpx.Response(200, json=app)

    def authorize(self, url: str) -> str:
        """Approve an ``/oauth/authorize`` address as the person would; the code shown.

        Raises:
            ValueError: the address is not one this server would accept.
        """
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url or parts.path != "/oauth/authorize":
            raise ValueError(f"not this server's authorization address: {url}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            raise ValueError("unknown client_id")
        if query.get("response_type") != "code":
            raise ValueError("response_type must be code")
        if query.get("redirect_uri") not in app["redirect_uris"]:
            raise ValueError("redirect_uri was not registered")
        if not set(query.get("scope", "read").split()) <= set(app["scopes"]):
            raise ValueError("scope is not a subset of the app's scopes")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            raise ValueError("PKCE with S256 is required by this fake")
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "client_id": app["client_id"],
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "scope": query.get("scope", "read"),
        }
        return code

    def _token(self, request: httpx.Request, now: datetime) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        app = self.apps.get(body.get("client_id", ""))
        if app is None or body.get("client_secret") != app["client_secret"]:
            return httpx.Response(401, json=documented("error_oauth"))
        grant = self._codes.pop(body.get("code", ""), None)
        verifier = str(body.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            body.get("grant_type") != "authorization_code"
            or grant is None
            or grant["client_id"] != app["client_id"]
            or grant["redirect_uri"] != body.get("redirect_uri")
            or grant["challenge"] != challenge
        ):
            return httpx.Response(400, json=documented("error_oauth"))
        token: dict[str, Any] = documented("token")
        token.update(
            access_token=self.issue_token(), scope=grant["scope"], created_at=int(now.timestamp())
        )
        return httpx.Response(200, json=token)
