"""Standard tests: publishing posts, threads and media, and idempotency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.errors import Rejected, Transient, UnknownOutcome
from socialkit.models.content import DraftPart
from socialkit.testing._base import ContractBase
from socialkit.testing._guard import standard
from socialkit.testing.transport import Fault

if TYPE_CHECKING:
    from socialkit.models.receipt import Receipt
    from socialkit.testing.harness import Harness


def _ids(receipt: Receipt) -> list[str]:
    return [part.id for part in receipt.parts]


class PublishingTests(ContractBase):
    @standard()
    async def test_publish_returns_a_receipt_for_the_post(self, h: Harness) -> None:
        """A one-part post gives a receipt with one reference that the platform holds."""
        before = h.published()
        receipt = await h.publish(h.draft())
        assert receipt.platform == self.platform.name
        assert receipt.account_id == h.account.id
        assert len(receipt.parts) == 1, f"one part was published, receipt has {receipt.parts}"
        assert receipt.published_at.tzinfo is not None
        assert h.published() - before == {receipt.ref.id}, (
            f"the platform should hold exactly the new post {receipt.ref.id!r}; "
            f"it gained {sorted(h.published() - before)}"
        )

    @standard()
    async def test_publish_checkpoints_each_part(self, h: Harness) -> None:
        """ctx.checkpoint(part, ref) is called once per part, in order, with the receipt's refs."""
        draft = h.draft(thread=h.thread_parts if self.supports("threads") else 1)
        receipt = await h.publish(draft)
        assert h.checkpoints == list(enumerate(receipt.parts)), (
            f"checkpoints {h.checkpoints} do not match the receipt's parts {receipt.parts}"
        )

    @standard()
    async def test_publish_keeps_secrets_out_of_receipts(self, h: Harness) -> None:
        """No credential value in the receipt, its JSON, the context's or adapter's repr."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        self.assert_no_secret(receipt.model_dump_json(), where="the receipt's JSON")
        self.assert_no_secret(repr(receipt), where="the receipt's repr")
        self.assert_no_secret(repr(ctx), where="the context's repr")
        self.assert_no_secret(repr(h.platform), where="the adapter's repr")

    @standard(requires=("http",))
    async def test_publish_sends_the_text(self, h: Harness) -> None:
        """The draft's text reaches the platform in a request that creates the post."""
        draft = h.draft()
        await h.publish(draft)
        assert h.publish_requests(), "no request matched creates_post()"
        assert h.text_sent(draft.text), f"no request carried the text {draft.text!r}"

    @standard(requires=("media",))
    async def test_publish_with_an_image_sends_its_bytes_and_alt_text(self, h: Harness) -> None:
        """An image's exact bytes (and alt text, where supported) reach the platform."""
        image = h.image()
        before = h.published()
        receipt = await h.publish(h.draft(media=[image]))
        assert len(h.published() - before) == 1
        assert receipt.ref.id in h.published()
        if self.supports("http"):
            data = h.media.read_bytes(image)
            assert h.bodies_contain(data), "no request carried the image's bytes"
            alt = image.alt_text or ""
            if self.platform.capabilities.media.alt_text != "unsupported":
                assert h.text_sent(alt), f"no request carried the alt text {alt!r}"

    @standard(requires=("media",))
    async def test_media_missing_from_the_media_store_is_rejected(self, h: Harness) -> None:
        """An image the media store does not hold is :class:`Rejected` (retrying cannot
        bring it back), not a raw ``OSError``, and nothing is posted. Reading through
        ``await ctx.read_media(media)`` does this."""
        from socialkit.models.media import Media
        from socialkit.models.media_store import LocalMediaStore

        # Described through a store of its own beside the harness's (not the default
        # store, which would write under the author's working directory).
        elsewhere = LocalMediaStore(h.media.root.parent / "socialkit-media-elsewhere")
        image = Media.from_bytes(
            h.image_bytes(), alt_text="Described, never stored", store=elsewhere
        )
        assert not h.media.contains(image.sha256)
        before = h.published()
        await h.expect(
            Rejected, h.publish(h.draft(media=[image])), what="an image missing from the store"
        )
        assert h.published() == before, "a post was published without its media"

    @standard(requires=("threads",))
    async def test_thread_publishes_every_part_in_order(self, h: Harness) -> None:
        """A three-part thread (or as long as the platform allows) gives as many distinct
        references, all held by the platform, and its parts are sent first to last."""
        before = h.published()
        parts = h.thread_parts
        draft = h.draft(thread=parts)
        receipt = await h.publish(draft)
        ids = _ids(receipt)
        assert len(ids) == parts, f"{parts} parts were published, the receipt has {ids}"
        assert len(set(ids)) == parts, f"thread parts share ids: {ids}"
        assert h.published() - before == set(ids)
        if self.supports("http"):
            texts = [part.text for part in draft.parts]
            assert h.texts_sent_in_order(texts), (
                f"the requests that create posts did not carry the parts {texts} in order"
            )
            creating = h.publish_requests()
            if len(creating) == parts:  # one request per part (not a thread in one request)
                for index in range(1, parts):
                    previous = receipt.parts[index - 1]
                    assert self.replies_to(creating[index], previous), (
                        f"part {index} was not sent as a reply to part {index - 1} "
                        f"({previous.id!r}); override replies_to() if the platform names "
                        "the parent another way"
                    )

    @standard(unless=("threads",))
    async def test_thread_is_refused_without_thread_support(self, h: Harness) -> None:
        """Without threads, a two-part draft is Rejected (never cut to its first part)."""
        draft = h.draft()
        draft = draft.model_copy(update={"parts": (*draft.parts, DraftPart(text="a reply"))})
        before = h.published()
        try:
            receipt = await h.publish(draft)
        except Rejected:
            assert h.published() == before, "a refused thread left posts behind"
            return
        assert len(receipt.parts) == 2, (
            f"a two-part draft was published as {len(receipt.parts)} part(s); raise Rejected"
        )

    @standard(requires=("threads",))
    async def test_thread_resumes_after_its_published_parts(self, h: Harness) -> None:
        """A retry given ctx.published_parts continues the thread instead of starting again."""
        parts = h.thread_parts
        draft = h.draft(thread=parts)
        keys = h.keys(draft)
        before = h.published()
        if self.supports("http"):
            h.transport.arm(Fault.connect_error(), match=self.creates_post, nth=2)
            await h.expect(
                Transient,
                h.publish(draft, h.context(draft, keys=keys)),
                what="a refused connection on the thread's second part",
            )
            assert [part for part, _ in h.checkpoints] == [0], (
                f"after part 0 was published and part 1 failed, checkpoints were {h.checkpoints}"
            )
            first = h.checkpoints[0][1]
        else:
            first = (await h.publish(draft, h.context(draft, keys=keys))).parts[0]
        receipt = await h.publish(
            draft, h.context(draft, keys=keys, published_parts=(first,), attempt=2)
        )
        assert len(receipt.parts) == parts
        assert receipt.parts[0].id == first.id, "the resumed thread did not keep its first part"
        assert len(h.published() - before) == parts, (
            f"the thread should leave {parts} posts; the platform gained "
            f"{len(h.published() - before)}"
        )

    @standard(requires=("idempotency_key",))
    async def test_retry_with_the_same_idempotency_key_yields_one_post(self, h: Harness) -> None:
        """Publishing again with the same keys returns the same post, not a second one."""
        draft = h.draft()
        keys = h.keys(draft)
        before = h.published()
        first = await h.publish(draft, h.context(draft, keys=keys))
        second = await h.publish(draft, h.context(draft, keys=keys, attempt=2))
        assert _ids(second) == _ids(first), f"the retry made {_ids(second)}, not {_ids(first)}"
        assert h.published() - before == set(_ids(first)), "the retry made a second post"

    @standard(requires=("idempotency_key",))
    async def test_another_idempotency_key_yields_another_post(self, h: Harness) -> None:
        """The same draft under other keys (an evergreen re-post) is a new post."""
        draft = h.draft()
        before = h.published()
        first = await h.publish(draft, h.context(draft))
        second = await h.publish(draft, h.context(draft))
        assert first.ref.id != second.ref.id, "two publications share one post"
        assert len(h.published() - before) == 2

    @standard(requires=("idempotency_key", "threads", "http"))
    async def test_lost_response_in_a_thread_then_retry_yields_one_post_per_part(
        self, h: Harness
    ) -> None:
        """The second part was made but its response lost; the retry with the same keys,
        resuming after the checkpointed first part, finds it: each part exists once.

        Every part needs its own key: a key on the first part alone passes the one-part
        tests and duplicates every later part of a thread.
        """
        parts = h.thread_parts
        draft = h.draft(thread=parts)
        keys = h.keys(draft)
        before = h.published()
        h.transport.arm(Fault.lost_response(), match=self.creates_post, nth=2)
        await h.expect(
            UnknownOutcome,
            h.publish(draft, h.context(draft, keys=keys)),
            what="a lost response to the thread's second part",
        )
        assert [part for part, _ in h.checkpoints] == [0], (
            f"after part 0 was published and part 1's answer was lost, checkpoints were "
            f"{h.checkpoints}"
        )
        first = h.checkpoints[0][1]
        receipt = await h.publish(
            draft, h.context(draft, keys=keys, published_parts=(first,), attempt=2)
        )
        assert len(receipt.parts) == parts, f"{parts} parts, the receipt has {_ids(receipt)}"
        gained = h.published() - before
        assert gained == set(_ids(receipt)), (
            f"the thread has {parts} parts, but the platform gained {len(gained)} posts "
            f"{sorted(gained)}, the receipt names {_ids(receipt)}: a retried part was "
            "published twice (is each part's idempotency key sent?)"
        )

    @standard(requires=("idempotency_key", "http"))
    async def test_lost_response_then_retry_with_the_same_key_yields_one_post(
        self, h: Harness
    ) -> None:
        """The post was made but its response lost; the retry with the same key finds it."""
        draft = h.draft()
        keys = h.keys(draft)
        before = h.published()
        h.transport.arm(Fault.lost_response(), match=self.creates_post)
        await h.expect(
            UnknownOutcome,
            h.publish(draft, h.context(draft, keys=keys)),
            what="a lost response to the post request",
        )
        receipt = await h.publish(draft, h.context(draft, keys=keys, attempt=2))
        assert h.published() - before == {receipt.ref.id}, (
            "the retry with the same idempotency key should return the post the lost request "
            f"made; the platform now holds {sorted(h.published() - before)}"
        )
