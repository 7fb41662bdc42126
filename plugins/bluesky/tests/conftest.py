"""Offline fixtures for the Bluesky adapter: a fake PDS behind httpx, an account, contexts."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from socialkit_bluesky import Bluesky
from socialkit_bluesky.testing import FakeAccount, FakePds

import socialkit

APP_PASSWORD = "abcd-efgh-ijkl-mnop"


class Clock:
    """A clock that stands still until moved."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 30, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = (b"\x00" + b"\x10\x80\xf0" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Lab:
    """One test's world: the fake PDS, its account, the adapter and a context factory."""

    def __init__(self, tmp_path: Path, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.clock = Clock()
        self.pds = FakePds(clock=self.clock)
        self.owner: FakeAccount = self.pds.create_account("alice.test", app_password=APP_PASSWORD)
        self.account = socialkit.Account(
            id="acme-bsky",
            platform="bluesky",
            handle="alice.test",
            settings={"service": FakePds.URL, "web_url": "https://bsky.app"},
        )
        self.provider = socialkit.MemoryCredentialProvider(
            {self.account.id: {"app_password": APP_PASSWORD}}
        )
        self.media = socialkit.LocalMediaStore(tmp_path / "media")
        self.platform = Bluesky()
        self.requests: list[httpx.Request] = []
        self.rate_limits: list[socialkit.RateLimitReport] = []
        self.checkpoints: list[tuple[int, socialkit.PostRef]] = []
        self.transport = transport or httpx.MockTransport(self._record_and_answer)
        self.http = httpx.AsyncClient(transport=self.transport)

    def _record_and_answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.pds.handler(request)

    def nsids(self) -> list[str]:
        return [str(r.url.path).removeprefix("/xrpc/") for r in self.requests]

    async def context(
        self,
        keys: tuple[str, ...] = ("pub-1-0", "pub-1-1", "pub-1-2"),
        **changes: Any,
    ) -> socialkit.Context:
        ctx = socialkit.Context(
            account=self.account,
            credentials=await self.provider.load(self.account),
            http=self.http,
            media=self.media,
            clock=self.clock,
            publication_id="pub-1",
            idempotency_keys=keys,
            capabilities=self.platform.capabilities,
            on_rate_limit=self.rate_limits.append,
            on_checkpoint=self._checkpoint,
            credential_provider=self.provider,
        )
        return ctx.evolve(**changes) if changes else ctx

    async def _checkpoint(self, part: int, ref: socialkit.PostRef) -> None:
        self.checkpoints.append((part, ref))

    def draft(self, post: socialkit.Post) -> socialkit.Draft:
        return socialkit.render(post, "bluesky", self.platform.capabilities)

    def image(
        self, width: int = 8, height: int = 4, alt: str | None = "a gradient"
    ) -> socialkit.Media:
        return self.media.put_bytes(png(width, height), alt_text=alt)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    world = Lab(tmp_path)
    yield world
    await world.http.aclose()


@pytest.fixture
def lab_factory(tmp_path: Path) -> Callable[..., Lab]:
    def make(transport: httpx.AsyncBaseTransport | None = None) -> Lab:
        return Lab(tmp_path, transport)

    return make
