"""A server that echoes the request in its error: no credential reaches a message, and
the server's text is one line of bounded length."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from socialkit_bluesky import Bluesky

import socialkit

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
ACCESS = "acc-4f3e2d1c0b9a8f7e6d5c4b3a2918"
REFRESH = "ref-0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
BASE = "http://127.0.0.1:9"


def _echo(status: int, *, as_json: bool = True):
    """Answers every request with ``status`` and an error quoting the whole request."""

    def handle(request: httpx.Request) -> httpx.Response:
        headers = "\r\n".join(f"{k}: {v}" for k, v in request.headers.items())
        echoed = f"{request.method} {request.url}\r\n{headers}\r\n\r\n{request.content.decode()}"
        if as_json:
            return httpx.Response(status, json={"error": "InvalidRequest", "message": echoed})
        return httpx.Response(status, text=echoed)

    return handle


def _ctx(http: httpx.AsyncClient, credentials: socialkit.Credentials) -> socialkit.Context:
    account = socialkit.Account(
        id="alice", platform="bluesky", handle="alice.test", settings={"service": BASE}
    )
    return socialkit.Context(
        account=account,
        credentials=credentials,
        http=http,
        media=socialkit.LocalMediaStore("unused"),
    )


def _shown(exc: socialkit.PlatformError) -> str:
    return str(exc) + json.dumps(exc.describe())


@pytest.mark.parametrize("as_json", [True, False])
async def test_an_echoed_app_password_never_reaches_the_error(as_json: bool) -> None:
    credentials = socialkit.Credentials().with_values(app_password=APP_PASSWORD)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(_echo(400, as_json=as_json))
    ) as http:
        with pytest.raises(socialkit.PlatformError) as caught:
            await Bluesky().verify_account(_ctx(http, credentials))
    assert APP_PASSWORD not in _shown(caught.value)
    assert '"password":***' in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("status", [400, 500])
async def test_an_echoed_session_token_never_reaches_the_error(status: int) -> None:
    credentials = socialkit.Credentials().with_values(
        {
            "app_password": APP_PASSWORD,
            "access_jwt": ACCESS,
            "refresh_jwt": REFRESH,
            "did": "did:plc:alice",
        },
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(_echo(status))) as http:
        with pytest.raises(socialkit.PlatformError) as caught:
            await Bluesky().verify_account(_ctx(http, credentials))
    shown = _shown(caught.value)
    for secret in (APP_PASSWORD, ACCESS, REFRESH):
        assert secret not in shown
    assert "authorization: ***" in shown


async def test_a_long_server_text_is_capped() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "InvalidRequest", "message": "y" * 5000})

    credentials = socialkit.Credentials().with_values(app_password=APP_PASSWORD)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        with pytest.raises(socialkit.PlatformError) as caught:
            await Bluesky().verify_account(_ctx(http, credentials))
    server_text = str(caught.value).partition("InvalidRequest: ")[2].partition("…")[0] + "…"
    assert server_text == "y" * 299 + "…"  # 300 characters (docs/platforms/bluesky.md)
