"""socialkit-pigeon: a complete socialkit adapter for the (fictional) Pigeon API.

The worked example of the plugin author guide. Everything an adapter does is here:
capabilities as data, publishing threads with an idempotency key per part and a
checkpoint after each, media uploads, delete, metrics, finding a post again, refreshing
an expired token, reporting the rate-limit budget, and mapping every failure onto
socialkit's error taxonomy.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

import httpx

import socialkit
from socialkit.errors import (
    AuthExpired,
    ConfigError,
    Forbidden,
    NeedsReauth,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from socialkit.text.rules import Counting, TextRule

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from socialkit import Context, Credentials, Draft, Media, MetricSnapshot, Receipt

__all__ = ["PIGEON_TEXT", "Pigeon", "register_platforms"]

# --8<-- [start:class]
PIGEON_TEXT = TextRule(name="pigeon", counting=Counting.GRAPHEMES, limit=500)
"""Pigeon counts user-perceived characters and allows 500 of them."""

# Pigeon's names for the counts, and socialkit's.
_STATS = {
    "views": "impressions",
    "likes": "likes",
    "reposts": "shares",
    "replies": "comments",
    "link_clicks": "clicks",
}


class Pigeon(socialkit.Platform):
    """Pigeon: threads, up to four images, exactly-once publishing with Idempotency-Key.

    Account settings:
        loft: the server's base URL, for example ``https://loft.example``.

    Credentials:
        access_token: the bearer token.
        refresh_token: exchanged for a new pair when the access token expires.
    """

    name = "pigeon"
    title = "Pigeon"
    contract = 1
    capabilities = socialkit.Capabilities(
        text=PIGEON_TEXT,
        media=socialkit.MediaLimits(
            max_items=4,
            max_images=4,
            image_types=frozenset({"image/png", "image/jpeg"}),
            max_image_bytes=5 * 1024 * 1024,
            alt_text="optional",
            max_alt_text=1000,
        ),
        threads=True,
        max_thread_parts=25,
        idempotency=socialkit.Idempotency.KEY,
        delete=True,
        metrics=frozenset(_STATS.values()),
        rate_limit_headers="X-RateLimit",
    )
    # --8<-- [end:class]

    # -- publishing ------------------------------------------------------------------------

    # --8<-- [start:publish]
    async def publish(self, draft: Draft, ctx: Context) -> Receipt:
        # Resume after the parts an earlier attempt already published.
        parts = list(ctx.published_parts)
        for index in range(len(parts), len(draft.parts)):
            part = draft.parts[index]
            media_ids = [await self._upload(media, ctx) for media in part.media]
            body: dict[str, Any] = {"text": part.text, "media_ids": media_ids}
            if parts:
                body["reply_to"] = parts[-1].id
            created = await self._call(
                ctx,
                "POST",
                "/api/v1/posts",
                write=True,
                json=body,
                headers={"Idempotency-Key": ctx.idempotency_key(index)},
            )
            ref = socialkit.PostRef(id=str(created["id"]), url=created.get("url"))
            await ctx.checkpoint(index, ref)
            parts.append(ref)
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=tuple(parts),
            published_at=ctx.now(),
        )

    async def _upload(self, media: Media, ctx: Context) -> str:
        data = await ctx.read_media(media)  # off the event loop; a missing file is Rejected
        uploaded = await self._call(
            ctx,
            "POST",
            "/api/v1/media",
            # An upload creates no post: if its answer is lost, uploading again only
            # leaves an unused file behind, so a failure here is Transient.
            write=False,
            files={"file": (f"{media.sha256}", data, media.mime_type)},
            data={"description": media.alt_text or ""},
        )
        return str(uploaded["id"])

    # --8<-- [end:publish]

    # --8<-- [start:delete_find]
    async def delete(self, receipt: Receipt, ctx: Context) -> None:
        # Replies first, so a half-done delete never leaves replies to nothing.
        for ref in reversed(receipt.parts):
            try:
                await self._call(ctx, "DELETE", f"/api/v1/posts/{ref.id}", write=True)
            except Rejected as exc:
                if exc.status_code != 404:
                    raise
                # Already gone: a delete retried after an unknown outcome succeeds.

    async def find_published(self, draft: Draft, ctx: Context) -> Receipt | None:
        parts = []
        for index in range(len(draft.parts)):
            found = await self._call(
                ctx,
                "GET",
                "/api/v1/posts",
                write=False,
                params={"idempotency_key": ctx.idempotency_key(index)},
            )
            posts = found.get("posts") or []
            if not posts:
                break
            post_id = str(posts[0]["id"])
            if await ctx.is_claimed(post_id):
                return None
            parts.append(socialkit.PostRef(id=post_id, url=posts[0].get("url")))
        if not parts:
            return None
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=tuple(parts),
            published_at=ctx.first_attempt_at or ctx.now(),
        )

    # --8<-- [end:delete_find]

    # -- metrics and accounts --------------------------------------------------------------

    # --8<-- [start:metrics_accounts]
    async def fetch_metrics(
        self, receipts: Sequence[Receipt], ctx: Context
    ) -> list[MetricSnapshot]:
        snapshots = []
        for receipt in receipts:
            try:
                stats = await self._call(
                    ctx, "GET", f"/api/v1/posts/{receipt.ref.id}/stats", write=False
                )
            except Rejected as exc:
                if exc.status_code == 404:
                    continue  # deleted since: nothing to count
                raise
            counts = {ours: stats[theirs] for theirs, ours in _STATS.items() if theirs in stats}
            snapshots.append(
                socialkit.MetricSnapshot(
                    platform=self.name,
                    account_id=ctx.account.id,
                    post_id=receipt.ref.id,
                    publication_id=ctx.publication_id,
                    collected_at=ctx.now(),
                    **counts,
                )
            )
        return snapshots

    async def verify_account(self, ctx: Context) -> socialkit.AccountIdentity:
        me = await self._call(ctx, "GET", "/api/v1/me", write=False)
        return socialkit.AccountIdentity(
            platform_account_id=str(me["id"]), handle=me["handle"], display_name=me.get("name")
        )

    async def refresh_credentials(self, ctx: Context) -> Credentials:
        refresh_token = ctx.credentials.get("refresh_token")
        if not refresh_token:
            raise NeedsReauth("the account has no refresh token; reconnect it")
        try:
            tokens = await self._call(
                ctx,
                "POST",
                "/oauth/token",
                # Exchanging a refresh token twice fails on Pigeon, so a lost answer is
                # not safe to repeat: treat it as a write.
                write=True,
                authorize=False,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            )
        except (AuthExpired, Rejected) as exc:
            # The refresh token is revoked or used up: only a person can reconnect the
            # account. (Rejected would fail the publication for good.)
            raise NeedsReauth(
                f"Pigeon refused the refresh token ({exc.platform_code}); reconnect the account",
                status_code=exc.status_code,
                platform_code=exc.platform_code,
            ) from exc
        return ctx.credentials.with_values(
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token", refresh_token),
            expires_at=ctx.now() + timedelta(seconds=int(tokens.get("expires_in", 3600))),
        )

    # --8<-- [end:metrics_accounts]

    # -- HTTP and errors -------------------------------------------------------------------

    @staticmethod
    def _loft(ctx: Context) -> str:
        loft = ctx.account.setting("loft")
        if not isinstance(loft, str) or not loft.startswith(("https://", "http://")):
            raise ConfigError(
                f"account {ctx.account.id!r}: settings.loft must be the Pigeon server's URL "
                f"(got {loft!r})"
            )
        return loft.rstrip("/")

    # --8<-- [start:call]
    async def _call(
        self,
        ctx: Context,
        method: str,
        path: str,
        *,
        write: bool,
        authorize: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One request; the answer's JSON, or the socialkit error that says what happened.

        Args:
            write: whether the request changes something that must not happen twice; it
                decides whether a lost answer is an unknown outcome or a safe retry.
        """
        sent_headers = dict(headers or {})
        if authorize:
            sent_headers["Authorization"] = f"Bearer {ctx.credentials.require('access_token')}"
        try:
            response = await ctx.http.request(
                method, self._loft(ctx) + path, headers=sent_headers, **kwargs
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: nothing happened.
            raise Transient(f"could not reach the Pigeon server: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            if write:
                raise UnknownOutcome(
                    f"{method} {path} was sent but its answer was lost ({type(exc).__name__})"
                ) from exc
            raise Transient(f"{method} {path} failed: {type(exc).__name__}") from exc
        self._report_budget(response, ctx)
        if response.is_success:
            return response.json() if response.content else {}
        raise _error(response, write=write, where=f"{method} {path}")

    @staticmethod
    def _report_budget(response: httpx.Response, ctx: Context) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        limit = response.headers.get("X-RateLimit-Limit")
        if remaining is None and reset is None:
            return
        ctx.report_rate_limit(
            remaining=int(remaining) if remaining is not None else None,
            reset=float(reset) if reset is not None else None,
            limit=int(limit) if limit is not None else None,
        )

    # --8<-- [end:call]


# --8<-- [start:errors]
def _error(response: httpx.Response, *, write: bool, where: str) -> Exception:
    """The socialkit error for a non-2xx Pigeon answer (never including a header)."""
    status = response.status_code
    try:
        reason = str(response.json().get("error") or "")
    except ValueError:
        reason = ""
    reason = reason or response.reason_phrase or f"HTTP {status}"
    details: dict[str, Any] = {"status_code": status, "platform_code": reason}
    build: Callable[..., Exception]
    if status == 401 and reason == "token_expired":
        build = AuthExpired
    elif status == 401:
        build = NeedsReauth  # the token is revoked or invalid
    elif status == 403:
        build = Forbidden  # a good token without the scope: only this call is refused
    elif status == 429:
        retry_after, retry_at = _retry_after(response.headers.get("Retry-After"))
        return RateLimited(
            f"{where}: slow down ({reason})",
            retry_after=retry_after,
            reset_at=retry_at,
            **details,
        )
    elif status in (408, 425):
        build = Transient  # refused before processing
    elif status >= 500:
        build = UnknownOutcome if write else Transient
    else:
        build = Rejected
    return build(f"{where}: {reason}", **details)


def _retry_after(value: str | None) -> tuple[float | None, datetime | None]:
    """``Retry-After`` as ``(seconds, None)`` or ``(None, instant)``: RFC 9110 allows a
    delay (``120``) or an HTTP-date (``Fri, 31 Dec 1999 23:59:59 GMT``), and so must we."""
    if not value:
        return None, None
    try:
        return float(value), None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return None, None  # neither form: RateLimited without a time
    return None, when if when.tzinfo else when.replace(tzinfo=UTC)  # HTTP-dates are GMT


# --8<-- [end:errors]


# --8<-- [start:hook]
@socialkit.hookimpl
def register_platforms(register: Callable[[type[socialkit.Platform]], None]) -> None:
    """Tell socialkit about Pigeon (called once when plugins load)."""
    register(Pigeon)


# --8<-- [end:hook]
