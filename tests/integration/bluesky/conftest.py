"""Fixtures for the Bluesky integration tests: a real PDS on 127.0.0.1 (see harness/)."""

import importlib.util
import sys
from pathlib import Path

import pytest

# Load harness/fixtures.py by path so this works under --import-mode=importlib without
# putting generic module names ("fixtures", "pds") on sys.path.
_NAME = "socialkit_pds_fixtures"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).parent / "harness" / "fixtures.py"
    )
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)

from socialkit_pds_fixtures import (  # noqa: E402,F401
    bluesky_account,
    harness,
    pds,
    pds_installed,
    pds_with_rate_limits,
    pytest_collection_modifyitems,
)

# -- socialkit-bluesky fixtures (used by test_bluesky_pds_*.py) -------------------------------
# (Fixture arguments share names with the fixtures imported above: F811 is expected.)


@pytest.fixture
def app_account(pds, bluesky_account):  # noqa: F811
    """A fresh account on ``pds`` with an app password (``app_password`` key added)."""
    app = pds.create_app_password(bluesky_account, "socialkit-tests")
    return {**bluesky_account, "app_password": app["password"]}


@pytest.fixture
def readback(pds):  # noqa: F811
    """A plain httpx client on the PDS, to read records and blobs back without socialkit."""
    with pds.client() as client:
        yield client


class BlueskyLab:
    """Helpers for one test: socialkit objects for a PDS account, and plain-httpx reads."""

    POST = "app.bsky.feed.post"

    def __init__(self, pds, readback):  # noqa: F811
        self.pds = pds
        self.readback = readback

    def account(self, owner, *, account_id="acme-bsky", **settings):
        import socialkit

        return socialkit.Account(
            id=account_id,
            platform="bluesky",
            handle=owner["handle"],
            settings={"service": self.pds.url, "web_url": "", **settings},
        )

    def provider(self, owner, *, account_id="acme-bsky", password=None):
        import socialkit

        secret = password if password is not None else owner["app_password"]
        return socialkit.MemoryCredentialProvider({account_id: {"app_password": secret}})

    async def context(self, account, provider, http, **fields):
        import socialkit

        return socialkit.Context(
            account=account,
            credentials=await provider.load(account),
            http=http,
            media=socialkit.default_media_store(),
            credential_provider=provider,
            **fields,
        )

    def list_posts(self, did):
        answer = self.readback.get(
            "/xrpc/com.atproto.repo.listRecords", params={"repo": did, "collection": self.POST}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["records"]

    def get_record(self, uri):
        did, collection, rkey = uri.removeprefix("at://").split("/")
        return self.readback.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": collection, "rkey": rkey},
        )

    @staticmethod
    def png(width, height):
        """A valid RGB PNG of ``width`` x ``height`` pixels."""
        import struct
        import zlib

        def chunk(kind, data):
            crc = zlib.crc32(kind + data) & 0xFFFFFFFF
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

        rows = (b"\x00" + b"\x20\x90\xe0" * width) * height
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b"")
        )


@pytest.fixture
def bsky(pds, readback):  # noqa: F811
    """A :class:`BlueskyLab` on the shared PDS."""
    return BlueskyLab(pds, readback)
