"""``publish_now`` refreshes expired credentials once, then sends again as a new attempt."""

from __future__ import annotations

from typing import Any

from socialkit.errors import AuthExpired
from socialkit.models.account import Account
from socialkit.models.content import Post
from socialkit.models.credentials import Credentials
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.context import Context
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.publish import apublish_now
from socialkit.platforms.registry import Registry
from socialkit.text.rules import FEED


def registry_with(refusals: int, seen: list[tuple[int, Any]]) -> Registry:
    class Picky(Platform):
        name = "picky"
        contract = 1
        capabilities = Capabilities(text=FEED)

        async def publish(self, draft: Any, ctx: Context) -> Receipt:
            seen.append((ctx.attempt, ctx.credentials.get("token")))
            if len(seen) <= refusals:
                raise AuthExpired("token expired", status_code=401)
            return Receipt(
                platform="picky",
                account_id=ctx.account.id,
                parts=(PostRef(id="p1"),),
                published_at=ctx.now(),
            )

        async def refresh_credentials(self, ctx: Context) -> Credentials:
            return ctx.credentials.with_values(token=f"fresh-{len(seen)}")

    registry = Registry(load_entry_points=False)
    registry.register(Picky)
    return registry


async def publish_refused(
    refusals: int,
) -> tuple[Any, list[tuple[int, Any]], MemoryCredentialProvider, Account]:
    """``publish_now`` on a platform refusing the token ``refusals`` times: the result,
    the (attempt, token) of each call, the provider and the account."""
    seen: list[tuple[int, Any]] = []
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    account = Account(id="acme", platform="picky", handle="acme")
    [result] = await apublish_now(
        Post(text="Hi"), account, credentials=provider, registry=registry_with(refusals, seen)
    )
    return result, seen, provider, account


async def test_an_expired_token_is_refreshed_once_and_sent_as_the_next_attempt() -> None:
    result, seen, provider, account = await publish_refused(1)
    assert result.ok, result.error
    assert seen == [(1, "old"), (2, "fresh-1")]
    assert (await provider.load(account)).get("token") == "fresh-1"


async def test_a_second_refusal_is_the_result() -> None:
    result, seen, _, _ = await publish_refused(2)
    assert isinstance(result.error, AuthExpired)
    assert len(seen) == 2  # refreshed once, not in a loop
