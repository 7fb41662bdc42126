"""Connect a Mastodon account and publish a thread with an image, all offline.

The server is socialkit_mastodon.testing.FakeMastodon, an in-process Mastodon that answers
as the documentation describes (here a server that allows 1000 characters). Swap the
client for a plain ``httpx.AsyncClient()`` and the address for a real server's, and the
same code talks to it.

Run:  python plugins/mastodon/examples/publish_offline.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx
from socialkit_mastodon import Pkce, authorization_url, exchange_code, register_app
from socialkit_mastodon.testing import FakeMastodon

import socialkit

# A 1x1 PNG, so the example needs no image file.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2216bc80000000049454e44ae426082"
)


async def main(workdir: Path) -> None:
    server = FakeMastodon(host="social.example", max_characters=1000, username="acme")
    async with httpx.AsyncClient(transport=server.transport()) as http:
        # 1. Connect the account: register an app, let the person approve, swap the code.
        app = await register_app(http, "social.example", client_name="Acme scheduler")
        pkce = Pkce.generate()
        url = authorization_url(app, pkce)
        code = server.authorize(url)  # a person would open `url` and paste the code shown
        credentials = await exchange_code(http, app, code, pkce)
        account = socialkit.Account(
            id="acme-mastodon",
            platform="mastodon",
            handle="@acme@social.example",
            settings={"instance": "https://social.example"},
        )
        provider = socialkit.MemoryCredentialProvider({account.id: credentials})

        # 2. Who is it, and what does this server allow?
        mastodon = socialkit.get_registry().platform("mastodon")
        ctx = socialkit.Context(
            account=account,
            credentials=credentials,
            http=http,
            media=socialkit.LocalMediaStore(workdir / "media"),
        )
        identity = await mastodon.verify_account(ctx)
        account = account.model_copy(update={"platform_account_id": identity.platform_account_id})
        capabilities = await mastodon.resolve_capabilities(ctx)
        print(f"connected {identity.handle} (stable id {identity.platform_account_id})")
        print(f"this server allows {capabilities.text.limit} characters per status")

        # 3. A post with an image and a reply, validated against this server's limits.
        store = socialkit.LocalMediaStore(workdir / "media")
        image = store.put_bytes(PNG, alt_text="The Acme logo: a red dot")
        post = socialkit.Post(
            text="Spring is here! Our new season starts today. " * 15,  # > 500, < 1000
            media=(image,),
            thread=(socialkit.ThreadPart(text="Opening hours: 9 to 5, every day."),),
            language="en",
            options={"visibility": "unlisted", "auto_thread": False},
        )
        problems = socialkit.validate(post, capabilities, platform="mastodon")
        print(f"problems on this server: {len(problems)}")

        [result] = await socialkit.apublish_now(
            post, account, credentials=provider, http=http, media=store
        )
        if not result.ok:
            raise SystemExit(f"publishing failed: {result.error}")
        receipt = result.receipt
        assert receipt is not None
        for number, part in enumerate(receipt.parts, start=1):
            print(f"part {number}: {part.url}")

        # 4. Counts a little later.
        snapshots = await mastodon.fetch_metrics(
            [receipt], ctx.evolve(account=account, publication_id="example")
        )
        for snapshot in snapshots:
            print(f"{snapshot.subject}: {snapshot.reported()}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
