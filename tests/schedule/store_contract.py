"""The store contract: one suite every :class:`Store` implementation passes.

Subclass :class:`StoreContract` and override the ``store`` fixture (and ``peer`` when a
second connection to the same data is possible), for example::

    class TestPostgresStore(StoreContract):
        @pytest.fixture
        async def store(self, postgres_url):
            store = open_store(postgres_url)
            await store.open()
            yield store
            await store.close()

``peer`` must return another store object on the same data (a second connection or
process-level handle); by default it is the same object.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import attrs
import pytest

from socialkit.errors import SlotTaken, StaleTransition, StoreError
from socialkit.models.account import Account
from socialkit.models.content import Draft, DraftPart, Post
from socialkit.models.metrics import MetricSnapshot
from socialkit.models.problems import Problem
from socialkit.models.receipt import PostRef, Receipt
from socialkit.schedule.publication import Approval, PauseScope
from socialkit.schedule.records import (
    Budget,
    CheckpointRecord,
    ClearedRateLimit,
    DeletionRecord,
    Moved,
    NewPublication,
    PublicationQuery,
    PublishStart,
    ReceiptRecord,
    Transition,
)
from socialkit.schedule.recurring import Rule
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores._common import draft_json, new_id
from socialkit.schedule.stores.base import SCHEMA_VERSION, Store

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)
SEC = dt.timedelta(seconds=1)
POST = Post(text="Hello from the contract suite")


async def collected_again_at_24h(
    store: Any, publication_id: str, before: MetricSnapshot
) -> list[MetricSnapshot]:
    """``before`` collected again through a +24 h metric task (labelled ``after`` 24 h,
    2 likes); the publication's series read back (the schema 5 migration tests)."""
    await store.add_metric_tasks([(publication_id, T0, "24h")], now=T0)
    (task,) = await store.claim_metric_tasks("w", now=T0, limit=5, lease=LEASE)
    after = before.model_copy(update={"after": dt.timedelta(hours=24), "likes": 2})
    await store.complete_metric_task(task.id, [after], now=T0)
    return list(await store.metric_series(publication_id=publication_id))


async def waiting_backlog(store: Store, backlog: int) -> tuple[str, str]:
    """Accounts ``waiting`` (needs_reauth, ``backlog`` due metric tasks, half added
    before the mark and half after) and ``healthy`` (one due after all of them)."""
    for name in ("waiting", "healthy"):
        await store.put_account(Account(id=name, platform="feed", handle=name), now=T0)
    await store.put_revision(POST, now=T0)
    waiting, healthy = await store.add(
        [pub("waiting", due=T0 + 86400 * SEC), pub("healthy", due=T0 + 86400 * SEC)], now=T0
    )
    half = backlog // 2
    due = [T0 - 3600 * SEC + i * SEC for i in range(backlog)]
    await store.add_metric_tasks([(waiting, d, "1h") for d in due[:half]], now=T0)
    await store.set_account_status("waiting", "needs_reauth", now=T0, reason="revoked")
    await store.add_metric_tasks([(waiting, d, "1h") for d in due[half:]], now=T0)
    await store.add_metric_tasks([(healthy, T0 - SEC, "1h")], now=T0)
    return waiting, healthy


def daily_rule(revision: str, rule_id: str = "r1", account: str = "a") -> Rule:
    """A daily rule in UTC on one account, made at ``T0``."""
    return Rule(
        id=rule_id,
        spec={"rrule": "FREQ=DAILY", "tz": "UTC"},
        revision=revision,
        account_ids=(account,),
        created_at=T0,
        updated_at=T0,
    )


def pub(
    account: str = "acme",
    *,
    due: dt.datetime = T0,
    key: str | None = None,
    campaign: str | None = None,
    rule_id: str | None = None,
    grace_s: float | None = None,
    publish_late: bool = False,
    state: S = S.SCHEDULED,
    workspace: str = "default",
    revision: str | None = None,
    approvals_required: int = 0,
) -> NewPublication:
    pub_id = new_id()
    return NewPublication(
        id=pub_id,
        account_id=account,
        platform="feed",
        revision=revision or POST.revision(),
        due_at=due,
        local_time=due.replace(tzinfo=None),
        zone="UTC",
        idempotency_key=key or f"key-{pub_id}",
        workspace=workspace,
        state=state,
        campaign=campaign,
        rule_id=rule_id,
        grace_s=grace_s,
        publish_late=publish_late,
        approvals_required=approvals_required,
    )


def receipt(account: str = "acme", post_id: str = "post-1", parts: int = 1) -> Receipt:
    return Receipt(
        platform="feed",
        account_id=account,
        parts=tuple(PostRef(id=f"{post_id}.{i}" if i else post_id) for i in range(parts)),
        published_at=T0,
    )


def draft() -> Draft:
    return Draft(platform="feed", revision=POST.revision(), parts=(DraftPart(text=POST.text),))


class StoreContract:
    """The behaviour every store promises. See the module docstring to run it."""

    @pytest.fixture
    async def store(self) -> Store:
        raise NotImplementedError("a store contract subclass must provide the store fixture")

    @pytest.fixture
    async def peer(self, store: Store) -> Store:
        return store

    async def add_one(self, store: Store, **kw: Any) -> str:
        await store.put_revision(POST, now=T0)
        (pub_id,) = await store.add([pub(**kw)], now=T0)
        return pub_id

    async def claim_one(self, store: Store, worker: str = "w1", now: dt.datetime = T0) -> Any:
        claims = await store.claim(worker, now=now, limit=10, lease=LEASE)
        assert len(claims) == 1, claims
        return claims[0]

    async def sending_one(self, store: Store) -> tuple[str, Any]:
        """One publication, claimed by ``w1`` and marked ``publishing``: its id and claim."""
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        await store.mark_publishing(
            [PublishStart(id=pub_id, attempt=claim.attempt)], worker="w1", now=T0, lease=LEASE
        )
        return pub_id, claim

    # -- basics ---------------------------------------------------------------------------

    async def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    async def test_schema_version(self, store: Store) -> None:
        info = await store.schema()
        assert info.version == SCHEMA_VERSION
        assert info.code_version == SCHEMA_VERSION
        assert info.min_compatible <= info.version

    async def test_revision_roundtrip(self, store: Store) -> None:
        revision = await store.put_revision(POST, now=T0)
        assert revision == POST.revision()
        assert await store.put_revision(POST, now=T0) == revision
        assert await store.get_revision(revision) == POST
        with pytest.raises(StoreError, match="revision"):
            await store.get_revision("nope")

    async def test_accounts_roundtrip_and_status(self, store: Store) -> None:
        account = Account(id="acme", platform="feed", handle="acme", timezone="Asia/Tehran")
        await store.put_account(account, now=T0)
        record = await store.get_account("acme")
        assert record.account == account
        assert record.status == "ok"
        await store.set_account_status("acme", "needs_reauth", now=T0, reason="token revoked")
        record = await store.get_account("acme")
        assert (record.status, record.status_reason) == ("needs_reauth", "token revoked")
        renamed = account.model_copy(update={"handle": "acme2"})
        await store.put_account(renamed, now=T0)
        record = await store.get_account("acme")
        assert record.account.handle == "acme2"
        assert record.status == "needs_reauth"  # a profile update keeps the status
        assert [r.account.id for r in await store.list_accounts()] == ["acme"]
        with pytest.raises(StoreError, match="ghost"):
            await store.get_account("ghost")

    async def test_add_and_get(self, store: Store) -> None:
        pub_id = await self.add_one(store, campaign="spring", grace_s=300)
        p = await store.get(pub_id)
        assert p.id == pub_id
        assert p.state == S.SCHEDULED
        assert p.due_at == T0
        assert p.run_at == T0
        assert p.local_time == T0.replace(tzinfo=None)
        assert p.zone == "UTC"
        assert p.attempt == 0
        assert p.campaign == "spring"
        assert p.grace == dt.timedelta(seconds=300)
        assert p.post == POST
        assert p.revision == POST.revision()
        with pytest.raises(StoreError, match="nope"):
            await store.get("nope")

    async def test_a_publication_added_alone_is_held_by_the_switches_that_cover_it(
        self, store: Store
    ) -> None:
        # One at a time, as a user's schedule adds them (the SQLite store reads the
        # switches in the add's own insert): each kind of switch, in its workspace only.
        await store.put_revision(POST, now=T0)
        await store.pause(PauseScope(kind="account", value="held"), now=T0)
        await store.pause(PauseScope(kind="campaign", value="launch"), now=T0)
        await store.pause(PauseScope(kind="all", workspace="frozen"), now=T0)
        cases = [
            (pub("free"), S.SCHEDULED),
            (pub("held"), S.PAUSED),
            (pub("free", campaign="launch"), S.PAUSED),
            (pub("free", campaign="other"), S.SCHEDULED),
            (pub("launch"), S.SCHEDULED),  # an account named like the paused campaign
            (pub("free", workspace="frozen"), S.PAUSED),
            (pub("held", workspace="other"), S.SCHEDULED),
            (pub("held", state=S.PENDING_APPROVAL, approvals_required=1), S.PENDING_APPROVAL),
        ]
        for new, expected in cases:
            (added,) = await store.add_returning([new], now=T0)
            assert (new.account_id, new.workspace, new.campaign, added.state) == (
                new.account_id,
                new.workspace,
                new.campaign,
                expected,
            )
            assert (await store.get(new.id)).state == expected

    async def test_add_returning_says_what_each_item_was_stored_as(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.pause(PauseScope(kind="campaign", value="launch"), now=T0)
        plain, held = pub("a"), pub("b", campaign="launch")
        waiting = pub("c", campaign="launch", state=S.PENDING_APPROVAL)
        added = await store.add_returning([plain, held, waiting], now=T0)
        assert [(a.id, a.state) for a in added] == [
            (plain.id, S.SCHEDULED),
            (held.id, S.PAUSED),  # the pause switch covers it
            (waiting.id, S.PENDING_APPROVAL),
        ]
        for a in added:
            assert (await store.get(a.id)).state == a.state
        again = pub("d", key=plain.idempotency_key)
        fresh = pub("e")
        added = await store.add_returning([again, fresh, fresh], now=T0)
        # a taken key inserts nothing (the existing id); a repeated item is inserted once
        assert [(a.id, a.state) for a in added] == [
            (plain.id, None),
            (fresh.id, S.SCHEDULED),
            (fresh.id, None),
        ]

    async def test_add_with_revisions_stores_the_posts_and_publications_together(
        self, store: Store
    ) -> None:
        other = Post(text="Another post of the batch")
        same = Post(text=POST.text)  # equal content, another object: the same revision
        first = pub("a", key="k1")
        second = pub("b", key="k2", revision=other.revision())
        ids = await store.add_with_revisions(
            [POST, other, same], [first, second, pub("c", key="k1")], now=T0
        )
        assert ids == [first.id, second.id, first.id]  # a taken key: the existing id
        assert (await store.get(first.id)).post == POST
        assert (await store.get(second.id)).post == other
        assert await store.get_revision(other.revision()) == other
        # Again (the same posts, the same keys): nothing is stored twice.
        again = await store.add_with_revisions(
            [same, other],
            [pub("a", key="k1"), pub("b", key="k2", revision=other.revision())],
            now=T0 + SEC,
        )
        assert again == [first.id, second.id]
        assert len((await store.list_publications(PublicationQuery())).items) == 2
        assert [e.publication_id for e in await store.events() if e.kind == "created"] == [
            first.id,
            second.id,
        ]
        # A batch of more different posts than one statement takes (1,024 in SQLite).
        posts = [Post(text=f"Post {i} of a content calendar") for i in range(1030)]
        batch = [pub("d", due=T0 + i * SEC, revision=p.revision()) for i, p in enumerate(posts)]
        assert await store.add_with_revisions(posts, batch, now=T0) == [p.id for p in batch]
        for i in (0, 1023, 1024, 1029):
            assert (await store.get(batch[i].id)).post == posts[i]

    async def test_add_with_revisions_refused_stores_no_revision(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        slot = T0 + 3600 * SEC
        await store.add([pub("acme", due=slot)], now=T0)
        fresh = Post(text="Never stored: its insert was refused")
        refused = attrs.evolve(pub("acme", due=slot, revision=fresh.revision()), free_slot=True)
        with pytest.raises(SlotTaken):
            await store.add_with_revisions([fresh], [pub("beta"), refused], now=T0)
        with pytest.raises(StoreError, match="revision"):
            await store.get_revision(fresh.revision())
        assert len((await store.list_publications(PublicationQuery())).items) == 1

    async def test_events_below_zero_bounds_are_below_every_seq(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub("a"), pub("b")], now=T0)
        every = await store.events()
        assert len(every) == 2
        assert await store.events(since=-1) == every
        assert await store.events(until=-1) == []

    async def test_a_batch_with_a_taken_id_stores_none_of_it(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        held = pub("acme")
        await store.add([held], now=T0)
        before = len(await store.events())
        first = pub("beta")
        clash = attrs.evolve(pub("gamma"), id=held.id)  # another key, a taken id
        with pytest.raises(StoreError, match="taken"):
            await store.add([first, clash], now=T0)
        with pytest.raises(StoreError):
            await store.get(first.id)  # the batch is all or nothing
        assert len(await store.events()) == before
        twice = [pub("beta"), pub("gamma")]
        twice[1] = attrs.evolve(twice[1], id=twice[0].id)  # one id twice in the batch
        with pytest.raises(StoreError, match="taken"):
            await store.add(twice, now=T0)
        assert [p.id for p in (await store.list_publications(PublicationQuery())).items] == [
            held.id
        ]

    async def test_a_free_slot_insert_refuses_a_held_slot_and_takes_a_freed_one(
        self, store: Store
    ) -> None:
        await store.put_revision(POST, now=T0)
        slot = T0 + 3600 * SEC
        (held,) = await store.add([pub("acme", due=slot)], now=T0)

        def free(account: str = "acme", **kw: Any) -> NewPublication:
            return attrs.evolve(pub(account, due=kw.pop("due", slot), **kw), free_slot=True)

        # Refused in the insert's own transaction, naming the slot; nothing is stored.
        with pytest.raises(SlotTaken, match="acme") as err:
            await store.add_returning([free("beta"), free()], now=T0)
        assert err.value.slots == (("default", "acme", slot),)
        with pytest.raises(SlotTaken):
            await store.add([free(due=slot + SEC), free(due=slot + SEC)], now=T0)  # one insert
        page = await store.list_publications(PublicationQuery(limit=50))
        assert [p.id for p in page.items] == [held]
        # Another account's, or another workspace's, slot at that instant is free; one
        # whose key is taken inserts nothing, so it takes no slot and is not refused.
        added = await store.add_returning(
            [free("beta"), free(workspace="other"), free(key=f"key-{held}")], now=T0
        )
        assert [a.state for a in added] == [S.SCHEDULED, S.SCHEDULED, None]
        assert added[2].id == held
        # A rule's occurrence is checked too; the rule's cursor stays where it was.
        await store.add_rule(daily_rule(POST.revision(), account="acme"), now=T0)
        with pytest.raises(SlotTaken):
            await store.advance_rule(
                "r1", expect_cursor=None, cursor="c1", publications=[free()], now=T0
            )
        assert (await store.get_rule("r1")).cursor is None
        # A cancelled publication frees its slot.
        cancel = Transition(id=held, expect_state=S.SCHEDULED, expect_attempt=0, to=S.CANCELLED)
        await store.transition(cancel, now=T0)
        (taken,) = await store.add_returning([free()], now=T0)
        assert taken.state == S.SCHEDULED
        assert await store.advance_rule(
            "r1", expect_cursor=None, cursor="c1", publications=[free(due=slot + SEC)], now=T0
        )
        with pytest.raises(SlotTaken):
            await store.add([free()], now=T0)

    async def test_a_slot_held_by_a_claimed_or_publishing_publication_is_taken(
        self, store: Store
    ) -> None:
        # PostgreSQL reads leased rows and the others through different indexes: the
        # check must look in both.
        await store.put_revision(POST, now=T0)
        claimed_at, publishing_at = T0, T0 + SEC
        await store.add([pub("acme", due=claimed_at), pub("acme", due=publishing_at)], now=T0)
        claims = await store.claim("w1", now=T0 + SEC, limit=10, lease=LEASE, per_account=None)
        assert len(claims) == 2
        sending = next(c for c in claims if c.due_at == publishing_at)
        start = PublishStart(id=sending.id, attempt=sending.attempt)
        assert await store.mark_publishing([start], worker="w1", now=T0 + SEC, lease=LEASE) == [
            True
        ]

        def free(due: dt.datetime) -> NewPublication:
            return attrs.evolve(pub("acme", due=due), free_slot=True)

        for due in (claimed_at, publishing_at):
            with pytest.raises(SlotTaken) as err:
                await store.add_returning([free(due)], now=T0 + SEC)
            assert err.value.slots == (("default", "acme", due),)
        (added,) = await store.add_returning([free(T0 + 2 * SEC)], now=T0 + SEC)
        assert added.state == S.SCHEDULED

    async def test_idempotency_key_is_unique(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        first, second = pub(key="same"), pub(key="same")
        ids = await store.add([first], now=T0)
        again = await store.add([second, pub(key="other")], now=T0)
        assert again[0] == ids[0]
        assert again[1] != ids[0]
        page = await store.list_publications(PublicationQuery())
        assert len(page.items) == 2
        found = await store.find_by_key("same")
        assert found is not None
        assert found.id == ids[0]
        assert await store.find_by_key("absent") is None

    async def test_created_events_name_each_inserted_publication_once_in_order(
        self, store: Store
    ) -> None:
        import attrs

        await store.put_revision(POST, now=T0)
        first = pub(key="k1")
        await store.add([first], now=T0)
        await store.pause(PauseScope(kind="account", value="held"), now=T0)
        batch = [
            attrs.evolve(p, actor="ana", reason="bulk")
            for p in (pub("a", key="k2"), pub(key="k1"), pub("held", key="k3"), pub("b", key="k2"))
        ]
        ids = await store.add(batch, now=T0 + SEC)
        assert ids == [batch[0].id, first.id, batch[2].id, batch[0].id]
        # the same publication added again is not created again
        assert await store.add([first], now=T0 + SEC) == [first.id]
        # a batch whose publications name different actors, one of them added again
        mixed = [
            attrs.evolve(pub("c"), actor="x"),
            first,
            attrs.evolve(pub("d"), actor="y", reason="r"),
        ]
        assert await store.add(mixed, now=T0 + 2 * SEC) == [mixed[0].id, first.id, mixed[2].id]
        created = [
            (e.publication_id, e.to_state, e.actor, e.reason, e.at)
            for e in await store.events()
            if e.kind == "created"
        ]
        assert created == [
            (first.id, S.SCHEDULED, "engine", None, T0),
            (batch[0].id, S.SCHEDULED, "ana", "bulk", T0 + SEC),
            (batch[2].id, S.PAUSED, "ana", "bulk", T0 + SEC),
            (mixed[0].id, S.SCHEDULED, "x", None, T0 + 2 * SEC),
            (mixed[2].id, S.SCHEDULED, "y", "r", T0 + 2 * SEC),
        ]

    async def test_list_filters_and_pages(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        items = [pub("a", due=T0 + i * SEC, campaign="c1" if i % 2 else None) for i in range(7)]
        items.append(pub("b", due=T0 + 3 * SEC, campaign="c1"))
        await store.add(items, now=T0)
        page = await store.list_publications(PublicationQuery(limit=3))
        assert [p.due_at for p in page.items] == [T0, T0 + SEC, T0 + 2 * SEC]
        assert page.next_cursor is not None
        seen = list(page.items)
        while page.next_cursor:
            page = await store.list_publications(PublicationQuery(limit=3, cursor=page.next_cursor))
            seen.extend(page.items)
        assert len(seen) == 8
        assert len({p.id for p in seen}) == 8
        assert [p.due_at for p in seen] == sorted(p.due_at for p in seen)
        c1 = await store.list_publications(PublicationQuery(campaign="c1"))
        assert len(c1.items) == 4
        b = await store.list_publications(PublicationQuery(account_id="b"))
        assert [p.account_id for p in b.items] == ["b"]
        window = await store.list_publications(PublicationQuery(between=(T0 + SEC, T0 + 3 * SEC)))
        assert [p.due_at for p in window.items] == [T0 + SEC, T0 + 2 * SEC]
        await self.claim_one_any(store)
        claimed = await store.list_publications(PublicationQuery(states=(S.CLAIMED,)))
        assert len(claimed.items) == 1
        with_post = await store.list_publications(PublicationQuery(limit=1, include_post=True))
        assert with_post.items[0].post == POST

    async def claim_one_any(self, store: Store) -> None:
        claims = await store.claim("w", now=T0, limit=1, lease=LEASE)
        assert len(claims) == 1

    # -- claims ---------------------------------------------------------------------------

    async def test_claim_takes_due_work_in_order(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        late, early, future = pub("a", due=T0), pub("b", due=T0 - SEC), pub("c", due=T0 + SEC)
        await store.add([late, early, future], now=T0)
        claims = await store.claim("w1", now=T0, limit=10, lease=LEASE)
        assert [c.id for c in claims] == [early.id, late.id]
        assert all(c.kind == "publish" and c.attempt == 1 for c in claims)
        assert all(c.lease_expires_at == T0 + LEASE for c in claims)
        p = await store.get(early.id)
        assert (p.state, p.attempt, p.lease_owner) == (S.CLAIMED, 1, "w1")
        assert p.lease_expires_at == T0 + LEASE
        assert await store.claim("w2", now=T0, limit=10, lease=LEASE) == []

    async def test_claim_respects_limit_and_per_account(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub("a", due=T0 - i * SEC) for i in range(3)], now=T0)
        await store.add([pub("b", due=T0 - i * SEC) for i in range(3)], now=T0)
        first = await store.claim("w", now=T0, limit=10, lease=LEASE)
        assert sorted(c.account_id for c in first) == ["a", "b"]
        # each account has one in flight: nothing more until one finishes
        assert await store.claim("w", now=T0, limit=10, lease=LEASE) == []
        more = await store.claim("w", now=T0, limit=10, lease=LEASE, per_account=2)
        assert sorted(c.account_id for c in more) == ["a", "b"]
        rest = await store.claim("w", now=T0, limit=1, lease=LEASE, per_account=None)
        assert len(rest) == 1

    async def test_claims_reach_past_accounts_that_can_take_no_more(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        # the earliest due rows belong to a blocked account, then to one account
        await store.add([pub("blocked", due=T0 - (300 - i) * SEC) for i in range(50)], now=T0)
        await store.add([pub("a", due=T0 - (200 - i) * SEC) for i in range(50)], now=T0)
        await store.add([pub("b", due=T0 - 10 * SEC), pub("c", due=T0 - 5 * SEC)], now=T0)
        await store.set_budget(Budget(account_id="blocked", blocked_until=T0 + LEASE), now=T0)
        claims = await store.claim("w", now=T0, limit=5, lease=LEASE)
        assert sorted(c.account_id for c in claims) == ["a", "b", "c"]
        assert min(c.due_at for c in claims) == T0 - 200 * SEC  # a's earliest

    async def test_claims_reach_accounts_the_store_does_not_know(self, store: Store) -> None:
        # one registered account and earlier rows of one that is not: a claim that
        # stops reading due rows once it has met every registered account must not
        # stop at the unregistered one and leave the registered one out
        await store.put_revision(POST, now=T0)
        await store.put_account(Account(id="known", platform="feed", handle="k"), now=T0)
        await store.add([pub("stranger", due=T0 - (20 - i) * SEC) for i in range(5)], now=T0)
        await store.add([pub("known", due=T0 - (10 - i) * SEC) for i in range(5)], now=T0)
        claims = await store.claim("w", now=T0, limit=10, lease=LEASE)
        assert sorted(c.account_id for c in claims) == ["known", "stranger"]

    async def test_claims_reach_accounts_the_store_does_not_know_past_busy_ones(
        self, store: Store
    ) -> None:
        # the earliest due rows belong to the one registered account, which is busy, and
        # later ones to an account that is not registered: having met every registered
        # account is no reason to stop looking for accounts that can take work
        await store.put_revision(POST, now=T0)
        await store.put_account(Account(id="known", platform="feed", handle="k"), now=T0)
        await store.add([pub("known", due=T0 - (20 - i) * SEC) for i in range(5)], now=T0)
        await store.add([pub("stranger", due=T0 - (10 - i) * SEC) for i in range(5)], now=T0)
        (first,) = await store.claim("w", now=T0, limit=1, lease=LEASE)
        assert first.account_id == "known"
        claims = await store.claim("w", now=T0, limit=10, lease=LEASE)
        assert [c.account_id for c in claims] == ["stranger"]

    async def test_claims_reach_past_accounts_out_of_budget(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub("p", due=T0 - (100 - i) * SEC) for i in range(50)], now=T0)
        await store.add([pub("q", due=T0 - SEC)], now=T0)
        await store.set_budget(Budget(account_id="p", remaining=2, reset_at=T0 + LEASE), now=T0)
        claims = await store.claim("w", now=T0, limit=4, lease=LEASE, per_account=None)
        assert sorted(c.account_id for c in claims) == ["p", "p", "q"]
        assert sorted(c.due_at for c in claims)[:2] == [T0 - 100 * SEC, T0 - 99 * SEC]

    async def test_claims_fill_up_past_busy_and_blocked_accounts(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        names = [f"acct{i:02d}" for i in range(20)]
        # two due rows per account, the accounts' first rows in name order
        await store.add(
            [
                pub(name, due=T0 - (100 - i - 20 * k) * SEC)
                for k in range(2)
                for i, name in enumerate(names)
            ],
            now=T0,
        )
        busy = await store.claim("w", now=T0, limit=5, lease=LEASE)
        assert [c.account_id for c in busy] == names[:5]
        for name in names[5:7]:
            await store.set_budget(Budget(account_id=name, blocked_until=T0 + LEASE), now=T0)
        more = await store.claim("w", now=T0, limit=10, lease=LEASE)
        assert sorted(c.account_id for c in more) == names[7:17]
        rest = await store.claim("w", now=T0, limit=10, lease=LEASE)
        assert sorted(c.account_id for c in rest) == names[17:]
        assert await store.claim("w", now=T0, limit=10, lease=LEASE) == []

    async def test_concurrent_claims_never_share(self, store: Store, peer: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub(f"acct{i % 10}", due=T0) for i in range(60)], now=T0)
        results = await asyncio.gather(
            *(
                (store if i % 2 else peer).claim(
                    f"w{i}", now=T0, limit=7, lease=LEASE, per_account=None
                )
                for i in range(12)
            )
        )
        ids = [c.id for batch in results for c in batch]
        assert len(ids) == 60
        assert len(set(ids)) == 60

    async def test_release_hands_back_unsent(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        assert await store.release([(pub_id, claim.attempt)], now=T0) == [True]
        p = await store.get(pub_id)
        assert (p.state, p.lease_owner, p.sends) == (S.SCHEDULED, None, 0)
        again = await self.claim_one(store)
        assert again.attempt == claim.attempt + 1
        # the old claim is stale now
        assert await store.release([(pub_id, claim.attempt)], now=T0) == [False]

    # -- fencing --------------------------------------------------------------------------

    async def test_mark_publishing_is_fenced_and_pins_the_draft(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        stale = PublishStart(id=pub_id, attempt=claim.attempt + 1)
        assert await store.mark_publishing([stale], worker="w1", now=T0, lease=LEASE) == [False]
        assert await store.mark_publishing(
            [PublishStart(id=pub_id, attempt=claim.attempt)], worker="w2", now=T0, lease=LEASE
        ) == [False]
        start = PublishStart(id=pub_id, attempt=claim.attempt, draft_json=draft_json(draft()))
        assert await store.mark_publishing([start], worker="w1", now=T0 + SEC, lease=LEASE) == [
            True
        ]
        p = await store.get(pub_id)
        assert (p.state, p.sends) == (S.PUBLISHING, 1)
        assert p.lease_expires_at == T0 + SEC + LEASE
        assert p.draft == draft()
        # a second start for the same claim is refused (already publishing)
        assert await store.mark_publishing([start], worker="w1", now=T0, lease=LEASE) == [False]

    async def test_one_batch_pins_each_publication_its_own_draft(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub(f"acct{i}") for i in range(5)], now=T0)
        claims = sorted(
            await store.claim("w1", now=T0, limit=10, lease=LEASE), key=lambda c: c.account_id
        )
        assert len(claims) == 5
        drafts = [
            Draft(platform="feed", revision=POST.revision(), parts=(DraftPart(text=f"text {i}"),))
            for i in range(5)
        ]
        # the third one's draft was pinned by an earlier send: it is kept
        starts = [
            PublishStart(
                id=c.id, attempt=c.attempt, draft_json=None if i == 2 else draft_json(drafts[i])
            )
            for i, c in enumerate(claims)
        ]
        assert await store.mark_publishing(starts, worker="w1", now=T0, lease=LEASE) == [True] * 5
        for i, c in enumerate(claims):
            p = await store.get(c.id)
            assert (p.state, p.sends) == (S.PUBLISHING, 1)
            assert p.draft == (None if i == 2 else drafts[i])

    async def test_mark_publishing_refuses_an_expired_lease(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        start = PublishStart(id=pub_id, attempt=claim.attempt)
        late = T0 + LEASE + SEC
        assert await store.mark_publishing([start], worker="w1", now=late, lease=LEASE) == [False]

    async def test_transition_is_fenced_by_state_and_attempt(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        wrong_attempt = Transition(
            id=pub_id, expect_state=S.PUBLISHING, expect_attempt=claim.attempt + 1, to=S.FAILED
        )
        with pytest.raises(StaleTransition):
            await store.transition(wrong_attempt, now=T0)
        wrong_state = Transition(
            id=pub_id, expect_state=S.CLAIMED, expect_attempt=claim.attempt, to=S.FAILED
        )
        with pytest.raises(StaleTransition):
            await store.transition(wrong_state, now=T0)
        assert (await store.get(pub_id)).state == S.PUBLISHING
        retry = Transition(
            id=pub_id,
            expect_state=S.PUBLISHING,
            expect_attempt=claim.attempt,
            to=S.RETRY_WAIT,
            run_at=T0 + 30 * SEC,
            count_failure=True,
            error={"error": "Transient", "message": "connection refused"},
            reason="transient error",
        )
        assert await store.transition(retry, now=T0) == S.RETRY_WAIT  # the state written
        p = await store.get(pub_id, history=True)
        assert (p.state, p.run_at, p.failures, p.lease_owner) == (
            S.RETRY_WAIT,
            T0 + 30 * SEC,
            1,
            None,
        )
        assert p.last_error == {"error": "Transient", "message": "connection refused"}
        assert p.history[-1].to_state == S.RETRY_WAIT
        assert p.history[-1].error == {"error": "Transient", "message": "connection refused"}
        assert await store.claim("w1", now=T0 + 29 * SEC, limit=5, lease=LEASE) == []
        again = await self.claim_one(store, now=T0 + 30 * SEC)
        assert again.attempt == claim.attempt + 1
        assert again.sends == 1

    async def test_reset_failures_starts_a_fresh_send_budget(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        failed = Transition(
            id=pub_id,
            expect_state=S.PUBLISHING,
            expect_attempt=claim.attempt,
            to=S.FAILED,
            count_failure=True,
            error={"error": "Transient", "message": "attempts exhausted"},
        )
        await store.transition(failed, now=T0)
        assert (await store.get(pub_id)).failures == 1
        back = Transition(
            id=pub_id,
            expect_state=S.FAILED,
            expect_attempt=claim.attempt,
            to=S.SCHEDULED,
            due_at=T0 + 60 * SEC,
            reset_failures=True,
        )
        assert await store.apply([back], now=T0) == [S.SCHEDULED]
        p = await store.get(pub_id, history=True)
        assert (p.state, p.failures, p.sends) == (S.SCHEDULED, 0, 1)
        again = await self.claim_one(store, now=T0 + 60 * SEC)
        assert (again.failures, again.sends) == (0, 1)

    async def test_a_transition_returns_the_state_it_wrote(self, store: Store) -> None:
        # A pause switch holds what would be scheduled: the store says what it wrote, so
        # the engine reports it (never a state read afterwards).
        pub_id = await self.add_one(store, campaign="launch")
        await store.pause(PauseScope(kind="campaign", value="launch"), now=T0)
        back = Transition(
            id=pub_id, expect_state=S.PAUSED, expect_attempt=0, to=S.SCHEDULED, due_at=T0
        )
        assert await store.transition(back, now=T0) == S.PAUSED
        held = await store.get(pub_id, history=True)
        assert held.state == S.PAUSED
        assert held.history[-1].data.get("held_by_pause") is True
        cancel = Transition(id=pub_id, expect_state=S.PAUSED, expect_attempt=0, to=S.CANCELLED)
        assert await store.apply([back, cancel], now=T0) == [S.PAUSED, S.CANCELLED]

    async def test_illegal_moves_are_refused(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        bad = Transition(id=pub_id, expect_state=S.SCHEDULED, expect_attempt=0, to=S.PUBLISHED)
        with pytest.raises(StoreError, match="not a legal move"):
            await store.transition(bad, now=T0)
        ghost = Transition(id="ghost", expect_state=S.SCHEDULED, expect_attempt=0, to=S.CANCELLED)
        with pytest.raises(StoreError, match="ghost"):
            await store.transition(ghost, now=T0)

    async def test_apply_is_a_batch_of_fenced_moves(self, store: Store) -> None:
        a = await self.add_one(store, account="a")
        b = await self.add_one(store, account="b")
        results = await store.apply(
            [
                Transition(id=a, expect_state=S.SCHEDULED, expect_attempt=0, to=S.CANCELLED),
                Transition(id=b, expect_state=S.SCHEDULED, expect_attempt=5, to=S.CANCELLED),
            ],
            now=T0,
        )
        assert results == [S.CANCELLED, None]
        assert (await store.get(a)).state == S.CANCELLED
        assert (await store.get(b)).state == S.SCHEDULED

    async def test_apply_moves_in_order_and_keeps_every_column(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub(f"acct{i}", grace_s=60.0) for i in range(3)], now=T0)
        claims = sorted(
            await store.claim("w1", now=T0, limit=10, lease=LEASE), key=lambda c: c.account_id
        )
        a, b, c = claims
        # c is being sent when its account is paused (a claimed one would be handed back)
        start = PublishStart(id=c.id, attempt=c.attempt)
        assert await store.mark_publishing([start], worker="w1", now=T0, lease=LEASE) == [True]
        await store.pause(PauseScope(kind="account", value="acct2"), now=T0)
        later = T0 + 3 * SEC
        problem = Problem(field="text", code="too_long", message="over", limit=10, value=11)
        results = await store.apply(
            [
                # a: back to retry_wait, then (seeing that) on to failed, in one batch
                Transition(
                    id=a.id,
                    expect_state=S.CLAIMED,
                    expect_attempt=a.attempt,
                    to=S.RETRY_WAIT,
                    run_at=later,
                    count_failure=True,
                    error={"error": "Transient", "message": 'it\'s "down" ☂'},
                    reason="first",
                ),
                Transition(id=b.id, expect_state=S.SCHEDULED, expect_attempt=0, to=S.FAILED),
                Transition(
                    id=a.id,
                    expect_state=S.RETRY_WAIT,
                    expect_attempt=a.attempt,
                    to=S.FAILED,
                    problems=(problem,),
                    attention="look",
                    reason="second",
                ),
                # c's account is paused: it is held, not put back to retry
                Transition(
                    id=c.id,
                    expect_state=S.PUBLISHING,
                    expect_attempt=c.attempt,
                    to=S.RETRY_WAIT,
                    run_at=later,
                ),
            ],
            now=T0 + SEC,
        )
        # each the state written: c's is paused, not the retry_wait asked for
        assert results == [S.RETRY_WAIT, None, S.FAILED, S.PAUSED]
        pa = await store.get(a.id, history=True)
        assert (pa.state, pa.failures, pa.attention) == (S.FAILED, 1, "look")
        assert pa.run_at == later
        assert pa.problems == (problem,)
        assert pa.last_error == {"error": "Transient", "message": 'it\'s "down" ☂'}
        assert (pa.lease_owner, pa.lease_expires_at) == (None, None)
        assert (pa.due_at, pa.account_id) == (T0, "acct0")  # untouched columns stay
        assert [e.reason for e in pa.history][-2:] == ["first", "second"]
        assert (await store.get(b.id)).state == S.CLAIMED  # the stale one did not move
        pc = await store.get(c.id, history=True)
        assert pc.state == S.PAUSED
        assert pc.history[-1].data.get("held_by_pause") is True

    async def test_revision_fence_and_edit(self, store: Store) -> None:
        pub_id = await self.add_one(store, state=S.PENDING_APPROVAL, approvals_required=1)
        edited = Post(text="Edited text")
        new_revision = await store.put_revision(edited, now=T0)
        approval = Approval(actor="ann", decision="approved", revision="stale", at=T0)
        stale = Transition(
            id=pub_id,
            expect_state=S.PENDING_APPROVAL,
            expect_attempt=0,
            expect_revision="stale",
            to=S.SCHEDULED,
            approvals=(approval,),
        )
        with pytest.raises(StaleTransition):
            await store.transition(stale, now=T0)
        edit = Transition(
            id=pub_id,
            expect_state=S.PENDING_APPROVAL,
            expect_attempt=0,
            to=S.PENDING_APPROVAL,
            revision=new_revision,
            kind="edited",
        )
        await store.transition(edit, now=T0)
        good = Approval(actor="ann", decision="approved", revision=new_revision, at=T0)
        await store.transition(
            Transition(
                id=pub_id,
                expect_state=S.PENDING_APPROVAL,
                expect_attempt=0,
                expect_revision=new_revision,
                to=S.SCHEDULED,
                approvals=(good,),
                kind="approved",
                actor="ann",
            ),
            now=T0,
        )
        p = await store.get(pub_id, history=True)
        assert p.state == S.SCHEDULED
        assert p.revision == new_revision
        assert p.post == edited
        assert p.approvals == (good,)
        assert p.approved_by() == ("ann",)
        assert [e.kind for e in p.history] == ["created", "edited", "approved"]
        assert p.history[-1].actor == "ann"

    async def test_approvals_before_an_edit_back_to_the_same_content_do_not_count(
        self, store: Store
    ) -> None:
        """The history keeps each edit's count of earlier decisions, in order, so every
        store reads the same standing approvals (an edit A -> B -> A voids ann's)."""
        pub_id = await self.add_one(store, state=S.PENDING_APPROVAL, approvals_required=2)
        a = POST.revision()
        b = await store.put_revision(Post(text="Edited text"), now=T0)
        ann = Approval(actor="ann", decision="approved", revision=a, at=T0)

        def step(to_revision: str | None, approvals: tuple[Approval, ...] = ()) -> Transition:
            return Transition(
                id=pub_id,
                expect_state=S.PENDING_APPROVAL,
                expect_attempt=0,
                to=S.PENDING_APPROVAL,
                revision=to_revision,
                approvals=approvals or None,
                kind="edited" if to_revision else "approved",
                actor="eve" if to_revision else "ann",
                data={"decisions": 1} if to_revision else None,
            )

        await store.transition(step(None, (ann,)), now=T0)
        assert (await store.get(pub_id, history=True)).approved_by() == ("ann",)
        await store.transition(step(b), now=T0)
        await store.transition(step(a), now=T0)
        p = await store.get(pub_id, history=True)
        assert (p.revision, p.approvals, p.approved_by()) == (a, (ann,), ())
        assert [(e.kind, e.data.get("decisions")) for e in p.history] == [
            ("created", None),
            ("approved", None),
            ("edited", 1),
            ("edited", 1),
        ]

    async def test_approvals_fence(self, store: Store) -> None:
        pub_id = await self.add_one(store, state=S.PENDING_APPROVAL, approvals_required=2)
        revision = POST.revision()

        def approve(actor: str, recorded: tuple[Approval, ...]) -> Transition:
            made = Approval(actor=actor, decision="approved", revision=revision, at=T0)
            return Transition(
                id=pub_id,
                expect_state=S.PENDING_APPROVAL,
                expect_attempt=0,
                expect_revision=revision,
                expect_approvals=len(recorded),
                to=S.PENDING_APPROVAL,
                approvals=(*recorded, made),
                kind="approved",
                actor=actor,
            )

        await store.transition(approve("ann", ()), now=T0)
        # bob read the publication before ann's approval: his write would drop hers.
        with pytest.raises(StaleTransition, match="approved or rejected it meanwhile"):
            await store.transition(approve("bob", ()), now=T0)
        assert await store.apply([approve("bob", ())], now=T0) == [None]
        ann = (await store.get(pub_id)).approvals
        await store.transition(approve("bob", ann), now=T0)
        p = await store.get(pub_id, history=True)
        assert [a.actor for a in p.approvals] == ["ann", "bob"]
        assert [e.kind for e in p.history] == ["created", "approved", "approved"]

    # -- leases ---------------------------------------------------------------------------

    async def test_expired_claim_goes_back_and_the_old_worker_is_fenced(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        old = await self.claim_one(store, "w1")
        later = T0 + LEASE + SEC
        new = await self.claim_one(store, "w2", now=later)
        assert new.attempt == old.attempt + 1
        start = PublishStart(id=pub_id, attempt=old.attempt)
        assert await store.mark_publishing([start], worker="w1", now=later, lease=LEASE) == [False]
        p = await store.get(pub_id, history=True)
        assert (p.state, p.lease_owner, p.sends) == (S.CLAIMED, "w2", 0)
        assert "lease_expired" in [e.kind for e in p.history]

    async def test_expired_publishing_goes_to_unknown_then_reconcile(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        lost = T0 + LEASE + SEC
        assert await store.claim("w2", now=lost, limit=5, lease=LEASE) == []
        p = await store.get(pub_id)
        assert p.state == S.UNKNOWN
        assert p.run_at == lost + LEASE  # reconciliation waits one lease period
        assert (
            await store.claim("w2", now=lost + LEASE, limit=5, lease=LEASE, reconcile=False) == []
        )
        rec = await self.claim_one(store, "w2", now=lost + LEASE)
        assert (rec.kind, rec.attempt) == ("reconcile", claim.attempt + 1)
        assert (await store.get(pub_id)).state == S.UNKNOWN
        # the reconciler resends on an idempotent platform
        start = PublishStart(id=pub_id, attempt=rec.attempt, from_state=S.UNKNOWN)
        assert await store.mark_publishing([start], worker="w2", now=lost + LEASE, lease=LEASE) == [
            True
        ]
        assert (await store.get(pub_id)).sends == 2

    async def test_a_dead_reconcilers_lease_is_dropped(self, store: Store) -> None:
        await self.sending_one(store)
        t = T0 + 3 * LEASE
        await store.claim("w2", now=t, limit=5, lease=LEASE, reconcile=False)
        rec = await self.claim_one(store, "w2", now=t + LEASE)
        assert rec.kind == "reconcile"
        again = await self.claim_one(store, "w3", now=t + 3 * LEASE)
        assert (again.kind, again.attempt) == ("reconcile", rec.attempt + 1)

    # -- an unknown outcome holds its account ---------------------------------------------

    async def unknown_ahead_of_a_later_post(self, store: Store) -> tuple[str, str, dt.datetime]:
        """``acme``'s first post sent by ``w1``, whose lease then ran out mid-publish (a
        killed worker), and a second post due behind it: their ids and when the first
        went ``unknown`` (swept by a claim, which takes nothing of ``acme``'s)."""
        await store.put_revision(POST, now=T0)
        first, second = pub("acme", due=T0), pub("acme", due=T0 + SEC)
        await store.add([first, second], now=T0)
        (claim,) = await store.claim("w1", now=T0 + SEC, limit=10, lease=LEASE)
        assert claim.id == first.id
        start = PublishStart(id=first.id, attempt=claim.attempt)
        assert await store.mark_publishing([start], worker="w1", now=T0 + SEC, lease=LEASE) == [
            True
        ]
        lost = T0 + SEC + LEASE
        assert await store.claim("w2", now=lost, limit=10, lease=LEASE) == []
        assert (await store.get(first.id)).state == S.UNKNOWN
        return first.id, second.id, lost

    async def test_an_unknown_outcome_holds_its_account_until_reconciled(
        self, store: Store
    ) -> None:
        first, second, lost = await self.unknown_ahead_of_a_later_post(store)
        await store.add([pub("other", due=T0)], now=T0)
        # the first may be live on the platform: the second does not overtake it, while
        # another account's post goes
        (taken,) = await store.claim("w2", now=lost, limit=10, lease=LEASE)
        assert taken.account_id == "other"
        done = ReceiptRecord(id=taken.id, attempt=taken.attempt, receipt=receipt("other"))
        assert await store.record_receipts([done], now=lost) == [True]
        # nothing of acme's is due before the first is reconciled, one lease later
        assert await store.next_due(now=lost) == lost + LEASE
        assert await store.next_due(now=lost, per_account=None) == T0 + SEC
        rec = await self.claim_one(store, "w2", now=lost + LEASE)
        assert (rec.id, rec.kind) == (first, "reconcile")
        assert await store.claim("w3", now=lost + LEASE, limit=10, lease=LEASE) == []
        # its reconciler handing it back leaves it unknown: still holding the account
        assert await store.release([(first, rec.attempt)], now=lost + LEASE) == [True]
        rec = await self.claim_one(store, "w2", now=lost + LEASE)
        assert rec.kind == "reconcile"
        # found on the platform: published, and the account is free
        found = ReceiptRecord(id=first, attempt=rec.attempt, receipt=receipt())
        assert await store.record_receipts([found], now=lost + LEASE) == [True]
        assert await store.next_due(now=lost + LEASE) == T0 + SEC
        after = await self.claim_one(store, "w2", now=lost + LEASE)
        assert (after.id, after.kind) == (second, "publish")

    async def test_an_unknown_outcome_waiting_for_a_person_holds_its_account(
        self, store: Store
    ) -> None:
        first, second, lost = await self.unknown_ahead_of_a_later_post(store)
        rec = await self.claim_one(store, "w2", now=lost + LEASE)
        # the platform cannot tell: a person decides
        await store.transition(
            Transition(
                id=first,
                expect_state=S.UNKNOWN,
                expect_attempt=rec.attempt,
                to=S.UNKNOWN,
                run_at=lost + LEASE,
                attention="reconcile",
                reason="cannot tell",
            ),
            now=lost + LEASE,
        )
        later = lost + 10 * LEASE
        assert await store.claim("w2", now=later, limit=10, lease=LEASE) == []
        # nothing is due until the person decides (then their call wakes the workers)
        assert await store.next_due(now=later) is None
        # more room per account lets it go
        (extra,) = await store.claim("w2", now=later, limit=10, lease=LEASE, per_account=2)
        assert extra.id == second
        assert await store.release([(second, extra.attempt)], now=later) == [True]
        # the person abandons it: the account is free
        await store.transition(
            Transition(
                id=first,
                expect_state=S.UNKNOWN,
                expect_attempt=rec.attempt,
                to=S.FAILED,
                reason="abandoned",
            ),
            now=later,
        )
        assert await store.next_due(now=later) == T0 + SEC
        (claim,) = await store.claim("w2", now=later, limit=10, lease=LEASE)
        assert claim.id == second

    async def test_unknown_outcomes_fill_a_larger_in_flight_limit(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        posts = [pub("acme", due=T0 + i * SEC) for i in range(4)]
        await store.add(posts, now=T0)
        claims = await store.claim("w1", now=T0 + 3 * SEC, limit=10, lease=LEASE, per_account=2)
        assert [c.id for c in claims] == [posts[0].id, posts[1].id]
        starts = [PublishStart(id=c.id, attempt=c.attempt) for c in claims]
        now = T0 + 3 * SEC
        assert await store.mark_publishing(starts, worker="w1", now=now, lease=LEASE) == [True] * 2
        lost = now + LEASE
        assert await store.claim("w2", now=lost, limit=10, lease=LEASE, per_account=2) == []
        assert await store.next_due(now=lost, per_account=2) == lost + LEASE
        # two reconciliations fit in a limit of two; the later posts still wait
        recs = await store.claim("w2", now=lost + LEASE, limit=10, lease=LEASE, per_account=2)
        assert sorted(c.id for c in recs) == sorted(c.id for c in claims)
        assert {c.kind for c in recs} == {"reconcile"}
        assert await store.claim("w2", now=lost + LEASE, limit=10, lease=LEASE, per_account=2) == []
        found = ReceiptRecord(id=recs[0].id, attempt=recs[0].attempt, receipt=receipt())
        assert await store.record_receipts([found], now=lost + LEASE) == [True]
        (claim,) = await store.claim("w2", now=lost + LEASE, limit=10, lease=LEASE, per_account=2)
        assert claim.id == posts[2].id

    async def test_next_due_waits_for_a_dead_workers_lease(self, store: Store) -> None:
        # w1 claimed acme's first post and died: the second, due, waits for the lease
        await store.put_revision(POST, now=T0)
        first, second = pub("acme", due=T0), pub("acme", due=T0 + SEC)
        await store.add([first, second], now=T0)
        (claim,) = await store.claim("w1", now=T0 + SEC, limit=10, lease=LEASE)
        assert claim.id == first.id
        now = T0 + 2 * SEC
        assert await store.claim("w2", now=now, limit=10, lease=LEASE) == []
        assert await store.next_due(now=now) == claim.lease_expires_at
        assert await store.next_due(now=now, per_account=2) == T0 + SEC
        assert await store.next_due(now=now, per_account=None) == T0 + SEC
        # at the lease's end the first is handed back (nothing was sent) and goes first
        (again,) = await store.claim("w2", now=claim.lease_expires_at, limit=10, lease=LEASE)
        assert again.id == first.id

    async def test_next_due_past_busy_accounts_rows_is_never_late(self, store: Store) -> None:
        # a busy account's long backlog, then another account's post and one due later:
        # a store may stop reading the backlog and answer early, never later than the truth
        await store.put_revision(POST, now=T0)
        await store.add([pub("busy", due=T0 + i * SEC / 100) for i in range(600)], now=T0)
        free, later = pub("free", due=T0 + 7 * SEC), pub("later", due=T0 + 3 * LEASE)
        await store.add([free, later], now=T0)
        now = T0 + 8 * SEC
        (held,) = await store.claim("w", now=now, limit=1, lease=LEASE)
        assert held.account_id == "busy"
        (taken,) = await store.claim("w", now=now, limit=1, lease=LEASE)
        assert taken.id == free.id
        # free is in flight now, so only the lease ends and the later post are ahead
        due = await store.next_due(now=now)
        assert due is not None
        assert due <= now + LEASE
        await store.release([(taken.id, taken.attempt)], now=now)
        due = await store.next_due(now=now)
        assert due is not None
        assert due <= T0 + 7 * SEC

    async def test_heartbeat_extends_and_reports_lost(self, store: Store) -> None:
        a = await self.add_one(store, account="a")
        b = await self.add_one(store, account="b")
        claims = {c.id: c for c in await store.claim("w1", now=T0, limit=5, lease=LEASE)}
        half = T0 + LEASE / 2
        lost = await store.heartbeat(
            "w1", [(a, claims[a].attempt), (b, claims[b].attempt + 1)], now=half, lease=LEASE
        )
        assert lost == [b]
        assert (await store.get(a)).lease_expires_at == half + LEASE
        # after the original expiry, a is still held; b was not extended
        taken = await store.claim("w2", now=T0 + LEASE + SEC, limit=5, lease=LEASE)
        assert [c.id for c in taken] == [b]
        assert (await store.get(a)).lease_owner == "w1"
        assert await store.heartbeat("w2", [(a, claims[a].attempt)], now=half, lease=LEASE) == [a]

    async def test_heartbeat_reports_a_repeated_id_at_a_stale_attempt(self, store: Store) -> None:
        # Matched by position, not by id: the live claim is extended, the stale one lost.
        await store.put_revision(POST, now=T0)
        (pub_id,) = await store.add([pub()], now=T0)
        (claim,) = await store.claim("w1", now=T0, limit=1, lease=LEASE)
        asked = [(pub_id, claim.attempt - 1), (pub_id, claim.attempt)]
        assert await store.heartbeat("w1", asked, now=T0 + SEC, lease=LEASE) == [pub_id]
        assert (await store.get(pub_id)).lease_expires_at == T0 + SEC + LEASE

    async def test_heartbeat_reports_each_lost_lease_in_order(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub(f"acct{i}") for i in range(6)], now=T0)
        mine = await store.claim("w1", now=T0, limit=4, lease=LEASE)
        theirs = await store.claim("w2", now=T0 + SEC, limit=5, lease=LEASE)
        assert (len(mine), len(theirs)) == (4, 2)
        half = T0 + LEASE / 2
        # one of mine was handed back and claimed again by w2 (a new attempt)
        assert await store.release(
            [(mine[1].id, mine[1].attempt)], now=half, actor="w1", reason="test"
        ) == [True]
        again = await store.claim("w2", now=half, limit=5, lease=LEASE)
        assert [c.id for c in again] == [mine[1].id]
        asked = [
            (mine[3].id, mine[3].attempt),
            (theirs[0].id, theirs[0].attempt),  # w2's
            (mine[0].id, mine[0].attempt),
            (mine[1].id, mine[1].attempt),  # now w2's, at a later attempt
            ("no-such-publication", 1),
            (mine[2].id, mine[2].attempt),
        ]
        lost = await store.heartbeat("w1", asked, now=half, lease=LEASE)
        assert lost == [theirs[0].id, mine[1].id, "no-such-publication"]
        for c in (mine[0], mine[2], mine[3]):
            assert (await store.get(c.id)).lease_expires_at == half + LEASE
        assert (await store.get(theirs[0].id)).lease_expires_at == T0 + SEC + LEASE
        # past the lease end nothing is extended: every one is lost
        late = half + LEASE + SEC
        assert await store.heartbeat("w1", asked[2:3], now=late, lease=LEASE) == [mine[0].id]

    # -- receipts and checkpoints ---------------------------------------------------------

    async def test_a_receipt_batch_naming_a_missing_publication_writes_nothing(
        self, store: Store
    ) -> None:
        pub_id, claim = await self.sending_one(store)
        good = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt())
        ghost = ReceiptRecord(id="p-missing", attempt=1, receipt=receipt())
        with pytest.raises(StoreError, match="no publication 'p-missing'"):
            await store.record_receipts([good, ghost], now=T0)
        p = await store.get(pub_id, history=True)
        assert (p.state, len(p.receipts)) == (S.PUBLISHING, 0)  # all or nothing
        assert await store.record_receipts([good], now=T0) == [True]
        assert (await store.get(pub_id)).state == S.PUBLISHED

    async def test_receipt_publishes_and_schedules_metrics(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        record = ReceiptRecord(
            id=pub_id, attempt=claim.attempt, receipt=receipt(), metrics=(("1h", 3600.0),)
        )
        assert await store.record_receipts([record], now=T0) == [True]
        assert await store.record_receipts([record], now=T0) == [False]  # duplicate ignored
        p = await store.get(pub_id, history=True)
        assert p.state == S.PUBLISHED
        assert p.lease_owner is None
        assert len(p.receipts) == 1
        assert p.receipt == receipt()
        assert p.receipts[0].attempt == claim.attempt
        assert await store.receipt_owner("feed", "post-1") == pub_id
        assert await store.receipt_owner("feed", "post-2") is None
        assert p.history[-1].kind == "receipt"
        assert await store.next_due(now=T0) == T0 + dt.timedelta(hours=1)

    async def test_receipt_after_a_lost_lease_is_kept(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        later = T0 + LEASE + SEC
        await store.claim("w2", now=later, limit=5, lease=LEASE)  # sweeps to unknown
        assert (await store.get(pub_id)).state == S.UNKNOWN
        late = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt())
        assert await store.record_receipts([late], now=later) == [True]
        p = await store.get(pub_id)
        assert p.state == S.PUBLISHED
        # a second receipt from a later attempt is appended, never replaces the first
        second = ReceiptRecord(
            id=pub_id, attempt=claim.attempt + 1, receipt=receipt(post_id="post-1")
        )
        assert await store.record_receipts([second], now=later) == [False]
        p = await store.get(pub_id)
        assert [r.attempt for r in p.receipts] == [claim.attempt, claim.attempt + 1]

    async def test_receipt_wins_over_a_person_who_moved_on(self, store: Store) -> None:
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        await store.transition(
            Transition(id=pub_id, expect_state=S.CLAIMED, expect_attempt=1, to=S.CANCELLED),
            now=T0,
        )
        late = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt())
        assert await store.record_receipts([late], now=T0) == [True]
        assert (await store.get(pub_id)).state == S.PUBLISHED

    async def test_checkpoints_resume_threads(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        for part in (0, 1):
            await store.record_checkpoint(
                CheckpointRecord(
                    id=pub_id, attempt=claim.attempt, part=part, ref=PostRef(id=f"x{part}")
                ),
                now=T0,
            )
        await store.record_checkpoint(
            CheckpointRecord(id=pub_id, attempt=claim.attempt, part=3, ref=PostRef(id="x3")),
            now=T0,
        )
        await store.transition(
            Transition(
                id=pub_id,
                expect_state=S.PUBLISHING,
                expect_attempt=claim.attempt,
                to=S.RETRY_WAIT,
                run_at=T0,
            ),
            now=T0,
        )
        again = await self.claim_one(store)
        assert [r.id for r in again.checkpoints] == ["x0", "x1"]
        assert [r.id for r in (await store.get(pub_id)).checkpoints] == ["x0", "x1"]

    async def test_a_deletion_is_recorded_whatever_the_state_and_moves_nothing(
        self, store: Store
    ) -> None:
        """What a delete took down is kept as a receipt is: never fenced, even on a
        publication moved meanwhile (here cancelled, a terminal state)."""
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        await store.transition(
            Transition(
                id=pub_id, expect_state=S.CLAIMED, expect_attempt=claim.attempt, to=S.CANCELLED
            ),
            now=T0,
        )
        before = await store.get(pub_id, history=True)
        deletion = DeletionRecord(
            id=pub_id,
            kind="delete_overtaken",
            post_ids=("x2", "x1"),
            post_ids_left=("x0",),
            actor="ann",
            reason="abandoned while it ran",
            error={"error": "Rejected", "message": "403"},
        )
        await store.record_deletion(deletion, now=T0 + SEC)
        after = await store.get(pub_id, history=True)
        assert (after.state, after.attention, after.attempt) == (S.CANCELLED, None, claim.attempt)
        assert after.history[: len(before.history)] == before.history
        (event,) = after.history[len(before.history) :]
        assert (event.kind, event.actor, event.reason, event.at) == (
            "delete_overtaken",
            "ann",
            "abandoned while it ran",
            T0 + SEC,
        )
        assert (event.from_state, event.to_state, event.attempt) == (None, None, claim.attempt)
        assert event.data == {"post_ids": ["x2", "x1"], "post_ids_left": ["x0"]}
        assert event.error == {"error": "Rejected", "message": "403"}
        assert (await store.events(since=before.history[-1].seq))[-1] == event
        with pytest.raises(StoreError, match="no publication"):
            await store.record_deletion(
                DeletionRecord(id="nope", kind="delete_refused", post_ids=(), post_ids_left=()),
                now=T0,
            )

    # -- holds ----------------------------------------------------------------------------

    async def test_pause_scopes_hold_and_resume(self, store: Store) -> None:
        a = await self.add_one(store, account="a", campaign="launch")
        b = await self.add_one(store, account="b")
        moved = await store.pause(PauseScope(kind="campaign", value="launch"), now=T0)
        assert [m.id for m in moved] == [a]
        assert (await store.get(a)).state == S.PAUSED
        claims = await store.claim("w", now=T0, limit=5, lease=LEASE)
        assert [c.id for c in claims] == [b]
        # new work under an active switch is held too
        c = await self.add_one(store, account="c", campaign="launch")
        assert (await store.get(c)).state == S.PAUSED
        await store.pause(PauseScope(kind="account", value="a"), now=T0)
        assert [p.kind for p in await store.pauses()] == ["account", "campaign"]
        back = await store.resume(PauseScope(kind="campaign", value="launch"), now=T0)
        assert [m.id for m in back] == [c]
        assert (await store.get(a)).state == S.PAUSED  # still held by the account switch
        assert (await store.get(c)).state == S.SCHEDULED
        back = await store.resume(PauseScope(kind="account", value="a"), now=T0)
        assert [m.id for m in back] == [a]
        assert (await store.get(a)).state == S.SCHEDULED
        assert await store.resume(PauseScope(kind="account", value="a"), now=T0) == []

    async def test_a_thread_marked_deleting_moves_only_by_a_transition_naming_the_mark(
        self, store: Store
    ) -> None:
        # A person's delete of a half-sent thread marks it first (attention="deleting"):
        # no resume, reschedule or claim may act on it while the platform deletes.
        pub_id = await self.add_one(store, campaign="launch")
        other = await self.add_one(store, account="b", campaign="launch")
        scope = PauseScope(kind="campaign", value="launch")
        await store.pause(scope, now=T0)
        named = Transition(
            id=pub_id,
            expect_state=S.PAUSED,
            expect_attempt=0,
            expect_attention="deleting",
            to=S.DELETED,
        )
        with pytest.raises(StaleTransition):  # not marked yet
            await store.transition(named, now=T0)
        mark = Transition(
            id=pub_id, expect_state=S.PAUSED, expect_attempt=0, to=S.PAUSED, attention="deleting"
        )
        await store.transition(mark, now=T0)
        assert [m.id for m in await store.resume(scope, now=T0)] == [other]
        marked = await store.get(pub_id)
        assert (marked.state, marked.attention) == (S.PAUSED, "deleting")
        assert [c.id for c in await store.claim("w", now=T0, limit=5, lease=LEASE)] == [other]
        rescheduled = Transition(
            id=pub_id, expect_state=S.PAUSED, expect_attempt=0, to=S.SCHEDULED, due_at=T0
        )
        with pytest.raises(StaleTransition, match="being deleted"):
            await store.transition(rescheduled, now=T0)
        assert await store.apply([rescheduled], now=T0) == [None]
        await store.transition(named, now=T0)
        done = await store.get(pub_id)
        assert (done.state, done.attention) == (S.DELETED, None)

    async def test_pause_and_resume_return_what_they_moved(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        first, second = pub("a", campaign="launch"), pub("a", due=T0 + 60 * SEC)
        other = pub("b", due=T0 + 60 * SEC)  # not covered by the switch
        await store.add([first, second, other], now=T0)
        claim = await self.claim_one(store)  # the first of account a (one per account)
        assert claim.id == first.id
        await store.transition(
            Transition(
                id=first.id,
                expect_state=S.CLAIMED,
                expect_attempt=claim.attempt,
                to=S.RETRY_WAIT,
                run_at=T0 + 30 * SEC,
            ),
            now=T0,
        )
        at = T0 + 5 * SEC
        scope = PauseScope(kind="account", value="a", actor="ann", reason="crisis")
        moved = await store.pause(scope, now=at)

        def expected(p: NewPublication, before: S, after: S, attempt: int, **kw: Any) -> Moved:
            return Moved(
                id=p.id,
                workspace="default",
                account_id=p.account_id,
                campaign=p.campaign,
                from_state=before,
                to_state=after,
                attempt=attempt,
                at=at,
                **kw,
            )

        assert moved == sorted(
            [
                expected(
                    first, S.RETRY_WAIT, S.PAUSED, claim.attempt, actor="ann", reason="crisis"
                ),
                expected(second, S.SCHEDULED, S.PAUSED, 0, actor="ann", reason="crisis"),
            ],
            key=lambda m: m.id,
        )
        # the event log says the same
        history = (await store.get(first.id, history=True)).history[-1]
        assert (history.from_state, history.to_state, history.actor) == (
            S.RETRY_WAIT,
            S.PAUSED,
            "ann",
        )
        assert await store.pause(scope, now=at) == []  # nothing left to move
        back = await store.resume(PauseScope(kind="account", value="a", actor="bob"), now=at)
        assert back == sorted(
            [
                expected(
                    first, S.PAUSED, S.SCHEDULED, claim.attempt, actor="bob", reason="resumed"
                ),
                expected(second, S.PAUSED, S.SCHEDULED, 0, actor="bob", reason="resumed"),
            ],
            key=lambda m: m.id,
        )

    async def test_pause_all_holds_retries_and_transitions(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        await store.pause(PauseScope(kind="all"), now=T0)  # a publishing one is being sent
        assert (await store.get(pub_id)).state == S.PUBLISHING
        await store.transition(
            Transition(
                id=pub_id,
                expect_state=S.PUBLISHING,
                expect_attempt=claim.attempt,
                to=S.RETRY_WAIT,
            ),
            now=T0,
        )
        p = await store.get(pub_id)
        assert p.state == S.PAUSED
        assert await store.claim("w", now=T0 + LEASE, limit=5, lease=LEASE) == []
        assert await store.next_due(now=T0) is None
        await store.resume(PauseScope(kind="all"), now=T0)
        assert (await store.get(pub_id)).state == S.SCHEDULED

    async def test_a_pause_without_a_reason_names_its_scope(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        everything, one = pub("a"), pub("b", campaign="launch")
        await store.add([everything, one], now=T0)
        await store.pause(PauseScope(kind="campaign", value="launch", actor="ann"), now=T0)
        await store.pause(PauseScope(kind="all", actor="ann"), now=T0)
        # The switch for everything has no value: it read "paused (all )".
        reasons = [
            (await store.get(p.id, history=True)).history[-1].reason for p in (everything, one)
        ]
        assert reasons == ["paused (all)", "paused (campaign launch)"]

    async def test_pause_hands_back_a_claimed_publication_before_it_is_sent(
        self, store: Store
    ) -> None:
        pub_id = await self.add_one(store)
        claim = await self.claim_one(store)
        (moved,) = await store.pause(PauseScope(kind="all"), now=T0)
        assert (moved.id, moved.from_state, moved.to_state) == (pub_id, S.CLAIMED, S.PAUSED)
        p = await store.get(pub_id)
        assert (p.state, p.lease_owner, p.lease_expires_at) == (S.PAUSED, None, None)
        start = PublishStart(id=pub_id, attempt=claim.attempt)
        assert await store.mark_publishing([start], worker="w1", now=T0, lease=LEASE) == [False]
        await store.resume(PauseScope(kind="all"), now=T0)
        (again,) = await store.claim("w", now=T0, limit=5, lease=LEASE)
        assert (again.id, again.attempt) == (pub_id, claim.attempt + 1)

    async def test_a_publish_start_a_pause_covers_is_refused(self, store: Store) -> None:
        # An ``unknown`` one being reconciled is not moved by a pause; its resend (the
        # same idempotency keys, or the rest of a thread) must not go out under it.
        pub_id, _ = await self.sending_one(store)
        lost = T0 + LEASE + SEC
        await store.claim("w2", now=lost, limit=5, lease=LEASE)  # sweeps it to unknown
        rec = await self.claim_one(store, "w2", now=lost + LEASE)
        assert rec.kind == "reconcile"
        assert await store.pause(PauseScope(kind="account", value="acme"), now=lost + LEASE) == []
        start = PublishStart(id=pub_id, attempt=rec.attempt, from_state=S.UNKNOWN)
        at = lost + LEASE + SEC
        assert await store.mark_publishing([start], worker="w2", now=at, lease=LEASE) == [False]
        p = await store.get(pub_id)
        assert (p.state, p.sends) == (S.UNKNOWN, 1)
        assert await store.release([(pub_id, rec.attempt)], now=at) == [True]
        assert await store.claim("w2", now=at + LEASE, limit=5, lease=LEASE) == []
        await store.resume(PauseScope(kind="account", value="acme"), now=at)
        (again,) = await store.claim("w2", now=at + LEASE, limit=5, lease=LEASE)
        assert (again.id, again.kind) == (pub_id, "reconcile")
        start = PublishStart(id=pub_id, attempt=again.attempt, from_state=S.UNKNOWN)
        assert await store.mark_publishing([start], worker="w2", now=at + LEASE, lease=LEASE) == [
            True
        ]

    async def test_pause_is_per_workspace(self, store: Store) -> None:
        a = await self.add_one(store, workspace="one")
        b = await self.add_one(store, workspace="two")
        await store.pause(PauseScope(kind="all", workspace="one"), now=T0)
        claims = await store.claim("w", now=T0, limit=5, lease=LEASE)
        assert [c.id for c in claims] == [b]
        assert (await store.get(a)).state == S.PAUSED

    async def test_budgets_hold_accounts_until_reset(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        await store.add([pub("a") for _ in range(3)] + [pub("b")], now=T0)
        reset = T0 + 10 * SEC
        await store.set_budget(Budget(account_id="a", remaining=0, reset_at=reset), now=T0)
        claims = await store.claim("w", now=T0, limit=5, lease=LEASE, per_account=None)
        assert [c.account_id for c in claims] == ["b"]
        assert await store.next_due(now=T0) == reset
        # the next window (the stored one has ended): 2 requests
        later = reset + 10 * SEC
        await store.set_budget(Budget(account_id="a", remaining=2, reset_at=later), now=reset)
        claims = await store.claim("w", now=reset, limit=5, lease=LEASE, per_account=None)
        assert [c.account_id for c in claims] == ["a", "a"]
        starts = [PublishStart(id=c.id, attempt=c.attempt) for c in claims]
        assert await store.mark_publishing(starts, worker="w", now=reset, lease=LEASE) == [
            True,
            True,
        ]
        (budget,) = [b for b in await store.budgets() if b.account_id == "a"]
        assert budget.remaining == 0
        assert await store.claim("w", now=reset, limit=5, lease=LEASE, per_account=None) == []
        after = await store.claim("w", now=later, limit=5, lease=LEASE, per_account=None)
        assert [c.account_id for c in after] == ["a"]

    async def test_a_budget_written_late_does_not_lift_a_newer_hold(self, store: Store) -> None:
        """Budgets land in no particular order: a publish's (remaining 5, captured when
        it was sent) written after another publish's RateLimited hold of 1 h keeps the
        hold, and the account's next post waits for it."""
        await self.add_one(store, account="a")
        hold = T0 + dt.timedelta(hours=1)
        reset = T0 + dt.timedelta(minutes=15)
        await store.set_budget(Budget(account_id="a", blocked_until=hold), now=T0)
        await store.set_budget(Budget(account_id="a", remaining=5, reset_at=reset), now=T0)
        (budget,) = [b for b in await store.budgets() if b.account_id == "a"]
        assert (budget.blocked_until, budget.remaining, budget.reset_at) == (hold, 5, reset)
        assert await store.claim("w", now=T0 + 60 * SEC, limit=5, lease=LEASE) == []
        assert await store.next_due(now=T0 + 60 * SEC) == hold
        # a shorter hold written later does not shorten it either
        await store.set_budget(Budget(account_id="a", blocked_until=T0 + LEASE), now=T0)
        (budget,) = [b for b in await store.budgets() if b.account_id == "a"]
        assert budget.blocked_until == hold
        assert len(await store.claim("w", now=hold, limit=5, lease=LEASE)) == 1

    async def test_budgets_merge_by_window(self, store: Store) -> None:
        """Within a window still open the smaller remaining is kept (a stale report
        cannot give back requests already spent); a budget without figures (a metric
        collection's RateLimited) keeps the window's; a new window replaces an ended one."""

        async def stored() -> tuple[Any, ...]:
            (b,) = [b for b in await store.budgets() if b.account_id == "a"]
            return (b.remaining, b.limit, b.reset_at, b.blocked_until)

        reset = T0 + 10 * 60 * SEC
        await store.set_budget(
            Budget(account_id="a", remaining=3, limit=10, reset_at=reset), now=T0
        )
        await store.set_budget(Budget(account_id="a", remaining=5, reset_at=reset), now=T0)
        assert await stored() == (3, 10, reset, None)
        # an overlapping window (the reset a second later) with fewer left: taken whole
        await store.set_budget(
            Budget(account_id="a", remaining=2, limit=10, reset_at=reset + SEC), now=T0
        )
        assert await stored() == (2, 10, reset + SEC, None)
        until = T0 + 30 * SEC
        await store.set_budget(Budget(account_id="a", blocked_until=until), now=T0)
        assert await stored() == (2, 10, reset + SEC, until)
        # figures of a window that has already ended change nothing
        await store.set_budget(Budget(account_id="a", remaining=9, reset_at=T0 - SEC), now=T0)
        assert await stored() == (2, 10, reset + SEC, until)
        # sends spend the kept figures; a report from before them does not refill them
        await self.add_one(store, account="a")
        (claim,) = await store.claim("w", now=until, limit=5, lease=LEASE, per_account=None)
        start = PublishStart(id=claim.id, attempt=claim.attempt)
        assert await store.mark_publishing([start], worker="w", now=until, lease=LEASE) == [True]
        await store.set_budget(Budget(account_id="a", remaining=2, reset_at=reset), now=until)
        assert await stored() == (1, 10, reset + SEC, until)
        # once the window has ended, the next one replaces it
        fresh = reset + 15 * 60 * SEC
        await store.set_budget(
            Budget(account_id="a", remaining=100, limit=100, reset_at=fresh), now=reset + SEC
        )
        assert await stored() == (100, 100, fresh, until)

    async def test_claims_not_yet_sent_count_against_the_budget(self, store: Store) -> None:
        """Two workers, no per-account limit, one request left: only one claim (a claim
        not yet sent has not taken its request from the budget yet)."""
        await store.put_revision(POST, now=T0)
        await store.add([pub("a") for _ in range(3)], now=T0)
        await store.set_budget(Budget(account_id="a", remaining=1, reset_at=T0 + 10 * SEC), now=T0)
        first = await store.claim("w1", now=T0, limit=5, lease=LEASE, per_account=None)
        assert len(first) == 1
        assert await store.claim("w2", now=T0, limit=5, lease=LEASE, per_account=None) == []

    async def test_an_overdrawn_budget_takes_no_claims_from_other_accounts(
        self, store: Store
    ) -> None:
        """Account a's budget falls below its claims not yet sent (another app used its
        requests): a can take no more, but b's due row is still claimed (an overdrawn
        share must not count as less than none against the claim's limit)."""
        await store.put_revision(POST, now=T0)
        a1, a2, b1, b2, b3, a3 = (
            pub(name, due=T0 - (6 - i) * SEC) for i, name in enumerate("aabbba")
        )
        await store.add([a1, a2, b1, b2, b3, a3], now=T0)
        first = await store.claim("w", now=T0, limit=4, lease=LEASE, per_account=3)
        assert sorted(c.id for c in first) == sorted([a1.id, a2.id, b1.id, b2.id])
        await store.set_budget(Budget(account_id="a", remaining=1, reset_at=T0 + LEASE), now=T0)
        more = await store.claim("w", now=T0, limit=10, lease=LEASE, per_account=3)
        assert [c.id for c in more] == [b3.id]

    async def test_blocked_until_holds_an_account(self, store: Store) -> None:
        await self.add_one(store, account="a")
        until = T0 + 30 * SEC
        await store.set_budget(Budget(account_id="a", blocked_until=until), now=T0)
        assert await store.claim("w", now=T0, limit=5, lease=LEASE) == []
        assert await store.next_due(now=T0) == until
        assert len(await store.claim("w", now=until, limit=5, lease=LEASE)) == 1

    async def test_clear_budget_lifts_an_accounts_hold(self, store: Store) -> None:
        """A person clears account a's budgets (every scope): its post is claimable at
        once, other accounts' budgets stay, the log names who and why with what was
        dropped, and subscribers (sleeping workers) hear of it. A second clear finds
        nothing and logs nothing."""
        await self.add_one(store, account="a")
        until = T0 + dt.timedelta(days=1)
        reset = T0 + dt.timedelta(hours=1)
        await store.set_budget(Budget(account_id="a", blocked_until=until), now=T0)
        await store.set_budget(Budget(account_id="a", remaining=0, reset_at=reset), now=T0)
        await store.set_budget(Budget(account_id="a", scope="media", blocked_until=until), now=T0)
        await store.set_budget(Budget(account_id="b", blocked_until=until), now=T0)
        assert await store.claim("w", now=T0, limit=5, lease=LEASE) == []
        assert await store.next_due(now=T0) == until
        woken: list[int] = []
        unsubscribe = store.subscribe(lambda: woken.append(1))
        cleared = await store.clear_budget(
            "default", "a", now=T0 + SEC, actor="ops", reason="the platform lifted the block"
        )
        unsubscribe()
        assert woken
        assert cleared.released == ()
        assert [(b.scope, b.remaining, b.reset_at, b.blocked_until) for b in cleared.budgets] == [
            ("default", 0, reset, until),
            ("media", None, None, until),
        ]
        assert [(b.account_id, b.scope) for b in await store.budgets()] == [("b", "default")]
        assert await store.next_due(now=T0 + SEC) == T0
        assert len(await store.claim("w", now=T0 + SEC, limit=5, lease=LEASE)) == 1
        (event,) = [e for e in await store.events() if e.kind == "rate_limit_cleared"]
        assert (event.workspace, event.account_id, event.publication_id) == ("default", "a", None)
        assert (event.actor, event.reason, event.at) == (
            "ops",
            "the platform lifted the block",
            T0 + SEC,
        )
        assert event.data == {
            "budgets": [
                {
                    "scope": "default",
                    "remaining": 0,
                    "reset_at": reset.isoformat(),
                    "blocked_until": until.isoformat(),
                },
                {"scope": "media", "blocked_until": until.isoformat()},
            ],
            "released": [],
        }
        before = await store.last_event_seq()
        assert not await store.clear_budget("default", "a", now=T0 + SEC)
        assert await store.clear_budget("other", "b", now=T0 + SEC) == ClearedRateLimit()
        assert await store.last_event_seq() == before
        assert len(await store.budgets()) == 1

    async def test_clear_budget_releases_what_waits_for_the_rate_limit(self, store: Store) -> None:
        """In the same transaction as it forgets the budgets (none here: forgotten
        already), clear_budget makes the account's publications waiting in retry_wait
        for a RateLimited due now: logged and returned even with no budget dropped. One
        waiting on another error's backoff, one already due, and another account's keep
        their time."""
        await store.put_revision(POST, now=T0)
        later = T0 + dt.timedelta(days=1)
        ids = await store.add(
            [pub("a", due=T0), pub("a", due=T0), pub("a", due=T0), pub("b", due=T0)], now=T0
        )
        claims = await store.claim("w1", now=T0, limit=10, lease=LEASE, per_account=None)
        assert len(claims) == 4
        await store.mark_publishing(
            [PublishStart(id=c.id, attempt=c.attempt) for c in claims],
            worker="w1",
            now=T0,
            lease=LEASE,
        )
        limited = {"error": "RateLimited", "message": "slow down"}
        transient = {"error": "Transient", "message": "connection refused"}
        waits = dict(
            zip(
                ids,
                [(limited, later), (transient, later), (limited, T0), (limited, later)],
                strict=True,
            )
        )
        await store.apply(
            [
                Transition(
                    id=c.id,
                    expect_state=S.PUBLISHING,
                    expect_attempt=c.attempt,
                    to=S.RETRY_WAIT,
                    run_at=waits[c.id][1],
                    error=waits[c.id][0],
                )
                for c in claims
            ],
            now=T0,
        )
        now = T0 + SEC
        cleared = await store.clear_budget("default", "a", now=now, actor="ops", reason="lifted")
        assert cleared == ClearedRateLimit(budgets=(), released=(ids[0],))
        assert [(await store.get(i)).run_at for i in ids] == [now, later, T0, later]
        (event,) = [e for e in await store.events() if e.kind == "rate_limit_cleared"]
        assert (event.account_id, event.actor, event.reason, event.at) == (
            "a",
            "ops",
            "lifted",
            now,
        )
        assert event.data == {"budgets": [], "released": [ids[0]]}
        moved = (await store.get(ids[0], history=True)).history[-1]
        assert (moved.from_state, moved.to_state, moved.actor, moved.reason) == (
            S.RETRY_WAIT,
            S.RETRY_WAIT,
            "ops",
            "lifted",
        )
        before = await store.last_event_seq()
        assert not await store.clear_budget("default", "a", now=now)
        assert await store.last_event_seq() == before

    async def test_accounts_needing_reauth_wait(self, store: Store) -> None:
        account = Account(id="a", platform="feed", handle="a")
        await store.put_account(account, now=T0)
        pub_id = await self.add_one(store, account="a")
        await store.set_account_status("a", "needs_reauth", now=T0, reason="revoked")
        assert await store.claim("w", now=T0, limit=5, lease=LEASE) == []
        assert await store.next_due(now=T0) is None
        assert (await store.get(pub_id)).state == S.SCHEDULED  # waiting, not failed
        await store.set_account_status("a", "ok", now=T0)
        assert len(await store.claim("w", now=T0, limit=5, lease=LEASE)) == 1

    # -- misfire --------------------------------------------------------------------------

    async def test_one_off_past_grace_is_missed_unless_late_is_allowed(self, store: Store) -> None:
        missed = await self.add_one(store, account="a", grace_s=60)
        late = await self.add_one(store, account="b", grace_s=60, publish_late=True)
        fresh = await self.add_one(store, account="c", grace_s=600)
        nolimit = await self.add_one(store, account="d")
        now = T0 + 120 * SEC
        (moved,) = await store.expire_overdue(now=now, actor="w9")
        p = await store.get(missed, history=True)
        assert moved == Moved(
            id=missed,
            workspace="default",
            account_id="a",
            campaign=None,
            from_state=S.SCHEDULED,
            to_state=S.MISSED,
            attempt=0,
            at=now,
            actor="w9",
            reason=p.history[-1].reason,
        )
        assert p.state == S.MISSED
        assert "grace" in (p.history[-1].reason or "")
        for other in (late, fresh, nolimit):
            assert (await store.get(other)).state == S.SCHEDULED
        assert await store.expire_overdue(now=now) == []

    async def test_a_rule_fires_once_for_its_latest_missed_occurrence(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        day = dt.timedelta(days=1)
        occ = [pub("a", due=T0 + i * day, rule_id="r1", grace_s=300) for i in range(4)]
        other = pub("b", due=T0, rule_id="r1", grace_s=300)
        await store.add([*occ, other], now=T0)
        now = T0 + 2 * day + dt.timedelta(hours=5)  # down for two days and five hours
        missed = await store.expire_overdue(now=now)
        assert [m.id for m in missed] == sorted([occ[0].id, occ[1].id])  # ordered by id
        assert {(m.from_state, m.to_state, m.account_id) for m in missed} == {
            (S.SCHEDULED, S.MISSED, "a")
        }
        assert (await store.get(occ[2].id)).state == S.SCHEDULED  # latest missed: fires late
        assert (await store.get(occ[3].id)).state == S.SCHEDULED  # future
        assert (await store.get(other.id)).state == S.SCHEDULED  # latest for account b
        claims = await store.claim("w", now=now, limit=5, lease=LEASE)
        assert sorted(c.id for c in claims) == sorted([occ[2].id, other.id])

    @pytest.mark.parametrize("per_account", [1, None])
    async def test_a_claim_never_takes_what_the_misfire_policy_would_miss(
        self, store: Store, per_account: int | None
    ) -> None:
        """Claimed before the misfire policy ran (a worker whose account was busy past a
        post's grace period): what the policy will miss is left to it, not sent late."""
        await store.put_revision(POST, now=T0)
        day = dt.timedelta(days=1)
        missed = pub("a", grace_s=60)
        late = pub("b", grace_s=60, publish_late=True)
        fresh = pub("c", due=T0 + day, grace_s=600)
        nolimit = pub("d")
        older = pub("e", due=T0, rule_id="r1", grace_s=60)
        latest = pub("e", due=T0 + day, rule_id="r1", grace_s=60)  # past its grace too
        await store.add([missed, late, fresh, nolimit, older, latest], now=T0)
        now = T0 + day + 120 * SEC
        claims = await store.claim("w", now=now, limit=10, lease=LEASE, per_account=per_account)
        assert {c.id for c in claims} == {late.id, fresh.id, nolimit.id, latest.id}
        moved = await store.expire_overdue(now=now)
        assert {m.id for m in moved} == {missed.id, older.id}

    async def test_retries_are_not_misfires(self, store: Store) -> None:
        pub_id = await self.add_one(store, grace_s=10)
        claim = await self.claim_one(store)
        await store.mark_publishing(
            [PublishStart(id=pub_id, attempt=claim.attempt)], worker="w1", now=T0, lease=LEASE
        )
        await store.transition(
            Transition(
                id=pub_id,
                expect_state=S.PUBLISHING,
                expect_attempt=claim.attempt,
                to=S.RETRY_WAIT,
                run_at=T0 + 300 * SEC,
            ),
            now=T0,
        )
        assert await store.expire_overdue(now=T0 + 400 * SEC) == []

    # -- next due -------------------------------------------------------------------------

    async def test_next_due(self, store: Store) -> None:
        assert await store.next_due(now=T0) is None
        await self.add_one(store, account="a", due=T0 + 50 * SEC)
        await self.add_one(store, account="b", due=T0 + 20 * SEC)
        assert await store.next_due(now=T0) == T0 + 20 * SEC
        claims = await store.claim("w", now=T0 + 20 * SEC, limit=5, lease=LEASE)
        assert len(claims) == 1
        # the claim's lease expiry is pending work too
        assert await store.next_due(now=T0 + 20 * SEC) == T0 + 50 * SEC
        await store.add_metric_tasks([(claims[0].id, T0 + 30 * SEC, "1h")], now=T0)
        assert await store.next_due(now=T0) == T0 + 30 * SEC

    # -- rules ----------------------------------------------------------------------------

    async def test_rules_advance_with_unique_occurrences(self, store: Store) -> None:
        revision = await store.put_revision(POST, now=T0)
        rule = daily_rule(revision)
        await store.add_rule(rule, now=T0)
        with pytest.raises(StoreError, match="r1"):
            await store.add_rule(rule, now=T0)
        assert await store.get_rule("r1") == rule
        batch = [pub("a", due=T0 + i * dt.timedelta(days=1), key=f"r1:a:{i}") for i in range(3)]
        ids = await store.advance_rule(
            "r1", expect_cursor=None, cursor="c3", publications=batch, now=T0, remaining=7
        )
        assert len(ids) == 3
        with pytest.raises(StaleTransition):
            await store.advance_rule(
                "r1", expect_cursor=None, cursor="c4", publications=batch, now=T0
            )
        again = [pub("a", key=f"r1:a:{i}") for i in range(2, 5)]
        ids = await store.advance_rule(
            "r1", expect_cursor="c3", cursor="c5", publications=again, now=T0
        )
        assert len(ids) == 2  # the occurrence already inserted is skipped
        stored = await store.get_rule("r1")
        assert (stored.cursor, stored.remaining, stored.active) == ("c5", 7, True)
        page = await store.list_publications(PublicationQuery(limit=50))
        assert len(page.items) == 5
        await store.set_rule_active("r1", False, now=T0)
        assert await store.list_rules(active=True) == []
        assert [r.id for r in await store.list_rules()] == ["r1"]

    async def test_a_rules_events_name_who_made_and_stopped_it(self, store: Store) -> None:
        revision = await store.put_revision(POST, now=T0)
        await store.add_rule(daily_rule(revision), now=T0, actor="ann")
        await store.set_rule_active("r1", False, now=T0, actor="bob")
        events = [e for e in await store.events(since=0, limit=100) if e.kind == "rule"]
        assert [(e.actor, e.reason) for e in events] == [("ann", "created"), ("bob", "stopped")]

    async def test_a_stopped_rule_is_not_advanced(self, store: Store) -> None:
        """A worker that read the rule before it was stopped creates nothing more."""
        revision = await store.put_revision(POST, now=T0)
        rule = daily_rule(revision)
        await store.add_rule(rule, now=T0)
        await store.set_rule_active("r1", False, now=T0)
        with pytest.raises(StaleTransition, match="stopped"):
            await store.advance_rule(
                "r1", expect_cursor=None, cursor="c1", publications=[pub("a", key="k")], now=T0
            )
        found = (await store.list_publications(PublicationQuery(limit=5))).items
        assert [p.idempotency_key for p in found] == []
        assert (await store.get_rule("r1")).cursor is None

    # -- metrics --------------------------------------------------------------------------

    async def test_metric_tasks_and_series(self, store: Store) -> None:
        a = await self.add_one(store, account="a", campaign="launch")
        b = await self.add_one(store, account="b")
        await store.add_metric_tasks(
            [(a, T0 + 10 * SEC, "1h"), (a, T0 + 20 * SEC, "24h"), (b, T0 + 10 * SEC, "1h")],
            now=T0,
        )
        assert await store.claim_metric_tasks("w", now=T0, limit=5, lease=LEASE) == []
        tasks = await store.claim_metric_tasks("w", now=T0 + 10 * SEC, limit=5, lease=LEASE)
        assert sorted(t.publication_id for t in tasks) == sorted([a, b])
        # leased: another worker gets nothing until the lease expires
        assert await store.claim_metric_tasks("w2", now=T0 + 10 * SEC, limit=5, lease=LEASE) == []
        for task in tasks:
            snap = MetricSnapshot(
                platform="feed",
                account_id=task.account_id,
                post_id="p",
                publication_id=task.publication_id,
                collected_at=T0 + 10 * SEC,
                likes=3 if task.publication_id == a else 1,
            )
            await store.complete_metric_task(task.id, [snap], now=T0 + 10 * SEC)
        (task24,) = await store.claim_metric_tasks("w", now=T0 + 60 * SEC, limit=5, lease=LEASE)
        assert task24.label == "24h"
        await store.complete_metric_task(task24.id, [], now=T0, error="no metrics")
        assert [s.likes for s in await store.metric_series(publication_id=a)] == [3]
        assert [s.likes for s in await store.metric_series(account_id="b")] == [1]
        assert [s.likes for s in await store.metric_series(campaign="launch")] == [3]
        assert len(await store.metric_series()) == 2

    async def test_a_publish_schedules_its_metric_collections_one_after_another(
        self, store: Store
    ) -> None:
        pub_id, claim = await self.sending_one(store)
        hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
        # listed out of order: they are collected in due order
        metrics = (("24h", 86400.0), ("1h", 3600.0), ("7d", 7 * 86400.0))
        record = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt(), metrics=metrics)
        assert await store.record_receipts([record], now=T0) == [True]
        seen = []
        for expected, due in (("1h", T0 + hour), ("24h", T0 + day), ("7d", T0 + 7 * day)):
            assert await store.next_due(now=T0) == due
            # each claimed a little late, before the next one is due: one at a time
            late = due + hour
            (task,) = await store.claim_metric_tasks("w", now=late, limit=5, lease=LEASE)
            assert (task.label, task.due_at, task.publication_id) == (expected, due, pub_id)
            assert task.skipped == ()
            await store.complete_metric_task(task.id, [], now=late)
            await store.complete_metric_task(task.id, [], now=late)  # again: no second next
            seen.append(task.id)
        assert await store.claim_metric_tasks("w", now=T0 + 30 * day, limit=5, lease=LEASE) == []
        assert len(set(seen)) == 3

    async def test_a_snapshot_keeps_the_collection_it_answers(self, store: Store) -> None:
        pub_id, claim = await self.sending_one(store)
        record = ReceiptRecord(
            id=pub_id, attempt=claim.attempt, receipt=receipt(), metrics=(("24h", 86400.0),)
        )
        await store.record_receipts([record], now=T0)
        day = T0 + dt.timedelta(days=1)
        (task,) = await store.claim_metric_tasks("w", now=day, limit=5, lease=LEASE)
        scheduled = MetricSnapshot(
            platform="feed",
            account_id="acme",
            post_id="post-1",
            publication_id=pub_id,
            collected_at=day + 90 * SEC,  # a little late: still the 24 h collection
            after=dt.timedelta(hours=24),
            likes=5,
        )
        ad_hoc = scheduled.model_copy(update={"after": None, "likes": 6})
        odd = scheduled.model_copy(update={"after": dt.timedelta(seconds=5400.25), "likes": 7})
        await store.complete_metric_task(task.id, [scheduled, ad_hoc, odd], now=day)
        series = await store.metric_series(publication_id=pub_id)
        assert [(s.likes, s.after) for s in series] == [
            (5, dt.timedelta(hours=24)),
            (6, None),
            (7, dt.timedelta(seconds=5400.25)),
        ]
        assert series[0] == scheduled

    async def test_a_metric_task_put_back_is_due_again_later_and_keeps_its_place(
        self, store: Store
    ) -> None:
        # a rate limit or a transient error at the +1 h collection: due again later, and
        # the +24 h one still waits for it
        pub_id, claim = await self.sending_one(store)
        metrics = (("1h", 3600.0), ("24h", 86400.0))
        record = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt(), metrics=metrics)
        await store.record_receipts([record], now=T0)
        hour = T0 + dt.timedelta(hours=1)
        (task,) = await store.claim_metric_tasks("w", now=hour, limit=5, lease=LEASE)
        assert task.failures == 0
        again = hour + 10 * SEC
        await store.retry_metric_task(
            task.id, run_at=again, now=hour, error="Transient: refused", count_failure=True
        )
        assert await store.next_due(now=hour) == again
        assert await store.claim_metric_tasks("w", now=again - SEC, limit=5, lease=LEASE) == []
        (back,) = await store.claim_metric_tasks("w2", now=again, limit=5, lease=LEASE)
        assert (back.id, back.label, back.due_at, back.failures) == (task.id, "1h", again, 1)
        later = again + 120 * SEC  # a rate limit: not counted
        await store.retry_metric_task(task.id, run_at=later, now=again, error="RateLimited")
        (back,) = await store.claim_metric_tasks("w", now=later, limit=5, lease=LEASE)
        assert (back.id, back.failures) == (task.id, 1)
        await store.complete_metric_task(task.id, [], now=later)
        # done: putting it back changes nothing
        await store.retry_metric_task(task.id, run_at=later, now=later, error="late")
        day = T0 + dt.timedelta(days=1)
        (next_one,) = await store.claim_metric_tasks("w", now=day, limit=5, lease=LEASE)
        assert (next_one.label, next_one.due_at, next_one.failures) == ("24h", day, 0)
        await store.complete_metric_task(next_one.id, [], now=day)
        assert await store.claim_metric_tasks("w", now=day, limit=5, lease=LEASE) == []
        with pytest.raises(StoreError):
            await store.retry_metric_task(10**9, run_at=day, now=day, error="none")

    async def test_the_metric_collections_of_an_account_a_rate_limit_holds_wait_for_it(
        self, store: Store
    ) -> None:
        # A publish met RateLimited (blocked until a Retry-After), or the account's budget
        # is spent before its reset: its due collections are put back until then, not
        # leased (the worker would ask the platform during the hold).
        blocked = await self.add_one(store, account="blocked", due=T0 + 3600 * SEC)
        spent = await self.add_one(store, account="spent", due=T0 + 3600 * SEC)
        free = await self.add_one(store, account="free", due=T0 + 3600 * SEC)
        media = await self.add_one(store, account="media", due=T0 + 3600 * SEC)
        await store.add_metric_tasks(
            [(p, T0 - SEC, "1h") for p in (blocked, spent, free, media)], now=T0
        )
        until, reset = T0 + 120 * SEC, T0 + 90 * SEC
        await store.set_budget(Budget(account_id="blocked", blocked_until=until), now=T0)
        await store.set_budget(Budget(account_id="spent", remaining=0, reset_at=reset), now=T0)
        # a budget of its own scope holds only the publication that met it
        await store.set_budget(
            Budget(account_id="media", scope="media", blocked_until=until), now=T0
        )
        tasks = await store.claim_metric_tasks("w", now=T0, limit=10, lease=LEASE)
        assert sorted(t.account_id for t in tasks) == ["free", "media"]
        for task in tasks:
            await store.complete_metric_task(task.id, [], now=T0)
        assert await store.next_due(now=T0) == reset  # the spent budget's reset
        assert await store.claim_metric_tasks("w", now=reset - SEC, limit=10, lease=LEASE) == []
        (back,) = await store.claim_metric_tasks("w", now=reset, limit=10, lease=LEASE)
        assert (back.account_id, back.due_at, back.failures) == ("spent", reset, 0)
        assert await store.claim_metric_tasks("w", now=until - SEC, limit=10, lease=LEASE) == []
        (back,) = await store.claim_metric_tasks("w", now=until, limit=10, lease=LEASE)
        assert (back.account_id, back.due_at, back.failures) == ("blocked", until, 0)

    async def test_clear_budget_releases_the_metric_collections_waiting_for_the_limit(
        self, store: Store
    ) -> None:
        """Cleared, the account's collections that wait for the rate limit are due at
        once (counted, in the log): one a claim put back until the hold's end, and one
        put back because its own collection met the limit. One waiting on a transient
        error's backoff, another account's, and one of an account waiting for a person
        keep their time."""
        await store.put_account(Account(id="waiting", platform="feed", handle="w"), now=T0)
        hour, day = 3600 * SEC, 86400 * SEC
        h1, h2, h3 = [await self.add_one(store, account="held", due=T0 + day) for _ in range(3)]
        other = await self.add_one(store, account="other", due=T0 + day)
        waiting = await self.add_one(store, account="waiting", due=T0 + day)
        # h2, h3 and waiting's: claimed, then put back by what their collection met
        await store.add_metric_tasks([(p, T0 - SEC, "1h") for p in (h2, h3, waiting)], now=T0)
        claimed = await store.claim_metric_tasks("w", now=T0, limit=10, lease=LEASE)
        by_pub = {t.publication_id: t.id for t in claimed}
        assert set(by_pub) == {h2, h3, waiting}
        for pub_id, error in (
            (h2, "RateLimited: slow down"),
            (h3, "Transient: refused"),
            (waiting, "RateLimited: slow down"),
        ):
            await store.retry_metric_task(by_pub[pub_id], run_at=T0 + 2 * hour, now=T0, error=error)
        await store.set_account_status("waiting", "needs_reauth", now=T0, reason="revoked")
        until = T0 + day
        for account in ("held", "other", "waiting"):
            await store.set_budget(Budget(account_id=account, blocked_until=until), now=T0)
        # h1's and other's: due now, put back by the claim until the hold's end
        await store.add_metric_tasks([(h1, T0, "1h"), (other, T0, "1h")], now=T0)
        assert await store.claim_metric_tasks("w", now=T0, limit=10, lease=LEASE) == []

        now = T0 + SEC
        cleared = await store.clear_budget("default", "held", now=now, actor="ops")
        assert cleared.metrics_released == 2
        assert cleared.released == ()
        (event,) = [e for e in await store.events() if e.kind == "rate_limit_cleared"]
        assert event.data is not None
        assert event.data["metrics_released"] == 2
        tasks = await store.claim_metric_tasks("w2", now=now, limit=10, lease=LEASE)
        assert sorted(t.publication_id for t in tasks) == sorted([h1, h2])
        assert all(t.due_at == now for t in tasks)
        for task in tasks:
            await store.complete_metric_task(task.id, [], now=now)
        assert await store.clear_budget("default", "held", now=now) == ClearedRateLimit()
        # the transient one at its backoff's end; then the other account's, at its hold's
        (back,) = await store.claim_metric_tasks("w", now=T0 + 2 * hour, limit=10, lease=LEASE)
        assert back.publication_id == h3
        await store.complete_metric_task(back.id, [], now=T0 + 2 * hour)
        assert await store.claim_metric_tasks("w", now=until - SEC, limit=10, lease=LEASE) == []
        (back,) = await store.claim_metric_tasks("w", now=until, limit=10, lease=LEASE)
        assert back.publication_id == other
        await store.complete_metric_task(back.id, [], now=until)
        # the account waiting for a person: a clear releases none of its collections
        cleared = await store.clear_budget("default", "waiting", now=until + SEC)
        assert cleared.metrics_released == 0
        await store.set_account_status("waiting", "ok", now=until + SEC)
        (back,) = await store.claim_metric_tasks("w", now=until + SEC, limit=10, lease=LEASE)
        assert (back.publication_id, back.due_at) == (waiting, T0 + 2 * hour)

    async def test_the_backlog_of_an_account_waiting_for_a_person_does_not_hide_other_work(
        self, store: Store
    ) -> None:
        # An account marked needs_reauth keeps its metric collections (due, not failed)
        # until it is reconnected: however many, they neither hide a healthy account's
        # collection from next_due nor take its place in a claim; reconnected, they come
        # again with their own due times, in order (the SQL stores set them aside in the
        # database, schema 9, so neither call walks them).
        for name in ("waiting", "healthy"):
            await store.put_account(Account(id=name, platform="feed", handle=name), now=T0)
        day = T0 + 86400 * SEC
        waiting = await self.add_one(store, account="waiting", due=day)
        healthy = await self.add_one(store, account="healthy", due=day)
        before = [(waiting, T0 - 3600 * SEC + i * SEC, "1h") for i in range(150)]
        await store.add_metric_tasks(before, now=T0)  # due before the account is marked
        (in_flight,) = await store.claim_metric_tasks("w", now=T0, limit=1, lease=LEASE)
        assert in_flight.due_at == T0 - 3600 * SEC
        await store.set_account_status("waiting", "needs_reauth", now=T0, reason="revoked")
        after = [(waiting, T0 - 1800 * SEC + i * SEC, "24h") for i in range(150)]
        await store.add_metric_tasks(after, now=T0)  # added while it waits
        await store.add_metric_tasks([(healthy, T0 - SEC, "1h")], now=T0)
        # the one in flight when the account was marked is put back while it waits
        await store.retry_metric_task(in_flight.id, run_at=T0, now=T0, error="NeedsReauth")
        assert await store.next_due(now=T0) == T0 - SEC
        (task,) = await store.claim_metric_tasks("w", now=T0, limit=1, lease=LEASE)
        assert (task.account_id, task.due_at) == ("healthy", T0 - SEC)
        await store.complete_metric_task(task.id, [], now=T0)
        assert await store.next_due(now=T0) == day  # the healthy account's publication
        assert await store.claim_metric_tasks("w", now=T0 + 9999 * SEC, limit=5, lease=LEASE) == []
        later = T0 + 60 * SEC
        await store.set_account_status("waiting", "ok", now=later, reason="reconnected")
        assert await store.next_due(now=later) == T0 - 3600 * SEC + SEC
        back = await store.claim_metric_tasks("w", now=later, limit=1000, lease=LEASE)
        expected = [due for _, due, _ in before[1:] + after] + [T0]  # in their order
        assert [(t.account_id, t.due_at) for t in back] == [("waiting", d) for d in expected]

    async def test_a_task_completed_twice_at_once_schedules_its_next_collection_once(
        self, store: Store, peer: Store
    ) -> None:
        # two workers finishing the same collection (one whose lease ran out) together
        pub_id, claim = await self.sending_one(store)
        metrics = (("1h", 3600.0), ("24h", 86400.0))
        record = ReceiptRecord(id=pub_id, attempt=claim.attempt, receipt=receipt(), metrics=metrics)
        await store.record_receipts([record], now=T0)
        late = T0 + dt.timedelta(hours=2)  # before the 24 h one is due (it would be made instead)
        (task,) = await store.claim_metric_tasks("w", now=late, limit=5, lease=LEASE)
        await asyncio.gather(
            store.complete_metric_task(task.id, [], now=late),
            peer.complete_metric_task(task.id, [], now=late),
        )
        late = T0 + dt.timedelta(days=2)
        (later,) = await store.claim_metric_tasks("w", now=late, limit=5, lease=LEASE)
        assert later.label == "24h"
        await store.complete_metric_task(later.id, [], now=late)
        assert await store.claim_metric_tasks("w", now=late, limit=5, lease=LEASE) == []

    # -- events ---------------------------------------------------------------------------

    async def test_event_log_is_ordered_with_a_cursor(self, store: Store) -> None:
        a = await self.add_one(store, account="a")
        await self.add_one(store, account="b")
        events = await store.events()
        assert [e.kind for e in events] == ["created", "created"]
        assert events[0].seq < events[1].seq
        claims = await store.claim("w", now=T0, limit=5, lease=LEASE)
        newer = await store.events(since=events[-1].seq)
        assert [e.kind for e in newer] == ["claimed"] * len(claims)
        assert all(e.seq > events[-1].seq for e in newer)
        assert [e.kind for e in await store.events(publication_id=a)] == ["created", "claimed"]
        assert len(await store.events(limit=1)) == 1

    async def test_the_event_log_of_one_workspace(self, store: Store) -> None:
        await store.put_revision(POST, now=T0)
        mine, theirs = pub("a", workspace="mine"), pub("a", workspace="theirs")
        await store.add([mine, theirs], now=T0)
        await store.pause(PauseScope(kind="all", workspace="theirs"), now=T0)
        only_mine = await store.events(workspace="mine")
        assert [(e.kind, e.publication_id) for e in only_mine] == [("created", mine.id)]
        only_theirs = await store.events(workspace="theirs")
        assert [e.kind for e in only_theirs] == ["created", "pause", "transition"]
        assert {e.workspace for e in only_theirs} == {"theirs"}
        everyone = await store.events()  # every workspace's, in one log
        assert sorted(e.seq for e in everyone) == sorted(e.seq for e in [*only_mine, *only_theirs])
        assert await store.events(publication_id=theirs.id, workspace="mine") == []
        last = await store.last_event_seq()
        assert last == max(e.seq for e in everyone)
        assert [e.seq for e in await store.events(until=only_mine[0].seq)] == [
            e.seq for e in everyone if e.seq <= only_mine[0].seq
        ]
        assert await store.events(since=last) == []

    async def test_subscribers_hear_about_new_work(self, store: Store) -> None:
        calls: list[int] = []
        unsubscribe = store.subscribe(lambda: calls.append(1))
        await self.add_one(store)
        assert calls
        unsubscribe()
        before = len(calls)
        await self.add_one(store, account="other")
        assert len(calls) == before
