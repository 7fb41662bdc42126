"""Every XRPC failure lands in socialkit's taxonomy, with the server's own message."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from socialkit_bluesky._xrpc import XrpcClient, error_for_response

import socialkit

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def answer(
    status: int, error: str | None = None, message: str = "", **headers: str
) -> httpx.Response:
    body = {"error": error, "message": message} if error else {}
    return httpx.Response(
        status,
        json=body,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        request=httpx.Request("POST", "https://pds.example/xrpc/com.atproto.repo.createRecord"),
    )


def test_429_is_rate_limited_with_retry_after_and_reset() -> None:
    response = answer(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        RateLimit_Limit="30",
        RateLimit_Remaining="0",
        RateLimit_Reset=str(int(NOW.timestamp()) + 240),
        RateLimit_Policy="30;w=300",
        Retry_After="240",
    )
    error = error_for_response(response, "com.atproto.server.createSession", write=False, now=NOW)
    assert isinstance(error, socialkit.RateLimited)
    assert error.retry_after == 240
    assert error.reset_at == datetime(2026, 5, 4, 9, 34, tzinfo=UTC)
    assert error.platform_code == "RateLimitExceeded"
    assert error.resume_at(NOW) == datetime(2026, 5, 4, 9, 34, tzinfo=UTC)


def test_retry_after_may_be_an_http_date() -> None:
    response = answer(429, "RateLimitExceeded", Retry_After="Mon, 04 May 2026 09:31:00 GMT")
    error = error_for_response(response, "x", write=True, now=NOW)
    assert isinstance(error, socialkit.RateLimited)
    assert error.retry_after == 60


@pytest.mark.parametrize(
    ("status", "code", "message", "write", "expected"),
    [
        (400, "ExpiredToken", "Token has expired", True, socialkit.AuthExpired),
        (400, "InvalidToken", "Token could not be verified", True, socialkit.AuthExpired),
        (401, "AuthenticationRequired", "Authentication Required", True, socialkit.AuthExpired),
        (400, "AccountTakedown", "Account has been taken down", True, socialkit.NeedsReauth),
        (400, "AccountDeactivated", "Account is deactivated", False, socialkit.NeedsReauth),
        (
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
            True,
            socialkit.Rejected,
        ),
        (413, "PayloadTooLarge", "request entity too large", True, socialkit.Rejected),
        (500, "InternalServerError", "Internal Server Error", True, socialkit.UnknownOutcome),
        (502, None, "", True, socialkit.UnknownOutcome),
        (500, "InternalServerError", "Internal Server Error", False, socialkit.Transient),
        (503, None, "", False, socialkit.Transient),
        (408, None, "", True, socialkit.Transient),
        (425, None, "", True, socialkit.Transient),
        (501, "MethodNotImplemented", "Method Not Implemented", False, socialkit.Unsupported),
    ],
)
def test_status_and_code_map_to_the_taxonomy(
    status: int, code: str | None, message: str, write: bool, expected: type[Exception]
) -> None:
    error = error_for_response(answer(status, code, message), "nsid.x", write=write, now=NOW)
    assert type(error) is expected
    assert error.status_code == status
    if message:
        assert message in error.message


def test_rejected_carries_the_servers_reason() -> None:
    error = error_for_response(
        answer(400, "InvalidRequest", "Invalid app.bsky.feed.post record: grapheme too big"),
        "com.atproto.repo.createRecord",
        write=True,
        now=NOW,
    )
    assert isinstance(error, socialkit.Rejected)
    assert "grapheme too big" in error.reason
    assert error.describe()["platform_code"] == "InvalidRequest"


def test_a_body_that_is_not_json_still_gives_a_message() -> None:
    response = httpx.Response(
        502,
        text="<html>bad gateway</html>",
        request=httpx.Request("POST", "https://pds.example/xrpc/x"),
    )
    error = error_for_response(response, "x", write=True, now=NOW)
    assert isinstance(error, socialkit.UnknownOutcome)
    assert "bad gateway" in error.message


class _Breaks(httpx.AsyncBaseTransport):
    def __init__(self, exc: type[httpx.TransportError]) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc("broken (test)", request=request)


def _context(
    transport: httpx.AsyncBaseTransport, reports: list[socialkit.RateLimitReport]
) -> socialkit.Context:
    account = socialkit.Account(id="a", platform="bluesky", handle="a.test")
    return socialkit.Context(
        account=account,
        credentials=socialkit.Credentials(),
        http=httpx.AsyncClient(transport=transport),
        media=socialkit.LocalMediaStore("unused"),
        clock=lambda: NOW,
        on_rate_limit=reports.append,
    )


@pytest.mark.parametrize(
    ("exc", "write", "expected"),
    [
        (httpx.ConnectError, True, socialkit.Transient),
        (httpx.ConnectTimeout, True, socialkit.Transient),
        (httpx.PoolTimeout, True, socialkit.Transient),
        (httpx.ReadTimeout, True, socialkit.UnknownOutcome),
        (httpx.ReadError, True, socialkit.UnknownOutcome),
        (httpx.RemoteProtocolError, True, socialkit.UnknownOutcome),
        (httpx.WriteTimeout, True, socialkit.UnknownOutcome),
        (httpx.ReadTimeout, False, socialkit.Transient),
        # httpx refused to send it (a header or URL it cannot send): nothing was sent, and
        # the same request would be refused again.
        (httpx.LocalProtocolError, True, socialkit.Rejected),
        (httpx.LocalProtocolError, False, socialkit.Rejected),
        (httpx.UnsupportedProtocol, True, socialkit.Rejected),
    ],
)
async def test_transport_failures(
    exc: type[httpx.TransportError], write: bool, expected: type[Exception]
) -> None:
    ctx = _context(_Breaks(exc), [])
    xrpc = XrpcClient(ctx, "https://pds.example")
    with pytest.raises(expected) as caught:
        await xrpc.procedure(
            "com.atproto.repo.createRecord", {"a": 1}, token="secret-token-x", write=write
        )
    assert "secret-token-x" not in str(caught.value)
    await ctx.http.aclose()


class _QuotesTheHeader(httpx.AsyncBaseTransport):
    """Fails the way httpx does when it refuses a header: quoting it, token and all."""

    def __init__(self, exc: type[httpx.TransportError]) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        header = request.headers["authorization"].encode() + b"\n"
        raise self.exc(f"Illegal header value {header!r}", request=request)


_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.SECRETSIGNATURE123"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.LocalProtocolError, socialkit.Rejected),
        (httpx.ConnectError, socialkit.Transient),
        (httpx.ReadError, socialkit.UnknownOutcome),
    ],
)
async def test_httpx_text_quoting_the_token_is_scrubbed(
    exc: type[httpx.TransportError], expected: type[Exception]
) -> None:
    # httpx's message of a refused header quotes it: "Illegal header value b'Bearer …'".
    # It went into the error, and from there into the publication's history.
    ctx = _context(_QuotesTheHeader(exc), [])
    xrpc = XrpcClient(ctx, "https://pds.example")
    with pytest.raises(expected) as caught:
        await xrpc.procedure("com.atproto.repo.createRecord", {"a": 1}, token=_JWT)
    error = caught.value
    assert isinstance(error, socialkit.PlatformError)
    shown = f"{error} {error!r} {error.describe()}"
    assert "SECRETSIGNATURE123" not in shown
    assert exc.__name__ in shown  # still says what httpx said, without the token
    await ctx.http.aclose()


@pytest.mark.parametrize("token", [_JWT + "\n", " " + _JWT + "\r\n"])
async def test_a_token_with_white_space_around_it_is_sent_without(token: str) -> None:
    seen: list[str] = []

    def answer_ok(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"uri": "at://x/y/z", "cid": "c"})

    ctx = _context(httpx.MockTransport(answer_ok), [])
    xrpc = XrpcClient(ctx, "https://pds.example")
    await xrpc.procedure("com.atproto.repo.createRecord", {"a": 1}, token=token)
    assert seen == [f"Bearer {_JWT}"]
    await ctx.http.aclose()


@pytest.mark.parametrize("token", [_JWT[:20] + "\n" + _JWT[20:], _JWT + "é", "a b"])
async def test_a_token_no_header_can_carry_needs_a_person_and_sends_nothing(token: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    ctx = _context(httpx.MockTransport(answer), [])
    xrpc = XrpcClient(ctx, "https://pds.example")
    with pytest.raises(socialkit.NeedsReauth) as caught:
        await xrpc.procedure("com.atproto.repo.createRecord", {"a": 1}, token=token)
    assert "SECRETSIGNATURE" not in str(caught.value)
    assert "nothing was sent" in str(caught.value)
    await ctx.http.aclose()


async def test_every_response_reports_its_rate_limit_headers() -> None:
    reports: list[socialkit.RateLimitReport] = []
    reset = int(NOW.timestamp()) + 300

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"did": "did:plc:x"},
            headers={
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "2999",
                "RateLimit-Reset": str(reset),
                "RateLimit-Policy": "3000;w=300",
            },
        )

    ctx = _context(httpx.MockTransport(handler), reports)
    xrpc = XrpcClient(ctx, "https://pds.example/")
    await xrpc.query("com.atproto.identity.resolveHandle", {"handle": "a.test"})
    assert reports == [
        socialkit.RateLimitReport(
            remaining=2999,
            reset_at=datetime.fromtimestamp(reset, UTC),
            limit=3000,
            scope="default",
        )
    ]
    await ctx.http.aclose()


async def test_x_prefixed_headers_are_not_atproto_headers() -> None:
    reports: list[socialkit.RateLimitReport] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "1"})

    ctx = _context(httpx.MockTransport(handler), reports)
    await XrpcClient(ctx, "https://pds.example").query("x.y.z")
    assert reports == []
    await ctx.http.aclose()


@pytest.mark.parametrize("reset", ["60", "1e400", "inf", "-5", "99999999999999999999"])
async def test_a_rate_limit_header_that_is_no_epoch_never_fails_the_call(reset: str) -> None:
    # The post was written: a header that cannot be read must not turn it into an error.
    reports: list[socialkit.RateLimitReport] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"uri": "at://did:plc:x/app.bsky.feed.post/3k", "cid": "bafy"},
            headers={"RateLimit-Remaining": "7", "RateLimit-Reset": reset},
        )

    ctx = _context(httpx.MockTransport(handler), reports)
    answer = await XrpcClient(ctx, "https://pds.example").procedure(
        "com.atproto.repo.createRecord", {"a": 1}
    )
    assert answer["cid"] == "bafy"
    assert reports == [socialkit.RateLimitReport(remaining=7, reset_at=None, scope="default")]
    await ctx.http.aclose()


@pytest.mark.parametrize("reset", ["60", "1e400", "99999999999999999999"])
def test_a_429_with_an_unreadable_reset_is_still_rate_limited(reset: str) -> None:
    response = answer(429, "RateLimitExceeded", "Rate Limit Exceeded", ratelimit_reset=reset)
    error = error_for_response(response, "com.atproto.repo.createRecord", write=True, now=NOW)
    assert isinstance(error, socialkit.RateLimited)
    assert error.reset_at is None


@pytest.mark.parametrize(
    ("write", "expected"), [(True, socialkit.UnknownOutcome), (False, socialkit.Transient)]
)
async def test_a_2xx_that_is_not_json_is_unknown_only_for_a_write(
    write: bool, expected: type[Exception]
) -> None:
    # A captive portal or a broken proxy answering 200 with HTML: a read or an upload
    # changed nothing on the repository, so it is worth retrying, not a person's decision.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>sign in to the wifi</html>")

    ctx = _context(httpx.MockTransport(handler), [])
    with pytest.raises(expected, match="not JSON") as caught:
        await XrpcClient(ctx, "https://pds.example").procedure(
            "com.atproto.repo.uploadBlob", content=b"png", content_type="image/png", write=write
        )
    assert type(caught.value) is expected
    await ctx.http.aclose()


@pytest.mark.parametrize("body", [{}, {"uri": "at://did:plc:x/app.bsky.feed.post/3k"}, [], None])
def test_a_success_answer_without_the_record_is_an_unknown_outcome(body: object) -> None:
    """A 200 to createRecord that names no record: the write probably happened, so the
    outcome is unknown (retried with the same record key), not an adapter crash."""
    from socialkit_bluesky._client import _created_ref

    with pytest.raises(socialkit.UnknownOutcome, match="without the record's uri and cid"):
        _created_ref(body)
    ref = _created_ref({"uri": "at://did:plc:x/app.bsky.feed.post/3k", "cid": "bafy"})
    assert (ref.uri, ref.cid) == ("at://did:plc:x/app.bsky.feed.post/3k", "bafy")
