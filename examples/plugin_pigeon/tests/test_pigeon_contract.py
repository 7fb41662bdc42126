"""socialkit's contract test kit, run against Pigeon and a fake Pigeon server."""

from __future__ import annotations

from typing import Any

import httpx
from socialkit_pigeon import Pigeon
from socialkit_pigeon.testing import FakeLoft

import socialkit
import socialkit.testing


class TestPigeonContract(socialkit.testing.PlatformContract):
    platform = Pigeon

    def setup_method(self) -> None:
        self.loft = FakeLoft(access_token=self.secret)

    # The fake platform -----------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self.loft.handle(request)

    def published_ids(self) -> set[str]:
        return set(self.loft.posts)

    def seed_metrics(self, receipt: socialkit.Receipt, counts: dict[str, int]) -> None:
        theirs = {"impressions": "views", "shares": "reposts", "comments": "replies"}
        theirs |= {"clicks": "link_clicks", "likes": "likes"}
        self.loft.stats[receipt.ref.id] = {theirs[name]: value for name, value in counts.items()}

    # The account -----------------------------------------------------------------------

    def account_settings(self) -> dict[str, Any]:
        return {"loft": "https://loft.example"}

    def credentials(self) -> socialkit.Credentials:
        return socialkit.testing.make_credentials(
            access_token=self.secret, refresh_token="pigeon-refresh-0"
        )

    # How Pigeon says things ------------------------------------------------------------

    def creates_post(self, request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path == "/api/v1/posts"

    def expired_credentials_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "token_expired"})

    def refused_refresh_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_grant"})
