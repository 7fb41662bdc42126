"""An in-process Mastodon server for tests and offline examples (``httpx.MockTransport``).

It behaves as the documentation describes, for the requests the adapter makes: per-server
limits in ``GET /api/v2/instance``; ``Idempotency-Key`` replay for an hour; media that
answers 202, then 206 while processing, then 200; ``X-RateLimit-*`` headers on every
response and 429 when the budget is spent; 422 with the server's ``error`` for a status
that is too long or empty; OAuth 2 with PKCE. Responses are built from the documentation's
own examples (``documented.json``). Faults are scripted with :meth:`FakeMastodon.fail_next`.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import attrs
import httpx

from socialkit_mastodon.testing._documented import (
    documented,
    error_response,
    iso,
    message_response,
)
from socialkit_mastodon.testing._html import count_characters, render_content
from socialkit_mastodon.testing._oauth import OAuthEndpoints

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FakeMastodon", "Fault", "documented", "parse_multipart"]

_KEY_WINDOW = timedelta(hours=1)


def parse_multipart(request: httpx.Request) -> dict[str, tuple[str | None, str | None, bytes]]:
    """The fields of a ``multipart/form-data`` request: name -> (filename, type, bytes)."""
    content_type = request.headers.get("content-type", "")
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.content
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        declared = part.get("content-type")
        fields[name] = (filename, str(declared) if declared else None, bytes(payload or b""))
    return fields


@attrs.define(kw_only=True)
class Fault:
    """A scripted failure for the next matching request.

    Attributes:
        method: the HTTP method to match.
        path: a regular expression the request path must fully match.
        status: the status to answer with (ignored when ``exception`` is set).
        body: the JSON body of the answer.
        headers: extra headers of the answer.
        exception: an ``httpx`` exception class to raise instead of answering.
        after: apply the request first (the server acted, the answer was lost or failed).
        times: how many matching requests fail.
    """

    method: str
    path: str
    status: int = 503
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    exception: type[httpx.RequestError] | None = None
    after: bool = False
    times: int = 1


class FakeMastodon(OAuthEndpoints):
    """A Mastodon server in memory.

    Example::

        server = FakeMastodon(max_characters=1000)
        token = server.issue_token()
        client = httpx.AsyncClient(transport=server.transport())

    Args:
        host: the server's host name.
        max_characters, characters_reserved_per_url, max_media_attachments,
        image_size_limit, video_size_limit: the limits the server enforces and reports.
        media_processing_checks: how many ``GET /api/v1/media/:id`` answer 206 before 200;
            with 0 an upload answers 200 at once, otherwise 202.
        rate_limit: requests per five-minute window (``X-RateLimit-Limit``).
        media_rate_limit: media uploads per 30 minutes.
        clock: the server's clock.
        username, account_id, followers_count: the one local account tokens act as.
        domain: the domain in the server's handles (its WebFinger domain, Mastodon's
            ``LOCAL_DOMAIN``) when it is not ``host`` (``WEB_DOMAIN``): ``@acme@example.com``
            on a server at ``social.example.com``.
        limited_federation_mode: a server in limited federation mode answers its instance
            document only to an authenticated request (401 otherwise), as Mastodon's
            ``InstancesController`` does.
    """

    def __init__(
        self,
        *,
        host: str = "mastodon.example",
        max_characters: int = 500,
        characters_reserved_per_url: int = 23,
        max_media_attachments: int = 4,
        image_size_limit: int = 16 * 1024 * 1024,
        video_size_limit: int = 99 * 1024 * 1024,
        media_processing_checks: int = 0,
        rate_limit: int = 300,
        media_rate_limit: int = 30,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        username: str = "acme",
        account_id: str = "109876543210",
        followers_count: int = 42,
        domain: str | None = None,
        limited_federation_mode: bool = False,
    ) -> None:
        self.host = host
        self.domain = domain or host
        self.limited_federation_mode = limited_federation_mode
        self.base_url = f"https://{host}"
        self.max_characters = max_characters
        self.characters_reserved_per_url = characters_reserved_per_url
        self.max_media_attachments = max_media_attachments
        self.image_size_limit = image_size_limit
        self.video_size_limit = video_size_limit
        self.media_processing_checks = media_processing_checks
        self.clock = clock
        self.username = username
        self.account_id = account_id
        self.followers_count = followers_count
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self.tokens: set[str] = set()
        self.apps: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._idempotency: dict[str, tuple[str, datetime]] = {}
        self._processing: dict[str, int] = {}
        self._ids = itertools.count(110_000_000_000_000_001)
        self._budgets = {
            "default": _Budget(rate_limit, timedelta(minutes=5)),
            "media": _Budget(media_rate_limit, timedelta(minutes=30)),
        }

    # -- set-up ----------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """A transport that answers every request from this server."""
        return httpx.MockTransport(self.handle)

    def issue_token(self) -> str:
        """A valid access token for the account."""
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        return token

    def revoke(self, token: str) -> None:
        """Revoke ``token`` (the person removed the app from their account)."""
        self.tokens.discard(token)

    def fail_next(self, method: str, path: str, **fault: Any) -> Fault:
        """Script a failure for the next request matching ``method`` and ``path`` (a regex)."""
        item = Fault(method=method.upper(), path=path, **fault)
        self.faults.append(item)
        return item

    def post_status(self, text: str, **fields: Any) -> dict[str, Any]:
        """Create a status directly (as if posted from another app), for tests."""
        return self._create_status({"status": text, **fields}, self.clock())

    # -- the account's view ----------------------------------------------------------------

    def own_statuses(self) -> list[dict[str, Any]]:
        """The account's statuses, oldest first."""
        return sorted(self.statuses.values(), key=lambda s: int(s["id"]))

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` (the ``MockTransport`` handler)."""
        self.requests.append(request)
        now = self.clock()
        path = request.url.path
        fault = self._take_fault(request.method, path)
        if fault is not None and not fault.after:
            return self._fail(fault, request, now)
        scope = "media" if path == "/api/v2/media" else "default"
        budget = self._budgets[scope]
        if not budget.take(now):
            return self._with_limits(error_response(429, "error_429"), budget, now)
        response = self._route(request, now)
        if fault is not None:
            return self._with_limits(self._fail(fault, request, now), budget, now)
        return self._with_limits(response, budget, now)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and re.fullmatch(fault.path, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fail(self, fault: Fault, request: httpx.Request, now: datetime) -> httpx.Response:
        if fault.exception is not None:
            raise fault.exception("scripted fault", request=request)
        body = fault.body if fault.body is not None else documented("error_503")
        return httpx.Response(fault.status, json=body, headers=fault.headers)

    def _with_limits(
        self, response: httpx.Response, budget: _Budget, now: datetime
    ) -> httpx.Response:
        response.headers["X-RateLimit-Limit"] = str(budget.limit)
        response.headers["X-RateLimit-Remaining"] = str(budget.remaining(now))
        response.headers["X-RateLimit-Reset"] = iso(budget.reset_at(now))
        return response

    def _route(self, request: httpx.Request, now: datetime) -> httpx.Response:
        method, path = request.method, request.url.path
        public = {
            ("GET", "/api/v2/instance"): self._instance,
            ("POST", "/api/v1/apps"): self._register_app,
            ("POST", "/oauth/token"): self._token,
        }
        handler = public.get((method, path))
        limited = self.limited_federation_mode and path == "/api/v2/instance"
        if limited and not self._authorised(request):
            return message_response(401, "This method requires an authenticated user")
        if handler is not None:
            return handler(request, now)
        if not self._authorised(request):
            return error_response(401, "error_401")
        routes: list[tuple[str, str, Callable[..., httpx.Response]]] = [
            ("GET", r"/api/v1/accounts/verify_credentials", self._verify_credentials),
            ("GET", r"/api/v1/accounts/(?P<id>\d+)", self._account),
            ("GET", r"/api/v1/accounts/(?P<id>\d+)/statuses", self._account_statuses),
            ("POST", r"/api/v1/statuses", self._post_status),
            ("GET", r"/api/v1/statuses/(?P<id>\d+)", self._get_status),
            ("DELETE", r"/api/v1/statuses/(?P<id>\d+)", self._delete_status),
            ("POST", r"/api/v2/media", self._upload),
            ("GET", r"/api/v1/media/(?P<id>\d+)", self._get_media),
        ]
        for route_method, pattern, route in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return route(request, now, **match.groupdict())
        return error_response(404, "error_404")

    def _authorised(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    # -- instance and account --------------------------------------------------------------

    def instance_document(self) -> dict[str, Any]:
        """The ``GET /api/v2/instance`` answer: the documented one with this server's limits."""
        document: dict[str, Any] = documented("instance")
        document["domain"] = self.domain
        config = document["configuration"]
        config["statuses"].update(
            max_characters=self.max_characters,
            characters_reserved_per_url=self.characters_reserved_per_url,
            max_media_attachments=self.max_media_attachments,
        )
        config["media_attachments"].update(
            image_size_limit=self.image_size_limit, video_size_limit=self.video_size_limit
        )
        return document

    def _instance(self, request: httpx.Request, now: datetime) -> httpx.Response:
        return httpx.Response(200, json=self.instance_document())

    def account_entity(self) -> dict[str, Any]:
        """The account, as ``GET /api/v1/accounts/:id`` shows it."""
        account: dict[str, Any] = documented("account")
        account.update(
            id=self.account_id,
            username=self.username,
            acct=self.username,
            display_name=self.username.title(),
            url=f"{self.base_url}/@{self.username}",
            uri=f"{self.base_url}/users/{self.username}",
            followers_count=self.followers_count,
            statuses_count=len(self.statuses),
            emojis=[],
            fields=[],
            note="",
        )
        return account

    def _verify_credentials(self, request: httpx.Request, now: datetime) -> httpx.Response:
        account = self.account_entity()
        account["source"] = documented("credential_source")
        account["role"] = documented("role")
        return httpx.Response(200, json=account)

    def _account(self, request: httpx.Request, now: datetime, id: str) -> httpx.Response:
        if id != self.account_id:
            return error_response(404, "error_404")
        return httpx.Response(200, json=self.account_entity())

    def _account_statuses(self, request: httpx.Request, now: datetime, id: str) -> httpx.Response:
        if id != self.account_id:
            return error_response(404, "error_404")
        query = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        limit = max(1, min(40, int(query.get("limit", "20"))))
        listed = sorted(self.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in query:
            listed = [s for s in listed if int(s["id"]) < int(query["max_id"])]
        if "since_id" in query:
            listed = [s for s in listed if int(s["id"]) > int(query["since_id"])]
        page = listed[:limit]
        headers = {}
        if len(listed) > limit:
            headers["Link"] = (
                f"<{self.base_url}/api/v1/accounts/{id}/statuses?max_id={page[-1]['id']}>; "
                'rel="next"'
            )
        return httpx.Response(200, json=page, headers=headers)

    # -- statuses --------------------------------------------------------------------------

    def _post_status(self, request: httpx.Request, now: datetime) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        key = request.headers.get("idempotency-key")
        if key:
            seen = self._idempotency.get(key)
            if seen is not None and now - seen[1] < _KEY_WINDOW and seen[0] in self.statuses:
                return httpx.Response(200, json=self.statuses[seen[0]])
        text = body.get("status") or ""
        media_ids = body.get("media_ids") or []
        if not text.strip() and not media_ids:
            return message_response(422, "Validation failed: Text can't be blank")
        spoiler = body.get("spoiler_text") or ""
        length = count_characters(text, self.characters_reserved_per_url, spoiler_text=spoiler)
        if length > self.max_characters:
            return message_response(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        if len(media_ids) > self.max_media_attachments:
            return message_response(422, "Validation failed: Media attachments are too many")
        for media_id in media_ids:
            if media_id not in self.media:
                return error_response(404, "error_404")
            if self._processing.get(media_id, 0) > 0:
                return message_response(
                    422,
                    "Cannot attach files that have not finished processing. Try again in a moment!",
                )
        parent = body.get("in_reply_to_id")
        if parent is not None and parent not in self.statuses:
            return error_response(404, "error_404")
        status = self._create_status(body, now)
        if key:
            self._idempotency[key] = (status["id"], now)
        return httpx.Response(200, json=status)

    def _create_status(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        status_id = str(next(self._ids))
        status: dict[str, Any] = documented("status")
        parent = body.get("in_reply_to_id")
        status.update(
            id=status_id,
            created_at=iso(now),
            in_reply_to_id=parent,
            in_reply_to_account_id=self.account_id if parent else None,
            sensitive=bool(body.get("sensitive", False)),
            # Mastodon strips both before it saves a status (Status#prepare_contents)
            spoiler_text=(body.get("spoiler_text") or "").strip(),
            visibility=body.get("visibility") or "public",
            language=body.get("language") or "en",
            uri=f"{self.base_url}/users/{self.username}/statuses/{status_id}",
            url=f"{self.base_url}/@{self.username}/{status_id}",
            replies_count=0,
            reblogs_count=0,
            favourites_count=0,
            quotes_count=0,
            content=render_content(body.get("status") or "", self.host),
            account=self.account_entity(),
            media_attachments=[self.media[m] for m in body.get("media_ids") or []],
            mentions=[],
            tags=[],
            emojis=[],
            card=None,
            poll=self._poll(body.get("poll"), now),
        )
        self.statuses[status_id] = status
        if parent in self.statuses:
            self.statuses[parent]["replies_count"] += 1
        return status

    def _poll(self, spec: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
        if not spec:
            return None
        poll: dict[str, Any] = documented("poll")
        poll.update(
            id=str(next(self._ids)),
            expires_at=iso(now + timedelta(seconds=int(spec["expires_in"]))),
            expired=False,
            multiple=bool(spec.get("multiple", False)),
            votes_count=0,
            voters_count=0 if spec.get("multiple") else None,
            voted=False,
            own_votes=[],
            options=[{"title": title, "votes_count": 0} for title in spec["options"]],
            emojis=[],
        )
        return poll

    def _get_status(self, request: httpx.Request, now: datetime, id: str) -> httpx.Response:
        status = self.statuses.get(id)
        if status is None:
            return error_response(404, "error_404")
        return httpx.Response(200, json=status)

    def _delete_status(self, request: httpx.Request, now: datetime, id: str) -> httpx.Response:
        status = self.statuses.pop(id, None)
        if status is None:
            return error_response(404, "error_404")
        return httpx.Response(200, json=status)

    # -- media -----------------------------------------------------------------------------

    def _upload(self, request: httpx.Request, now: datetime) -> httpx.Response:
        fields = parse_multipart(request)
        if "file" not in fields:
            return message_response(
                422, "Validation failed: File content type is invalid, File is invalid"
            )
        _, content_type, content = fields["file"]
        kind = _media_type(content_type or "")
        if kind is None:
            return message_response(
                422, "Validation failed: File content type is invalid, File is invalid"
            )
        limit = self.video_size_limit if kind in ("video", "gifv") else self.image_size_limit
        if len(content) > limit:
            return message_response(422, "Validation failed: File file size is too large")
        processing = self.media_processing_checks > 0
        attachment: dict[str, Any] = documented("media_202" if processing else "media_200")
        media_id = str(next(self._ids))
        digest = hashlib.sha256(content).hexdigest()[:16]
        description = fields.get("description")
        attachment.update(
            id=media_id,
            type=kind,
            url=None if processing else f"{self.base_url}/media/original/{digest}",
            preview_url=f"{self.base_url}/media/small/{digest}",
            description=description[2].decode("utf-8") if description else None,
        )
        self.media[media_id] = attachment
        if processing:
            self._processing[media_id] = self.media_processing_checks
            return httpx.Response(202, json=attachment)
        return httpx.Response(200, json=attachment)

    def _get_media(self, request: httpx.Request, now: datetime, id: str) -> httpx.Response:
        attachment = self.media.get(id)
        if attachment is None:
            return error_response(404, "error_404")
        left = self._processing.get(id, 0)
        if left > 0:
            self._processing[id] = left - 1
            if left - 1 == 0:
                digest = attachment["preview_url"].rsplit("/", 1)[1]
                attachment["url"] = f"{self.base_url}/media/original/{digest}"
            return httpx.Response(206)
        return httpx.Response(200, json=attachment)


def _media_type(content_type: str) -> str | None:
    major = content_type.split("/", 1)[0]
    if content_type == "image/gif":
        return "gifv"
    if major in ("image", "video", "audio"):
        return major
    return None


@attrs.define
class _Budget:
    limit: int
    window: timedelta
    used: int = 0
    started: datetime | None = None

    def _roll(self, now: datetime) -> None:
        if self.started is None or now - self.started >= self.window:
            self.started = now
            self.used = 0

    def take(self, now: datetime) -> bool:
        self._roll(now)
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def remaining(self, now: datetime) -> int:
        self._roll(now)
        return max(0, self.limit - self.used)

    def reset_at(self, now: datetime) -> datetime:
        self._roll(now)
        assert self.started is not None
        return self.started + self.window
