"""Publishing right now, without the scheduler."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, TypeVar

import attrs

from socialkit.errors import (
    AuthExpired,
    InvalidPost,
    PlatformError,
    SocialkitError,
    UnknownOutcome,
)
from socialkit.models._arguments import account_items, check_post
from socialkit.models.media_store import default_media_store
from socialkit.models.problems import has_errors
from socialkit.platforms.context import Context, utcnow
from socialkit.platforms.credentials import EnvCredentialProvider
from socialkit.platforms.registry import get_registry
from socialkit.platforms.render import render
from socialkit.platforms.validation import validate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable
    from datetime import datetime

    import httpx

    from socialkit.models.account import Account
    from socialkit.models.campaign import Campaign
    from socialkit.models.content import Draft, Post
    from socialkit.models.media_store import MediaStore
    from socialkit.models.problems import Problem
    from socialkit.models.receipt import PostRef, Receipt
    from socialkit.platforms.base import Platform
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry

__all__ = ["PublishResult", "apublish_now", "publish_now"]

log = logging.getLogger("socialkit.publish")
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class PublishResult:
    """What happened on one account.

    Attributes:
        account: the account.
        receipt: the platform's references, when published.
        error: what went wrong, when it did (an :class:`InvalidPost` for validation problems).
            An exception outside socialkit's taxonomy (an adapter or provider bug) is
            wrapped, with the original as ``__cause__``: in :class:`UnknownOutcome` when
            the adapter's ``publish`` raised it (a post may exist), else in
            :class:`PlatformError` (nothing was sent).
        problems: validation problems, including warnings on success.
        draft: the rendered draft, when rendering got that far.
    """

    account: Account
    receipt: Receipt | None = None
    error: SocialkitError | None = None
    problems: tuple[Problem, ...] = ()
    draft: Draft | None = None

    @property
    def ok(self) -> bool:
        """True when the post was published."""
        return self.receipt is not None and self.error is None


async def apublish_now(
    post: Post,
    accounts: Account | Iterable[Account],
    *,
    credentials: CredentialProvider | None = None,
    campaign: Campaign | None = None,
    registry: Registry | None = None,
    media: MediaStore | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[PublishResult]:
    """Publish ``post`` to every account now, concurrently; one result per account, in order.

    Each account's draft is validated before anything is sent, against the capabilities
    its server reports (:meth:`Platform.resolve_capabilities`, after its credentials are
    loaded); an account whose draft has errors is not sent to.
    One account's failure never hides another's success. There is one attempt (plus one
    retry after refreshing expired credentials); for retries, rate limits and exactly-once
    guarantees, use the scheduler.

    Args:
        post: the post.
        accounts: one account or several.
        credentials: the provider; environment variables (``SOCIALKIT_<ACCOUNT>_<KEY>``) by default.
        campaign: the campaign whose UTM parameters apply.
        registry: the plugin registry; the process-wide one by default.
        media: the media store; the default store by default.
        http: a client to use; a fresh one (closed afterwards) by default.
        clock: the clock.

    Raises:
        TypeError: ``post`` is not a :class:`Post` (text alone, say), or ``accounts`` is
            neither an :class:`Account` nor a list of them (an account id, say); the
            message names the parameter, what it takes and the type it got.
        CredentialsError: with the default provider, two of the accounts would read the
            same environment variables (``acme-bsky`` and ``acme.bsky``); nothing is sent.
    """
    check_post(post)
    targets = account_items(accounts, "accounts", ids=False)
    provider = credentials or EnvCredentialProvider(accounts=targets)
    reg = registry or get_registry()
    store = media or default_media_store()
    own_client = http is None
    if http is None:
        import httpx

        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False)
    try:
        return list(
            await asyncio.gather(
                *(
                    _publish_one(post, account, provider, campaign, reg, store, http, clock)
                    for account in targets
                )
            )
        )
    finally:
        if own_client:
            await http.aclose()


async def _publish_one(
    post: Post,
    account: Account,
    provider: CredentialProvider,
    campaign: Campaign | None,
    registry: Registry,
    media: MediaStore,
    http: httpx.AsyncClient,
    clock: Callable[[], datetime],
) -> PublishResult:
    draft: Draft | None = None
    problems: tuple[Problem, ...] = ()
    sending = False
    try:
        platform = registry.platform(account.platform)
        ctx = Context(
            account=account,
            credentials=await provider.load(account),
            http=http,
            media=media,
            clock=clock,
            credential_provider=provider,
        )
        capabilities = await platform.resolve_capabilities(ctx)
        draft = render(post, account.platform, capabilities, campaign=campaign)
        problems = tuple(validate(draft, capabilities, registry=registry))
        if has_errors(problems):
            raise InvalidPost(problems, subject=f"post for {account.id}")
        base = f"now-{uuid.uuid4().hex}"
        ctx = ctx.evolve(
            capabilities=capabilities,
            idempotency_keys=tuple(f"{base}-{i}" for i in range(len(draft.parts))),
        )
        sending = True
        receipt = await _publish_with_refresh(platform, draft, ctx)
        return PublishResult(account=account, receipt=receipt, problems=problems, draft=draft)
    except SocialkitError as exc:
        return PublishResult(account=account, error=exc, problems=problems, draft=draft)
    except Exception as exc:
        # Not in the taxonomy: a bug in an adapter or a provider. It must not take the
        # other accounts' results down with it (asyncio.gather would), so it becomes this
        # account's result; once publish() ran, the post may exist.
        stage = "publish" if sending else "preparing"
        log.warning("account %s: %s raised %s", account.id, stage, type(exc).__name__, exc_info=exc)
        wrapped = (UnknownOutcome if sending else PlatformError)(
            f"{stage} raised {type(exc).__name__}: {exc}"
        )
        wrapped.__cause__ = exc
        return PublishResult(account=account, error=wrapped, problems=problems, draft=draft)


async def _publish_with_refresh(platform: Platform, draft: Draft, ctx: Context) -> Receipt:
    calls = 0

    async def call(c: Context) -> Receipt:
        # the retry after a refresh is the next attempt
        nonlocal calls
        calls += 1
        return await platform.publish(draft, c if calls == 1 else c.evolve(attempt=ctx.attempt + 1))

    return await with_refresh(platform, ctx, call)


async def with_refresh(
    platform: Platform, ctx: Context, call: Callable[[Context], Awaitable[T]]
) -> T:
    """``call(ctx)``; when the platform refuses the token (:class:`AuthExpired`: nothing
    was done with *that* request), the credentials are refreshed once and ``call`` runs
    again with the fresh context. A second refusal is raised.

    A thread refused part way has parts already on the platform: the parts checkpointed
    during the first call are added to the fresh context's ``published_parts`` (and its
    ``first_attempt_at`` set), so the second call resumes after them instead of posting
    them again.
    """
    started = ctx.clock()
    done: dict[int, PostRef] = dict(enumerate(ctx.published_parts))

    async def noted(part: int, ref: PostRef) -> None:
        await ctx.on_checkpoint(part, ref)
        done[part] = ref

    try:
        return await call(ctx.evolve(on_checkpoint=noted))
    except AuthExpired:
        fresh = await refresh_credentials(platform, ctx)
        parts = len(ctx.published_parts)
        while parts in done:
            parts += 1
        if parts > len(ctx.published_parts):
            fresh = fresh.evolve(
                published_parts=tuple(done[i] for i in range(parts)),
                first_attempt_at=ctx.first_attempt_at or started,
            )
        return await call(fresh)


async def refresh_credentials(platform: Platform, ctx: Context) -> Context:
    """Refresh ``ctx``'s credentials once under the provider's per-account lock.

    When another worker refreshed them while this one waited for the lock, the newer
    credentials are used as they are.
    """
    async with ctx.credentials_lock():
        if ctx.credential_provider is not None:
            current = await ctx.credential_provider.load(ctx.account)
            if current != ctx.credentials:
                return ctx.evolve(credentials=current)
        fresh = await platform.refresh_credentials(ctx)
        await ctx.save_credentials(fresh)
        return ctx.evolve(credentials=fresh)


def publish_now(
    post: Post,
    accounts: Account | Iterable[Account],
    *,
    credentials: CredentialProvider | None = None,
    campaign: Campaign | None = None,
    registry: Registry | None = None,
    media: MediaStore | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[PublishResult]:
    """Sync twin of :func:`apublish_now` (same arguments); works inside a running loop too.

    A client passed as ``http`` is used on socialkit's background loop, so it must not be
    bound to another running loop; leave it out to get a fresh one.
    """
    from socialkit._runtime import run_sync

    check_post(post)  # here, before the background loop, so the caller's frame raises
    targets = account_items(accounts, "accounts", ids=False)
    return run_sync(
        apublish_now(
            post,
            targets,
            credentials=credentials,
            campaign=campaign,
            registry=registry,
            media=media,
            http=http,
            clock=clock,
        )
    )
