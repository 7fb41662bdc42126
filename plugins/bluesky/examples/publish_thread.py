"""Publish a short thread with an image to Bluesky (or any AT Protocol PDS), then read it back.

    BLUESKY_HANDLE=alice.bsky.social BLUESKY_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx \\
        python plugins/bluesky/examples/publish_thread.py [--delete]

Environment:
    BLUESKY_SERVICE       the PDS or entryway (default https://bsky.social)
    BLUESKY_HANDLE        the account's handle
    BLUESKY_APP_PASSWORD  an app password (Settings -> Privacy and security -> App passwords);
                          kept in the secrets file, so later runs may leave it out
    BLUESKY_SECRETS       the secrets file that keeps the session between runs, so a second
                          run does not log in again (default .socialkit/bluesky-secrets.json)

With ``--delete`` the thread is deleted again at the end (handy against a test server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import sys
import zlib
from pathlib import Path

import httpx

import socialkit


def gradient_png(width: int = 64, height: int = 32) -> bytes:
    """A small PNG made on the spot, so the example needs no image file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4, 96, 255 - x * 4)) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def main(delete: bool) -> int:
    service = os.environ.get("BLUESKY_SERVICE", "https://bsky.social")
    handle = os.environ["BLUESKY_HANDLE"]
    secrets_file = Path(os.environ.get("BLUESKY_SECRETS", ".socialkit/bluesky-secrets.json"))

    account = socialkit.Account(
        id="example-bsky",
        platform="bluesky",
        handle=handle,
        timezone="Asia/Tehran",
        settings={"service": service},
    )
    # The secrets file holds the app password and, after the first run, the session.
    # An app password given in the environment replaces the stored one (a new one, or
    # another account's): a stale one would only be refused at login.
    credentials = socialkit.FileCredentialProvider(secrets_file)
    stored = await credentials.load(account)
    given = os.environ.get("BLUESKY_APP_PASSWORD")
    if given and given != stored.get("app_password"):
        stored = stored.with_values(app_password=given)
        await credentials.save(account, stored)
    elif stored.get("app_password") is None:
        print(f"set BLUESKY_APP_PASSWORD (no app password in {secrets_file})", file=sys.stderr)
        return 2

    image = socialkit.Media.from_bytes(
        gradient_png(), alt_text="A gradient from blue to orange, the campaign's colours"
    )
    post = socialkit.Post(
        text="بهار با تخفیف‌های تازه #بازاریابی_دیجیتال https://example.com/spring",
        media=(image,),
        thread=(
            socialkit.ThreadPart(text="Part two: every offer is on the site until Friday."),
            socialkit.ThreadPart(text="Part three: questions are welcome in the replies."),
        ),
        language="fa",
    )

    # Validate offline first: every problem, with field, limit and value.
    platform = socialkit.get_registry().platform("bluesky")
    for problem in socialkit.validate(post, platform.capabilities, platform="bluesky"):
        print(f"{problem.severity}: {problem.describe()}")

    [result] = await socialkit.apublish_now(post, account, credentials=credentials)
    if not result.ok:
        print(f"not published: {result.error}", file=sys.stderr)
        return 1
    receipt = result.receipt
    assert receipt is not None
    for number, part in enumerate(receipt.parts, start=1):
        print(f"part {number}: {part.id}  {part.url or ''}".rstrip())

    async with httpx.AsyncClient() as http:
        ctx = socialkit.Context(
            account=account,
            credentials=await credentials.load(account),
            http=http,
            media=socialkit.default_media_store(),
            credential_provider=credentials,
        )
        identity = await platform.verify_account(ctx)
        if identity is not None:
            print(f"account: {identity.handle} ({identity.platform_account_id})")
        if delete:
            await platform.delete(receipt, ctx)
            print(f"deleted {len(receipt.parts)} parts")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delete", action="store_true", help="delete the thread at the end")
    sys.exit(asyncio.run(main(parser.parse_args().delete)))
