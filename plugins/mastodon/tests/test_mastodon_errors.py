"""Mastodon's errors become socialkit's taxonomy; rate-limit resets are parsed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from socialkit_mastodon import parse_reset
from socialkit_mastodon.testing import FakeMastodon

import socialkit


def _too_many_requests(server: FakeMastodon, path: str, headers: dict[str, str]) -> None:
    """The next POST to ``path`` is answered 429 with these rate-limit headers."""
    server.fail_next("POST", path, status=429, body={"error": "Too many requests"}, headers=headers)


async def test_a_too_long_status_is_rejected_with_the_server_error(
    platform, make_ctx, server, draft
) -> None:
    server.max_characters = 20
    with pytest.raises(socialkit.Rejected) as info:
        await platform.publish(draft(socialkit.Post(text="x" * 21)), make_ctx())
    assert info.value.status_code == 422
    assert "Text character limit of 20 exceeded" in info.value.reason


async def test_a_revoked_token_needs_a_person(platform, make_ctx, server, draft) -> None:
    ctx = make_ctx()
    server.revoke(ctx.credentials.require("access_token"))
    with pytest.raises(socialkit.NeedsReauth, match="The access token is invalid") as info:
        await platform.publish(draft(socialkit.Post(text="x")), ctx)
    assert info.value.status_code == 401
    assert ctx.credentials.require("access_token") not in str(info.value)


async def test_a_revoked_token_names_the_commands_that_reconnect_the_account(
    platform, make_ctx, server, draft, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = make_ctx()
    token = ctx.credentials.require("access_token")
    server.revoke(token)
    with pytest.raises(socialkit.NeedsReauth) as info:
        await platform.publish(draft(socialkit.Post(text="x")), ctx)
    message = str(info.value)
    assert (
        f"socialkit auth mastodon --instance {server.base_url} --account acme-mastodon" in message
    )
    assert "socialkit accounts reconnect acme-mastodon" in message
    assert info.value.describe()["message"] == message
    assert token not in message
    assert token not in repr(info.value)
    assert token not in repr(ctx)
    assert token not in caplog.text
    assert caplog.records  # httpx logged the requests, without the token


async def test_a_token_pasted_with_a_line_break_is_used_without_it(
    platform, make_ctx, server, draft
) -> None:
    """A secrets file or variable often ends in a newline; tokens never hold white space."""
    token = make_ctx().credentials.require("access_token")
    ctx = make_ctx(credentials=socialkit.Credentials().with_values(access_token=f" {token}\n"))
    receipt = await platform.publish(draft(socialkit.Post(text="x")), ctx)
    assert receipt.ref.id in server.statuses
    [create] = [r for r in server.requests if r.url.path == "/api/v1/statuses"]
    assert create.headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("bad", ["abc def", "abc\u00e9", "abc\x00"])
async def test_a_token_that_cannot_be_a_token_needs_a_person_and_is_not_shown(
    platform, make_ctx, server, draft, bad
) -> None:
    ctx = make_ctx(credentials=socialkit.Credentials().with_values(access_token=bad))
    with pytest.raises(socialkit.NeedsReauth, match="is not a Mastodon access token") as info:
        await platform.publish(draft(socialkit.Post(text="x")), ctx)
    assert "abc" not in str(info.value)
    assert "--account acme-mastodon" in str(info.value)
    assert server.statuses == {}


async def test_429_is_rate_limited_until_the_iso_reset(
    platform, make_ctx, server, draft, clock
) -> None:
    _too_many_requests(
        server,
        "/api/v1/statuses",
        {"X-RateLimit-Reset": "2025-03-01T09:05:00.000Z", "X-RateLimit-Remaining": "0"},
    )
    with pytest.raises(socialkit.RateLimited) as info:
        await platform.publish(draft(socialkit.Post(text="x")), make_ctx())
    assert info.value.reset_at == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    assert info.value.resume_at(clock()) == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    assert "Too many requests" in info.value.message
    assert server.statuses == {}


async def test_429_with_an_epoch_reset_is_rate_limited_until_that_instant(
    platform, make_ctx, server, draft, clock, recorder
) -> None:
    # Mastodon itself sends ISO 8601, and the schema says so; a proxy in front of a server
    # may send epoch seconds. Not schema-checked for that reason: the plain fake answers.
    reset = datetime(2025, 3, 1, 9, 7, 30, tzinfo=UTC)
    await platform.resolve_capabilities(make_ctx())
    _too_many_requests(
        server,
        "/api/v1/statuses",
        {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset.timestamp())),
        },
    )
    async with httpx.AsyncClient(transport=server.transport()) as plain:
        with pytest.raises(socialkit.RateLimited) as info:
            await platform.publish(draft(socialkit.Post(text="x")), make_ctx(http=plain))
    assert info.value.status_code == 429
    assert info.value.reset_at == reset
    assert info.value.resume_at(clock()) == reset
    [report] = [r for r in recorder.rate_limits if r.remaining == 0]
    assert (report.limit, report.reset_at) == (300, reset)
    assert server.statuses == {}


async def test_a_spent_budget_gives_429_from_the_server_itself(
    make_ctx, draft, clock, recorder, platform, openapi
) -> None:
    small = FakeMastodon(clock=clock, rate_limit=3)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(openapi.wrap(small.handle))
    ) as client:
        ctx = make_ctx(
            http=client,
            account=make_ctx().account.model_copy(
                update={"settings": {"instance": small.base_url}}
            ),
            credentials=socialkit.Credentials().with_values(access_token=small.issue_token()),
        )
        for text in ("one", "two"):  # instance + status, then status
            keys = (f"key-{text}",)
            await platform.publish(
                draft(socialkit.Post(text=text)), ctx.evolve(idempotency_keys=keys)
            )
        with pytest.raises(socialkit.RateLimited) as info:
            await platform.publish(draft(socialkit.Post(text="three")), ctx)
    assert info.value.reset_at == clock() + timedelta(minutes=5)
    assert recorder.rate_limits[-1].remaining == 0
    assert len(small.statuses) == 2


async def test_connection_refused_is_transient(platform, make_ctx, server, draft) -> None:
    await platform.resolve_capabilities(make_ctx())
    server.fail_next("POST", "/api/v1/statuses", exception=httpx.ConnectError)
    with pytest.raises(socialkit.Transient, match="could not reach"):
        await platform.publish(draft(socialkit.Post(text="x")), make_ctx())
    assert server.statuses == {}


async def test_a_read_timeout_after_the_status_was_created_is_unknown(
    platform, make_ctx, server, draft
) -> None:
    server.fail_next("POST", "/api/v1/statuses", exception=httpx.ReadTimeout, after=True)
    with pytest.raises(socialkit.UnknownOutcome):
        await platform.publish(draft(socialkit.Post(text="x")), make_ctx())
    assert len(server.statuses) == 1


async def test_503_after_creation_is_unknown_and_the_same_key_settles_it(
    platform, make_ctx, server, draft
) -> None:
    d = draft(socialkit.Post(text="exactly once, even after a 503"))
    server.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    with pytest.raises(socialkit.UnknownOutcome) as info:
        await platform.publish(d, make_ctx())
    assert info.value.status_code == 503
    receipt = await platform.publish(d, make_ctx(attempt=2))
    assert list(server.statuses) == [receipt.ref.id]


async def test_5xx_on_a_read_is_transient(platform, make_ctx, server) -> None:
    server.fail_next("GET", "/api/v2/instance", status=503)
    with pytest.raises(socialkit.Transient):
        await platform.resolve_capabilities(make_ctx())


async def test_a_failed_media_upload_is_transient_even_after_sending(
    platform, make_ctx, server, draft, png
) -> None:
    server.fail_next(
        "POST",
        "/api/v2/media",
        status=500,
        body={"error": "Error processing thumbnail for uploaded media"},
        after=True,
    )
    with pytest.raises(socialkit.Transient, match="thumbnail"):
        await platform.publish(draft(socialkit.Post(text="x", media=(png("dot"),))), make_ctx())
    assert server.statuses == {}


def test_reset_accepts_iso_8601_and_epoch_seconds() -> None:
    assert parse_reset("2025-03-01T09:05:00.000Z") == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    assert parse_reset("2025-03-01T10:05:00+01:00") == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    assert parse_reset("1740819900") == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    assert parse_reset("1740819900.5") == datetime(2025, 3, 1, 9, 5, 0, 500000, tzinfo=UTC)
    assert parse_reset("soon") is None
    assert parse_reset("") is None
    assert parse_reset(None) is None


@pytest.mark.parametrize("value", ["60", "0", "-5", "999999999", "nan", "inf", "1e30"])
def test_a_number_that_is_no_epoch_instant_is_no_reset(value: str) -> None:
    # "60" is a delay, not a minute into 1970: read as a date, the reset is long past
    # and the engine would ask again at once
    assert parse_reset(value) is None


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_reset_round_trips_both_forms(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC, microsecond=(moment.microsecond // 1000) * 1000)
    iso = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert parse_reset(iso) == moment
    if moment.timestamp() >= 1_000_000_000:  # epoch seconds from 2001-09-09 on
        assert abs(parse_reset(str(moment.timestamp())) - moment) < timedelta(milliseconds=1)


async def _rate_limited(platform, make_ctx, server, draft, headers) -> socialkit.RateLimited:
    """The RateLimited of a publish answered 429 with ``headers`` (not schema-checked:
    the documentation's 429 has no Retry-After)."""
    _too_many_requests(server, "/api/v1/statuses", headers)
    async with httpx.AsyncClient(transport=server.transport()) as plain:
        with pytest.raises(socialkit.RateLimited) as info:
            await platform.publish(draft(socialkit.Post(text="x")), make_ctx(http=plain))
    assert server.statuses == {}
    return info.value


async def test_429_with_a_delay_as_its_reset_is_not_a_reset_in_1970(
    platform, make_ctx, server, draft, clock
) -> None:
    error = await _rate_limited(
        platform, make_ctx, server, draft, {"X-RateLimit-Reset": "60", "Retry-After": "60"}
    )
    assert error.reset_at is None
    assert error.resume_at(clock()) == clock() + timedelta(seconds=60)
    decision = socialkit.RetryPolicy().decide(error, failures=0, now=clock())
    assert decision.run_at == clock() + timedelta(seconds=60)


async def test_429_with_an_http_date_retry_after_waits_until_that_date(
    platform, make_ctx, server, draft, clock
) -> None:
    later = clock() + timedelta(minutes=7)
    date = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    error = await _rate_limited(platform, make_ctx, server, draft, {"Retry-After": date})
    assert error.resume_at(clock()) == later.replace(microsecond=0)


async def test_429_waits_for_the_later_of_retry_after_and_the_reset(
    platform, make_ctx, server, draft, clock
) -> None:
    reset = clock() + timedelta(minutes=5)
    iso = reset.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    error = await _rate_limited(
        platform, make_ctx, server, draft, {"X-RateLimit-Reset": iso, "Retry-After": "137"}
    )
    assert error.retry_after == 137
    assert error.resume_at(clock()) == reset.replace(microsecond=(reset.microsecond // 1000) * 1000)
    later = (clock() + timedelta(minutes=9)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    error = await _rate_limited(
        platform, make_ctx, server, draft, {"X-RateLimit-Reset": iso, "Retry-After": later}
    )
    assert error.resume_at(clock()) == (clock() + timedelta(minutes=9)).replace(microsecond=0)


async def test_a_429_on_an_upload_is_rate_limited_on_the_media_budget(
    platform, make_ctx, server, draft, png, recorder
) -> None:
    reset = "2025-03-01T09:30:00.000Z"
    _too_many_requests(
        server,
        "/api/v2/media",
        {
            "X-RateLimit-Limit": "30",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        },
    )
    with pytest.raises(socialkit.RateLimited) as info:
        await platform.publish(draft(socialkit.Post(text="x", media=(png("dot"),))), make_ctx())
    assert info.value.reset_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert info.value.scope == "media"  # the engine holds this post, not the account
    [report] = [r for r in recorder.rate_limits if r.scope == "media"]
    assert (report.limit, report.remaining) == (30, 0)
    assert report.reset_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert server.statuses == {}
    assert server.media == {}


def _portal_first(server: FakeMastodon, method: str, path: str):
    """A handler whose first answer to method+path is a proxy's HTML page with HTTP 200."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == method and request.url.path == path and not seen:
            seen.append(path)
            return httpx.Response(200, text="<html>Wi-Fi login</html>")
        return server.handle(request)

    return handle


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v2/instance"), ("POST", "/api/v2/media")]
)
async def test_an_html_page_instead_of_json_on_a_read_or_an_upload_is_transient(
    platform, make_ctx, server, draft, png, method, path
) -> None:
    """Nothing was created: a later attempt can succeed, so it is not a permanent refusal."""
    handler = _portal_first(server, method, path)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as plain:
        post = socialkit.Post(text="x", media=(png("dot"),))
        with pytest.raises(socialkit.Transient, match="without a JSON body"):
            await platform.publish(draft(post), make_ctx(http=plain))
        assert server.statuses == {}
        receipt = await platform.publish(draft(post), make_ctx(http=plain))
    assert list(server.statuses) == [receipt.ref.id]


async def test_an_html_page_instead_of_a_created_status_is_unknown(
    platform, make_ctx, server, draft
) -> None:
    handler = _portal_first(server, "POST", "/api/v1/statuses")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as plain:
        with pytest.raises(socialkit.UnknownOutcome, match="without a JSON body"):
            await platform.publish(draft(socialkit.Post(text="x")), make_ctx(http=plain))


@pytest.mark.parametrize("exc", [httpx.LocalProtocolError, httpx.UnsupportedProtocol])
async def test_a_request_httpx_refuses_to_send_is_rejected_not_unknown(
    platform, make_ctx, server, draft, exc
) -> None:
    # httpx refuses a header or URL it cannot send before anything leaves: nothing was
    # created, and the same request would be refused again, so not UnknownOutcome.
    await platform.resolve_capabilities(make_ctx())
    server.fail_next("POST", "/api/v1/statuses", exception=exc)
    with pytest.raises(socialkit.Rejected, match="nothing was sent") as info:
        await platform.publish(draft(socialkit.Post(text="x")), make_ctx())
    assert info.value.status_code is None
    assert server.statuses == {}


def _redirecting(server: FakeMastodon, status: int, only: str | None = None):
    """A client whose server answers ``status`` with a Location on https (every request, or
    only the ``POST`` to ``only``); the engine's client follows no redirect."""

    def handle(request: httpx.Request) -> httpx.Response:
        if only is None or (request.method == "POST" and request.url.path == only):
            target = f"https://{request.url.host}{request.url.raw_path.decode()}"
            return httpx.Response(
                status, headers={"Location": target}, html=f"<html>{status} Moved</html>"
            )
        return server.handle(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), follow_redirects=False)


async def test_an_instance_that_redirects_is_rejected_naming_where_it_points(
    platform, make_ctx, server, draft
) -> None:
    # settings.instance "http://…" for a server on https: every answer is a 301. It was
    # taken for a success, then its HTML body for a Transient error: retried until the
    # attempts ran out, with no word about the setting.
    async with _redirecting(server, 301) as client:
        with pytest.raises(socialkit.Rejected) as info:
            await platform.publish(draft(socialkit.Post(text="x")), make_ctx(http=client))
    assert info.value.status_code == 301
    message = str(info.value)
    assert f"https://{httpx.URL(server.base_url).host}" in message
    assert "settings.instance" in message
    assert server.statuses == {}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_of_the_status_post_is_rejected_not_unknown(
    platform, make_ctx, server, draft, status
) -> None:
    async with _redirecting(server, status, only="/api/v1/statuses") as client:
        with pytest.raises(socialkit.Rejected) as info:
            await platform.publish(draft(socialkit.Post(text="x")), make_ctx(http=client))
    assert not isinstance(info.value, socialkit.UnknownOutcome)
    assert info.value.status_code == status
    assert "/api/v1/statuses" in str(info.value)
    assert server.statuses == {}


async def test_a_redirect_location_is_quoted_without_secrets(platform, make_ctx, server) -> None:
    ctx = make_ctx()
    token = ctx.credentials.require("access_token")

    def handle(request: httpx.Request) -> httpx.Response:
        location = f"https://u:hunter22@elsewhere.example/login?access_token={token}"
        return httpx.Response(302, headers={"Location": location})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(socialkit.Rejected) as info:
            await platform.verify_account(ctx.evolve(http=client))
    shown = f"{info.value} {info.value!r} {info.value.describe()}"
    assert token not in shown
    assert "hunter22" not in shown
    assert "https://elsewhere.example)" in shown  # the hint names the host, not the login
