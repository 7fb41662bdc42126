"""The kit's building blocks: the faulty transport, factories and the pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

import socialkit
from socialkit.testing import (
    SAMPLE_SECRET,
    Fault,
    FaultyTransport,
    FrozenClock,
    make_credentials,
    make_post,
)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path})


async def test_faults_hit_the_nth_matching_request_once() -> None:
    transport = FaultyTransport(ok)
    transport.arm(Fault.connect_error(), match=lambda r: r.method == "POST", nth=2)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post("https://p.example/a")).status_code == 200
        assert (await client.get("https://p.example/b")).status_code == 200
        with pytest.raises(httpx.ConnectError):
            await client.post("https://p.example/c")
        assert (await client.post("https://p.example/d")).status_code == 200
    assert [r.url.path for r in transport.requests] == ["/a", "/b", "/c", "/d"]
    assert transport.pending == 0


async def test_a_lost_response_reaches_the_platform_first() -> None:
    seen: list[str] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(201)

    transport = FaultyTransport(platform)
    transport.arm(Fault.lost_response())
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("https://p.example/posts", json={"text": "hi"})
    assert seen == ["/posts"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.broken_response(), httpx.RemoteProtocolError),
        (Fault.broken_response(httpx.ReadError), httpx.ReadError),
        (Fault.broken_request(), httpx.WriteError),
        (Fault.write_timeout(), httpx.WriteTimeout),
    ],
)
async def test_a_broken_connection_reaches_the_platform_first(
    fault: Fault, error: type[httpx.TransportError]
) -> None:
    seen: list[str] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(201)

    transport = FaultyTransport(platform)
    transport.arm(fault)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(error, match="injected"):
            await client.post("https://p.example/posts", json={"text": "hi"})
    assert seen == ["/posts"]


async def test_disarm_forgets_the_faults_that_have_not_fired() -> None:
    transport = FaultyTransport(ok)
    transport.arm(Fault.connect_error(), nth=2)
    transport.disarm()
    assert transport.pending == 0
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("https://p.example/a")).status_code == 200
        assert (await client.get("https://p.example/b")).status_code == 200


async def test_respond_replaces_the_platform_and_async_handlers_work() -> None:
    async def platform(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    transport = FaultyTransport(platform)
    transport.arm(Fault.respond(lambda r: httpx.Response(429, headers={"Retry-After": "5"})))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("https://p.example/")).status_code == 429
        assert (await client.get("https://p.example/")).status_code == 200


def test_arm_refuses_a_zero_nth() -> None:
    with pytest.raises(ValueError, match="nth counts from 1"):
        FaultyTransport(ok).arm(Fault.connect_error(), nth=0)


def test_frozen_clock() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.advance(hours=1) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert clock.advance(30).second == 30
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))


def test_factories() -> None:
    credentials = make_credentials(refresh_token="r-123456789")
    assert credentials.require("access_token") == SAMPLE_SECRET
    assert SAMPLE_SECRET not in repr(credentials)
    post = make_post("hello", thread=["second"], language="en")
    assert [p.text for p in post.thread] == ["second"]


def test_the_pytest_plugin_is_registered_and_import_light(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("socialkit")
    import subprocess
    import sys

    code = (
        "import sys, socialkit.testing.pytest_plugin; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'socialkit.testing.contract') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_fixtures_build_a_working_context(
    socialkit_account: Callable[..., socialkit.Account],
    socialkit_context: Callable[..., socialkit.Context],
    socialkit_transport: Callable[..., FaultyTransport],
    socialkit_clock: FrozenClock,
    socialkit_media_store: socialkit.LocalMediaStore,
) -> None:
    account = socialkit_account("pigeon", settings={"loft": "https://loft.example"})
    transport = socialkit_transport(ok)
    ctx = socialkit_context(account, transport)
    assert ctx.account is account
    assert ctx.now() == socialkit_clock()
    assert ctx.media is socialkit_media_store
    assert ctx.idempotency_key(0) == "test-key-0"
    assert ctx.credentials.require("access_token") == SAMPLE_SECRET
    response = await ctx.http.get("https://loft.example/api/v1/me")
    assert response.json() == {"path": "/api/v1/me"}
    assert len(transport.requests) == 1
