"""An in-memory fake PDS for offline tests of code that publishes to Bluesky.

:class:`FakePds` answers the XRPC methods the adapter uses, the way ``@atproto/pds``
0.5.35 does (the same behaviours are pinned against the real server by socialkit's
integration tests): a second ``createRecord`` at a taken record key answers 500 and keeps
the first record; a revoked or unknown refresh token answers 400; a wrong password 401
``AuthenticationRequired``; a text over 300 graphemes 400 ``InvalidRequest``;
``createSession`` is limited to 30 per 5 minutes (when ``rate_limits`` is on). Use it as an
``httpx.MockTransport`` handler::

    pds = FakePds()
    account = pds.create_account("alice.test", app_password="aaaa-bbbb-cccc-dddd")
    http = httpx.AsyncClient(transport=httpx.MockTransport(pds.handler))
    # Account(settings={"service": FakePds.URL}, ...) now publishes into pds.records

It is a test double, not a server: no repository signatures, no firehose, no blobs'
content checks. Counts for ``app.bsky.feed.getPosts`` (an AppView method) come from
:meth:`FakePds.seed_counts`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import httpx

from socialkit.text import grapheme_count
from socialkit_bluesky._tid import TID_PATTERN, encode_tid

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FakeAccount", "FakePds"]

_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def _cid(prefix: str, data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    bits = int.from_bytes(digest, "big")
    return prefix + "".join(_B32[(bits >> (5 * i)) & 31] for i in range(51, -1, -1))


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


@attrs.define
class FakeAccount:
    """An account on the fake PDS."""

    did: str
    handle: str
    password: str
    app_passwords: dict[str, str] = attrs.Factory(dict)


@attrs.define
class _Token:
    did: str
    kind: str  # "access" | "refresh"
    expires_at: datetime
    app_password: str | None
    revoked: bool = False


class FakePds:
    """A fake Bluesky PDS (and AppView, for ``getPosts``) behind an httpx handler.

    Args:
        clock: the current instant (aware); tokens expire by it.
        rate_limits: as the real PDS with rate limits on: ``createSession`` answers carry
            its own ``RateLimit-*`` budget (30 per identifier in 5 minutes, then 429), every
            other answer the per-IP budget (3000 in 5 minutes).
        access_lifetime: how long an access token lives (2 hours on the real PDS).

    Attributes:
        records: ``{at-uri: {"uri", "cid", "value"}}`` of every record, in write order.
        blobs: ``{cid: bytes}`` of every uploaded blob.
        calls: ``(method, nsid)`` of every request, in order.
    """

    URL = "https://pds.fake.test"

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        rate_limits: bool = False,
        access_lifetime: timedelta = timedelta(hours=2),
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rate_limits = rate_limits
        self.access_lifetime = access_lifetime
        self.accounts: dict[str, FakeAccount] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self.counts: dict[str, dict[str, int]] = {}
        self._tokens: dict[str, _Token] = {}
        self._logins: dict[str, list[datetime]] = {}
        self._requests: list[datetime] = []

    def __repr__(self) -> str:
        return f"FakePds(accounts={len(self.accounts)}, records={len(self.records)})"

    # -- setting up ------------------------------------------------------------------------

    def create_account(
        self, handle: str, *, password: str = "main-password", app_password: str | None = None
    ) -> FakeAccount:
        """Add an account (and an app password named ``socialkit``, when given)."""
        did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        account = FakeAccount(did=did, handle=handle, password=password)
        if app_password is not None:
            account.app_passwords["socialkit"] = app_password
        self.accounts[did] = account
        return account

    def revoke_app_password(self, did: str, name: str = "socialkit") -> None:
        """Revoke an app password and every session made with it (refresh tokens die)."""
        password = self.accounts[did].app_passwords.pop(name)
        for token in self._tokens.values():
            if token.app_password == password and token.kind == "refresh":
                token.revoked = True

    def seed_counts(self, uri: str, **counts: int) -> None:
        """Counts ``getPosts`` reports for ``uri`` (``likeCount=3, repostCount=1``)."""
        self.counts[uri] = dict(counts)

    def session_count(self) -> int:
        """How many ``createSession`` calls succeeded or failed so far."""
        return sum(1 for _, nsid in self.calls if nsid == "com.atproto.server.createSession")

    def posts(self, did: str | None = None) -> list[dict[str, Any]]:
        """Post records (``{"uri", "cid", "value"}``), optionally of one repository."""
        prefix = f"at://{did}/" if did else "at://"
        return [
            r
            for uri, r in self.records.items()
            if uri.startswith(prefix) and "/app.bsky.feed.post/" in uri
        ]

    # -- the handler -----------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one XRPC request (use with ``httpx.MockTransport``)."""
        path = urlsplit(str(request.url)).path
        nsid = path.removeprefix("/xrpc/")
        self.calls.append((request.method, nsid))
        route = self._routes().get((request.method, nsid))
        if route is None:
            return _error(501, "MethodNotImplemented", "Method Not Implemented")
        response = route(request)
        if self.rate_limits and "ratelimit-policy" not in response.headers:
            response.headers.update(self._global_budget())
        return response

    def _global_budget(self) -> dict[str, str]:
        # With rate limits on, the real PDS puts its per-IP budget on every other answer.
        now = self.clock()
        self._requests = [t for t in self._requests if now - t < timedelta(minutes=5)]
        self._requests.append(now)
        reset = int((self._requests[0] + timedelta(minutes=5)).timestamp())
        return {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": str(max(0, 3000 - len(self._requests))),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "3000;w=300",
        }

    def _routes(self) -> dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]]:
        return {
            ("POST", "com.atproto.server.createSession"): self._create_session,
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "com.atproto.server.getSession"): self._get_session,
            ("GET", "com.atproto.identity.resolveHandle"): self._resolve_handle,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("POST", "com.atproto.repo.putRecord"): self._put_record,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
            ("GET", "com.atproto.repo.listRecords"): self._list_records,
            ("POST", "com.atproto.repo.deleteRecord"): self._delete_record,
            ("GET", "app.bsky.feed.getPosts"): self._get_posts,
        }

    # -- sessions --------------------------------------------------------------------------

    def _issue(self, account: FakeAccount, app_password: str | None) -> dict[str, Any]:
        now = self.clock()
        access_exp = now + self.access_lifetime
        refresh_exp = now + timedelta(days=90)
        access = _jwt({"sub": account.did, "exp": int(access_exp.timestamp())})
        refresh = _jwt({"sub": account.did, "exp": int(refresh_exp.timestamp())})
        self._tokens[access] = _Token(account.did, "access", access_exp, app_password)
        self._tokens[refresh] = _Token(account.did, "refresh", refresh_exp, app_password)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": account.did,
            "handle": account.handle,
            "active": True,
        }

    def _find(self, identifier: str) -> FakeAccount | None:
        for account in self.accounts.values():
            if identifier in (account.did, account.handle):
                return account
        return None

    def _create_session(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        identifier = str(body.get("identifier", "")).lower()
        headers: dict[str, str] = {}
        if self.rate_limits:
            now = self.clock()
            window = [t for t in self._logins.get(identifier, []) if now - t < timedelta(minutes=5)]
            window.append(now)
            self._logins[identifier] = window
            reset = int((window[0] + timedelta(minutes=5)).timestamp())
            headers = {
                "RateLimit-Limit": "30",
                "RateLimit-Remaining": str(max(0, 30 - len(window))),
                "RateLimit-Reset": str(reset),
                "RateLimit-Policy": "30;w=300",
            }
            if len(window) > 30:
                headers["Retry-After"] = str(max(0, reset - int(now.timestamp())))
                return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        account = self._find(identifier)
        password = str(body.get("password", ""))
        if account is None or (
            password != account.password and password not in account.app_passwords.values()
        ):
            return _error(401, "AuthenticationRequired", "Invalid identifier or password", headers)
        app_password = password if password != account.password else None
        return httpx.Response(200, json=self._issue(account, app_password), headers=headers)

    def _bearer(self, request: httpx.Request, kind: str) -> _Token | httpx.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "AuthMissing", "Authentication Required")
        token = self._tokens.get(auth.removeprefix("Bearer "))
        if token is None or token.kind != kind:
            return _error(400, "InvalidToken", "Token could not be verified")
        if token.revoked:
            return _error(400, "ExpiredToken", "Token has been revoked")
        if token.expires_at <= self.clock():
            return _error(400, "ExpiredToken", "Token has expired")
        return token

    def _refresh_session(self, request: httpx.Request) -> httpx.Response:
        token = self._bearer(request, "refresh")
        if isinstance(token, httpx.Response):
            return token
        token.revoked = True
        return httpx.Response(200, json=self._issue(self.accounts[token.did], token.app_password))

    def _get_session(self, request: httpx.Request) -> httpx.Response:
        token = self._bearer(request, "access")
        if isinstance(token, httpx.Response):
            return token
        account = self.accounts[token.did]
        return httpx.Response(200, json={"did": account.did, "handle": account.handle})

    def _resolve_handle(self, request: httpx.Request) -> httpx.Response:
        account = self._find(request.url.params.get("handle", "").lower())
        if account is None:
            return _error(400, "HandleNotFound", "Unable to resolve handle")
        return httpx.Response(200, json={"did": account.did})

    # -- repository ------------------------------------------------------------------------

    def _upload_blob(self, request: httpx.Request) -> httpx.Response:
        token = self._bearer(request, "access")
        if isinstance(token, httpx.Response):
            return token
        data = request.content
        cid = _cid("bafkrei", data)
        self.blobs[cid] = data
        mime = request.headers.get("content-type", "application/octet-stream")
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}
        return httpx.Response(200, json={"blob": blob})

    def _write_target(
        self, request: httpx.Request
    ) -> tuple[_Token, dict[str, Any], str] | httpx.Response:
        token = self._bearer(request, "access")
        if isinstance(token, httpx.Response):
            return token
        body = json.loads(request.content or b"{}")
        if body.get("repo") not in (token.did, self.accounts[token.did].handle):
            return _error(400, "InvalidRequest", "Invalid repo")
        rkey = str(body.get("rkey") or "") or self._next_tid()
        collection = str(body.get("collection"))
        record = body.get("record") or {}
        if collection == "app.bsky.feed.post":
            problem = _check_post(record, rkey)
            if problem:
                return _error(400, "InvalidRequest", problem)
        return token, body, f"at://{token.did}/{collection}/{rkey}"

    def _next_tid(self) -> str:
        micros = int(self.clock().timestamp() * 1_000_000)
        return encode_tid(micros, secrets.randbelow(1024))

    def _create_record(self, request: httpx.Request) -> httpx.Response:
        target = self._write_target(request)
        if isinstance(target, httpx.Response):
            return target
        _, body, uri = target
        if uri in self.records:
            # @atproto/pds 0.5.35: "There is already a value at key", as a 500.
            return _error(500, "InternalServerError", "Internal Server Error")
        return self._store(uri, body["record"], commit=True)

    def _put_record(self, request: httpx.Request) -> httpx.Response:
        target = self._write_target(request)
        if isinstance(target, httpx.Response):
            return target
        _, body, uri = target
        existing = self.records.get(uri)
        if existing is not None and existing["value"] == body["record"]:
            return httpx.Response(200, json={"uri": uri, "cid": existing["cid"]})
        return self._store(uri, body["record"], commit=True)

    def _store(self, uri: str, record: dict[str, Any], *, commit: bool) -> httpx.Response:
        cid = _cid("bafyrei", json.dumps(record, sort_keys=True).encode())
        self.records[uri] = {"uri": uri, "cid": cid, "value": record}
        answer: dict[str, Any] = {"uri": uri, "cid": cid, "validationStatus": "valid"}
        if commit:
            answer["commit"] = {"cid": _cid("bafyrei", uri.encode() + cid.encode()), "rev": "x"}
        return httpx.Response(200, json=answer)

    def _get_record(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        repo = params.get("repo", "")
        account = self._find(repo)
        did = account.did if account else repo
        uri = f"at://{did}/{params.get('collection')}/{params.get('rkey')}"
        found = self.records.get(uri)
        if found is None:
            return _error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return httpx.Response(200, json=found)

    def _list_records(self, request: httpx.Request) -> httpx.Response:
        # As @atproto/pds: newest key first (``reverse=true``: oldest first), ``cursor``
        # exclusive, and the last key of the page as the next cursor.
        params = request.url.params
        account = self._find(params.get("repo", ""))
        did = account.did if account else params.get("repo", "")
        prefix = f"at://{did}/{params.get('collection')}/"
        ascending = params.get("reverse", "false") == "true"
        found = sorted(
            (r for uri, r in self.records.items() if uri.startswith(prefix)),
            key=_rkey,
            reverse=not ascending,
        )
        cursor = params.get("cursor")
        if cursor:
            found = [r for r in found if (_rkey(r) > cursor if ascending else _rkey(r) < cursor)]
        page = found[: int(params.get("limit", "50"))]
        answer: dict[str, Any] = {"records": page}
        if page:
            answer["cursor"] = _rkey(page[-1])
        return httpx.Response(200, json=answer)

    def _delete_record(self, request: httpx.Request) -> httpx.Response:
        token = self._bearer(request, "access")
        if isinstance(token, httpx.Response):
            return token
        body = json.loads(request.content or b"{}")
        uri = f"at://{token.did}/{body.get('collection')}/{body.get('rkey')}"
        if self.records.pop(uri, None) is None:
            return httpx.Response(200, json={})  # nothing to delete: no commit
        commit = {"cid": _cid("bafyrei", b"delete " + uri.encode()), "rev": self._next_tid()}
        return httpx.Response(200, json={"commit": commit})

    def _get_posts(self, request: httpx.Request) -> httpx.Response:
        views = []
        for uri in request.url.params.get_list("uris"):
            record = self.records.get(uri)
            if record is None:
                continue
            counts = {"likeCount": 0, "repostCount": 0, "replyCount": 0, "quoteCount": 0}
            counts.update(self.counts.get(uri, {}))
            views.append({"uri": uri, "cid": record["cid"], "record": record["value"], **counts})
        return httpx.Response(200, json={"posts": views})


def _rkey(record: dict[str, Any]) -> str:
    return str(record["uri"]).rsplit("/", 1)[-1]


def _check_post(record: dict[str, Any], rkey: str) -> str | None:
    if rkey and not TID_PATTERN.match(rkey):
        return f"Invalid record key: {rkey}"
    text = record.get("text")
    if not isinstance(text, str) or "createdAt" not in record:
        return "Invalid app.bsky.feed.post record: Record must have the properties text, createdAt"
    graphemes = grapheme_count(text)
    if graphemes > 300:
        return (
            "Invalid app.bsky.feed.post record: grapheme too big "
            f"(maximum 300, got {graphemes}) at $.record.text"
        )
    size = len(text.encode("utf-8"))
    if size > 3000:
        return (
            "Invalid app.bsky.feed.post record: string too big "
            f"(maximum 3000, got {size}) at $.record.text"
        )
    return None


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message}, headers=headers)
