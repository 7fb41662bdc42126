"""FakePds (the offline double in socialkit_bluesky.testing) answers as the real PDS does.

The same requests go to @atproto/pds 0.5.35 on 127.0.0.1 and to FakePds; the status, the
error code and the parts of each answer the adapter reads must agree. The offline tests
lean on the fake, so this keeps them honest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from socialkit_bluesky import encode_tid
from socialkit_bluesky.testing import FakePds

pytestmark = pytest.mark.integration

POST = "app.bsky.feed.post"
Outcome = tuple[int, Any]


def _tid(offset_ms: int = 0) -> str:
    micros = int(datetime.now(UTC).timestamp() * 1_000_000) + offset_ms * 1000
    return encode_tid(micros, 7)


def probe(client: httpx.Client, handle: str, app_password: str) -> dict[str, Outcome]:
    """Run every probe; each gives (status, what of the answer the adapter relies on)."""
    out: dict[str, Outcome] = {}

    def error(response: httpx.Response) -> Any:
        if response.is_success:
            return "ok"
        return response.json().get("error")

    def post(
        nsid: str, body: dict[str, Any] | None = None, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return client.post(f"/xrpc/{nsid}", json=body, headers=headers, **kw)

    def get(nsid: str, **params: Any) -> httpx.Response:
        return client.get(f"/xrpc/{nsid}", params=params)

    wrong = post(
        "com.atproto.server.createSession",
        {"identifier": handle, "password": "nope-nope-nope-nope"},
    )
    out["wrong password"] = (wrong.status_code, (error(wrong), wrong.json().get("message")))
    login = post(
        "com.atproto.server.createSession", {"identifier": handle, "password": app_password}
    )
    session = login.json()
    out["login"] = (
        login.status_code,
        sorted({"accessJwt", "refreshJwt", "did", "handle"} & set(session)),
    )
    did, token = session["did"], session["accessJwt"]
    by_did = post("com.atproto.server.createSession", {"identifier": did, "password": app_password})
    out["login by DID"] = (by_did.status_code, by_did.json().get("did") == did)

    bad = get("com.atproto.server.getSession")
    out["no token"] = (bad.status_code, error(bad))
    junk = post("com.atproto.server.refreshSession", token="not-a-token")
    out["refresh with junk"] = (junk.status_code, error(junk))
    wrong_kind = post("com.atproto.server.refreshSession", token=token)
    out["refresh with the access token"] = (wrong_kind.status_code, error(wrong_kind))

    missing = get("com.atproto.identity.resolveHandle", handle="nobody-here.test")
    out["unknown handle"] = (missing.status_code, error(missing))
    found = get("com.atproto.identity.resolveHandle", handle=handle)
    out["known handle"] = (found.status_code, found.json().get("did") == did)

    rkey = _tid()
    record = {"$type": POST, "text": "fidelity", "createdAt": "2026-05-04T09:30:00.000Z"}
    body = {"repo": did, "collection": POST, "rkey": rkey, "record": record}
    created = post("com.atproto.repo.createRecord", body, token)
    out["create"] = (created.status_code, created.json()["uri"] == f"at://{did}/{POST}/{rkey}")
    again = post(
        "com.atproto.repo.createRecord", {**body, "record": {**record, "text": "x"}}, token
    )
    out["create at a taken key"] = (again.status_code, again.json())
    got = get("com.atproto.repo.getRecord", repo=did, collection=POST, rkey=rkey)
    out["the first record stays"] = (got.status_code, got.json()["value"]["text"])
    put = post("com.atproto.repo.putRecord", body, token)
    out["put the identical record"] = (put.status_code, put.json()["cid"] == created.json()["cid"])
    gone = get("com.atproto.repo.getRecord", repo=did, collection=POST, rkey=_tid(-60_000))
    out["get a missing record"] = (gone.status_code, error(gone))
    long = post(
        "com.atproto.repo.createRecord",
        {**body, "rkey": _tid(1), "record": {**record, "text": "a" * 301}},
        token,
    )
    out["301 graphemes"] = (long.status_code, (error(long), long.json().get("message")))

    keys = [_tid(10 + i) for i in range(4)]
    for key in keys:
        made = post("com.atproto.repo.createRecord", {**body, "rkey": key}, token)
        assert made.status_code == 200, made.text

    def listing(**params: Any) -> Outcome:
        answer = get("com.atproto.repo.listRecords", repo=did, collection=POST, **params)
        data = answer.json()
        rkeys = [r["uri"].rsplit("/", 1)[-1] for r in data["records"]]
        mapped = [f"k{keys.index(k)}" if k in keys else "first" for k in rkeys]
        cursor = data.get("cursor")
        return answer.status_code, (
            mapped,
            f"k{keys.index(cursor)}" if cursor in keys else cursor == rkey,
        )

    out["list newest first, limit 2"] = listing(limit=2)
    out["list below a cursor"] = listing(cursor=keys[2])
    out["list oldest first above a cursor"] = listing(reverse="true", cursor=keys[0])

    deleted = post(
        "com.atproto.repo.deleteRecord", {"repo": did, "collection": POST, "rkey": keys[3]}, token
    )
    out["delete"] = (deleted.status_code, sorted(deleted.json()))
    twice = post(
        "com.atproto.repo.deleteRecord", {"repo": did, "collection": POST, "rkey": keys[3]}, token
    )
    out["delete a deleted record"] = (twice.status_code, sorted(twice.json()))
    return out


def test_fake_pds_answers_as_the_real_one(pds: Any, app_account: dict[str, Any]) -> None:
    with pds.client() as real:
        expected = probe(real, app_account["handle"], app_account["app_password"])

    fake = FakePds()
    handle = "fidelity.test"
    fake.create_account(handle, app_password="aaaa-bbbb-cccc-dddd")
    transport: Callable[[httpx.Request], httpx.Response] = fake.handler
    with httpx.Client(base_url=FakePds.URL, transport=httpx.MockTransport(transport)) as client:
        got = probe(client, handle, "aaaa-bbbb-cccc-dddd")

    assert got == expected
    # and the facts the adapter is built on, spelled out
    assert expected["create at a taken key"] == (
        500,
        {"error": "InternalServerError", "message": "Internal Server Error"},
    )
    assert expected["wrong password"] == (
        401,
        ("AuthenticationRequired", "Invalid identifier or password"),
    )
    assert expected["get a missing record"] == (400, "RecordNotFound")
    assert expected["301 graphemes"][0] == 400
