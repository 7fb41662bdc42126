"""Standard tests: after publishing — delete, metrics, and finding a post again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.errors import Transient, UnknownOutcome, Unsupported
from socialkit.models.metrics import METRIC_FIELDS
from socialkit.testing._base import ContractBase
from socialkit.testing._guard import standard
from socialkit.testing.transport import Fault

if TYPE_CHECKING:
    from socialkit.testing.harness import Harness


class LifecycleTests(ContractBase):
    @standard(requires=("delete",))
    async def test_delete_removes_every_part(self, h: Harness) -> None:
        """delete() removes the post and every thread part from the platform."""
        draft = h.draft(thread=2 if self.supports("threads") else 1)
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        await h.platform.delete(receipt, ctx)
        left = {p.id for p in receipt.parts} & h.published()
        assert not left, f"delete() left {sorted(left)} on the platform"

    @standard(requires=("delete",))
    async def test_deleting_a_deleted_post_succeeds(self, h: Harness) -> None:
        """A second delete (a retry after an unknown outcome) succeeds: gone is gone."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        await h.platform.delete(receipt, ctx)
        await h.platform.delete(receipt, ctx)
        assert receipt.ref.id not in h.published()

    @standard(unless=("delete",))
    async def test_delete_is_unsupported(self, h: Harness) -> None:
        """capabilities.delete is False: delete() raises Unsupported."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        await h.expect(Unsupported, h.platform.delete(receipt, ctx), what="a delete")
        assert receipt.ref.id in h.published()

    @standard(requires=("metrics",))
    async def test_fetch_metrics_reports_the_declared_counts(self, h: Harness) -> None:
        """Each declared metric comes back as reported; undeclared ones are None."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        declared = sorted(self.platform.capabilities.metrics)
        counts = {name: 11 + i for i, name in enumerate(declared)}
        self.seed_metrics(receipt, counts)
        collected_at = h.clock.advance(hours=1)
        snapshots = await h.platform.fetch_metrics([receipt], ctx)
        own = [s for s in snapshots if s.subject == "post" and s.post_id == receipt.ref.id]
        assert len(own) == 1, f"expected one snapshot of {receipt.ref.id!r}, got {snapshots}"
        snapshot = own[0]
        assert snapshot.platform == self.platform.name
        assert snapshot.account_id == h.account.id
        assert snapshot.collected_at.tzinfo is not None
        assert snapshot.collected_at == collected_at, "collected_at should come from ctx.now()"
        accounts = [s for s in snapshots if s.subject == "account"]
        for name in METRIC_FIELDS:
            reported = getattr(snapshot, name)
            if name == "followers" and reported is None and accounts:
                reported = accounts[-1].followers
            if name in counts:
                assert reported == counts[name], f"{name}: expected {counts[name]}, got {reported}"
            else:
                assert reported is None, (
                    f"{name} is reported ({reported}) but not declared in capabilities.metrics"
                )

    @standard(requires=("metrics",))
    async def test_fetch_metrics_of_no_posts_reports_no_posts(self, h: Harness) -> None:
        """fetch_metrics([]) returns at most account snapshots."""
        snapshots = await h.platform.fetch_metrics([], h.context())
        assert all(s.subject == "account" for s in snapshots), snapshots

    @standard(unless=("metrics",))
    async def test_metrics_are_unsupported_or_empty(self, h: Harness) -> None:
        """Without declared metrics: fetch_metrics() is empty or raises Unsupported."""
        draft = h.draft()
        ctx = h.context(draft)
        receipt = await h.publish(draft, ctx)
        try:
            snapshots = await h.platform.fetch_metrics([receipt], ctx)
        except Unsupported:
            return
        assert all(not s.reported() for s in snapshots), (
            f"fetch_metrics() reports counts {snapshots} but capabilities.metrics is empty"
        )

    @standard(requires=("find_published",))
    async def test_find_published_finds_what_was_published(self, h: Harness) -> None:
        """find_published() with the publication's keys returns its receipt."""
        draft = h.draft()
        keys = h.keys(draft)
        receipt = await h.publish(draft, h.context(draft, keys=keys))
        found = await h.platform.find_published(draft, h.context(draft, keys=keys, attempt=2))
        assert found is not None, "find_published() did not find the post it had published"
        assert found.ref.id == receipt.ref.id

    @standard(requires=("find_published", "threads"))
    async def test_find_published_finds_every_part_of_a_thread(self, h: Harness) -> None:
        """find_published() of a published thread returns every part, in order.

        A receipt of the first part alone would be recorded as the whole publication: a
        delete would leave the replies up, and the thread would never be completed.
        """
        draft = h.draft(thread=h.thread_parts)
        keys = h.keys(draft)
        receipt = await h.publish(draft, h.context(draft, keys=keys))
        found = await h.platform.find_published(draft, h.context(draft, keys=keys, attempt=2))
        assert found is not None, "find_published() did not find the thread it had published"
        assert [p.id for p in found.parts] == [p.id for p in receipt.parts], (
            f"find_published() found {[p.id for p in found.parts]}; the thread is "
            f"{[p.id for p in receipt.parts]}"
        )

    @standard(requires=("find_published", "http"))
    async def test_lost_response_on_a_lookup_is_transient(self, h: Harness) -> None:
        """A lookup whose answer is lost (a read timeout, or a response cut short) is
        Transient: a read changed nothing.

        The engine looks again later after Transient; UnknownOutcome from find_published
        means "cannot tell" and hands the publication to a person.
        """
        draft = h.draft()
        keys = h.keys(draft)
        await h.publish(draft, h.context(draft, keys=keys))
        sent = len(h.publish_requests())
        lost = {
            "a lost response to find_published()'s lookup": Fault.lost_response(),
            "a response to find_published()'s lookup cut short": Fault.broken_response(),
        }
        for what, fault in lost.items():
            h.transport.arm(fault, match=lambda r: not self.creates_post(r))
            await h.expect(
                Transient,
                h.platform.find_published(draft, h.context(draft, keys=keys, attempt=2)),
                what=what,
            )
            assert h.transport.pending == 0, "find_published() sent no request to break"
        assert len(h.publish_requests()) == sent, "find_published() created a post"

    @standard(requires=("find_published", "http"))
    async def test_server_error_on_a_lookup_is_transient(self, h: Harness) -> None:
        """A 5xx answer (500, 502, 503 and 504 in turn) to find_published()'s lookup is
        Transient (look again later)."""
        draft = h.draft()
        keys = h.keys(draft)
        await h.publish(draft, h.context(draft, keys=keys))
        for status, answer in self._server_error_answers():
            h.transport.arm(Fault.respond(answer), match=lambda r: not self.creates_post(r))
            await h.expect(
                Transient,
                h.platform.find_published(draft, h.context(draft, keys=keys, attempt=2)),
                what=f"a {status} answer to find_published()'s lookup",
            )
            assert h.transport.pending == 0, "find_published() sent no request to break"

    @standard(requires=("find_published",))
    async def test_find_published_returns_none_when_nothing_was_published(self, h: Harness) -> None:
        """find_published() for a publication that never reached the platform: None."""
        draft = h.draft()
        found = await h.platform.find_published(draft, h.context(draft))
        assert found is None, f"find_published() invented {found!r}"

    @standard(requires=("find_published",))
    async def test_find_published_skips_posts_of_other_publications(self, h: Harness) -> None:
        """A post another publication owns (ctx.is_claimed) is never returned."""
        draft = h.draft()
        receipt = await h.publish(draft, h.context(draft))
        h.claimed.update(p.id for p in receipt.parts)
        try:
            found = await h.platform.find_published(draft, h.context(draft))
        except UnknownOutcome:
            return
        assert found is None or found.ref.id not in h.claimed, (
            "find_published() returned a post that another publication owns"
        )

    @standard(requires=("find_published", "http"))
    async def test_find_published_finds_a_post_whose_response_was_lost(self, h: Harness) -> None:
        """After a lost response, find_published() finds the post the request made."""
        draft = h.draft()
        keys = h.keys(draft)
        before = h.published()
        h.transport.arm(Fault.lost_response(), match=self.creates_post)
        await h.expect(
            UnknownOutcome,
            h.publish(draft, h.context(draft, keys=keys)),
            what="a lost response to the post request",
        )
        made = h.published() - before
        found = await h.platform.find_published(draft, h.context(draft, keys=keys, attempt=2))
        assert found is not None, "find_published() did not find the post"
        assert found.ref.id in made, f"find_published() returned {found.ref.id!r}, not {made}"

    @standard(unless=("find_published",))
    async def test_find_published_cannot_tell_without_a_way_to_look(self, h: Harness) -> None:
        """Without a way to look, find_published() raises UnknownOutcome (a person decides)."""
        draft = h.draft()
        await h.expect(
            UnknownOutcome,
            h.platform.find_published(draft, h.context(draft)),
            what="find_published() on a platform that cannot look",
        )
