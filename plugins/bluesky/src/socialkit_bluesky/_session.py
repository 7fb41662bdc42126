"""Sessions: an app password traded for JWTs once, then shared through the credential provider.

``createSession`` is limited to 30 calls per 5 minutes per account, so a session is
created once and stored through the account's :class:`~socialkit.CredentialProvider`;
every worker process loads it from there. Credential keys:

``app_password``  the app password (``xxxx-xxxx-xxxx-xxxx``), needed to create a session
``identifier``    optional login name (handle, DID or e-mail); by default the account's
                  DID when known, otherwise its handle
``access_jwt``, ``refresh_jwt``, ``did``, ``handle``  the stored session (written by the adapter)

``Credentials.expires_at`` holds the access token's expiry (its JWT ``exp`` claim).

Stored values are read without the white space around them (a secrets file or variable
edited by hand often ends in a newline, which no HTTP header can carry). A stored token
that is still no token is not used: a new session (from the refresh token, else the app
password) replaces it. An app password with control characters in it is refused before it is sent
(``NeedsReauth``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from socialkit import AuthExpired, CredentialsError, NeedsReauth, Rejected
from socialkit_bluesky._xrpc import clean_token

if TYPE_CHECKING:
    from socialkit import Account, Context, Credentials
    from socialkit_bluesky._xrpc import XrpcClient

__all__ = [
    "REFRESH_MARGIN",
    "Session",
    "create_session",
    "ensure_session",
    "jwt_expiry",
    "login_identifier",
    "renew_session",
]

REFRESH_MARGIN = timedelta(minutes=5)
"""A stored access token this close to its expiry is refreshed before use."""

_INVALID_HANDLE = "handle.invalid"  # what atproto shows for a handle that fails verification


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT (not verified: the server checks signatures), or ``None``."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


@attrs.frozen
class Session:
    """An atproto session: the tokens and who they belong to. Tokens never show in a repr."""

    access_jwt: str = attrs.field(repr=False)
    refresh_jwt: str = attrs.field(repr=False)
    did: str
    handle: str
    expires_at: datetime | None = None

    @classmethod
    def from_credentials(cls, credentials: Credentials) -> Session | None:
        """The session stored in ``credentials``, or ``None`` when there is none.

        Tokens are read without surrounding white space; a stored token that is still no
        token (see :func:`~socialkit_bluesky._xrpc.clean_token`) counts as no session.
        """
        access = clean_token(credentials.get("access_jwt"))
        refresh = clean_token(credentials.get("refresh_jwt"))
        did = credentials.get("did")
        if not (access and refresh and did):
            return None
        return cls(
            access_jwt=access,
            refresh_jwt=refresh,
            did=did,
            handle=credentials.get("handle") or "",
            expires_at=credentials.expires_at or jwt_expiry(access),
        )

    @classmethod
    def from_response(cls, data: dict[str, Any], what: str) -> Session:
        """A session from a ``createSession``/``refreshSession`` answer."""
        try:
            access = str(data["accessJwt"])
            return cls(
                access_jwt=access,
                refresh_jwt=str(data["refreshJwt"]),
                did=str(data["did"]),
                handle=str(data.get("handle") or ""),
                expires_at=jwt_expiry(access),
            )
        except KeyError as exc:
            raise Rejected(f"Bluesky {what} answer lacks {exc.args[0]!r}") from None

    def belongs_to(self, account: Account, credentials: Credentials) -> bool:
        """Whether this session is ``account``'s, as far as can be told.

        A session stored for another account (the account's handle or DID was changed in
        the project file, or a secrets file was copied) must not be used: every post would
        go to the other account's repository. The account's DID decides when it is known;
        otherwise the login name, then the handle (compared without case or ``@``). An
        e-mail login name or a session without a handle cannot be told apart: it is used.
        """
        stable = account.platform_account_id
        if stable and stable.startswith("did:"):
            return self.did == stable
        explicit = credentials.get("identifier")
        if explicit and "@" in explicit.lstrip("@"):
            return True  # an e-mail address: nothing to compare it with
        name = (explicit or account.handle).lstrip("@").lower()
        if name.startswith("did:"):
            return self.did == name
        mine = self.handle.lower()
        return not mine or mine in (_INVALID_HANDLE, name)

    def is_fresh(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        """True unless the access token expires within ``margin`` of ``now``."""
        return self.expires_at is None or self.expires_at - margin > now

    def store_in(self, credentials: Credentials) -> Credentials:
        """``credentials`` with this session's values set (the app password kept)."""
        return credentials.with_values(
            {
                "access_jwt": self.access_jwt,
                "refresh_jwt": self.refresh_jwt,
                "did": self.did,
                "handle": self.handle or None,
            },
            expires_at=self.expires_at,
        )


def login_identifier(account: Account, credentials: Credentials) -> str:
    """What ``createSession`` logs in with: ``identifier``, else the DID, else the handle."""
    explicit = credentials.get("identifier")
    if explicit:
        return explicit
    stable = account.platform_account_id
    if stable and stable.startswith("did:"):
        return stable
    return account.handle.lstrip("@")


async def create_session(xrpc: XrpcClient, account: Account, credentials: Credentials) -> Session:
    """``com.atproto.server.createSession`` with the app password.

    Raises:
        NeedsReauth: no app password, or the server refused it (wrong or revoked): a
            person must create a new app password and reconnect the account.
        RateLimited: the 30-per-5-minutes login budget is spent.
    """
    identifier = login_identifier(account, credentials)
    try:
        password = credentials.require("app_password").strip()
    except CredentialsError:
        password = ""
    if not password:
        raise NeedsReauth(
            f"Bluesky account {account.id!r} has no app password (credential 'app_password') "
            "and no usable session; add one to reconnect the account"
        )
    if not password.isprintable():
        raise NeedsReauth(
            f"Bluesky account {account.id!r}: its credential 'app_password' is not an app "
            "password (it holds control characters; the value is not shown); nothing was "
            "sent. Put the app password (xxxx-xxxx-xxxx-xxxx) there and reconnect the account"
        )
    try:
        data = await xrpc.procedure(
            "com.atproto.server.createSession",
            {"identifier": identifier, "password": password},
            write=False,
            scope="session",
        )
    except (AuthExpired, Rejected) as exc:
        if exc.status_code is not None and exc.status_code < 500:
            raise NeedsReauth(
                f"Bluesky refused to log in {identifier!r} on {xrpc.service}: {exc.message}. "
                "Check the handle and create a new app password "
                "(Settings → Privacy and security → App passwords)",
                status_code=exc.status_code,
                platform_code=exc.platform_code,
            ) from None
        raise
    return Session.from_response(data, "createSession")


async def renew_session(xrpc: XrpcClient, account: Account, credentials: Credentials) -> Session:
    """A new session: ``refreshSession`` with the stored refresh token, else ``createSession``.

    A refresh token that is expired, revoked or unknown falls back to the app password,
    and so does a stored session of another account (see :meth:`Session.belongs_to`).
    """
    refresh = clean_token(credentials.get("refresh_jwt"))
    stored = Session.from_credentials(credentials)
    if stored is not None and not stored.belongs_to(account, credentials):
        refresh = None  # another account's token: it would make that account's session
    if refresh:
        try:
            data = await xrpc.procedure(
                "com.atproto.server.refreshSession", token=refresh, write=False
            )
            return Session.from_response(data, "refreshSession")
        except (AuthExpired, Rejected) as exc:
            if isinstance(exc, Rejected) and exc.status_code is None:
                raise
            # The refresh token is dead (expired, revoked with the app password, or the
            # server forgot it): log in again with the app password.
    return await create_session(xrpc, account, credentials)


async def ensure_session(ctx: Context, xrpc: XrpcClient) -> Session:
    """A usable session for ``ctx.account``: the stored one, or a new one saved for everyone.

    Creating or refreshing happens under the provider's per-account lock, after loading
    the credentials again: a session another worker made while this one waited is used
    as it is, so many workers make one ``createSession`` call between them. A stored
    session of another account is never used.
    """
    session = _usable_session(ctx.credentials, ctx)
    if session is not None:
        return session
    async with ctx.credentials_lock():
        credentials = ctx.credentials
        if ctx.credential_provider is not None:
            credentials = await ctx.credential_provider.load(ctx.account)
        session = _usable_session(credentials, ctx)
        if session is not None:
            return session
        stored = Session.from_credentials(credentials)
        if stored is not None and not stored.belongs_to(ctx.account, credentials):
            ctx.logger.warning(
                "bluesky: account %r is %s, but its stored session is %s (%s); "
                "logging in again with the app password",
                ctx.account.id,
                ctx.account.platform_account_id or ctx.account.handle,
                stored.handle or "another account's",
                stored.did,
            )
        session = await renew_session(xrpc, ctx.account, credentials)
        await ctx.save_credentials(session.store_in(credentials))
        return session


def _usable_session(credentials: Credentials, ctx: Context) -> Session | None:
    """The stored session when it is the account's and not about to expire."""
    session = Session.from_credentials(credentials)
    if session is None or not session.is_fresh(ctx.now()):
        return None
    return session if session.belongs_to(ctx.account, credentials) else None
