"""A server that echoes the request in its error: no credential reaches a message, and
the server's text is one line of bounded length."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from socialkit_mastodon import Mastodon, Pkce, exchange_code
from socialkit_mastodon._auth import AppRegistration

import socialkit

TOKEN = "tok-3f9a8c7e6d5b4a39281706f5e4d3c2b1"
BASE = "http://127.0.0.1:9"


def _echo(status: int):
    """Answers every request with ``status`` and an error quoting the whole request."""

    def handle(request: httpx.Request) -> httpx.Response:
        headers = "\r\n".join(f"{k}: {v}" for k, v in request.headers.items())
        echoed = f"{request.method} {request.url}\r\n{headers}\r\n\r\n{request.content.decode()}"
        return httpx.Response(status, json={"error": "bad request", "error_description": echoed})

    return handle


def _ctx(http: httpx.AsyncClient, tmp_path: Path) -> socialkit.Context:
    account = socialkit.Account(
        id="acme-mastodon", platform="mastodon", handle="acme", settings={"instance": BASE}
    )
    return socialkit.Context(
        account=account,
        credentials=socialkit.Credentials().with_values(access_token=TOKEN + "\n"),
        http=http,
        media=socialkit.LocalMediaStore(tmp_path / "media"),
    )


@pytest.mark.parametrize("status", [422, 401, 500])
async def test_an_echoed_token_never_reaches_the_error(tmp_path: Path, status: int) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_echo(status))) as http:
        ctx = _ctx(http, tmp_path)
        draft = socialkit.render(socialkit.Post(text="hello"), "mastodon", Mastodon.capabilities)
        with pytest.raises(socialkit.PlatformError) as caught:
            await Mastodon().publish(draft, ctx)
        with pytest.raises(socialkit.PlatformError) as checked:
            await Mastodon().verify_account(ctx)
    for exc in (caught.value, checked.value):
        shown = str(exc) + json.dumps(exc.describe())
        assert TOKEN not in shown
        assert "Authorization: ***" in shown or "authorization: ***" in shown
        assert "\n" not in str(exc)
        assert "bad request" in str(exc)


async def test_a_long_server_text_is_capped(tmp_path: Path) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"error": "Validation failed: " + "x" * 5000})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        draft = socialkit.render(socialkit.Post(text="hello"), "mastodon", Mastodon.capabilities)
        with pytest.raises(socialkit.Rejected) as caught:
            await Mastodon().publish(draft, _ctx(http, tmp_path))
    server_text = caught.value.reason.partition(": ")[2]  # after "mastodon <operation>: "
    assert len(server_text) == 300  # docs/platforms/mastodon.md
    assert server_text.endswith("…")


async def test_an_echoed_code_and_client_secret_never_reach_the_error() -> None:
    app = AppRegistration(
        instance=BASE, client_id="client-1", client_secret=SecretStr("cs-0123456789abcdef")
    )
    pkce = Pkce.generate()
    async with httpx.AsyncClient(transport=httpx.MockTransport(_echo(400))) as http:
        with pytest.raises(socialkit.NeedsReauth) as caught:
            await exchange_code(http, app, "code-9876543210", pkce)
    message = str(caught.value)
    for secret in ("cs-0123456789abcdef", "code-9876543210", pkce.verifier):
        assert secret not in message
