"""socialkit's standard adapter contract, run against the Bluesky adapter and a fake PDS.

The fake (:class:`socialkit_bluesky.testing.FakePds`) answers as ``@atproto/pds`` 0.5.35
does; the integration tests pin the same behaviours against the real server.
"""

from __future__ import annotations

from typing import Any

import httpx
from socialkit_bluesky import Bluesky
from socialkit_bluesky.testing import FakePds

import socialkit
import socialkit.testing

COUNT_NAMES = {
    "likes": "likeCount",
    "shares": "repostCount",
    "comments": "replyCount",
    "quotes": "quoteCount",
}


class TestBlueskyContract(socialkit.testing.PlatformContract):
    platform = Bluesky
    # The session's DID and handle are stored beside its tokens; every post's URI shows
    # the DID, so neither is a secret.
    public_credential_keys = frozenset({"did", "handle"})

    def setup_method(self) -> None:
        self.pds = FakePds(rate_limits=True)
        self.pds.create_account("contract.test", app_password=socialkit.testing.SAMPLE_SECRET)

    def account(self) -> socialkit.Account:
        return socialkit.testing.make_account(
            "bluesky", handle="contract.test", settings=self.account_settings()
        )

    def account_settings(self) -> dict[str, Any]:
        return {"service": FakePds.URL, "appview": FakePds.URL, "web_url": "https://bsky.app"}

    def credentials(self) -> socialkit.Credentials:
        return socialkit.Credentials().with_values(app_password=self.secret)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self.pds.handler(request)

    def published_ids(self) -> set[str]:
        return {record["uri"] for record in self.pds.posts()}

    def seed_metrics(self, receipt: socialkit.Receipt, counts: dict[str, int]) -> None:
        self.pds.seed_counts(
            receipt.ref.id, **{COUNT_NAMES[name]: value for name, value in counts.items()}
        )

    def creates_post(self, request: httpx.Request) -> bool:
        return request.url.path == "/xrpc/com.atproto.repo.createRecord"

    def rate_limited_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            headers={
                "RateLimit-Limit": "30",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "1773501266",
                "RateLimit-Policy": "30;w=300",
                "Retry-After": "300",
            },
        )

    def expired_credentials_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has expired"})

    def rejected_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": "InvalidRequest",
                "message": "Invalid app.bsky.feed.post record: grapheme too big "
                "(maximum 300, got 301) at $.record.text",
            },
        )

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            500, json={"error": "InternalServerError", "message": "Internal Server Error"}
        )
