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


def test_a_403_refuses_only_the_call_and_a_401_needs_a_person() -> None:
    """A token without the scope (403) is :class:`~socialkit.errors.Forbidden`, which the
    engine keeps to the one call; a revoked token (401) needs the account reconnected."""
    from socialkit_pigeon import _error

    from socialkit.errors import Forbidden, NeedsReauth

    scope = _error(
        httpx.Response(403, json={"error": "insufficient_scope"}), write=False, where="stats"
    )
    revoked = _error(httpx.Response(401, json={"error": "invalid_token"}), write=True, where="post")
    assert isinstance(scope, Forbidden)
    assert "insufficient_scope" in str(scope)
    assert isinstance(revoked, NeedsReauth)
    assert not isinstance(revoked, Forbidden)
