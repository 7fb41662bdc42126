"""Platforms the CLI tests register: small limits to trip, and one that needs a token."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import socialkit
from socialkit.platforms.capabilities import Capabilities, MediaLimits
from socialkit.text.rules import Counting, TextRule


class Tiny(socialkit.Platform):
    """Ten graphemes, one image with alt text, no threads; publishing records the draft."""

    name = "tiny"
    contract = 1
    capabilities = Capabilities(
        text=TextRule(name="tiny", counting=Counting.GRAPHEMES, limit=10),
        media=MediaLimits(max_items=1, max_images=1, alt_text="required", max_alt_text=20),
        threads=False,
        requires_credentials=False,
    )
    published: list[socialkit.Draft] = []  # noqa: RUF012 - test record shared by instances

    async def publish(self, draft, ctx):
        type(self).published.append(draft)
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=f"tiny-{len(self.published)}"),),
            published_at=ctx.now(),
        )


class Vault(socialkit.Platform):
    """A platform behind a bearer token, served by :func:`vault_server` on 127.0.0.1.

    It logs its context and credentials at DEBUG on purpose: their reprs must not leak.
    """

    name = "vault"
    contract = 1
    capabilities = Capabilities(
        text=TextRule(name="vault", counting=Counting.GRAPHEMES, limit=500),
        requires_credentials=True,
    )

    def _headers(self, ctx) -> dict[str, str]:
        token = ctx.credentials.require("access_token")
        return {"Authorization": f"Bearer {token}"}

    async def verify_account(self, ctx):
        ctx.logger.debug("verifying %r with %r (%s)", ctx, ctx.credentials, ctx.credentials)
        base = ctx.account.setting("base_url")
        response = await ctx.http.get(f"{base}/me", headers=self._headers(ctx))
        if response.status_code == 401:
            raise socialkit.NeedsReauth("the server refused the token", status_code=401)
        body = response.json()
        return socialkit.AccountIdentity(platform_account_id=body["id"], handle=body["handle"])

    async def publish(self, draft, ctx):
        ctx.logger.debug("publishing %r for %r with %r", draft, ctx, ctx.credentials)
        base = ctx.account.setting("base_url")
        response = await ctx.http.post(
            f"{base}/posts", json={"text": draft.text}, headers=self._headers(ctx)
        )
        if response.status_code == 401:
            raise socialkit.NeedsReauth("the server refused the token", status_code=401)
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=response.json()["id"]),),
            published_at=datetime.now(UTC),
        )

    async def delete(self, receipt, ctx):
        base = ctx.account.setting("base_url")
        for part in receipt.parts:
            response = await ctx.http.post(f"{base}/delete/{part.id}", headers=self._headers(ctx))
            if response.status_code == 401:
                raise socialkit.NeedsReauth("the server refused the token", status_code=401)


def plugin(*platforms: type[socialkit.Platform]) -> ModuleType:
    """A plugin module registering ``platforms``, as an installed plugin's module would."""

    @socialkit.hookimpl
    def register_platforms(register: Callable[[type[socialkit.Platform]], None]) -> None:
        for platform in platforms:
            register(platform)

    module = ModuleType("tests_cli_plugin")
    module.register_platforms = register_platforms  # type: ignore[attr-defined]
    return module


@contextmanager
def vault_server(token: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback server accepting ``Bearer <token>``; yields its URL and the requests seen."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            return self.headers.get("Authorization") == f"Bearer {token}"

        def do_GET(self) -> None:
            if not self._authorised():
                self._reply(401, {"error": "invalid token"})
            else:
                self._reply(200, {"id": "vault-user-1", "handle": "vaulty"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if not self._authorised():
                self._reply(401, {"error": "invalid token"})
            else:
                self._reply(200, {"id": f"post-{len(seen)}"})

        def log_message(self, format: str, *args: object) -> None:
            return  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
