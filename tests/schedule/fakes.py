"""A scripted fake platform for engine tests: it does what each test tells it to.

``make_platform(name, idempotency)`` returns a new ``Platform`` subclass with its own
``server`` (what the "platform" holds: posts by id, every call received). A test queues
outcomes with ``server.script(...)``; each publish call takes the next one:

* ``"ok"`` — publish (on a KEY platform a repeated idempotency key returns the same post);
* an exception instance — raise it without publishing;
* ``("after", exc)`` — publish, then raise ``exc`` (a timeout after the platform acted);
* ``("unanswered", k)`` — publish parts up to ``k``, checkpoint all but part ``k``, then
  raise ``UnknownOutcome`` (part ``k`` was made, its answer lost).

``find_published`` finds the parts made for the draft's keys, in order.
``server.script_metrics(...)`` queues exceptions for the next ``fetch_metrics`` calls.

``server.script_delete(...)`` queues outcomes for ``delete`` the same way (``"ok"`` or an
exception); ``server.deleted`` lists the post ids deleted, in order.

Posts are counted per idempotency key, so a test can check "nothing published twice".
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
from collections.abc import Callable
from typing import Any

import attrs

from socialkit.errors import UnknownOutcome
from socialkit.models.credentials import Credentials
from socialkit.models.metrics import MetricSnapshot
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.base import Platform
from socialkit.platforms.capabilities import Capabilities, Idempotency
from socialkit.platforms.context import Context
from socialkit.text.rules import FEED

Step = Any


@attrs.define
class FakeServer:
    """The fake platform's side: posts, calls, and the script of outcomes."""

    idempotency: Idempotency
    posts: dict[str, dict[str, Any]] = attrs.Factory(dict)
    by_key: dict[str, str] = attrs.Factory(dict)
    calls: list[dict[str, Any]] = attrs.Factory(list)
    steps: list[Step] = attrs.Factory(list)
    lookups: list[Step] = attrs.Factory(list)
    delete_steps: list[Step] = attrs.Factory(list)
    deleted: list[str] = attrs.Factory(list)
    delete_tokens: list[str | None] = attrs.Factory(list)
    on_delete: Callable[[Receipt], Any] | None = None
    refreshes: int = 0
    refresh_result: Step = "ok"
    rate_limit_reports: list[tuple[int | None, dt.datetime | None]] = attrs.Factory(list)
    metrics_likes: int = 7
    metric_steps: list[Step] = attrs.Factory(list)
    metric_tokens: list[str | None] = attrs.Factory(list)
    on_publish: Callable[[dict[str, Any]], Any] | None = None
    _ids: Any = attrs.Factory(lambda: itertools.count(1))

    def script(self, *steps: Step) -> None:
        """Queue outcomes for the next publish calls (``"ok"`` when the script is empty)."""
        self.steps.extend(steps)

    def script_lookup(self, *steps: Step) -> None:
        """Queue outcomes for ``find_published``: ``"found"``, ``"absent"`` or an exception."""
        self.lookups.extend(steps)

    def script_metrics(self, *steps: Step) -> None:
        """Queue outcomes for the next ``fetch_metrics`` calls: ``"ok"`` or an exception."""
        self.metric_steps.extend(steps)

    def script_delete(self, *steps: Step) -> None:
        """Queue outcomes for the next ``delete`` calls: ``"ok"`` or an exception."""
        self.delete_steps.extend(steps)

    def copies(self, key: str) -> int:
        """How many posts were made for this idempotency key."""
        return sum(1 for post in self.posts.values() if post["key"] == key)

    def create(self, key: str, text: str, account: str) -> dict[str, Any]:
        if self.idempotency is Idempotency.KEY and key in self.by_key:
            return self.posts[self.by_key[key]]
        post_id = f"post-{next(self._ids)}"
        post = {"id": post_id, "key": key, "text": text, "account": account}
        self.posts[post_id] = post
        self.by_key.setdefault(key, post_id)
        return post


async def _hook(hook: Callable[[Any], Any] | None, arg: Any) -> None:
    """Call a test's hook, awaiting it when it is a coroutine function."""
    if hook is not None:
        result = hook(arg)
        if inspect.isawaitable(result):
            await result


def make_platform(
    name: str = "fake",
    idempotency: Idempotency = Idempotency.KEY,
    *,
    threads: bool = True,
    requires_credentials: bool = False,
    limit: int = 500,
    can_delete: bool = True,
) -> type[Platform]:
    """A new fake ``Platform`` class with its own :class:`FakeServer` as ``.server``."""
    from socialkit.text.rules import TextRule

    server = FakeServer(idempotency=idempotency)
    rule = (
        FEED
        if limit == FEED.limit
        else TextRule.model_validate({**FEED.model_dump(), "limit": limit})
    )

    class Fake(Platform):
        capabilities = Capabilities(
            text=rule,
            threads=threads,
            idempotency=idempotency,
            requires_credentials=requires_credentials,
            metrics=frozenset({"likes"}),
            delete=can_delete,
        )
        contract = 1

        async def publish(self, draft: Any, ctx: Context) -> Receipt:
            step = server.steps.pop(0) if server.steps else "ok"
            call = {
                "publication": ctx.publication_id,
                "account": ctx.account.id,
                "keys": ctx.idempotency_keys,
                "attempt": ctx.attempt,
                "credentials": ctx.credentials.get("token"),
                "resume_after": len(ctx.published_parts),
                "first_attempt_at": ctx.first_attempt_at,
            }
            server.calls.append(call)
            await _hook(server.on_publish, call)
            if isinstance(step, BaseException):
                raise step
            refs = list(ctx.published_parts)
            for index in range(len(ctx.published_parts), len(draft.parts)):
                part_step = step if index == len(ctx.published_parts) else "ok"
                if (
                    isinstance(part_step, tuple)
                    and part_step[0] == "fail_part"
                    and index == part_step[1]
                ):
                    raise part_step[2]
                post = server.create(
                    ctx.idempotency_key(index), draft.parts[index].text, ctx.account.id
                )
                ref = PostRef(id=post["id"], url=f"https://{name}.example/{post['id']}")
                refs.append(ref)
                if step == ("unanswered", index):
                    raise UnknownOutcome("the answer was lost")
                await ctx.checkpoint(index, ref)
                if isinstance(step, tuple) and step[0] == "fail_part" and index + 1 == step[1]:
                    raise step[2]
            if isinstance(step, tuple) and step[0] == "after":
                raise step[1]
            if isinstance(step, tuple) and step[0] == "report":
                ctx.report_rate_limit(remaining=step[1], reset=step[2])
            return Receipt(
                platform=name, account_id=ctx.account.id, parts=tuple(refs), published_at=ctx.now()
            )

        async def find_published(self, draft: Any, ctx: Context) -> Receipt | None:
            step = server.lookups.pop(0) if server.lookups else "auto"
            if isinstance(step, BaseException):
                raise step
            if idempotency is Idempotency.NONE and step == "auto":
                raise UnknownOutcome(f"{name} cannot look for posts")
            found = []
            for index in range(len(draft.parts)):
                post_id = server.by_key.get(ctx.idempotency_key(index))
                if post_id is None:
                    break
                found.append(PostRef(id=post_id))
            if step == "absent" or (step == "auto" and not found):
                return None
            return Receipt(
                platform=name, account_id=ctx.account.id, parts=tuple(found), published_at=ctx.now()
            )

        async def delete(self, receipt: Receipt, ctx: Context) -> None:
            step = server.delete_steps.pop(0) if server.delete_steps else "ok"
            server.delete_tokens.append(ctx.credentials.get("token"))
            await _hook(server.on_delete, receipt)
            if isinstance(step, BaseException):
                raise step
            for ref in reversed(receipt.parts):  # a post already gone counts as deleted
                server.posts.pop(ref.id, None)
                server.deleted.append(ref.id)

        async def refresh_credentials(self, ctx: Context) -> Credentials:
            server.refreshes += 1
            if isinstance(server.refresh_result, BaseException):
                raise server.refresh_result
            return ctx.credentials.with_values(token=f"fresh-{server.refreshes}")

        async def fetch_metrics(self, receipts: Any, ctx: Context) -> list[MetricSnapshot]:
            step = server.metric_steps.pop(0) if server.metric_steps else "ok"
            server.metric_tokens.append(ctx.credentials.get("token"))
            if isinstance(step, BaseException):
                raise step
            return [
                MetricSnapshot(
                    platform=name,
                    account_id=ctx.account.id,
                    post_id=r.ref.id,
                    collected_at=ctx.now(),
                    likes=server.metrics_likes,
                )
                for r in receipts
            ]

    Fake.name = name  # type: ignore[misc]
    Fake.__name__ = f"Fake_{name}"
    Fake.server = server  # type: ignore[attr-defined]
    return Fake
