"""The adapter contract kit (``socialkit.testing``) against the fake Mastodon server.

Every exchange also goes through the OpenAPI check of ``conftest.py``; the kit's own
injected answers (429, 401, 422, 5xx) are the documentation's error examples.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from socialkit_mastodon import Mastodon
from socialkit_mastodon.testing import FakeMastodon, documented

import socialkit

try:
    from socialkit.testing import PlatformContract
except ImportError as exc:  # the kit ships with the core; an older core lacks it
    pytest.skip(
        f"socialkit.testing.PlatformContract is not available in this socialkit ({exc})",
        allow_module_level=True,
    )

_METRIC_KEYS = {
    "likes": "favourites_count",
    "shares": "reblogs_count",
    "comments": "replies_count",
    "quotes": "quotes_count",
}


class TestMastodonContract(PlatformContract):
    platform = Mastodon

    @pytest.fixture(autouse=True)
    def _fake_mastodon(self, openapi) -> None:
        self.server = FakeMastodon()
        self.server.tokens.add(self.secret)
        self._checked = openapi.wrap(self.server.handle)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self._checked(request)

    def account_settings(self) -> dict[str, object]:
        return {"instance": self.server.base_url}

    def published_ids(self) -> set[str]:
        return set(self.server.statuses)

    def seed_metrics(self, receipt: socialkit.Receipt, counts: dict[str, int]) -> None:
        status = self.server.statuses[receipt.ref.id]
        for name, value in counts.items():
            if name == "followers":
                self.server.followers_count = value
            else:
                status[_METRIC_KEYS[name]] = value

    def creates_post(self, request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path == "/api/v1/statuses"

    def rate_limited_response(self, request: httpx.Request) -> httpx.Response:
        reset = datetime.now(UTC) + timedelta(minutes=5)
        return httpx.Response(
            429,
            json=documented("error_429"),
            headers={
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
            },
        )

    def expired_credentials_response(self, request: httpx.Request) -> httpx.Response:
        # Mastodon tokens do not expire; a 401 means the token was revoked.
        return httpx.Response(401, json=documented("error_401"))

    def rejected_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"error": "Validation failed: Text can't be blank"})

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json=documented("error_503"))
