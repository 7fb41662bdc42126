"""The Bluesky adapter against a real PDS (@atproto/pds 0.5.35 on 127.0.0.1): publishing.

Everything is read back from the PDS with plain httpx (``getRecord``, ``listRecords``,
``com.atproto.sync.getBlob``), never through the adapter under test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import socialkit

pytestmark = pytest.mark.integration

PERSIAN_TAG = "#بازاریابی_دیجیتال"


def covered(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"] : index["byteEnd"]].decode("utf-8")


async def test_thread_with_image_link_and_persian_tag_round_trips(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    image_bytes = bsky.png(16, 9)
    image = socialkit.Media.from_bytes(image_bytes, alt_text="نمودار رشد فروش (a sales chart)")
    link = "https://example.com/guide?lang=fa"
    post = socialkit.Post(
        text=f"راهنمای تازه {PERSIAN_TAG} {link} @{app_account['handle']}",
        media=(image,),
        thread=(
            socialkit.ThreadPart(text="بخش دوم: کانال‌ها"),
            socialkit.ThreadPart(text="Part three #marketing"),
        ),
        language="fa",
    )
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    [result] = await socialkit.apublish_now(post, account, credentials=provider)
    assert result.ok, result.error
    receipt = result.receipt
    assert len(receipt.parts) == 3

    records = {r["uri"]: r for r in bsky.list_posts(app_account["did"])}
    assert set(records) == {ref.id for ref in receipt.parts}
    first, second, third = (records[ref.id]["value"] for ref in receipt.parts)

    # text and languages
    assert [first["text"], second["text"], third["text"]] == [
        post.text,
        "بخش دوم: کانال‌ها",
        "Part three #marketing",
    ]
    assert first["langs"] == second["langs"] == third["langs"] == ["fa"]

    # facets: UTF-8 byte ranges over the Persian text
    by_text = {covered(first["text"], f): f["features"][0] for f in first["facets"]}
    assert by_text == {
        PERSIAN_TAG: {"$type": "app.bsky.richtext.facet#tag", "tag": PERSIAN_TAG[1:]},
        link: {"$type": "app.bsky.richtext.facet#link", "uri": link},
        f"@{app_account['handle']}": {
            "$type": "app.bsky.richtext.facet#mention",
            "did": app_account["did"],
        },
    }
    tag_facet = next(f for f in first["facets"] if "tag" in f["features"][0])
    prefix = first["text"][: first["text"].index(PERSIAN_TAG)]
    assert tag_facet["index"]["byteStart"] == len(prefix.encode("utf-8"))
    assert tag_facet["index"]["byteEnd"] - tag_facet["index"]["byteStart"] == len(
        PERSIAN_TAG.encode("utf-8")
    )
    assert [covered(third["text"], f) for f in third["facets"]] == ["#marketing"]

    # the image: alt text, aspect ratio, and the very bytes, fetched from the PDS
    [item] = first["embed"]["images"]
    assert item["alt"] == "نمودار رشد فروش (a sales chart)"
    assert item["aspectRatio"] == {"width": 16, "height": 9}
    assert item["image"]["mimeType"] == "image/png"
    blob = bsky.readback.get(
        "/xrpc/com.atproto.sync.getBlob",
        params={"did": app_account["did"], "cid": item["image"]["ref"]["$link"]},
    )
    assert blob.status_code == 200
    assert blob.content == image_bytes

    # replies: root is part 1, parent is the previous part, as strong refs with CIDs
    root = {"uri": receipt.parts[0].id, "cid": records[receipt.parts[0].id]["cid"]}
    assert "reply" not in first
    assert second["reply"] == {"root": root, "parent": root}
    assert third["reply"] == {
        "root": root,
        "parent": {"uri": receipt.parts[1].id, "cid": records[receipt.parts[1].id]["cid"]},
    }

    # delete: every part is gone
    platform = socialkit.get_registry().platform("bluesky")
    async with httpx.AsyncClient() as http:
        await platform.delete(receipt, await bsky.context(account, provider, http))
    for ref in receipt.parts:
        gone = bsky.get_record(ref.id)
        assert gone.status_code == 400
        assert gone.json()["error"] == "RecordNotFound"
    assert bsky.list_posts(app_account["did"]) == []


async def test_link_card_and_first_comment(bsky: Any, app_account: dict[str, Any]) -> None:
    thumb_bytes = bsky.png(40, 21)
    post = socialkit.Post(
        text="The 2026 guide is out",
        link=socialkit.Link(
            url="https://example.com/guide",
            title="The 2026 guide",
            description="Everything in one place",
            thumbnail=socialkit.Media.from_bytes(thumb_bytes),
        ),
        first_comment="Questions? Reply here #help",
    )
    [result] = await socialkit.apublish_now(
        post, bsky.account(app_account), credentials=bsky.provider(app_account)
    )
    assert result.ok, result.error
    main = bsky.get_record(result.receipt.ref.id).json()
    external = main["value"]["embed"]["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        "https://example.com/guide",
        "The 2026 guide",
        "Everything in one place",
    )
    thumb = bsky.readback.get(
        "/xrpc/com.atproto.sync.getBlob",
        params={"did": app_account["did"], "cid": external["thumb"]["ref"]["$link"]},
    )
    assert thumb.content == thumb_bytes
    comment = bsky.get_record(result.receipt.first_comment.id).json()["value"]
    root = {"uri": main["uri"], "cid": main["cid"]}
    assert comment["reply"] == {"root": root, "parent": root}
    assert comment["text"] == "Questions? Reply here #help"


class LosesAnswers(httpx.AsyncBaseTransport):
    """A real transport that loses chosen answers after the server handled the request."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose: dict[str, int] = {}
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.removeprefix("/xrpc/")
        self.seen.append(nsid)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.lose.get(nsid, 0):
            self.lose[nsid] -= 1
            await response.aclose()
            raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_publish_whose_answer_is_lost_retried_yields_exactly_one_record(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    platform = socialkit.get_registry().platform("bluesky")
    post = socialkit.Post(
        text="exactly once, even when the answer is lost #once",
        thread=(socialkit.ThreadPart(text="and its reply, once too"),),
    )
    draft = socialkit.render(post, "bluesky", platform.capabilities)
    keys = ("pub-42-0", "pub-42-1")
    transport = LosesAnswers()
    async with httpx.AsyncClient(transport=transport) as http:
        first = await bsky.context(account, provider, http, idempotency_keys=keys)
        first = first.evolve(first_attempt_at=first.now())
        # The PDS writes the first part; its answer never arrives.
        transport.lose["com.atproto.repo.createRecord"] = 1
        with pytest.raises(socialkit.UnknownOutcome, match="answer was lost"):
            await platform.publish(draft, first)
        assert len(bsky.list_posts(app_account["did"])) == 1  # the write did happen

        # The engine retries with the same keys and first-attempt instant...
        retry = first.evolve(attempt=2)
        receipt = await platform.publish(draft, retry)
        # ...and once more, as a worker that also believed the outcome unknown would.
        again = await platform.publish(draft, first.evolve(attempt=3))
        found = await platform.find_published(draft, retry)

    records = bsky.list_posts(app_account["did"])
    assert len(records) == 2  # one record per part, not one per attempt
    assert receipt.parts == again.parts
    assert {ref.id for ref in receipt.parts} == {r["uri"] for r in records}
    # attempt 1 wrote part 0; attempt 2 found it and wrote part 1; attempt 3 wrote nothing
    assert transport.seen.count("com.atproto.repo.createRecord") == 2
    assert found is not None
    assert found.parts == receipt.parts


async def test_the_pds_500_for_a_taken_key_is_read_back_not_duplicated(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    # Two workers run the same attempt (same keys, same first-attempt instant): the second
    # createRecord meets the taken record key, which @atproto/pds answers with a 500.
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    platform = socialkit.get_registry().platform("bluesky")
    draft = socialkit.render(
        socialkit.Post(text="two workers, one post"), "bluesky", platform.capabilities
    )
    transport = LosesAnswers()
    async with httpx.AsyncClient(transport=transport) as http:
        ctx = await bsky.context(account, provider, http, idempotency_keys=("pub-7-0",))
        ctx = ctx.evolve(first_attempt_at=ctx.now())
        one = await platform.publish(draft, ctx)
        two = await platform.publish(draft, ctx)
    assert one.parts == two.parts
    assert len(bsky.list_posts(app_account["did"])) == 1
    assert transport.seen.count("com.atproto.repo.createRecord") == 2
    assert transport.seen.count("com.atproto.repo.getRecord") == 1


async def test_one_session_is_shared_by_every_process_through_the_provider(
    bsky: Any, app_account: dict[str, Any], tmp_path: Any
) -> None:
    secrets_file = tmp_path / "secrets.json"
    account = bsky.account(app_account)
    await socialkit.FileCredentialProvider(secrets_file).save(
        account, socialkit.Credentials().with_values(app_password=app_account["app_password"])
    )
    transport = LosesAnswers()  # loses nothing here: it counts the calls
    async with httpx.AsyncClient(transport=transport) as http:
        for n in range(3):  # three "processes", each with its own provider instance
            [result] = await socialkit.apublish_now(
                socialkit.Post(text=f"post {n}"),
                account,
                credentials=socialkit.FileCredentialProvider(secrets_file),
                http=http,
            )
            assert result.ok, result.error
    assert transport.seen.count("com.atproto.server.createSession") == 1
    stored = await socialkit.FileCredentialProvider(secrets_file).load(account)
    assert stored.get("did") == app_account["did"]
    assert stored.expires_at is not None


async def test_a_stale_access_token_is_refreshed_and_the_post_published(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    platform = socialkit.get_registry().platform("bluesky")
    async with httpx.AsyncClient() as http:
        await platform.verify_account(await bsky.context(account, provider, http))
        stored = await provider.load(account)
        # The server stops accepting the access token (here: it cannot verify it).
        await provider.save(account, stored.with_values(access_jwt="eyJhbGciOi.broken.token"))
        [result] = await socialkit.apublish_now(
            socialkit.Post(text="after a refresh"), account, credentials=provider, http=http
        )
    assert result.ok, result.error
    fresh = await provider.load(account)
    assert fresh.get("access_jwt") != "eyJhbGciOi.broken.token"
    assert fresh.get("refresh_jwt") != stored.get("refresh_jwt")  # refreshSession rotated it
    assert [r["value"]["text"] for r in bsky.list_posts(app_account["did"])] == ["after a refresh"]


async def test_a_revoked_app_password_needs_a_person(
    bsky: Any, pds: Any, app_account: dict[str, Any]
) -> None:
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    platform = socialkit.get_registry().platform("bluesky")
    async with httpx.AsyncClient() as http:
        await platform.verify_account(await bsky.context(account, provider, http))
        owner = pds.create_session(app_account["handle"], app_account["password"])
        revoked = bsky.readback.post(
            "/xrpc/com.atproto.server.revokeAppPassword",
            json={"name": "socialkit-tests"},
            headers={"authorization": f"Bearer {owner['accessJwt']}"},
        )
        assert revoked.status_code == 200, revoked.text
        with pytest.raises(socialkit.NeedsReauth, match="Invalid identifier or password"):
            await platform.refresh_credentials(await bsky.context(account, provider, http))


async def test_verify_account_records_the_did_as_the_stable_id(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    platform = socialkit.get_registry().platform("bluesky")
    account = bsky.account(app_account)
    async with httpx.AsyncClient() as http:
        identity = await platform.verify_account(
            await bsky.context(account, bsky.provider(app_account), http)
        )
    assert identity.platform_account_id == app_account["did"]
    assert identity.handle == app_account["handle"]
    # Once known, the DID is what the adapter logs in with (handles can change).
    known = account.model_copy(update={"platform_account_id": identity.platform_account_id})
    transport = LosesAnswers()
    async with httpx.AsyncClient(transport=transport) as http:
        again = await platform.verify_account(
            await bsky.context(known, bsky.provider(app_account), http)
        )
    assert again.platform_account_id == app_account["did"]


async def test_metrics_on_a_bare_pds_are_unavailable_not_zero(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    [result] = await socialkit.apublish_now(
        socialkit.Post(text="count me"), account, credentials=provider
    )
    assert result.ok, result.error
    platform = socialkit.get_registry().platform("bluesky")
    async with httpx.AsyncClient() as http:
        ctx = await bsky.context(account, provider, http)
        assert (await platform.resolve_capabilities(ctx)).metrics == frozenset()
        with pytest.raises(socialkit.Unsupported, match="no AppView"):
            await platform.fetch_metrics([result.receipt], ctx)
        # Pointing 'appview' at the bare PDS shows what it answers: no getPosts there.
        with_appview = bsky.account(app_account, appview=bsky.pds.url)
        ctx = await bsky.context(with_appview, provider, http)
        with pytest.raises(socialkit.Rejected, match="No service configured"):
            await platform.fetch_metrics([result.receipt], ctx)


async def test_workers_that_meet_a_refused_token_together_refresh_it_once(
    bsky: Any, app_account: dict[str, Any], tmp_path: Any
) -> None:
    # Four "processes" (each its own provider on one secrets file) hold the same stored
    # session, and the PDS refuses its access token: one refreshSession between them.
    secrets_file = tmp_path / "secrets.json"
    account = bsky.account(app_account)
    first = socialkit.FileCredentialProvider(secrets_file)
    await first.save(
        account, socialkit.Credentials().with_values(app_password=app_account["app_password"])
    )
    platform = socialkit.get_registry().platform("bluesky")
    transport = LosesAnswers()  # loses nothing here: it counts the calls
    async with httpx.AsyncClient(transport=transport) as http:
        await platform.verify_account(await bsky.context(account, first, http))
        stored = await first.load(account)
        await first.save(account, stored.with_values(access_jwt="eyJhbGciOi.refused.token"))
        results = await asyncio.gather(
            *(
                socialkit.apublish_now(
                    socialkit.Post(text=f"worker {n}"),
                    account,
                    credentials=socialkit.FileCredentialProvider(secrets_file),
                    http=http,
                )
                for n in range(4)
            )
        )
    assert all(result.ok for [result] in results), [r.error for [r] in results]
    assert transport.seen.count("com.atproto.server.refreshSession") == 1
    assert transport.seen.count("com.atproto.server.createSession") == 1  # the first login
    fresh = await socialkit.FileCredentialProvider(secrets_file).load(account)
    assert fresh.get("refresh_jwt") != stored.get("refresh_jwt")  # rotated once, and saved
    texts = sorted(r["value"]["text"] for r in bsky.list_posts(app_account["did"]))
    assert texts == [f"worker {n}" for n in range(4)]


async def test_four_images_with_alt_texts_and_a_fifth_refused_before_sending(
    bsky: Any, app_account: dict[str, Any]
) -> None:
    account = bsky.account(app_account)
    provider = bsky.provider(app_account)
    pictures = [bsky.png(10 + n, 5 + n) for n in range(5)]
    media = tuple(
        socialkit.Media.from_bytes(data, alt_text=f"تصویر {n + 1}")
        for n, data in enumerate(pictures)
    )
    [five] = await socialkit.apublish_now(
        socialkit.Post(text="five", media=media), account, credentials=provider
    )
    assert isinstance(five.error, socialkit.InvalidPost)
    assert {(p.field, p.limit, p.value) for p in five.problems if p.severity == "error"} >= {
        ("media", 4, 5)
    }
    assert bsky.list_posts(app_account["did"]) == []

    [four] = await socialkit.apublish_now(
        socialkit.Post(text="four", media=media[:4]), account, credentials=provider
    )
    assert four.ok, four.error
    [record] = bsky.list_posts(app_account["did"])
    images = record["value"]["embed"]["images"]
    assert [image["alt"] for image in images] == [f"تصویر {n + 1}" for n in range(4)]
    assert [image["aspectRatio"] for image in images] == [
        {"width": 10 + n, "height": 5 + n} for n in range(4)
    ]
    for image, data in zip(images, pictures, strict=False):
        blob = bsky.readback.get(
            "/xrpc/com.atproto.sync.getBlob",
            params={"did": app_account["did"], "cid": image["image"]["ref"]["$link"]},
        )
        assert blob.content == data
