"""Publishing: records, threads, images, link cards, first comments, exactly once, delete, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from socialkit_bluesky import derive_record_key
from socialkit_bluesky.testing import FakePds

import socialkit


def post_values(lab) -> list[dict]:
    return [r["value"] for r in lab.pds.posts(lab.owner.did)]


async def test_a_thread_is_published_as_replies_with_root_and_parent(lab) -> None:
    image = lab.image(8, 4, alt="A blue gradient")
    post = socialkit.Post(
        text="سلام #بازاریابی_دیجیتال https://example.com/launch @alice.test",
        media=(image,),
        thread=(socialkit.ThreadPart(text="two"), socialkit.ThreadPart(text="three")),
        language="fa",
    )
    ctx = await lab.context()
    receipt = await lab.platform.publish(lab.draft(post), ctx)

    assert len(receipt.parts) == 3
    first, second, third = (lab.pds.records[ref.id] for ref in receipt.parts)
    assert first["value"]["text"] == post.text
    assert "reply" not in first["value"]
    root = {"uri": receipt.parts[0].id, "cid": receipt.parts[0].extra["cid"]}
    assert second["value"]["reply"] == {"root": root, "parent": root}
    assert third["value"]["reply"] == {
        "root": root,
        "parent": {"uri": receipt.parts[1].id, "cid": receipt.parts[1].extra["cid"]},
    }
    assert all(r["value"]["langs"] == ["fa"] for r in (first, second, third))
    # the image: uploaded bytes, alt text and aspect ratio
    [item] = first["value"]["embed"]["images"]
    assert item["alt"] == "A blue gradient"
    assert item["aspectRatio"] == {"width": 8, "height": 4}
    assert lab.pds.blobs[item["image"]["ref"]["$link"]] == lab.media.read_bytes(image)
    # facets: byte ranges cover exactly the tag, the link and the mention
    raw = post.text.encode()
    covered = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in first["value"]["facets"]
    }
    assert covered == {
        "#بازاریابی_دیجیتال": {"$type": "app.bsky.richtext.facet#tag", "tag": "بازاریابی_دیجیتال"},
        "https://example.com/launch": {
            "$type": "app.bsky.richtext.facet#link",
            "uri": "https://example.com/launch",
        },
        "@alice.test": {"$type": "app.bsky.richtext.facet#mention", "did": lab.owner.did},
    }
    # checkpoints after each part, receipts with URLs a person can open
    assert [part for part, _ in lab.checkpoints] == [0, 1, 2]
    rkey = receipt.parts[0].extra["rkey"]
    assert receipt.url == f"https://bsky.app/profile/{lab.owner.did}/post/{rkey}"
    assert receipt.published_at == lab.clock.now


async def test_record_keys_and_created_at_come_from_the_idempotency_keys(lab) -> None:
    post = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),))
    ctx = await lab.context()
    receipt = await lab.platform.publish(lab.draft(post), ctx)
    for index, ref in enumerate(receipt.parts):
        expected = derive_record_key(ctx.idempotency_key(index), lab.clock.now, offset_ms=index)
        assert ref.extra["rkey"] == expected.rkey
        assert lab.pds.records[ref.id]["value"]["createdAt"] == expected.created_at


async def test_a_link_card_with_thumbnail(lab) -> None:
    thumb = lab.image(12, 6, alt=None)
    post = socialkit.Post(
        text="Read the launch notes",
        link=socialkit.Link(
            url="https://example.com/notes",
            title="Launch notes",
            description="All of it",
            thumbnail=thumb,
        ),
    )
    receipt = await lab.platform.publish(lab.draft(post), await lab.context())
    embed = lab.pds.records[receipt.ref.id]["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    external = embed["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        "https://example.com/notes",
        "Launch notes",
        "All of it",
    )
    assert lab.pds.blobs[external["thumb"]["ref"]["$link"]] == lab.media.read_bytes(thumb)


async def test_a_link_without_card_data_makes_no_card_and_images_win_over_a_card(lab) -> None:
    bare = socialkit.Post(
        text="x https://example.com", link=socialkit.Link(url="https://example.com")
    )
    receipt = await lab.platform.publish(lab.draft(bare), await lab.context())
    assert "embed" not in lab.pds.records[receipt.ref.id]["value"]
    both = socialkit.Post(
        text="y",
        media=(lab.image(),),
        link=socialkit.Link(url="https://example.com", title="T"),
    )
    receipt = await lab.platform.publish(lab.draft(both), await lab.context(keys=("pub-2-0",)))
    assert lab.pds.records[receipt.ref.id]["value"]["embed"]["$type"] == "app.bsky.embed.images"


async def test_first_comment_replies_to_the_post(lab) -> None:
    post = socialkit.Post(text="Main post", first_comment="More in the comments #info")
    receipt = await lab.platform.publish(lab.draft(post), await lab.context())
    assert receipt.first_comment is not None
    comment = lab.pds.records[receipt.first_comment.id]["value"]
    root = {"uri": receipt.ref.id, "cid": receipt.ref.extra["cid"]}
    assert comment["reply"] == {"root": root, "parent": root}
    assert comment["facets"][0]["features"][0]["tag"] == "info"


async def test_langs_option_overrides_the_language(lab) -> None:
    post = socialkit.Post(text="hello سلام", language="en", options={"langs": ["en", "fa"]})
    receipt = await lab.platform.publish(lab.draft(post), await lab.context())
    assert lab.pds.records[receipt.ref.id]["value"]["langs"] == ["en", "fa"]


@pytest.mark.parametrize("tag", ["english!", "", "en_US", "e"])
async def test_a_langs_tag_that_is_no_language_is_refused_before_anything_is_sent(
    lab, tag: str
) -> None:
    # The PDS refuses the record ('Invalid language (got "english!") at $.record.langs[0]')
    # only after the images were uploaded; refused here, the message names the item.
    post = socialkit.Post(text="hi", media=(lab.image(),), options={"langs": ["en", tag]})
    with pytest.raises(socialkit.Rejected, match=r"nothing was sent.*langs\[1\].*BCP 47"):
        await lab.platform.publish(lab.draft(post), await lab.context())
    assert lab.requests == []


async def test_an_oversized_image_is_refused_before_anything_is_sent(lab) -> None:
    big = socialkit.Media(sha256="a" * 64, mime_type="image/png", size=2_000_001, alt_text="big")
    draft = socialkit.Draft(
        platform="bluesky", revision="r", parts=(socialkit.DraftPart(text="hi", media=(big,)),)
    )
    problems = socialkit.validate(draft, lab.platform.capabilities)
    assert [(p.field, p.code, p.limit, p.value) for p in problems] == [
        ("media[0].size", "media.too_large", 2_000_000, 2_000_001)
    ]
    with pytest.raises(socialkit.Rejected, match=r"nothing was sent.*2000000"):
        await lab.platform.publish(draft, await lab.context())
    assert lab.requests == []


async def test_text_the_pds_would_reject_is_refused_by_validation_first(lab) -> None:
    draft = socialkit.Draft(
        platform="bluesky", revision="r", parts=(socialkit.DraftPart(text="é" * 301),)
    )
    with pytest.raises(socialkit.Rejected, match=r"text.*limit 300, value 301"):
        await lab.platform.publish(draft, await lab.context())
    assert lab.requests == []


async def test_the_servers_refusal_is_rejected_with_its_reason(lab) -> None:
    # Validation against a looser rule lets the text through; the server refuses it.
    loose = lab.platform.capabilities.model_copy(
        update={"text": lab.platform.capabilities.text.with_limit(1000)}
    )
    draft = socialkit.Draft(
        platform="bluesky", revision="r", parts=(socialkit.DraftPart(text="a" * 301),)
    )
    with pytest.raises(socialkit.Rejected, match="grapheme too big") as caught:
        await lab.platform.publish(draft, await lab.context(capabilities=loose))
    assert caught.value.platform_code == "InvalidRequest"
    assert lab.pds.posts() == []


class LosesAnswers(httpx.AsyncBaseTransport):
    """Passes requests to the fake PDS; loses the answer of chosen requests after it acted."""

    def __init__(self, pds: FakePds) -> None:
        self.inner = httpx.MockTransport(pds.handler)
        self.lose: dict[str, int] = {}  # nsid -> how many answers to lose
        self.refuse: dict[str, int] = {}  # nsid -> how many connections to refuse

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.removeprefix("/xrpc/")
        if self.refuse.get(nsid, 0):
            self.refuse[nsid] -= 1
            raise httpx.ConnectError("connection refused (test)", request=request)
        response = await self.inner.handle_async_request(request)
        if self.lose.get(nsid, 0):
            self.lose[nsid] -= 1
            await response.aread()
            raise httpx.ReadTimeout("answer lost (test)", request=request)
        return response


async def test_a_lost_answer_is_unknown_outcome_and_nothing_is_sent_again(lab_factory) -> None:
    lab = lab_factory()
    transport = LosesAnswers(lab.pds)
    lab.http = httpx.AsyncClient(transport=transport)
    transport.lose["com.atproto.repo.createRecord"] = 1
    with pytest.raises(socialkit.UnknownOutcome, match="answer was lost"):
        await lab.platform.publish(lab.draft(socialkit.Post(text="once")), await lab.context())
    assert len(lab.pds.posts()) == 1  # the write happened
    assert lab.pds.calls.count(("POST", "com.atproto.repo.createRecord")) == 1
    await lab.http.aclose()


async def test_a_retry_after_a_lost_answer_makes_exactly_one_record(lab_factory) -> None:
    lab = lab_factory()
    transport = LosesAnswers(lab.pds)
    lab.http = httpx.AsyncClient(transport=transport)
    draft = lab.draft(socialkit.Post(text="exactly once", thread=(socialkit.ThreadPart(text="2"),)))
    first_attempt_at = lab.clock.now
    transport.lose["com.atproto.repo.createRecord"] = 1
    with pytest.raises(socialkit.UnknownOutcome):
        await lab.platform.publish(draft, await lab.context(first_attempt_at=first_attempt_at))
    assert len(lab.pds.posts()) == 1
    lab.clock.advance(minutes=3)  # the engine retries later, with the same keys
    retry = await lab.context(first_attempt_at=first_attempt_at, attempt=2)
    receipt = await lab.platform.publish(draft, retry)
    assert len(lab.pds.posts()) == 2  # part 0 once, part 1 once
    assert receipt.parts[0].id == next(
        p["uri"] for p in lab.pds.posts() if "reply" not in p["value"]
    )
    assert [part for part, _ in lab.checkpoints] == [0, 1]
    await lab.http.aclose()


async def test_a_retry_that_does_not_know_the_first_attempt_still_finds_its_record(
    lab_factory,
) -> None:
    lab = lab_factory()
    transport = LosesAnswers(lab.pds)
    lab.http = httpx.AsyncClient(transport=transport)
    draft = lab.draft(socialkit.Post(text="found by its key's signature"))
    transport.lose["com.atproto.repo.createRecord"] = 1
    with pytest.raises(socialkit.UnknownOutcome):
        await lab.platform.publish(draft, await lab.context())
    lab.clock.advance(minutes=10)  # another anchor: the derived record key differs now
    receipt = await lab.platform.publish(draft, await lab.context(attempt=2))
    [only] = lab.pds.posts()
    assert receipt.ref.id == only["uri"]
    assert lab.pds.calls.count(("POST", "com.atproto.repo.createRecord")) == 1
    await lab.http.aclose()


async def test_the_same_key_written_twice_is_read_back_not_duplicated(lab) -> None:
    # Two first attempts with the same keys and instant (say, two workers): the second
    # createRecord meets the taken key (500 on @atproto/pds) and reads the record back.
    draft = lab.draft(socialkit.Post(text="twice"))
    first = await lab.platform.publish(draft, await lab.context())
    second = await lab.platform.publish(draft, await lab.context())
    assert first.parts == second.parts
    assert len(lab.pds.posts()) == 1
    assert lab.pds.calls.count(("POST", "com.atproto.repo.createRecord")) == 2
    assert ("GET", "com.atproto.repo.getRecord") in lab.pds.calls


async def test_a_retry_never_takes_another_publications_record(lab) -> None:
    draft = lab.draft(socialkit.Post(text="evergreen"))
    other = await lab.platform.publish(draft, await lab.context(keys=("other-pub-0",)))
    mine = await lab.platform.publish(draft, await lab.context(keys=("my-pub-0",), attempt=2))
    assert mine.ref.id != other.ref.id
    assert len(lab.pds.posts()) == 2


async def test_a_thread_resumes_after_its_checkpoints(lab) -> None:
    post = socialkit.Post(
        text="one", thread=(socialkit.ThreadPart(text="two"), socialkit.ThreadPart(text="three"))
    )
    draft = lab.draft(post)
    ctx = await lab.context()
    full = await lab.platform.publish(draft, ctx)
    # Pretend the worker died after part 1: drop part 2 and resume from two checkpoints.
    del lab.pds.records[full.parts[2].id]
    lab.requests.clear()
    resumed = await lab.platform.publish(
        draft, ctx.evolve(published_parts=full.parts[:2], attempt=2)
    )
    assert resumed.parts[:2] == full.parts[:2]
    assert lab.nsids().count("com.atproto.repo.createRecord") == 1
    assert (
        lab.pds.records[resumed.parts[2].id]["value"]["reply"]["parent"]["uri"] == full.parts[1].id
    )


async def test_a_key_holding_another_post_is_an_unknown_outcome(lab) -> None:
    ctx = await lab.context(keys=("same-key",))
    await lab.platform.publish(lab.draft(socialkit.Post(text="first text")), ctx)
    with pytest.raises(socialkit.UnknownOutcome, match="already holds another post"):
        await lab.platform.publish(lab.draft(socialkit.Post(text="second text")), ctx)
    assert [v["text"] for v in post_values(lab)] == ["first text"]


async def test_find_published_reads_the_derived_keys(lab) -> None:
    post = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),), first_comment="c")
    draft = lab.draft(post)
    anchor = lab.clock.now
    assert await lab.platform.find_published(draft, await lab.context()) is None  # never sent
    ctx = await lab.context(first_attempt_at=anchor)
    assert await lab.platform.find_published(draft, ctx) is None  # sent, nothing there
    receipt = await lab.platform.publish(draft, ctx)
    lab.clock.advance(hours=1)
    lab.requests.clear()
    found = await lab.platform.find_published(draft, await lab.context(first_attempt_at=anchor))
    assert found is not None
    assert found.parts == receipt.parts
    assert found.first_comment == receipt.first_comment
    assert found.published_at.isoformat().startswith("2026-05-04T09:30:00.123")
    # one getRecord per part and the comment, at the derived keys; no listing
    assert lab.nsids() == ["com.atproto.repo.getRecord"] * 3
    rkeys = [r.url.params["rkey"] for r in lab.requests]
    assert rkeys == [ref.extra["rkey"] for ref in (*receipt.parts, receipt.first_comment)]


async def test_find_published_lists_the_repository_when_a_derived_key_is_empty(lab) -> None:
    # The record was written under another anchor (an attempt that did not know the first
    # attempt's instant): the derived key holds nothing, the signature still finds it.
    draft = lab.draft(socialkit.Post(text="written under another anchor"))
    receipt = await lab.platform.publish(draft, await lab.context(first_attempt_at=lab.clock.now))
    lab.requests.clear()
    later = lab.clock.now + timedelta(seconds=2)
    found = await lab.platform.find_published(draft, await lab.context(first_attempt_at=later))
    assert found is not None
    assert found.parts == receipt.parts
    assert lab.nsids() == ["com.atproto.repo.getRecord", "com.atproto.repo.listRecords"]


async def test_find_published_of_a_partial_thread_returns_the_parts_found(lab) -> None:
    # None would say that nothing is there; a receipt of the first parts says that the
    # later ones are not, and the engine sends them after the found ones.
    post = socialkit.Post(
        text="one", thread=(socialkit.ThreadPart(text="two"), socialkit.ThreadPart(text="three"))
    )
    draft = lab.draft(post)
    ctx = await lab.context(first_attempt_at=lab.clock.now)
    receipt = await lab.platform.publish(draft, ctx)
    del lab.pds.records[receipt.parts[2].id]
    lab.checkpoints.clear()
    found = await lab.platform.find_published(draft, ctx)
    assert found is not None
    assert found.parts == receipt.parts[:2]
    assert lab.checkpoints == []
    # the engine's next step: publish after the found parts, which writes the third only
    lab.requests.clear()
    resumed = await lab.platform.publish(draft, ctx.evolve(published_parts=found.parts, attempt=2))
    assert resumed.parts[:2] == receipt.parts[:2]
    assert lab.nsids().count("com.atproto.repo.createRecord") == 1
    assert len(lab.pds.posts()) == 3


async def test_find_published_without_the_first_comment_checkpoints_the_parts(lab) -> None:
    # Every part is there but the comment is not: a receipt of the parts would settle the
    # publication without its comment, so the parts are checkpointed and publishing again
    # writes the comment alone.
    post = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),), first_comment="c")
    draft = lab.draft(post)
    ctx = await lab.context(first_attempt_at=lab.clock.now)
    receipt = await lab.platform.publish(draft, ctx)
    assert receipt.first_comment is not None
    del lab.pds.records[receipt.first_comment.id]
    lab.checkpoints.clear()
    assert await lab.platform.find_published(draft, ctx) is None
    assert lab.checkpoints == [(0, receipt.parts[0]), (1, receipt.parts[1])]
    lab.requests.clear()
    checkpointed = tuple(ref for _, ref in lab.checkpoints)
    resumed = await lab.platform.publish(draft, ctx.evolve(published_parts=checkpointed, attempt=2))
    assert resumed.parts == receipt.parts
    assert resumed.first_comment is not None
    assert lab.nsids().count("com.atproto.repo.createRecord") == 1


async def test_delete_removes_every_part_and_the_comment(lab) -> None:
    post = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),), first_comment="c")
    receipt = await lab.platform.publish(lab.draft(post), await lab.context())
    assert len(lab.pds.posts()) == 3
    await lab.platform.delete(receipt, await lab.context())
    assert lab.pds.posts() == []
    await lab.platform.delete(receipt, await lab.context())  # deleting again is harmless


async def test_metrics_come_from_the_appview(lab) -> None:
    lab.account = lab.account.model_copy(
        update={"settings": {**lab.account.settings, "appview": FakePds.URL}}
    )
    receipt = await lab.platform.publish(
        lab.draft(socialkit.Post(text="count me")), await lab.context()
    )
    lab.pds.seed_counts(receipt.ref.id, likeCount=7, repostCount=2, replyCount=1, quoteCount=0)
    [snapshot] = await lab.platform.fetch_metrics([receipt], await lab.context())
    assert (snapshot.likes, snapshot.shares, snapshot.comments, snapshot.quotes) == (7, 2, 1, 0)
    assert snapshot.post_id == receipt.ref.id
    assert snapshot.collected_at == lab.clock.now
    caps = await lab.platform.resolve_capabilities(await lab.context())
    assert caps.metrics == frozenset({"likes", "shares", "comments", "quotes"})


async def test_metrics_on_a_bare_pds_say_so_instead_of_zeros(lab) -> None:
    receipt = await lab.platform.publish(
        lab.draft(socialkit.Post(text="no appview")), await lab.context()
    )
    with pytest.raises(socialkit.Unsupported, match=r"no AppView.*'appview'"):
        await lab.platform.fetch_metrics([receipt], await lab.context())
    caps = await lab.platform.resolve_capabilities(await lab.context())
    assert caps.metrics == frozenset()


async def test_bsky_social_gets_the_public_appview_by_default() -> None:
    from socialkit_bluesky import BlueskySettings

    account = socialkit.Account(id="a", platform="bluesky", handle="a.bsky.social")
    settings = BlueskySettings.of(account)
    assert (settings.service, settings.appview) == (
        "https://bsky.social",
        "https://public.api.bsky.app",
    )
    with pytest.raises(socialkit.ConfigError, match="'service' must be an http"):
        BlueskySettings.of(account.model_copy(update={"settings": {"service": "bsky.social"}}))


async def test_a_retry_pages_through_a_busy_repository(lab) -> None:
    draft = lab.draft(socialkit.Post(text="mine"))
    first_attempt_at = lab.clock.now
    mine = await lab.platform.publish(draft, await lab.context(first_attempt_at=first_attempt_at))
    # 250 posts of other publications written after it, in the same minutes
    for n in range(250):
        lab.clock.advance(seconds=1)
        other = lab.draft(socialkit.Post(text=f"other {n}"))
        await lab.platform.publish(other, await lab.context(keys=(f"other-{n}",)))
    lab.requests.clear()
    retry = await lab.context(first_attempt_at=first_attempt_at, attempt=2)
    # the derived key still holds "mine"; found by the scan before anything is written
    again = await lab.platform.publish(draft, retry)
    assert again.parts == mine.parts
    assert "com.atproto.repo.createRecord" not in lab.nsids()
    assert lab.nsids().count("com.atproto.repo.listRecords") == 3  # 100 + 100 + 51


async def test_too_many_posts_to_search_is_an_unknown_outcome(lab, monkeypatch) -> None:
    import socialkit_bluesky._client as client

    monkeypatch.setattr(client, "MAX_SCAN_PAGES", 2)
    monkeypatch.setattr(client, "SCAN_PAGE", 3)
    for n in range(7):
        other = lab.draft(socialkit.Post(text=f"other {n}"))
        await lab.platform.publish(other, await lab.context(keys=(f"other-{n}",)))
    with pytest.raises(socialkit.UnknownOutcome, match="more than 6 posts"):
        await lab.platform.publish(
            lab.draft(socialkit.Post(text="mine")), await lab.context(keys=("m",), attempt=2)
        )
    assert [v["text"] for v in post_values(lab)].count("mine") == 0


APPVIEW = "https://appview.fake.test"


def _appview_lab(lab_factory, appview_down: bool = False):
    # The AppView is another service with its own per-IP budget, here spent.
    def route(request: httpx.Request) -> httpx.Response:
        lab.requests.append(request)
        if request.url.host != "appview.fake.test":
            return lab.pds.handler(request)
        if appview_down:
            raise httpx.ConnectError("refused (test)", request=request)
        response = lab.pds.handler(request)
        response.headers.update(
            {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": "1800000000"}
        )
        return response

    lab = lab_factory(httpx.MockTransport(route))
    lab.account = lab.account.model_copy(
        update={"settings": {**lab.account.settings, "appview": APPVIEW}}
    )
    return lab


async def test_the_appviews_budget_is_not_reported_as_the_accounts(lab_factory) -> None:
    lab = _appview_lab(lab_factory)
    receipt = await lab.platform.publish(lab.draft(socialkit.Post(text="hi")), await lab.context())
    lab.pds.seed_counts(receipt.ref.id, likeCount=1)
    [snapshot] = await lab.platform.fetch_metrics([receipt], await lab.context())
    assert snapshot.likes == 1
    # Only the "default" budget holds publishing: the AppView's own must not spend it.
    [report] = [r for r in lab.rate_limits if r.remaining == 0]
    assert report.scope == "appview"
    await lab.http.aclose()


async def test_an_appview_that_cannot_be_reached_is_named(lab_factory) -> None:
    lab = _appview_lab(lab_factory, appview_down=True)
    receipt = await lab.platform.publish(lab.draft(socialkit.Post(text="hi")), await lab.context())
    with pytest.raises(socialkit.Transient, match=r"could not reach https://appview\.fake\.test"):
        await lab.platform.fetch_metrics([receipt], await lab.context())
    await lab.http.aclose()


async def test_an_image_without_alt_text_is_sent_with_an_empty_alt(lab) -> None:
    # The lexicon requires 'alt'; Bluesky allows it empty, as its app does.
    post = socialkit.Post(text="", media=(lab.image(6, 3, alt=None),))
    receipt = await lab.platform.publish(lab.draft(post), await lab.context())
    value = lab.pds.records[receipt.ref.id]["value"]
    assert value["text"] == ""  # an empty text is allowed beside an embed
    [item] = value["embed"]["images"]
    assert item["alt"] == ""
    assert item["aspectRatio"] == {"width": 6, "height": 3}


@pytest.mark.parametrize("text", ["a" * 300, "👩🏽‍💻" * 150 + "a" * 150, "é" * 300])
async def test_exactly_300_graphemes_is_one_post(lab, text: str) -> None:
    draft = lab.draft(socialkit.Post(text=text, options={"auto_thread": False}))
    assert socialkit.validate(draft, lab.platform.capabilities) == []
    receipt = await lab.platform.publish(draft, await lab.context())
    assert lab.pds.records[receipt.ref.id]["value"]["text"] == text


async def test_301_graphemes_is_a_two_part_thread_or_a_problem_naming_the_limit(lab) -> None:
    text = "👩🏽‍💻" * 150 + "a" * 151
    assert len(lab.draft(socialkit.Post(text=text)).parts) == 2  # render splits by default
    draft = lab.draft(socialkit.Post(text=text, options={"auto_thread": False}))
    [problem] = socialkit.validate(draft, lab.platform.capabilities)
    assert (problem.field, problem.limit, problem.value) == ("text", 300, 301)
    with pytest.raises(socialkit.Rejected, match=r"nothing was sent.*limit 300, value 301"):
        await lab.platform.publish(draft, await lab.context())
    assert lab.requests == []


async def test_facet_byte_ranges_after_emoji_and_accents(lab) -> None:
    lab.pds.create_account("bob.test")
    text = "👩🏽‍💻 café ça — @bob.test voilà #été https://exämple.com/ß?q=é. @nobody.test"
    receipt = await lab.platform.publish(lab.draft(socialkit.Post(text=text)), await lab.context())
    value = lab.pds.records[receipt.ref.id]["value"]
    raw = text.encode()
    covered = [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in value["facets"]
    ]
    bob = next(a.did for a in lab.pds.accounts.values() if a.handle == "bob.test")
    assert covered == [
        ("@bob.test", {"$type": "app.bsky.richtext.facet#mention", "did": bob}),
        ("#été", {"$type": "app.bsky.richtext.facet#tag", "tag": "été"}),
        (
            "https://exämple.com/ß?q=é",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://exämple.com/ß?q=é"},
        ),
    ]  # @nobody.test does not resolve: plain text


class AnswersCreateRecordWith(httpx.AsyncBaseTransport):
    """Answers createRecord with a chosen status, after or instead of writing the record."""

    def __init__(self, pds: FakePds, status: int, *, writes: bool, **headers: str) -> None:
        self.inner = httpx.MockTransport(pds.handler)
        self.status, self.writes, self.headers = status, writes, headers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/com.atproto.repo.createRecord"):
            return await self.inner.handle_async_request(request)
        if self.writes:
            await self.inner.handle_async_request(request)
        return httpx.Response(
            self.status,
            json={"error": "UpstreamFailure", "message": "upstream went away"},
            headers={k.replace("_", "-"): v for k, v in self.headers.items()},
        )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_after_sending_is_an_unknown_outcome_when_nothing_was_written(
    lab_factory, status: int
) -> None:
    lab = lab_factory()
    lab.http = httpx.AsyncClient(transport=AnswersCreateRecordWith(lab.pds, status, writes=False))
    with pytest.raises(socialkit.UnknownOutcome, match=f"{status} UpstreamFailure") as caught:
        await lab.platform.publish(lab.draft(socialkit.Post(text="maybe")), await lab.context())
    assert caught.value.status_code == status
    assert lab.pds.posts() == []
    await lab.http.aclose()


async def test_a_5xx_after_the_record_was_written_returns_the_record(lab_factory) -> None:
    lab = lab_factory()
    lab.http = httpx.AsyncClient(transport=AnswersCreateRecordWith(lab.pds, 502, writes=True))
    receipt = await lab.platform.publish(
        lab.draft(socialkit.Post(text="written anyway")), await lab.context()
    )
    [only] = lab.pds.posts()
    assert receipt.ref.id == only["uri"]
    await lab.http.aclose()


async def test_a_429_on_create_record_is_rate_limited_and_reported(lab_factory) -> None:
    lab = lab_factory()
    lab.http = httpx.AsyncClient(
        transport=AnswersCreateRecordWith(
            lab.pds,
            429,
            writes=False,
            ratelimit_limit="5000",
            ratelimit_remaining="0",
            ratelimit_reset="1777887000",
            retry_after="120",
        )
    )
    with pytest.raises(socialkit.RateLimited) as caught:
        await lab.platform.publish(lab.draft(socialkit.Post(text="later")), await lab.context())
    assert caught.value.retry_after == 120
    assert caught.value.reset_at == datetime.fromtimestamp(1777887000, UTC)
    assert lab.rate_limits[-1] == socialkit.RateLimitReport(
        remaining=0, reset_at=datetime.fromtimestamp(1777887000, UTC), limit=5000
    )
    assert lab.pds.posts() == []
    await lab.http.aclose()


async def test_a_token_refused_mid_thread_keeps_the_first_calls_record_keys(lab_factory) -> None:
    # The engine sends through with_refresh: ExpiredToken on part 2, one refresh, and the
    # call again, minutes later. Every record key comes from the first call's instant (the
    # anchor is read once per call, and the retry is given it as first_attempt_at): part 1
    # is not written again under a new key, and parts 2 and 3 follow it in order.
    from socialkit.platforms.publish import with_refresh

    lab = lab_factory()
    creates = 0

    def route(request: httpx.Request) -> httpx.Response:
        nonlocal creates
        lab.requests.append(request)
        if request.url.path.endswith("/com.atproto.repo.createRecord"):
            creates += 1
            if creates == 2:
                return httpx.Response(
                    400, json={"error": "ExpiredToken", "message": "Token has expired"}
                )
        return lab.pds.handler(request)

    lab.http = httpx.AsyncClient(transport=httpx.MockTransport(route))
    post = socialkit.Post(
        text="one", thread=(socialkit.ThreadPart(text="two"), socialkit.ThreadPart(text="three"))
    )
    draft = lab.draft(post)
    ctx = await lab.context()
    anchor = lab.clock.now
    calls: list[socialkit.Context] = []

    async def publish(call: socialkit.Context) -> socialkit.Receipt:
        if calls:
            lab.clock.advance(minutes=2)
        calls.append(call)
        return await lab.platform.publish(draft, call)

    receipt = await with_refresh(lab.platform, ctx, publish)
    assert len(calls) == 2
    assert len(lab.pds.posts()) == 3  # each part once
    for index, ref in enumerate(receipt.parts):
        expected = derive_record_key(ctx.idempotency_key(index), anchor, offset_ms=index)
        assert ref.extra["rkey"] == expected.rkey
        assert lab.pds.records[ref.id]["value"]["createdAt"] == expected.created_at
    assert [lab.pds.records[ref.id]["value"]["text"] for ref in receipt.parts] == [
        "one",
        "two",
        "three",
    ]
    await lab.http.aclose()
