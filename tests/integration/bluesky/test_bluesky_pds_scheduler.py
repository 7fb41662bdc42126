"""The scenario end to end: socialkit's Scheduler on the SQLite store, publishing to a real PDS.

A three-part thread whose first part has an image with alt text, a link and a Persian
hashtag is scheduled, the worker runs until idle, and everything is read back from the
PDS with plain HTTP; then the post is deleted and checked gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

import socialkit

pytestmark = pytest.mark.integration

PERSIAN_TAG = "#بازاریابی_دیجیتال"


def scheduler_class() -> Any:
    # socialkit.Scheduler once the top-level export lands; the facade module until then.
    found = getattr(socialkit, "Scheduler", None)
    if found is None:
        from socialkit.schedule.facade import Scheduler as found
    return found


def covered(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"] : index["byteEnd"]].decode("utf-8")


def test_a_scheduled_thread_reaches_the_pds_exactly_as_written(
    bsky: Any, app_account: dict[str, Any], tmp_path: Path
) -> None:
    account = bsky.account(app_account).model_copy(update={"timezone": "Asia/Tehran"})
    provider = bsky.provider(app_account)
    image_bytes = bsky.png(30, 20)
    image = socialkit.Media.from_bytes(image_bytes, alt_text="لوگوی کمپین روی دیوار آبی")
    link = "https://example.com/bahar"
    post = socialkit.Post(
        text=f"کمپین بهار آغاز شد {PERSIAN_TAG} {link}",
        media=(image,),
        thread=(
            socialkit.ThreadPart(text="۲/ تخفیف‌ها تا جمعه"),
            socialkit.ThreadPart(text="3/ Questions welcome #spring"),
        ),
        language="fa",
    )
    Scheduler = scheduler_class()
    store = f"sqlite:///{tmp_path / 'socialkit.db'}"
    with Scheduler(store, credentials=provider, accounts=[account]) as scheduler:
        due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        [publication] = scheduler.schedule(post, account, at=due)
        scheduler.run(until_idle=True)
        done = scheduler.get(publication.id)

    assert done.state == "published", (done.state, done.last_error)
    [stored] = done.receipts
    receipt = stored.receipt
    assert len(receipt.parts) == 3
    assert [part for part in done.checkpoints] == list(receipt.parts)

    records = {r["uri"]: r for r in bsky.list_posts(app_account["did"])}
    assert set(records) == {ref.id for ref in receipt.parts}
    first, second, third = (records[ref.id]["value"] for ref in receipt.parts)
    assert [first["text"], second["text"], third["text"]] == [
        post.text,
        "۲/ تخفیف‌ها تا جمعه",
        "3/ Questions welcome #spring",
    ]
    assert first["langs"] == second["langs"] == third["langs"] == ["fa"]
    # facet byte ranges
    assert {covered(first["text"], f): f["features"][0] for f in first["facets"]} == {
        PERSIAN_TAG: {"$type": "app.bsky.richtext.facet#tag", "tag": PERSIAN_TAG[1:]},
        link: {"$type": "app.bsky.richtext.facet#link", "uri": link},
    }
    # the image blob, byte for byte, with its alt text and aspect ratio
    [item] = first["embed"]["images"]
    assert item["alt"] == "لوگوی کمپین روی دیوار آبی"
    assert item["aspectRatio"] == {"width": 30, "height": 20}
    blob = bsky.readback.get(
        "/xrpc/com.atproto.sync.getBlob",
        params={"did": app_account["did"], "cid": item["image"]["ref"]["$link"]},
    )
    assert blob.content == image_bytes
    # reply root / parent strong refs
    root = {"uri": receipt.parts[0].id, "cid": records[receipt.parts[0].id]["cid"]}
    assert "reply" not in first
    assert second["reply"] == {"root": root, "parent": root}
    assert third["reply"] == {
        "root": root,
        "parent": {"uri": receipt.parts[1].id, "cid": records[receipt.parts[1].id]["cid"]},
    }
    # the record keys came from the publication's idempotency key
    assert receipt.parts[0].extra["rkey"] == receipt.parts[0].id.rsplit("/", 1)[-1]

    # delete, and check every part is gone
    async def delete() -> None:
        platform = socialkit.get_registry().platform("bluesky")
        async with httpx.AsyncClient() as http:
            await platform.delete(receipt, await bsky.context(account, provider, http))

    asyncio.run(delete())
    for ref in receipt.parts:
        gone = bsky.get_record(ref.id)
        assert (gone.status_code, gone.json()["error"]) == (400, "RecordNotFound")
    assert bsky.list_posts(app_account["did"]) == []


class LosesFirstPostAnswer(httpx.AsyncBaseTransport):
    """A real transport that loses the answer to the first createRecord (after the PDS wrote)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/com.atproto.repo.createRecord"):
            self.creates += 1
            if self.lost == 0:
                self.lost = 1
                await response.aread()
                await response.aclose()
                raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_engine_settles_a_lost_answer_with_exactly_one_record(
    bsky: Any, app_account: dict[str, Any], tmp_path: Path
) -> None:
    from socialkit.schedule.engine.config import EngineConfig

    account = bsky.account(app_account)
    transport = LosesFirstPostAnswer()
    http = httpx.AsyncClient(transport=transport)
    post = socialkit.Post(text="once, although its first answer was lost")
    Scheduler = scheduler_class()
    with Scheduler(
        f"sqlite:///{tmp_path / 'socialkit.db'}",
        credentials=bsky.provider(app_account),
        accounts=[account],
        http=http,
        config=EngineConfig(reconcile_delay=dt.timedelta(0)),
    ) as scheduler:
        [publication] = scheduler.schedule(
            post, account, at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
        scheduler.run(until_idle=True)
        first = scheduler.get(publication.id)
        if first.state != "published":  # the unknown outcome waits for its reconcile turn
            scheduler.run(until_idle=True)
        done = scheduler.get(publication.id)
    asyncio.run(http.aclose())

    assert transport.lost == 1
    assert done.state == "published", (done.state, done.last_error)
    assert done.sends >= 2  # the lost attempt, then the retry with the same key
    records = bsky.list_posts(app_account["did"])
    assert [r["value"]["text"] for r in records] == [post.text]
    assert done.receipts[-1].receipt.ref.id == records[0]["uri"]
    # the retry found the record the lost attempt wrote, and wrote nothing itself
    assert transport.creates == 1
    states = [event.to_state for event in done.history or () if event.kind == "transition"]
    assert states == ["publishing", "unknown", "publishing"]
