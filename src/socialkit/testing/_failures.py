"""Standard tests: every failure maps onto the error taxonomy, and budgets are reported."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from socialkit.errors import (
    AuthExpired,
    NeedsReauth,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from socialkit.testing._base import ContractBase
from socialkit.testing._guard import standard
from socialkit.testing.transport import Fault

if TYPE_CHECKING:
    from socialkit.testing.harness import Harness


_REFUSALS = 10
"""How many requests of a refresh the refusal answers (a refresh may try another way)."""


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
    async def test_server_error_on_publish_is_unknown_outcome(self, h: Harness) -> None:
        """A 5xx answer to the post request: UnknownOutcome, and no second attempt."""
        draft = h.draft()
        h.transport.arm(Fault.respond(self.server_error_response), match=self.creates_post)
        await h.expect(UnknownOutcome, h.publish(draft), what="a server error on the post")
        assert len(h.publish_requests()) == 1, "the adapter re-sent the post after a 5xx"

    @standard(requires=("http",))
    async def test_rate_limit_is_rate_limited_with_a_time(self, h: Harness) -> None:
        """The platform's "slow down" answer: RateLimited saying when to come back."""
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
        if type(self).rate_limited_response is ContractBase.rate_limited_response:
            assert resume_at >= now + timedelta(seconds=60), (
                "the answer said Retry-After: 60, but RateLimited says to come back at "
                f"{resume_at.isoformat()}, {(resume_at - now).total_seconds():g} s from now"
            )

    @standard(requires=("http",))
    async def test_refusal_is_rejected_with_the_reason(self, h: Harness) -> None:
        """A permanent refusal of the post: Rejected with the platform's reason."""
        draft = h.draft()
        h.transport.arm(Fault.respond(self.rejected_response), match=self.creates_post)
        error = await h.expect(Rejected, h.publish(draft), what="a refusal of the post")
        assert isinstance(error, Rejected)
        assert error.reason, "Rejected without a reason"
        assert error.reason != "Rejected", "Rejected without the platform's reason"

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
