"""Pigeon adapters with one bug each, and their contract tests (run by test_kit.py).

Not collected by the main test run (no ``test_`` prefix): test_kit.py runs pytest on it in a
subprocess and reads which standard tests failed.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from socialkit_pigeon import Pigeon, _error
from socialkit_pigeon.testing import FakeLoft

import socialkit
import socialkit.testing


class PigeonSuite(socialkit.testing.PlatformContract):
    """The example's contract tests, reusable with another adapter class."""

    platform = Pigeon

    def setup_method(self) -> None:
        self.loft = FakeLoft(access_token=self.secret)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self.loft.handle(request)

    def published_ids(self) -> set[str]:
        return set(self.loft.posts)

    def seed_metrics(self, receipt: socialkit.Receipt, counts: dict[str, int]) -> None:
        names = {"impressions": "views", "shares": "reposts", "comments": "replies"}
        names |= {"clicks": "link_clicks", "likes": "likes"}
        self.loft.stats[receipt.ref.id] = {names[k]: v for k, v in counts.items()}

    def account_settings(self) -> dict[str, Any]:
        return {"loft": "https://loft.example"}

    def credentials(self) -> socialkit.Credentials:
        return socialkit.testing.make_credentials(
            access_token=self.secret, refresh_token="pigeon-refresh-0"
        )

    def creates_post(self, request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path == "/api/v1/posts"

    def expired_credentials_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "token_expired"})

    def refused_refresh_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_grant"})


class TestControl(PigeonSuite):
    """The unbroken adapter: every applicable standard test passes."""


# -- one bug each -----------------------------------------------------------------------


class BlindRetry(Pigeon):
    """Sends a write again when its answer is lost."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.UnknownOutcome:
            return await super()._call(ctx, method, path, write=write, **kwargs)


class TestBlindRetry(PigeonSuite):
    platform = BlindRetry


class NoIdempotencyKey(Pigeon):
    """Forgets the Idempotency-Key header."""

    async def _call(self, ctx, method, path, *, write, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        headers = {k: v for k, v in (headers or {}).items() if k != "Idempotency-Key"}
        return await super()._call(ctx, method, path, write=write, headers=headers, **kwargs)


class TestNoIdempotencyKey(PigeonSuite):
    platform = NoIdempotencyKey


class LeakyLogger(Pigeon):
    """Logs the bearer token while debugging."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        logging.getLogger("socialkit_pigeon").debug(
            "publishing with token %s", ctx.credentials.get("access_token")
        )
        return await super().publish(draft, ctx)


class TestLeakyLogger(PigeonSuite):
    platform = LeakyLogger


class RawHttpErrors(Pigeon):
    """Lets httpx's exceptions escape instead of mapping them."""

    async def _call(self, ctx, method, path, *, write, authorize=True, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        sent = dict(headers or {})
        if authorize:
            sent["Authorization"] = f"Bearer {ctx.credentials.require('access_token')}"
        response = await ctx.http.request(method, self._loft(ctx) + path, headers=sent, **kwargs)
        self._report_budget(response, ctx)
        if response.is_success:
            return response.json() if response.content else {}
        raise _error(response, write=write, where=f"{method} {path}")


class TestRawHttpErrors(PigeonSuite):
    platform = RawHttpErrors


class NoCheckpoints(Pigeon):
    """Never calls ctx.checkpoint."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        async def ignore(part, ref):  # type: ignore[no-untyped-def]
            return None

        return await super().publish(draft, ctx.evolve(on_checkpoint=ignore))


class TestNoCheckpoints(PigeonSuite):
    platform = NoCheckpoints


class RestartsThreads(NoIdempotencyKey):
    """Ignores the parts an earlier attempt published, without keys to make that safe."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        return await super().publish(draft, ctx.evolve(published_parts=()))


class TestRestartsThreads(PigeonSuite):
    platform = RestartsThreads


class ServerErrorsAreTransient(Pigeon):
    """Calls every 5xx safe to retry, even after a post was sent."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.UnknownOutcome as exc:
            raise socialkit.Transient(str(exc)) from exc


class TestServerErrorsAreTransient(PigeonSuite):
    platform = ServerErrorsAreTransient


class DeleteTwiceFails(Pigeon):
    """Fails when the post is already gone."""

    async def delete(self, receipt, ctx):  # type: ignore[no-untyped-def]
        for ref in reversed(receipt.parts):
            await self._call(ctx, "DELETE", f"/api/v1/posts/{ref.id}", write=True)


class TestDeleteTwiceFails(PigeonSuite):
    platform = DeleteTwiceFails


class ViewsAsReach(Pigeon):
    """Reports views as reach, which it does not declare."""

    async def fetch_metrics(self, receipts, ctx):  # type: ignore[no-untyped-def]
        snapshots = await super().fetch_metrics(receipts, ctx)
        return [
            s.model_copy(update={"reach": s.impressions, "impressions": None}) for s in snapshots
        ]


class TestViewsAsReach(PigeonSuite):
    platform = ViewsAsReach


class TestSwitchedOff(PigeonSuite):
    """Turns a declared capability off on the test class to skip its tests."""

    supports_delete = False


class ReadsAreWrites(Pigeon):
    """Treats every request as a write: a lost or failed lookup is an unknown outcome."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        return await super()._call(ctx, method, path, write=True, **kwargs)


class TestReadsAreWrites(PigeonSuite):
    platform = ReadsAreWrites


class FindsFirstPartOnly(Pigeon):
    """Looks up a thread's first part only."""

    async def find_published(self, draft, ctx):  # type: ignore[no-untyped-def]
        return await super().find_published(
            draft.model_copy(update={"parts": draft.parts[:1]}), ctx
        )


class TestFindsFirstPartOnly(PigeonSuite):
    platform = FindsFirstPartOnly


class IgnoresRetryAfter(Pigeon):
    """Says to come back in a second, whatever the platform asked."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        try:
            return await super().publish(draft, ctx)
        except socialkit.RateLimited as exc:
            raise socialkit.RateLimited("slow down", retry_after=1) from exc


class TestIgnoresRetryAfter(PigeonSuite):
    platform = IgnoresRetryAfter


class ResetAsDelay(Pigeon):
    """Reports the seconds until the reset where the moment of the reset is asked for."""

    @staticmethod
    def _report_budget(response, ctx):  # type: ignore[no-untyped-def]
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is not None:
            ctx.report_rate_limit(remaining=int(remaining), reset=60)


class TestResetAsDelay(PigeonSuite):
    platform = ResetAsDelay


class RefusedRefreshIsRejected(Pigeon):
    """Lets the token endpoint's refusal through as Rejected."""

    async def refresh_credentials(self, ctx):  # type: ignore[no-untyped-def]
        refresh_token = ctx.credentials.get("refresh_token")
        tokens = await self._call(
            ctx,
            "POST",
            "/oauth/token",
            write=True,
            authorize=False,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )
        return ctx.credentials.with_values(access_token=tokens["access_token"])


class TestRefusedRefreshIsRejected(PigeonSuite):
    platform = RefusedRefreshIsRejected

    def refused_refresh_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant"})


class ThreadBackwards(Pigeon):
    """Sends a thread's parts last to first."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        return await super().publish(
            draft.model_copy(update={"parts": tuple(reversed(draft.parts))}), ctx
        )


class TestThreadBackwards(PigeonSuite):
    platform = ThreadBackwards


class ThreadUnchained(Pigeon):
    """Posts a thread's parts as separate posts, none a reply to the one before."""

    async def _call(self, ctx, method, path, *, write, json=None, **kwargs):  # type: ignore[no-untyped-def]
        if json is not None:
            json = {k: v for k, v in json.items() if k != "reply_to"}
            return await super()._call(ctx, method, path, write=write, json=json, **kwargs)
        return await super()._call(ctx, method, path, write=write, **kwargs)


class TestThreadUnchained(PigeonSuite):
    platform = ThreadUnchained


class GatewayErrorsAreTransient(Pigeon):
    """Calls a 502, 503 or 504 safe to retry, even after a post was sent (only a 500 is
    an unknown outcome)."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.UnknownOutcome as exc:
            if exc.status_code in (502, 503, 504):
                raise socialkit.Transient(str(exc), status_code=exc.status_code) from exc
            raise


class TestGatewayErrorsAreTransient(PigeonSuite):
    platform = GatewayErrorsAreTransient


class BrokenConnectionIsTransient(Pigeon):
    """Calls a connection that broke after the request went out safe to retry (only a
    read timeout is an unknown outcome)."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.UnknownOutcome as exc:
            if isinstance(exc.__cause__, httpx.TransportError) and not isinstance(
                exc.__cause__, httpx.ReadTimeout
            ):
                raise socialkit.Transient(str(exc)) from exc
            raise


class TestBrokenConnectionIsTransient(PigeonSuite):
    platform = BrokenConnectionIsTransient


class KeyOnFirstPartOnly(Pigeon):
    """Sends the Idempotency-Key with a thread's first part only."""

    async def _call(self, ctx, method, path, *, write, json=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        if json is not None and "reply_to" in json:
            headers = {k: v for k, v in (headers or {}).items() if k != "Idempotency-Key"}
        return await super()._call(
            ctx, method, path, write=write, json=json, headers=headers, **kwargs
        )


class TestKeyOnFirstPartOnly(PigeonSuite):
    platform = KeyOnFirstPartOnly


class AlwaysSixtySeconds(Pigeon):
    """Says to come back in 60 seconds, the most common Retry-After, whatever was said."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        try:
            return await super().publish(draft, ctx)
        except socialkit.RateLimited as exc:
            raise socialkit.RateLimited("slow down", retry_after=60) from exc


class TestAlwaysSixtySeconds(PigeonSuite):
    platform = AlwaysSixtySeconds


class RetryAfterSecondsOnly(Pigeon):
    """Reads Retry-After as delta-seconds only: an HTTP-date (RFC 9110) gives no time."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        try:
            return await super().publish(draft, ctx)
        except socialkit.RateLimited as exc:
            raise socialkit.RateLimited("slow down", retry_after=exc.retry_after) from exc


class TestRetryAfterSecondsOnly(PigeonSuite):
    platform = RetryAfterSecondsOnly


class ReasonWithoutMessage(Pigeon):
    """Rejects with the status alone, dropping the platform's explanation."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.Rejected as exc:
            raise socialkit.Rejected(
                f"{method} {path}: HTTP {exc.status_code}", status_code=exc.status_code
            ) from exc


class TestReasonWithoutMessage(PigeonSuite):
    platform = ReasonWithoutMessage


class RawErrorsAroundPublishing(Pigeon):
    """Lets httpx's exceptions escape from everything but publishing and lookups."""

    async def _raw(self, ctx, method, path):  # type: ignore[no-untyped-def]
        token = ctx.credentials.require("access_token")
        response = await ctx.http.request(
            method, self._loft(ctx) + path, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 404:
            response.raise_for_status()
        return response

    async def delete(self, receipt, ctx):  # type: ignore[no-untyped-def]
        for ref in reversed(receipt.parts):
            await self._raw(ctx, "DELETE", f"/api/v1/posts/{ref.id}")

    async def fetch_metrics(self, receipts, ctx):  # type: ignore[no-untyped-def]
        for receipt in receipts:
            await self._raw(ctx, "GET", f"/api/v1/posts/{receipt.ref.id}/stats")
        return await super().fetch_metrics(receipts, ctx)

    async def verify_account(self, ctx):  # type: ignore[no-untyped-def]
        await self._raw(ctx, "GET", "/api/v1/me")
        return await super().verify_account(ctx)

    async def resolve_capabilities(self, ctx):  # type: ignore[no-untyped-def]
        await self._raw(ctx, "GET", "/api/v1/me")
        return self.capabilities


class TestRawErrorsAroundPublishing(PigeonSuite):
    platform = RawErrorsAroundPublishing


class TokenInErrorsAroundPublishing(Pigeon):
    """Names the URL it called, with the token as a query parameter, in the errors of
    delete, metrics and the account check."""

    async def _call(self, ctx, method, path, *, write, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await super()._call(ctx, method, path, write=write, **kwargs)
        except socialkit.PlatformError as exc:
            if method == "DELETE" or path.endswith("/stats") or path == "/api/v1/me":
                token = ctx.credentials.require("access_token")
                url = f"{self._loft(ctx)}{path}?access_token={token}"
                raise type(exc)(
                    f"{exc} ({url})", status_code=exc.status_code, platform_code=exc.platform_code
                ) from exc
            raise


class TestTokenInErrorsAroundPublishing(PigeonSuite):
    platform = TokenInErrorsAroundPublishing


class SessionTokenInErrors(Pigeon):
    """Opens a session before publishing (saving its token through the provider) and
    names the session's token in the errors of publishing."""

    async def publish(self, draft, ctx):  # type: ignore[no-untyped-def]
        session = f"pigeon-session-{ctx.publication_id}"
        await ctx.save_credentials(ctx.credentials.with_values(session_token=session))
        try:
            return await super().publish(draft, ctx)
        except socialkit.PlatformError as exc:
            exc.message = f"{exc.message} (session {session})"
            exc.args = (exc.message,)
            raise


class TestSessionTokenInErrors(PigeonSuite):
    platform = SessionTokenInErrors


# -- correct adapters the kit must accept ------------------------------------------------


class TwoPartThreads(Pigeon):
    """A correct Pigeon on a server whose threads have at most two parts."""

    capabilities = Pigeon.capabilities.model_copy(update={"max_thread_parts": 2})


class TestTwoPartThreads(PigeonSuite):
    platform = TwoPartThreads


class DeleteNotImplemented(Pigeon):
    """Keeps Platform's delete() while its capabilities (delete=True) promise one."""

    delete = socialkit.Platform.delete


class TestDeleteNotImplemented(PigeonSuite):
    platform = DeleteNotImplemented


class ReadsMediaRaw(Pigeon):
    """Reads media straight from the store: a missing file escapes as FileNotFoundError."""

    async def _upload(self, media, ctx):  # type: ignore[no-untyped-def]
        ctx.media.read_bytes(media)
        return await super()._upload(media, ctx)


class TestReadsMediaRaw(PigeonSuite):
    platform = ReadsMediaRaw
