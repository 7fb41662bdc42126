"""Standard tests: every failure maps onto the error taxonomy, and budgets are reported."""

from __future__ import annotations

import email.utils
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

import httpx

from socialkit.errors import (
    AuthExpired,
    NeedsReauth,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from socialkit.testing._base import ContractBase
from socialkit.testing._guard import standard
from socialkit.testing.transport import Fault

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from socialkit.models.receipt import Receipt
    from socialkit.platforms.context import Context
    from socialkit.testing.harness import Harness


_Expected = type[PlatformError] | tuple[type[PlatformError], ...]

_REFUSALS = 10
"""How many requests of a refresh the refusal answers (a refresh may try another way)."""

_BROKEN_CONNECTIONS = {
    "a response cut short (httpx.RemoteProtocolError)": Fault.broken_response(),
    "a connection reset while reading the response (httpx.ReadError)": Fault.broken_response(
        httpx.ReadError
    ),
    "a write that failed part way (httpx.WriteError)": Fault.broken_request(),
    "a write timeout (httpx.WriteTimeout)": Fault.write_timeout(),
}
"""Ways a connection breaks after a request went out, so the platform may have acted."""

_RESUME_SLACK = timedelta(seconds=1)
"""How much later than ``Retry-After`` a RateLimited may say (rounding up, a margin)."""

_REJECTION = "Validation failed: Text is invalid"
"""The platform's message in the default :meth:`ContractBase.rejected_response`."""


def _assert_resumes_after(error: PlatformError, now: datetime, seconds: int, said: str) -> None:
    """``error`` is a RateLimited resuming ``seconds`` after ``now`` (``said``: the header)."""
    assert isinstance(error, RateLimited)
    resume_at = error.resume_at(now)
    expected = now + timedelta(seconds=seconds)
    assert resume_at is not None, f"the answer said Retry-After: {said}; RateLimited has no time"
    assert expected <= resume_at <= expected + _RESUME_SLACK, (
        f"the answer said Retry-After: {said} ({seconds} s after the clock the adapter is "
        f"given, {now.isoformat()}), but RateLimited says to come back at "
        f"{resume_at.isoformat()}, {(resume_at - now).total_seconds():g} s from now"
    )


def _retry_after_forms(now: datetime, seconds: int) -> tuple[str, str]:
    """``Retry-After`` values meaning ``seconds`` after ``now``, in both forms RFC 9110
    (section 10.2.3) allows: delta-seconds, and an HTTP-date (``Sat, 14 Mar 2026 15:11:43
    GMT``), which a client must accept too. The kit's clock stands on a whole second, so
    the date, which has no fractions, is exact."""
    at = (now + timedelta(seconds=seconds)).astimezone(UTC)
    return str(seconds), email.utils.format_datetime(at, usegmt=True)


def _retry_after(value: str) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value}, json={"error": "rate limited"})

    return respond


class FailureTests(ContractBase):
    @standard(requires=("http",))
    async def test_refused_connection_is_transient(self, h: Harness) -> None:
        """Connection refused on the first request: Transient (nothing happened)."""
        draft = h.draft()
        before = h.published()
        h.transport.arm(Fault.connect_error())
        await h.expect(Transient, h.publish(draft), what="a refused connection")
        assert h.published() == before

    @standard(requires=("http",))
    async def test_connect_timeout_is_transient(self, h: Harness) -> None:
        """No connection within the timeout on the first request: Transient."""
        draft = h.draft()
        h.transport.arm(Fault.connect_timeout())
        await h.expect(Transient, h.publish(draft), what="a connect timeout")

    @standard(requires=("http",))
    async def test_lost_response_on_publish_is_unknown_outcome(self, h: Harness) -> None:
        """A read timeout after the post was sent: UnknownOutcome, and no second attempt."""
        draft = h.draft()
        h.transport.arm(Fault.lost_response(), match=self.creates_post)
        await h.expect(UnknownOutcome, h.publish(draft), what="a lost response to the post request")
        sent = len(h.publish_requests())
        assert sent == 1, (
            f"the adapter sent the post {sent} times; after an unknown outcome it must stop "
            "and let the engine decide (no blind re-post)"
        )

    @standard(requires=("http",))
    async def test_broken_connection_on_publish_is_unknown_outcome(self, h: Harness) -> None:
        """The connection breaks after the post request went out — a response cut short, a
        reset while reading, a write that failed or timed out part way: UnknownOutcome, and
        no second attempt. Only a connection that was never made proves nothing happened."""
        for what, fault in _BROKEN_CONNECTIONS.items():
            draft = h.draft()
            sent = len(h.publish_requests())
            h.transport.arm(fault, match=self.creates_post)
            await h.expect(UnknownOutcome, h.publish(draft), what=f"{what} on the post request")
            again = len(h.publish_requests()) - sent
            assert again == 1, (
                f"after {what} the adapter sent the post {again} times; it must stop at one "
                "and let the engine decide (no blind re-post)"
            )

    @standard(requires=("http",))
    async def test_server_error_on_publish_is_unknown_outcome(self, h: Harness) -> None:
        """A 5xx answer to the post request (500, 502, 503 and 504 in turn): UnknownOutcome,
        and no second attempt. A gateway's 502 or 504 may come after the platform acted."""
        for status, answer in self._server_error_answers():
            draft = h.draft()
            sent = len(h.publish_requests())
            h.transport.arm(Fault.respond(answer), match=self.creates_post)
            await h.expect(
                UnknownOutcome, h.publish(draft), what=f"a {status} answer to the post request"
            )
            assert len(h.publish_requests()) - sent == 1, (
                f"the adapter re-sent the post after a {status}"
            )

    @standard(requires=("http",))
    async def test_rate_limit_is_rate_limited_with_a_time(self, h: Harness) -> None:
        """The platform's "slow down" answer: RateLimited saying when to come back. With the
        default answer, also ``Retry-After: 137`` as delta-seconds and as an HTTP-date, each
        to the second."""
        draft = h.draft()
        h.transport.arm(Fault.respond(self.rate_limited_response))
        error = await h.expect(RateLimited, h.publish(draft), what="a rate-limit answer")
        assert isinstance(error, RateLimited)
        now = h.clock()
        resume_at = error.resume_at(now)
        assert resume_at is not None, (
            "RateLimited should carry retry_after or reset_at from the platform's answer"
        )
        assert resume_at > now, (
            f"RateLimited says to come back at {resume_at.isoformat()}, not later than now "
            f"({now.isoformat()}): the engine would ask again at once"
        )
        if type(self).rate_limited_response is not ContractBase.rate_limited_response:
            return
        # The default answer says Retry-After: 60; another value must come through too (an
        # adapter that always says 60 s would pass with the default answer alone), as
        # delta-seconds and as an HTTP-date.
        _assert_resumes_after(error, now, 60, "60")
        for said in _retry_after_forms(now, 137):
            h.transport.arm(Fault.respond(_retry_after(said)))
            again = await h.expect(
                RateLimited,
                h.publish(h.draft()),
                what=f"a rate-limit answer with Retry-After: {said}",
            )
            _assert_resumes_after(again, now, 137, said)

    @standard(requires=("http",))
    async def test_refusal_is_rejected_with_the_reason(self, h: Harness) -> None:
        """A permanent refusal of the post: Rejected with the platform's reason."""
        draft = h.draft()
        h.transport.arm(Fault.respond(self.rejected_response), match=self.creates_post)
        error = await h.expect(Rejected, h.publish(draft), what="a refusal of the post")
        assert isinstance(error, Rejected)
        assert error.reason, "Rejected without a reason"
        assert error.reason != "Rejected", "Rejected without the platform's reason"
        if type(self).rejected_response is ContractBase.rejected_response:
            assert _REJECTION in error.reason, (
                f"the platform answered {_REJECTION!r}, but Rejected's reason is "
                f"{error.reason!r}: a person reading it cannot tell what to fix"
            )

    # -- around publishing: delete, metrics, the account, its capabilities -----------------

    def _call_faults(self, *, write: bool) -> list[tuple[str, Fault, _Expected]]:
        """A refused connection and a 5xx, with the errors each may give: Transient when
        nothing was sent or a read failed; for a write's 5xx, UnknownOutcome too."""
        failed: _Expected = (Transient, UnknownOutcome) if write else Transient
        return [
            ("a refused connection", Fault.connect_error(), Transient),
            ("a server error", Fault.respond(self.server_error_response), failed),
        ]

    @standard(requires=("http", "delete"))
    async def test_delete_failure_is_a_socialkit_error(self, h: Harness) -> None:
        """A refused connection (Transient) or a 5xx (Transient or UnknownOutcome) during
        delete(): a socialkit error with no secret in it, never a raw httpx error. A delete
        that copes and returns has removed the post."""
        for what, fault, expected in self._call_faults(write=True):
            draft = h.draft()
            ctx = h.context(draft)
            receipt = await h.publish(draft, ctx)
            h.transport.arm(fault)
            raised, _ = await h.attempt(
                expected, h.platform.delete(receipt, ctx), what=f"{what} during delete()"
            )
            h.transport.disarm()
            if raised is None:
                left = {p.id for p in receipt.parts} & h.published()
                assert not left, f"delete() returned after {what} but left {sorted(left)}"

    @standard(requires=("http", "metrics"))
    async def test_metrics_failure_is_a_socialkit_error(self, h: Harness) -> None:
        """A refused connection or a 5xx while fetching metrics: Transient with no secret in
        it, never a raw httpx error, and never an empty answer that hides the failure."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        self.seed_metrics(receipt, {name: 1 for name in self.platform.capabilities.metrics})
        for what, fault, expected in self._call_faults(write=False):
            h.transport.arm(fault)
            raised, snapshots = await h.attempt(
                expected,
                h.platform.fetch_metrics([receipt], ctx),
                what=f"{what} during fetch_metrics()",
            )
            fired = h.transport.pending == 0
            h.transport.disarm()
            if raised is None and fired:
                assert any(s.post_id == receipt.ref.id for s in snapshots), (
                    f"after {what}, fetch_metrics() returned {snapshots!r}: no counts of the "
                    "post, and no error to say why; raise Transient"
                )

    @standard(requires=("http",))
    async def test_account_check_failure_is_a_socialkit_error(self, h: Harness) -> None:
        """A refused connection or a 5xx during verify_account(): Transient with no secret
        in it, never a raw httpx error."""
        for what, fault, expected in self._call_faults(write=False):
            h.transport.arm(fault)
            await h.attempt(
                expected,
                h.platform.verify_account(h.context()),
                what=f"{what} during verify_account()",
            )
            h.transport.disarm()

    @standard(requires=("http",))
    async def test_capabilities_failure_is_a_socialkit_error(self, h: Harness) -> None:
        """A refused connection or a 5xx during resolve_capabilities(): Transient with no
        secret in it, never a raw httpx error (or the capabilities it knows without asking)."""
        for what, fault, expected in self._call_faults(write=False):
            h.transport.arm(fault)
            await h.attempt(
                expected,
                h.platform.resolve_capabilities(h.context()),
                what=f"{what} during resolve_capabilities()",
            )
            h.transport.disarm()

    @standard(requires=("rate_limit_reports",))
    async def test_rate_limit_headers_are_reported(self, h: Harness) -> None:
        """Budgets from the platform's headers reach ctx.report_rate_limit()."""
        await h.publish(h.draft())
        wrong = [r.problem for r in h.rate_limits if r.problem is not None]
        assert not wrong, f"ctx.report_rate_limit() was given a reset it left out: {wrong[0]}"
        useful = [r for r in h.rate_limits if r.remaining is not None or r.reset_at is not None]
        assert useful, (
            "capabilities.rate_limit_headers is set but publishing reported no budget through "
            "ctx.report_rate_limit() (does the fake send the headers?)"
        )

    @standard(requires=("http", "refresh"))
    async def test_expired_credentials_are_refreshed_once(self, h: Harness) -> None:
        """An expired token: AuthExpired; one refresh saves new credentials; the retry works."""
        from socialkit.platforms.publish import refresh_credentials

        draft = h.draft()
        ctx = h.context(draft)
        before = h.published()
        h.transport.arm(Fault.respond(self.expired_credentials_response), match=self.creates_post)
        await h.expect(AuthExpired, h.publish(draft, ctx), what="an expired-token answer")
        refreshed = await refresh_credentials(h.platform, ctx)
        assert refreshed.credentials != h.credentials, "refresh_credentials() changed nothing"
        saved = await h.provider.load(h.account)
        assert saved == refreshed.credentials, "the refreshed credentials were not saved"
        receipt = await h.publish(draft, refreshed.evolve(attempt=2))
        assert h.published() - before == set(p.id for p in receipt.parts)

    @standard(requires=("http", "threads", "refresh"))
    async def test_token_refused_mid_thread_resumes_after_the_published_parts(
        self, h: Harness
    ) -> None:
        """The expired-token answer to the thread's second part, sent as the engine sends
        (``with_refresh``: refresh once, call again), the clock moved on for the second
        call: the thread resumes after its first part. Each part exists exactly once, and
        the receipt names them in order. A retry that starts the thread again posts its
        first part twice on a platform without idempotency keys."""
        from socialkit.platforms.publish import with_refresh

        parts = h.thread_parts
        draft = h.draft(thread=parts)
        ctx = h.context(draft)
        before = h.published()
        h.transport.arm(
            Fault.respond(self.expired_credentials_response), match=self.creates_post, nth=2
        )
        calls: list[Context] = []

        async def publish(call: Context) -> Receipt:
            if calls:
                h.clock.advance(minutes=2)  # the refresh and the second call take a while
            calls.append(call)
            return await h.platform.publish(draft, call)

        receipt = await with_refresh(h.platform, ctx, publish)
        assert h.transport.pending == 0, (
            "the expired-token answer never fired: no second request that creates_post()"
        )
        assert len(calls) == 2, (
            f"publish() was called {len(calls)} time(s); the expired-token answer to part 2 "
            "should raise AuthExpired, then one refresh and one more call"
        )
        ids = [part.id for part in receipt.parts]
        assert len(ids) == parts, f"{parts} parts were published, the receipt has {ids}"
        assert len(set(ids)) == parts, f"thread parts share ids: {ids}"
        gained = h.published() - before
        assert gained == set(ids), (
            f"the thread has {parts} parts, but the platform gained {len(gained)} posts "
            f"{sorted(gained)} and the receipt names {ids}: the retry after the refresh "
            "published a part again (does publish() resume after ctx.published_parts?)"
        )
        # The parts as they were made, across both calls: the receipt names them so.
        for part, ref in h.checkpoints:
            assert ids[part] == ref.id, (
                f"part {part} was checkpointed as {ref.id!r}, but the receipt names {ids}: "
                "it does not name the parts of both calls in the thread's order"
            )

    @standard(requires=("http", "refresh"))
    async def test_refused_refresh_needs_a_person(self, h: Harness) -> None:
        """The platform refuses to renew the credentials (a revoked refresh token):
        NeedsReauth, so a person reconnects the account. Rejected would fail the post
        for good."""
        for _ in range(_REFUSALS):  # every request the refresh makes, fallbacks included
            h.transport.arm(Fault.respond(self.refused_refresh_response))
        await h.expect(
            NeedsReauth,
            h.platform.refresh_credentials(h.context()),
            what="a refresh the platform refuses",
        )
        assert h.transport.pending < _REFUSALS, "refresh_credentials() sent no request"

    @standard(requires=("http",), unless=("refresh",))
    async def test_expired_credentials_need_a_person(self, h: Harness) -> None:
        """Without refresh: an expired token is NeedsReauth (or AuthExpired, whose refresh
        then says NeedsReauth)."""
        draft = h.draft()
        ctx = h.context(draft)
        h.transport.arm(Fault.respond(self.expired_credentials_response), match=self.creates_post)
        await h.expect(
            (NeedsReauth, AuthExpired), h.publish(draft, ctx), what="an expired-token answer"
        )
        await h.expect(
            NeedsReauth,
            h.platform.refresh_credentials(ctx),
            what="a refresh on a platform without refresh",
        )
