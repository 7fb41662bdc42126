"""A fake Pigeon server for tests: the API of the README, in memory, behind MockTransport.

Shipped with the plugin so applications can test against Pigeon without a network::

    loft = FakeLoft(access_token="t0k3n")
    client = httpx.AsyncClient(transport=httpx.MockTransport(loft.handle))
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qs

import httpx

__all__ = ["FakeLoft"]


class FakeLoft:
    """An in-memory Pigeon server.

    Args:
        access_token: the token it accepts at first.
        refresh_token: the refresh token it accepts at first.

    Attributes:
        posts: post id -> the stored post.
        stats: post id -> the counts ``/stats`` reports.
        expired: access tokens that have expired.
    """

    def __init__(self, *, access_token: str, refresh_token: str = "pigeon-refresh-0") -> None:
        self.posts: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, dict[str, int]] = {}
        self.tokens = {access_token}
        self.refresh_tokens = {refresh_token}
        self.expired: set[str] = set()
        self.remaining = 300
        self._ids = itertools.count(1)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, as the Pigeon API does."""
        path = request.url.path
        if path == "/oauth/token" and request.method == "POST":
            return self._answer(self._token(request))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.expired:
            return self._answer(httpx.Response(401, json={"error": "token_expired"}))
        if token not in self.tokens:
            return self._answer(httpx.Response(401, json={"error": "invalid_token"}))
        return self._answer(self._route(request, path))

    def _answer(self, response: httpx.Response) -> httpx.Response:
        self.remaining = max(0, self.remaining - 1)
        response.headers["X-RateLimit-Limit"] = "300"
        response.headers["X-RateLimit-Remaining"] = str(self.remaining)
        response.headers["X-RateLimit-Reset"] = "1773501000"
        return response

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        method = request.method
        if path == "/api/v1/me" and method == "GET":
            return httpx.Response(200, json={"id": "42", "handle": "contract", "name": "Contract"})
        if path == "/api/v1/media" and method == "POST":
            media_id = f"m{next(self._ids)}"
            self.media[media_id] = {"body": request.content}
            return httpx.Response(201, json={"id": media_id})
        if path == "/api/v1/posts" and method == "POST":
            return self._create(request)
        if path == "/api/v1/posts" and method == "GET":
            post_id = self.by_key.get(request.url.params.get("idempotency_key", ""))
            posts = [self._public(post_id)] if post_id in self.posts else []
            return httpx.Response(200, json={"posts": posts})
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "posts"] and len(parts) >= 4:
            post_id = parts[3]
            if post_id not in self.posts:
                return httpx.Response(404, json={"error": "not_found"})
            if len(parts) == 4 and method == "DELETE":
                del self.posts[post_id]
                return httpx.Response(204)
            if parts[4:] == ["stats"] and method == "GET":
                return httpx.Response(200, json=self.stats.get(post_id, {}))
        return httpx.Response(404, json={"error": "no such endpoint"})

    def _create(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.by_key and self.by_key[key] in self.posts:
            return httpx.Response(200, json=self._public(self.by_key[key]))
        body = json.loads(request.content)
        text = body.get("text", "")
        if not text.strip() or len(text) > 500:
            return httpx.Response(422, json={"error": "text must have 1 to 500 characters"})
        reply_to = body.get("reply_to")
        if reply_to is not None and reply_to not in self.posts:
            return httpx.Response(422, json={"error": f"reply_to {reply_to} does not exist"})
        unknown = [m for m in body.get("media_ids", []) if m not in self.media]
        if unknown:
            return httpx.Response(422, json={"error": f"unknown media {unknown}"})
        post_id = f"p{next(self._ids)}"
        self.posts[post_id] = {"text": text, "reply_to": reply_to, "media": body["media_ids"]}
        if key:
            self.by_key[key] = post_id
        return httpx.Response(201, json=self._public(post_id))

    def _public(self, post_id: str) -> dict[str, Any]:
        return {
            "id": post_id,
            "url": f"https://loft.example/p/{post_id}",
            "created_at": "2026-03-14T15:09:26Z",
            "text": self.posts[post_id]["text"],
        }

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        if form.get("refresh_token") not in self.refresh_tokens:
            return httpx.Response(401, json={"error": "invalid_grant"})
        self.refresh_tokens.discard(form["refresh_token"])  # refresh tokens rotate
        serial = next(self._ids)
        access, refresh = f"pigeon-access-{serial:08d}", f"pigeon-refresh-{serial:08d}"
        self.tokens.add(access)
        self.refresh_tokens.add(refresh)
        return httpx.Response(
            200, json={"access_token": access, "refresh_token": refresh, "expires_in": 3600}
        )
