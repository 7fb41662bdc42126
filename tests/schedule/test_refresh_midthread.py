"""A token refused part way through a thread: after the refresh, the send resumes after
the parts already on the platform (review helper-68: the retry started from the first
part again, so a platform without idempotency keys showed part one twice)."""

from __future__ import annotations

from typing import Any

from socialkit.errors import AuthExpired
from socialkit.models.account import Account
from socialkit.models.content import Post, ThreadPart
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency
from socialkit.platforms.context import Context
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.platforms.publish import apublish_now
from socialkit.platforms.registry import Registry
from socialkit.schedule.states import PublicationState as S
from socialkit.text.rules import FEED
from tests.schedule.conftest import START, account

THREAD = Post(text="part one", thread=[ThreadPart(text="part two"), ThreadPart(text="part three")])


async def test_the_engine_resumes_a_thread_after_a_refresh(make_scheduler, platform) -> None:
    server = platform("plain", idempotency=Idempotency.NONE, requires_credentials=True)
    server.script(("fail_part", 1, AuthExpired("token expired", status_code=401)))
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    scheduler = await make_scheduler(credentials=provider)
    (pub,) = await scheduler.schedule(THREAD, account(platform="plain"), at=START)
    await scheduler.run(until_idle=True)
    p = await scheduler.get(pub.id)
    assert p.state is S.PUBLISHED
    assert sorted(post["text"] for post in server.posts.values()) == [
        "part one",
        "part three",
        "part two",
    ]
    assert [call["resume_after"] for call in server.calls] == [0, 1]
    assert server.calls[1]["credentials"] == "fresh-1"
    # the refused call had taken effect: the retry knows when
    assert server.calls[1]["first_attempt_at"] is not None
    assert [ref.id for ref in p.receipts[-1].receipt.parts] == sorted(server.posts)


def _registry(posted: list[str], refs_seen: list[int]) -> Registry:
    class Lookup(Platform):
        name = "lookup"
        contract = 1
        capabilities = Capabilities(text=FEED, threads=True, idempotency=Idempotency.LOOKUP)

        async def publish(self, draft: Any, ctx: Context) -> Receipt:
            refs_seen.append(len(ctx.published_parts))
            refs = list(ctx.published_parts)
            for i in range(len(refs), len(draft.parts)):
                if i == 2 and len(refs_seen) == 1:
                    raise AuthExpired("token expired", status_code=401)
                posted.append(draft.parts[i].text)
                ref = PostRef(id=f"p{len(posted)}")
                await ctx.checkpoint(i, ref)
                refs.append(ref)
            return Receipt(
                platform="lookup",
                account_id=ctx.account.id,
                parts=tuple(refs),
                published_at=ctx.now(),
            )

        async def refresh_credentials(self, ctx: Context) -> Any:
            return ctx.credentials.with_values(token="fresh")

    registry = Registry(load_entry_points=False)
    registry.register(Lookup)
    return registry


async def test_publish_now_resumes_a_thread_after_a_refresh() -> None:
    posted: list[str] = []
    refs_seen: list[int] = []
    [result] = await apublish_now(
        THREAD,
        Account(id="acme", platform="lookup", handle="acme"),
        credentials=MemoryCredentialProvider({"acme": {"token": "old"}}),
        registry=_registry(posted, refs_seen),
    )
    assert result.ok, result.error
    assert posted == ["part one", "part two", "part three"]
    assert refs_seen == [0, 2]
    assert result.receipt is not None
    assert [ref.id for ref in result.receipt.parts] == ["p1", "p2", "p3"]
