"""Checks that the real-PDS harness works and pins down PDS behaviour the adapter relies on.

Runs against @atproto/pds 0.5.35 on 127.0.0.1 (fixtures in harness/fixtures.py).
Plain httpx, no socialkit code.
"""

from __future__ import annotations

import secrets
import struct
import time
import zlib
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

POST = "app.bsky.feed.post"
_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable alphabet of atproto TIDs


def make_tid() -> str:
    """A record key TID: 53 bits of microseconds since epoch + 10 bits clock id, 13 chars."""
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    return "".join(_S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def tiny_png(size: int = 4) -> bytes:
    """A valid size x size red RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = (b"\x00" + b"\xff\x00\x00" * size) * size
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def client(pds: Any) -> httpx.Client:
    with pds.client() as c:
        yield c


def create_session(client: httpx.Client, identifier: str, password: str) -> httpx.Response:
    return client.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": identifier, "password": password},
    )


def test_server_is_up_on_loopback(pds: Any, client: httpx.Client, bluesky_account: dict) -> None:
    assert pds.url.startswith("http://127.0.0.1:")
    assert client.get("/xrpc/_health").json() == {"version": "0.5.35"}
    desc = client.get("/xrpc/com.atproto.server.describeServer").json()
    assert desc["availableUserDomains"] == [".test"]
    assert desc["inviteCodeRequired"] is False
    # the account is real: handle resolves, and the did:plc directory has its document
    assert bluesky_account["handle"].endswith(".test")
    assert bluesky_account["did"].startswith("did:plc:")
    resolved = client.get(
        "/xrpc/com.atproto.identity.resolveHandle", params={"handle": bluesky_account["handle"]}
    )
    assert resolved.json() == {"did": bluesky_account["did"]}
    with httpx.Client(trust_env=False, timeout=10) as plc:
        doc = plc.get(f"{pds.plc_url}/{bluesky_account['did']}").json()
    assert doc["service"][0]["serviceEndpoint"] == pds.public_url  # http://localhost:PORT


def test_session_blob_post_roundtrip(client: httpx.Client, bluesky_account: dict) -> None:
    acct = bluesky_account
    sess = create_session(client, acct["handle"], acct["password"])
    assert sess.status_code == 200, sess.text
    session = sess.json()
    assert session["did"] == acct["did"]
    assert session["handle"] == acct["handle"]
    auth = bearer(session["accessJwt"])

    png = tiny_png()
    up = client.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=png,
        headers={**auth, "content-type": "image/png"},
    )
    assert up.status_code == 200, up.text
    blob = up.json()["blob"]
    assert blob["$type"] == "blob"
    assert blob["mimeType"] == "image/png"
    assert blob["size"] == len(png)
    assert blob["ref"]["$link"].startswith("bafkrei")

    rkey = make_tid()
    record = {
        "$type": POST,
        "text": "hello from the socialkit harness https://example.com",
        "createdAt": now_iso(),
        "langs": ["en"],
        "facets": [
            {
                "index": {"byteStart": 33, "byteEnd": 52},
                "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}
                ],
            }
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": "red square", "image": blob, "aspectRatio": {"width": 4, "height": 4}}
            ],
        },
    }
    body = {"repo": acct["did"], "collection": POST, "rkey": rkey, "record": record}
    created = client.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=auth)
    assert created.status_code == 200, created.text
    first = created.json()
    assert first["uri"] == f"at://{acct['did']}/{POST}/{rkey}"
    assert first["validationStatus"] == "valid"
    assert "commit" in first

    def get_record() -> dict:
        got = client.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": acct["did"], "collection": POST, "rkey": rkey},
        )
        assert got.status_code == 200, got.text
        return got.json()

    got = get_record()
    assert got["cid"] == first["cid"]
    assert got["value"]["text"] == record["text"]
    assert got["value"]["embed"]["images"][0]["image"]["ref"] == blob["ref"]
    fetched = client.get(
        "/xrpc/com.atproto.sync.getBlob", params={"did": acct["did"], "cid": blob["ref"]["$link"]}
    )
    assert fetched.status_code == 200
    assert fetched.content == png

    # Same rkey again via createRecord: the PDS 0.5.35 answers 500 InternalServerError
    # (log: "There is already a value at key: app.bsky.feed.post/<rkey>"), not a 4xx.
    dup = client.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={**body, "record": {**record, "text": "a different text"}},
        headers=auth,
    )
    assert dup.status_code == 500, (dup.status_code, dup.text)
    assert dup.json() == {"error": "InternalServerError", "message": "Internal Server Error"}
    assert get_record()["cid"] == first["cid"]  # the first record stays

    # putRecord with the same rkey and the identical record: 200, same CID, and no commit
    # (a no-op write) -- so putRecord makes a retried post idempotent.
    put = client.post("/xrpc/com.atproto.repo.putRecord", json=body, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["cid"] == first["cid"]
    assert put.json()["uri"] == first["uri"]
    assert "commit" not in put.json()
    assert get_record()["cid"] == first["cid"]


def test_app_password_login_can_post(pds: Any, client: httpx.Client, bluesky_account: dict) -> None:
    app_pw = pds.create_app_password(bluesky_account, "socialkit-adapter")
    assert app_pw["name"] == "socialkit-adapter"
    assert app_pw["privileged"] is False
    parts = app_pw["password"].split("-")
    assert [len(p) for p in parts] == [4, 4, 4, 4]
    sess = create_session(client, bluesky_account["handle"], app_pw["password"])
    assert sess.status_code == 200, sess.text
    token = sess.json()["accessJwt"]
    created = client.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={
            "repo": bluesky_account["did"],
            "collection": POST,
            "record": {
                "$type": POST,
                "text": "posted with an app password",
                "createdAt": now_iso(),
            },
        },
        headers=bearer(token),
    )
    assert created.status_code == 200, created.text
    # an app-password session may not mint further app passwords
    again = client.post(
        "/xrpc/com.atproto.server.createAppPassword", json={"name": "x"}, headers=bearer(token)
    )
    assert again.status_code == 400
    assert again.json() == {"error": "InvalidToken", "message": "Bad token scope"}


def test_error_bodies(client: httpx.Client, bluesky_account: dict) -> None:
    wrong = create_session(client, bluesky_account["handle"], "not-the-password")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    assert "ratelimit-limit" not in wrong.headers  # rate limits are off on `pds`

    bad_token = client.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": bluesky_account["did"], "collection": POST, "record": {}},
        headers=bearer("not-a-jwt"),
    )
    assert bad_token.status_code == 400
    assert bad_token.json() == {"error": "InvalidToken", "message": "Token could not be verified"}

    auth = bearer(bluesky_account["accessJwt"])

    def post_text(text: str) -> httpx.Response:
        return client.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={
                "repo": bluesky_account["did"],
                "collection": POST,
                "record": {"$type": POST, "text": text, "createdAt": now_iso()},
            },
            headers=auth,
        )

    assert post_text("x" * 300).status_code == 200
    too_long = post_text("x" * 301)
    assert too_long.status_code == 400
    assert too_long.json() == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: grapheme too big "
        "(maximum 300, got 301) at $.record.text",
    }


def test_create_session_rate_limited(pds_with_rate_limits: Any) -> None:
    server = pds_with_rate_limits
    acct = server.create_account("ratelimit")
    seen: list[tuple[int, dict[str, str]]] = []
    with server.client() as client:
        for _ in range(40):  # limit: 30 per 5 min per identifier+IP, so 429 on call 31
            resp = create_session(client, acct["handle"], acct["password"])
            seen.append(
                (
                    resp.status_code,
                    {k: v for k, v in resp.headers.items() if k.startswith("ratelimit")},
                )
            )
            if resp.status_code == 429:
                break
    statuses = [s for s, _ in seen]
    assert statuses[-1] == 429, f"no 429 after {len(statuses)} createSession calls"
    assert statuses[:-1] == [200] * 30
    first_headers = seen[0][1]
    assert first_headers["ratelimit-limit"] == "30"
    assert first_headers["ratelimit-remaining"] == "29"
    assert first_headers["ratelimit-policy"] == "30;w=300"
    assert resp.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert resp.headers["ratelimit-remaining"] == "0"
    assert int(resp.headers["ratelimit-reset"]) > time.time()  # epoch seconds
    assert 0 < int(resp.headers["retry-after"]) <= 300
