"""The Mastodon adapter: statuses, threads, media, polls, metrics and reconciliation."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from socialkit import (
    AccountIdentity,
    MetricSnapshot,
    Platform,
    PlatformError,
    PostRef,
    Problem,
    Receipt,
    Rejected,
    UnknownOutcome,
)
from socialkit_mastodon._api import MastodonApi
from socialkit_mastodon._capabilities import DEFAULT_CAPABILITIES, limits_from_instance
from socialkit_mastodon._lookup import parse_time, status_matches
from socialkit_mastodon._media import MediaPolling, upload_media
from socialkit_mastodon._status import StatusOptions, status_body

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from datetime import datetime

    from socialkit import Capabilities, Context, Draft
    from socialkit_mastodon._capabilities import InstanceLimits

__all__ = ["IDEMPOTENCY_KEY_WINDOW", "Mastodon"]

IDEMPOTENCY_KEY_WINDOW = timedelta(hours=1)
"""How long a Mastodon server remembers an ``Idempotency-Key``."""

_PAGE = 40  # the most statuses one page of an account's statuses holds


def _idempotency_header(key: str) -> str:
    """The ``Idempotency-Key`` header value for a publication's idempotency key.

    A key that is a valid header value (RFC 9110 section 5.5: printable ASCII, not empty,
    and no space at either end) is sent as it is, so a retry sends what the first attempt
    did, whichever version sent it. Any other key — a scheduling key the user wrote,
    ``"lançamento"`` or ``" launch"`` — cannot be sent as it is (httpx refuses it, or the
    server would read another key) and is sent as ``sk-`` and the hex SHA-256 of its
    UTF-8 bytes, the same for every attempt. Such a key was never sent as it is (httpx
    refused it; an empty one protected nothing), so hashing it changes no retry of an
    earlier attempt.
    """
    if key and key.isascii() and key.isprintable() and key == key.strip():
        return key
    return "sk-" + hashlib.sha256(key.encode()).hexdigest()


class Mastodon(Platform):
    """Publishes to any Mastodon server, with that server's own limits.

    Account settings:
        instance: the server's address (``https://mastodon.social``). Required.
        visibility: the default visibility of statuses (``public``, ``unlisted``,
            ``private``, ``direct``); the server's default when absent.

    Credentials: ``access_token`` (see :func:`socialkit_mastodon.connect_account`).

    Every status is created with the context's idempotency key as ``Idempotency-Key``
    (a digest of it when it cannot be a header value; see ``_idempotency_header``),
    which the server honours for an hour: a retry after an unknown outcome returns the
    status the first request created. Past that window, :meth:`find_published` looks for
    the status among the account's own, and :meth:`publish` does the same before it
    sends again.

    Args:
        refresh_interval: how long an instance's limits are reused before they are read
            again.
        media_polling: how long to wait for the server to process an upload.
        sleep: the coroutine used to wait between media checks (injected by tests).
        key_margin: how long before the end of the key window a retry is treated as past it.
        clock_skew: how far a status's ``created_at`` may precede the first attempt and
            still be this publication's.
        lookup_pages: how many pages of the account's statuses reconciliation reads
            (40 statuses each) before it gives up and leaves the decision to a person.
    """

    name: ClassVar[str] = "mastodon"
    title: ClassVar[str | None] = "Mastodon"
    contract: ClassVar[int] = 1
    capabilities: ClassVar[Capabilities] = DEFAULT_CAPABILITIES

    def __init__(
        self,
        *,
        refresh_interval: timedelta = timedelta(hours=1),
        media_polling: MediaPolling | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        key_margin: timedelta = timedelta(minutes=5),
        clock_skew: timedelta = timedelta(minutes=5),
        lookup_pages: int = 10,
    ) -> None:
        self.refresh_interval = refresh_interval
        self.media_polling = media_polling or MediaPolling()
        self.sleep = sleep
        self.key_margin = key_margin
        self.clock_skew = clock_skew
        self.lookup_pages = lookup_pages
        self._instances: dict[str, InstanceLimits] = {}
        self._account_ids: dict[tuple[str, str], str] = {}

    # -- capabilities ----------------------------------------------------------------------

    async def instance_limits(self, ctx: Context) -> InstanceLimits:
        """The limits of the account's server, read from ``GET /api/v2/instance``.

        Read with the account's token when it has one (a server in limited federation
        mode answers only then), without one otherwise. Cached per server for
        :attr:`refresh_interval`. When the server cannot be reached
        and an older copy exists, the older copy is used.
        """
        api = MastodonApi(ctx)
        now = ctx.now()
        cached = self._instances.get(api.base_url)
        if cached is not None and cached.fresh(now, self.refresh_interval):
            return cached
        try:
            # With the token when there is one: a server in limited federation mode shows
            # its instance document only to an authenticated request.
            document = await api.json(
                "GET",
                "/api/v2/instance",
                operation="read instance",
                auth=bool(ctx.credentials.get("access_token")),
            )
        except PlatformError as exc:
            if exc.status_code == 404 and isinstance(exc, Rejected):
                raise Rejected(
                    f"mastodon: {api.base_url} has no GET /api/v2/instance ({exc.message}); "
                    f"is settings.instance of account {ctx.account.id!r} the address of a "
                    "Mastodon server, and is that server Mastodon 4.0 or later?",
                    status_code=404,
                ) from None
            if cached is not None:
                ctx.logger.warning(
                    "mastodon: could not refresh the limits of %s; using those read at %s",
                    api.base_url,
                    cached.fetched_at.isoformat(),
                )
                return cached
            raise
        if not isinstance(document, dict):
            raise Rejected(f"mastodon read instance: {api.base_url} sent no instance document")
        limits = limits_from_instance(document, now)
        self._instances[api.base_url] = limits
        return limits

    def check_draft(self, draft: Draft) -> list[Problem]:
        """The draft's Mastodon options (``visibility``, ``sensitive``, ``poll``), checked
        offline, so a bad one stops the post when it is validated or scheduled. A poll's
        server limits are checked when it is sent (they are the server's)."""
        try:
            StatusOptions.from_draft(draft, {})
        except Rejected as exc:
            details = exc.details or {}
            limit, value = details.get("limit"), details.get("value")
            return [
                Problem(
                    field=str(details.get("field", "options")),
                    code="options.invalid",
                    message=str(details.get("problem", exc.message)),
                    limit=limit if isinstance(limit, str | int | float) else None,
                    value=value if isinstance(value, str | int | float) else None,
                    platform=self.name,
                )
            ]
        return []

    async def resolve_capabilities(self, ctx: Context) -> Capabilities:
        """This server's capabilities: its character limit, URL width, media limits."""
        return (await self.instance_limits(ctx)).capabilities

    # -- account ---------------------------------------------------------------------------

    async def verify_account(self, ctx: Context) -> AccountIdentity:
        """Who the token belongs to: the numeric account id is the stable id.

        The handle's domain is the server's WebFinger ``domain`` from its instance
        document (``@acme@example.com`` for a server at ``social.example.com``), or the
        server's host name when that document cannot be read.
        """
        api = MastodonApi(ctx)
        data = await api.json(
            "GET", "/api/v1/accounts/verify_credentials", operation="verify credentials"
        )
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise Rejected("mastodon verify credentials: the answer names no account id")
        acct = str(data.get("acct") or data.get("username") or data["id"])
        if "@" in acct:
            handle = f"@{acct}"
        else:
            try:
                domain = (await self.instance_limits(ctx)).domain
            except PlatformError:
                domain = None
            handle = f"@{acct}@{domain or api.base_url.split('://', 1)[1]}"
        self._account_ids[(api.base_url, ctx.account.id)] = data["id"]
        display = data.get("display_name")
        return AccountIdentity(
            platform_account_id=data["id"],
            handle=handle,
            display_name=display if isinstance(display, str) and display else None,
        )

    async def _account_id(self, api: MastodonApi, ctx: Context) -> str:
        if ctx.account.platform_account_id:
            return ctx.account.platform_account_id
        cached = self._account_ids.get((api.base_url, ctx.account.id))
        if cached is not None:
            return cached
        return (await self.verify_account(ctx)).platform_account_id

    # -- publishing ------------------------------------------------------------------------

    def key_window_passed(self, ctx: Context) -> bool:
        """True when a retry may come after the server forgot the first attempt's keys."""
        if ctx.attempt <= 1 or ctx.first_attempt_at is None:
            return False
        return ctx.now() - ctx.first_attempt_at >= IDEMPOTENCY_KEY_WINDOW - self.key_margin

    async def publish(self, draft: Draft, ctx: Context) -> Receipt:
        """Create one status per part, each replying to the one before.

        Parts in ``ctx.published_parts`` are not sent again; each new part is
        checkpointed as soon as the server accepts it. When the idempotency keys may have
        expired (a retry more than an hour after the first attempt), the account's
        statuses are searched first, and an ambiguous search raises
        :class:`~socialkit.UnknownOutcome` instead of risking a duplicate.
        """
        api = MastodonApi(ctx)
        limits = await self.instance_limits(ctx)
        options = StatusOptions.from_draft(draft, ctx.settings)
        if options.poll is not None:
            options.poll.check(limits.polls)
        refs = list(ctx.published_parts)
        if len(refs) < len(draft.parts) and self.key_window_passed(ctx):
            refs = await self._reconcile(draft, ctx, api)
            if len(refs) == len(draft.parts):
                return self._receipt(refs, ctx)
        total = len(draft.parts)
        for index in range(len(refs), total):
            media_ids = [
                await upload_media(api, item, polling=self.media_polling, sleep=self.sleep)
                for item in draft.parts[index].media
            ]
            body = status_body(
                draft,
                index,
                options,
                media_ids=media_ids,
                in_reply_to_id=refs[-1].id if refs else None,
            )
            operation = "create status" if total == 1 else f"create status {index + 1}/{total}"
            status = await api.json(
                "POST",
                "/api/v1/statuses",
                operation=operation,
                write=True,
                json_body=body,
                headers={"Idempotency-Key": _idempotency_header(ctx.idempotency_key(index))},
            )
            ref = _ref(status, operation)
            await ctx.checkpoint(index, ref)
            refs.append(ref)
        return self._receipt(refs, ctx)

    def _receipt(self, refs: Sequence[PostRef], ctx: Context) -> Receipt:
        published_at = parse_time(refs[0].extra.get("created_at")) or ctx.now()
        return Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=tuple(refs),
            published_at=published_at,
        )

    # -- reconciliation --------------------------------------------------------------------

    async def find_published(self, draft: Draft, ctx: Context) -> Receipt | None:
        """Look for the statuses this publication may have created.

        Reads the account's statuses back to a little before the first attempt and
        matches each part (text, content warning, media alt texts, reply parent) in
        order, skipping statuses another publication has claimed (``ctx.is_claimed``), so
        an evergreen re-post of the same text is not mistaken for this one.

        Returns:
            The receipt when every part was found; ``None`` when the first missing part
            certainly does not exist (parts found before it are checkpointed, so a new
            attempt resumes after them).

        Raises:
            UnknownOutcome: more than one unclaimed status matches, or the search could
                not reach back to the first attempt; a person decides.
        """
        api = MastodonApi(ctx)
        refs = await self._reconcile(draft, ctx, api)
        if len(refs) == len(draft.parts):
            return self._receipt(refs, ctx)
        return None

    async def _reconcile(self, draft: Draft, ctx: Context, api: MastodonApi) -> list[PostRef]:
        refs = list(ctx.published_parts)
        if len(refs) >= len(draft.parts):
            return refs
        account_id = await self._account_id(api, ctx)
        since = ctx.first_attempt_at - self.clock_skew if ctx.first_attempt_at else None
        statuses, complete = await self._statuses_since(api, account_id, since)
        for index in range(len(refs), len(draft.parts)):
            parent = refs[-1].id if refs else None
            matches = []
            for status in statuses:
                created = parse_time(status.get("created_at"))
                if since is not None and (created is None or created < since):
                    continue
                if not status_matches(
                    status,
                    text=draft.parts[index].text,
                    media=draft.parts[index].media,
                    content_warning=draft.content_warning,
                    in_reply_to_id=parent,
                ):
                    continue
                if await ctx.is_claimed(str(status["id"])):
                    continue
                matches.append(status)
            if len(matches) > 1:
                ids = ", ".join(str(s["id"]) for s in matches)
                raise UnknownOutcome(
                    f"mastodon: {len(matches)} unclaimed statuses ({ids}) match part "
                    f"{index + 1} of this publication; a person must choose"
                )
            if not matches:
                if not complete:
                    raise UnknownOutcome(
                        f"mastodon: part {index + 1} was not among the newest "
                        f"{self.lookup_pages * _PAGE} statuses, which do not reach back to "
                        "the first attempt; a person must decide"
                    )
                break
            ref = _ref(matches[0], "find status")
            await ctx.checkpoint(index, ref)
            refs.append(ref)
        return refs

    async def _statuses_since(
        self, api: MastodonApi, account_id: str, since: datetime | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The account's statuses, newest first, back to ``since``.

        Returns the statuses and whether the search reached ``since`` (or the account's
        first status).
        """
        collected: list[dict[str, Any]] = []
        max_id: str | None = None
        for _ in range(self.lookup_pages):
            params: dict[str, Any] = {"limit": _PAGE, "exclude_reblogs": "true"}
            if max_id is not None:
                params["max_id"] = max_id
            page = await api.json(
                "GET",
                f"/api/v1/accounts/{account_id}/statuses",
                operation="list statuses",
                params=params,
            )
            if not isinstance(page, list) or not page:
                return collected, True
            statuses = [s for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)]
            collected.extend(statuses)
            if not statuses:
                return collected, True
            oldest = parse_time(statuses[-1].get("created_at"))
            if since is not None and oldest is not None and oldest < since:
                return collected, True
            max_id = statuses[-1]["id"]
        return collected, False

    # -- after publishing ------------------------------------------------------------------

    async def delete(self, receipt: Receipt, ctx: Context) -> None:
        """Delete every part, replies first; a status already gone counts as deleted."""
        api = MastodonApi(ctx)
        for ref in reversed(receipt.parts):
            try:
                await api.request(
                    "DELETE", f"/api/v1/statuses/{ref.id}", operation="delete status", write=True
                )
            except Rejected as exc:
                if exc.status_code != 404:
                    raise

    async def fetch_metrics(
        self, receipts: Sequence[Receipt], ctx: Context
    ) -> list[MetricSnapshot]:
        """Replies, boosts, favourites and quotes of each post; followers of the account.

        A post that no longer exists is left out. ``comments`` is ``replies_count``,
        ``shares`` is ``reblogs_count``, ``likes`` is ``favourites_count`` and ``quotes``
        is ``quotes_count`` (``None`` on servers older than 4.5, which do not report it).
        """
        api = MastodonApi(ctx)
        snapshots: list[MetricSnapshot] = []
        for receipt in receipts:
            try:
                status = await api.json(
                    "GET", f"/api/v1/statuses/{receipt.ref.id}", operation="read status"
                )
            except Rejected as exc:
                if exc.status_code == 404:
                    continue
                raise
            if not isinstance(status, dict):
                continue
            snapshots.append(
                MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    subject="post",
                    post_id=receipt.ref.id,
                    publication_id=ctx.publication_id,
                    collected_at=ctx.now(),
                    comments=_count(status, "replies_count"),
                    shares=_count(status, "reblogs_count"),
                    likes=_count(status, "favourites_count"),
                    quotes=_count(status, "quotes_count"),
                )
            )
        account_id = await self._account_id(api, ctx)
        account = await api.json("GET", f"/api/v1/accounts/{account_id}", operation="read account")
        if isinstance(account, dict):
            snapshots.append(
                MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    subject="account",
                    publication_id=ctx.publication_id,
                    collected_at=ctx.now(),
                    followers=_count(account, "followers_count"),
                )
            )
        return snapshots


def _count(entity: dict[str, Any], key: str) -> int | None:
    value = entity.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _ref(status: object, operation: str) -> PostRef:
    if not isinstance(status, dict) or not isinstance(status.get("id"), str):
        # The request was accepted, but we cannot say what it created.
        raise UnknownOutcome(f"mastodon {operation}: the answer names no status id")
    url = status.get("url") or status.get("uri")
    extra = (
        {"created_at": status["created_at"]} if isinstance(status.get("created_at"), str) else {}
    )
    return PostRef(id=status["id"], url=url if isinstance(url, str) else None, extra=extra)
