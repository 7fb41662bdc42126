"""What people do to publications, under conditions a review found mishandled: a
rejection counted as an approval, two people deciding or editing at once, a cancel or a
resolve that loses track of what is on the platform, and creation calls that accept
what cannot work (a rule already over, two posts in one slot, wrong argument types).

Each runs on the memory and SQLite stores, and on PostgreSQL when
``SOCIALKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialkit.errors import CredentialsError, StaleTransition, Transient, UnknownOutcome
from socialkit.models.account import PostingSlot
from socialkit.models.content import Post, ThreadPart
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.capabilities import Idempotency
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.approval import RequireApproval
from socialkit.schedule.engine.grace import PastGracePeriod
from socialkit.schedule.scheduler import ScheduleRequest
from socialkit.schedule.states import PublicationState as S
from tests.postgres.support import POSTGRES_URL, SKIP_REASON, fresh_schema
from tests.postgres.support import store_url as postgres_url
from tests.schedule.conftest import START, account, half_sent_thread

POST = Post(text="Our new price is 10 EUR")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/engine.db"
    else:
        if not POSTGRES_URL:
            pytest.skip(SKIP_REASON)
        with fresh_schema() as schema:
            yield postgres_url(schema, clock="caller")


def land_first(scheduler: Any, kind: str, actor: str, other: Any) -> list[str]:
    """Make ``other()`` (another person's action) commit between the read and the write
    of ``actor``'s first ``kind`` transition: the race, made deterministic."""
    store = scheduler.store
    real = store.transition
    raced: list[str] = []

    async def transition(t: Any, *, now: dt.datetime) -> None:
        if t.kind == kind and t.actor == actor and not raced:
            raced.append(t.id)
            await other()
        await real(t, now=now)

    store.transition = transition
    return raced


# -- A: only approvals count, and only those since the latest rejection ------------------


async def test_a_rejection_is_not_counted_as_an_approval(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await scheduler.reject(pub.id, actor="bob", comment="wrong price")
    again = await scheduler.edit(pub.id, POST, actor="cat")  # resubmitted unchanged
    assert (again.state, again.revision) == (S.PENDING_APPROVAL, pub.revision)
    once = await scheduler.approve(pub.id, actor="ann")
    assert once.state == S.PENDING_APPROVAL  # one approval of two; bob's "no" is not a yes
    done = await scheduler.approve(pub.id, actor="dan")
    assert done.state == S.SCHEDULED


async def test_approvals_before_a_rejection_do_not_count_after_it(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await scheduler.approve(pub.id, actor="ann")
    await scheduler.reject(pub.id, actor="bob", comment="wrong price")
    await scheduler.edit(pub.id, POST, actor="cat")  # the same content, submitted again
    after = await scheduler.approve(pub.id, actor="dan")
    assert after.state == S.PENDING_APPROVAL  # ann approved before the rejection
    assert after.approved_by() == ("dan",)  # what the engine counts, not ann's old one
    done = await scheduler.approve(pub.id, actor="ann")
    assert done.state == S.SCHEDULED
    assert done.approved_by() == ("dan", "ann")
    # Every decision stays on record.
    assert [(a.actor, a.decision) for a in done.approvals] == [
        ("ann", "approved"),
        ("bob", "rejected"),
        ("dan", "approved"),
        ("ann", "approved"),
    ]


async def test_approvals_before_a_rejection_of_another_revision_do_not_count(
    make_scheduler, platform
) -> None:
    """ann approves A, it is edited to B, bob rejects B, it is edited back to A: ann's
    approval came before a rejection (and an edit), so it counts no more (review t14)."""
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    a, b = Post(text="Our new price is 10 EUR"), Post(text="Our new price is 1 EUR")
    (pub,) = await scheduler.schedule(a, account(), at=START + HOUR)
    await scheduler.approve(pub.id, actor="ann")
    await scheduler.edit(pub.id, b, actor="eve")
    assert (await scheduler.reject(pub.id, actor="bob")).state == S.DRAFT
    back = await scheduler.edit(pub.id, a, actor="eve")
    assert (back.state, back.revision, back.approved_by()) == (S.PENDING_APPROVAL, pub.revision, ())
    once = await scheduler.approve(pub.id, actor="carol")
    assert (once.state, once.approved_by()) == (S.PENDING_APPROVAL, ("carol",))
    done = await scheduler.approve(pub.id, actor="ann")
    assert (done.state, done.approved_by()) == (S.SCHEDULED, ("carol", "ann"))
    assert [(x.actor, x.decision) for x in done.approvals] == [  # all kept on record
        ("ann", "approved"),
        ("bob", "rejected"),
        ("carol", "approved"),
        ("ann", "approved"),
    ]


async def test_approvals_before_an_edit_do_not_count_when_it_brings_the_content_back(
    make_scheduler, platform
) -> None:
    """An edit A -> B -> A needs approval again: ann's approval of A, given before the
    edits, is void (review t03)."""
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    a, b = Post(text="Our new price is 10 EUR"), Post(text="Our new price is 1 EUR")
    (pub,) = await scheduler.schedule(a, account(), at=START + HOUR)
    assert (await scheduler.approve(pub.id, actor="ann")).approved_by() == ("ann",)
    await scheduler.edit(pub.id, b, actor="eve")
    back = await scheduler.edit(pub.id, a, actor="eve")
    assert (back.revision, back.approved_by()) == (pub.revision, ())
    once = await scheduler.approve(pub.id, actor="bob")
    assert (once.state, once.approved_by()) == (S.PENDING_APPROVAL, ("bob",))
    done = await scheduler.approve(pub.id, actor="ann")
    assert (done.state, done.approved_by()) == (S.SCHEDULED, ("bob", "ann"))
    assert [x.actor for x in done.approvals] == ["ann", "bob", "ann"]


def test_decisions_before_an_edit_are_read_from_the_history() -> None:
    """The latest edit's recorded count wins; an edit event recorded before the count
    was kept is placed by the decisions before it."""
    from socialkit.schedule.publication import Event, decisions_before_edit

    def event(seq: int, kind: str, **data: int) -> Event:
        return Event(seq=seq, at=START, kind=kind, data=dict(data))

    assert decisions_before_edit(()) == 0
    old = [event(1, "created"), event(2, "approved"), event(3, "rejected"), event(4, "edited")]
    assert decisions_before_edit(old) == 2
    assert decisions_before_edit([*old, event(5, "approved"), event(6, "edited")]) == 3
    assert decisions_before_edit([event(1, "approved"), event(2, "edited", decisions=1)]) == 1


# -- B: two people at once ----------------------------------------------------------------


async def test_two_approvals_at_the_same_moment_both_count(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    raced = land_first(scheduler, "approved", "bob", lambda: scheduler.approve(pub.id, actor="ann"))
    done = await scheduler.approve(pub.id, actor="bob")
    assert raced == [pub.id]
    assert done.state == S.SCHEDULED
    assert [(a.actor, a.decision) for a in done.approvals] == [
        ("ann", "approved"),
        ("bob", "approved"),
    ]


async def test_concurrent_approvals_through_the_store_both_count(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=3))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await asyncio.gather(*(scheduler.approve(pub.id, actor=a) for a in ("ann", "bob", "cat")))
    done = await scheduler.get(pub.id)
    assert done.state == S.SCHEDULED
    assert sorted(a.actor for a in done.approvals) == ["ann", "bob", "cat"]


async def test_a_whole_team_approving_at_once_all_count(make_scheduler, platform) -> None:
    platform()
    team = [f"approver-{n}" for n in range(8)]
    scheduler = await make_scheduler(approval=RequireApproval(approvers=len(team)))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await asyncio.gather(*(scheduler.approve(pub.id, actor=a) for a in team))
    done = await scheduler.get(pub.id)
    assert sorted(a.actor for a in done.approvals) == sorted(team)
    assert done.state == S.SCHEDULED


async def test_an_approval_made_meanwhile_is_kept_by_a_rejection(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    land_first(scheduler, "rejected", "bob", lambda: scheduler.approve(pub.id, actor="ann"))
    after = await scheduler.reject(pub.id, actor="bob", comment="wrong price")
    assert after.state == S.DRAFT
    assert [(a.actor, a.decision) for a in after.approvals] == [
        ("ann", "approved"),
        ("bob", "rejected"),
    ]


async def test_an_approval_after_the_post_moved_on_is_refused(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=1))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    land_first(scheduler, "approved", "bob", lambda: scheduler.approve(pub.id, actor="ann"))
    with pytest.raises(StaleTransition, match="it is scheduled"):
        await scheduler.approve(pub.id, actor="bob")  # ann's approval was enough
    after = await scheduler.get(pub.id)
    assert [(a.actor, a.decision) for a in after.approvals] == [("ann", "approved")]


async def test_of_two_edits_at_once_the_second_is_refused(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    first = Post(text="edit A")
    land_first(scheduler, "edited", "bob", lambda: scheduler.edit(pub.id, first, actor="ann"))
    with pytest.raises(StaleTransition, match="edited meanwhile"):
        await scheduler.edit(pub.id, Post(text="edit B"), actor="bob")
    after = await scheduler.get(pub.id)
    assert after.post == first
    assert [(e.kind, e.actor) for e in after.history if e.kind == "edited"] == [("edited", "ann")]


# -- C: a thread half on the platform is not cancelled -----------------------------------


async def test_cancel_refuses_a_thread_whose_first_parts_are_published(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    pub_id = await half_sent_thread(scheduler, server, Transient("connection refused"))
    waiting = await scheduler.get(pub_id)
    assert waiting.state == S.RETRY_WAIT
    (first,) = waiting.checkpoints
    with pytest.raises(StaleTransition, match=rf"already on the platform \({first.id}\).*delete"):
        await scheduler.cancel(pub_id)
    assert (await scheduler.get(pub_id)).state == S.RETRY_WAIT  # nothing changed
    # What the message advises works: publish the rest, then take it all down.
    await scheduler.reschedule(pub_id, at=START + HOUR)
    clock.advance(HOUR)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub_id)).state == S.PUBLISHED
    made = sorted(server.posts)
    assert len(made) == 2
    assert first.id in made
    await scheduler.delete(pub_id)
    assert sorted(server.deleted) == made


async def test_cancel_still_takes_a_thread_of_which_nothing_was_published(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    thread = Post(text="part one", thread=[ThreadPart(text="part two")])
    (pub,) = await scheduler.schedule(thread, account(), at=START)
    server.script(Transient("connection refused"))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.RETRY_WAIT
    assert (await scheduler.cancel(pub.id)).state == S.CANCELLED


# -- D: resolve takes only the whole post's receipt ---------------------------------------


async def unknown_thread(make_scheduler, platform, clock) -> tuple[Any, Any]:
    """A three-part thread whose outcome is unknown and waits for a person."""
    server = platform("fake", Idempotency.NONE)
    scheduler = await make_scheduler()
    thread = Post(text="a", thread=[ThreadPart(text="b"), ThreadPart(text="c")])
    (pub,) = await scheduler.schedule(thread, account(), at=START)
    server.script(UnknownOutcome("the answer was lost"))
    await scheduler.run(until_idle=True)
    clock.advance(scheduler.config.reconcile_delay)
    await scheduler.run(until_idle=True)
    waiting = await scheduler.get(pub.id)
    assert (waiting.state, waiting.attention) == (S.UNKNOWN, "reconcile")
    return scheduler, waiting


def receipt(platform: str = "fake", account_id: str = "acme", parts: int = 3) -> Receipt:
    refs = tuple(PostRef(id=f"post-{n}") for n in range(parts))
    return Receipt(platform=platform, account_id=account_id, parts=refs, published_at=START)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (receipt(platform="twitter"), "for twitter account 'acme'.*for fake account 'acme'"),
        (receipt(account_id="someone-else"), "account 'someone-else'.*fake account 'acme'"),
        (receipt(parts=1), "names 1 part.*a thread of 3.*every part"),
        (receipt(parts=5), "names 5 parts.*a post of 3.*this publication's parts only"),
    ],
)
async def test_resolve_refuses_a_receipt_that_is_not_the_whole_post(
    make_scheduler, platform, clock, given, named
) -> None:
    scheduler, waiting = await unknown_thread(make_scheduler, platform, clock)
    with pytest.raises(ValueError, match=named):
        await scheduler.resolve(waiting.id, published=given)
    after = await scheduler.get(waiting.id)
    assert (after.state, after.receipts) == (S.UNKNOWN, ())  # nothing recorded
    done = await scheduler.resolve(waiting.id, published=receipt())
    assert done.state == S.PUBLISHED
    assert [ref.id for ref in done.receipt.parts] == ["post-0", "post-1", "post-2"]


async def test_resolve_refuses_a_decision_that_is_not_a_bool(
    make_scheduler, platform, clock
) -> None:
    scheduler, waiting = await unknown_thread(make_scheduler, platform, clock)
    with pytest.raises(TypeError, match=r"retry: expected True or False \(got 'no'\)"):
        await scheduler.resolve(waiting.id, retry="no")
    with pytest.raises(TypeError, match="published: expected the post's Receipt"):
        await scheduler.resolve(waiting.id, published="post-0")
    assert (await scheduler.get(waiting.id)).state == S.UNKNOWN


# -- E: a rule that is over before it starts ----------------------------------------------


async def test_recur_refuses_a_rule_whose_occurrences_are_all_past_grace(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    with pytest.raises(PastGracePeriod, match=r"every occurrence.*2025-01-03 09:00 UTC for acme"):
        await scheduler.recur(
            Post(text="new year promo"),
            account(),
            rrule="FREQ=DAILY;COUNT=3;BYHOUR=9;BYMINUTE=0",
            start="2025-01-01 00:00",
            tz="UTC",
        )
    assert await scheduler.rules() == []  # nothing stored
    await scheduler.run(until_idle=True)
    assert (await scheduler.list()).items == ()
    assert server.calls == []


async def test_recur_takes_a_rule_from_the_past_that_goes_on(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        Post(text="daily"),
        account(),
        rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        start="2025-01-01 00:00",
        tz="UTC",
    )
    assert rule.active
    due = [p.due_at for p in (await scheduler.list(rule=rule.id, state="scheduled")).items]
    assert START + HOUR in due  # 09:00 today is still to come
    # Nothing from before the rule existed is created, so nothing stale goes out now.
    assert min(due) == START + HOUR
    await scheduler.run(until_idle=True)
    assert server.calls == []


async def test_without_a_grace_period_a_new_rule_starts_with_its_next_occurrence(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler = await make_scheduler(engine={"grace": None})
    (rule,) = await scheduler.recur(
        Post(text="weekly"),
        account(),
        rrule="FREQ=WEEKLY;BYDAY=FR;BYHOUR=9;BYMINUTE=0",
        start="2025-12-01 00:00",
        tz="UTC",
    )
    await scheduler.run(until_idle=True)
    made = (await scheduler.list(rule=rule.id)).items
    assert made
    assert all(p.due_at > START for p in made)  # none from before the rule existed
    assert server.calls == []
    with pytest.raises(PastGracePeriod, match=r"every occurrence is in the past"):
        await scheduler.recur(
            Post(text="over"),
            account(),
            rrule="FREQ=DAILY;COUNT=3;BYHOUR=9;BYMINUTE=0",
            start="2025-01-01 00:00",
            tz="UTC",
        )


async def test_a_rule_that_ended_during_downtime_still_fires_its_latest_once(
    make_scheduler, platform, clock
) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (rule,) = await scheduler.recur(
        Post(text="three days"),
        account(),
        rrule="FREQ=DAILY;COUNT=3;BYHOUR=9;BYMINUTE=0",
        tz="UTC",
    )
    clock.advance(dt.timedelta(days=30))  # no worker ran while it came and went
    await scheduler.run(until_idle=True)
    states = [p.state for p in (await scheduler.list(rule=rule.id)).items]
    assert states == [S.MISSED, S.MISSED, S.PUBLISHED]
    assert len(server.calls) == 1


# -- F: posts queued at the same moment take a slot each ----------------------------------

SLOTS = (PostingSlot(weekday="mon", time="09:00"), PostingSlot(weekday="thu", time="17:30"))


async def test_queue_calls_at_the_same_moment_take_different_slots(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    a = account("a", timezone="Europe/Berlin", posting_slots=SLOTS)
    b = account("b", timezone="Europe/Berlin", posting_slots=SLOTS)
    await scheduler.add_account(a)
    await scheduler.add_account(b)
    queued = await asyncio.gather(
        *(scheduler.queue(Post(text=f"tip {n}"), "a") for n in range(3)),
        scheduler.queue(Post(text="both, a first"), ["a", "b"]),
        scheduler.queue(Post(text="both, b first"), ["b", "a"]),
    )
    on_a = [p.local_time for p in (await scheduler.list(account="a")).items]
    assert len(on_a) == len(set(on_a)) == 5
    on_b = [p.local_time for p in (await scheduler.list(account="b")).items]
    assert len(on_b) == len(set(on_b)) == 2
    assert sorted(len(pubs) for pubs in queued) == [1, 1, 1, 2, 2]


async def test_an_evergreen_post_and_a_queued_one_take_different_slots(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.add_account(account("a", timezone="Europe/Berlin", posting_slots=SLOTS))
    await asyncio.gather(
        scheduler.queue(Post(text="tip"), "a"),
        scheduler.evergreen(Post(text="evergreen"), "a", every_slots=4),
    )
    on_a = [p.local_time for p in (await scheduler.list(account="a")).items]
    assert sorted(on_a) == [dt.datetime(2026, 3, 5, 17, 30), dt.datetime(2026, 3, 9, 9, 0)]


# -- G: recycling by slots needs slots ----------------------------------------------------


async def test_evergreen_by_slots_refuses_an_account_without_posting_slots(
    make_scheduler, platform
) -> None:
    platform()
    scheduler = await make_scheduler()
    with pytest.raises(ValueError, match="every_slots: account 'ns' has no posting_slots"):
        await scheduler.evergreen(Post(text="ever"), account("ns"), every_slots=2)
    assert await scheduler.rules() == []
    assert (await scheduler.list()).items == ()
    # By days needs no slots; by slots works once the account has them.
    assert (await scheduler.evergreen(Post(text="ever"), "ns", every_days=3)).active
    await scheduler.add_account(account("ns", posting_slots=SLOTS))
    assert (await scheduler.evergreen(Post(text="ever 2"), "ns", every_slots=2)).active


# -- G2: a post waiting to retry, nothing sent, can be edited -------------------------------


class _NoCredentials(MemoryCredentialProvider):
    async def load(self, account: Any) -> Any:
        raise CredentialsError(f"no credentials stored for {account.id}")


class _VaultDown(MemoryCredentialProvider):
    async def load(self, account: Any) -> Any:
        raise Transient("secrets vault unreachable")


@pytest.mark.parametrize("credentials", [_NoCredentials, _VaultDown])
async def test_a_post_waiting_to_retry_with_nothing_sent_can_be_edited(
    make_scheduler, platform, clock, credentials
) -> None:
    """A publication in retry_wait that was never sent (credentials missing: waiting for
    a reconnect; or a transient error before the request) takes an edit: it keeps
    waiting, at the same time, with the new revision (before, the edit failed with an
    internal "retry_wait → retry_wait is not a legal move" StoreError)."""
    platform(requires_credentials=True)
    scheduler = await make_scheduler(credentials=credentials({}))
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    waiting = await scheduler.get(pub.id)
    assert (waiting.state, waiting.sends) == (S.RETRY_WAIT, 0)
    edited = await scheduler.edit(pub.id, Post(text="Fixed a typo"), actor="ann")
    assert (edited.state, edited.run_at, edited.attention) == (
        S.RETRY_WAIT,
        waiting.run_at,
        waiting.attention,
    )
    assert edited.revision == Post(text="Fixed a typo").revision() != pub.revision
    assert (edited.history[-1].kind, edited.history[-1].to_state) == ("edited", S.RETRY_WAIT)


# -- H: an argument of the wrong type is named, not a raw AttributeError ------------------

AT = START + HOUR


@pytest.mark.parametrize(
    ("call", "error", "named"),
    [
        (
            lambda s: s.schedule(POST, account(), at=None),
            TypeError,
            r"^at: expected .*\(got None\)",
        ),
        (lambda s: s.schedule(POST, account(), at=3.5), TypeError, r"^at: .*\(got float 3\.5\)"),
        (
            lambda s: s.schedule(POST, account(), at=AT, grace=3600),
            TypeError,
            r"^grace: expected a datetime\.timedelta.*\(got int 3600\)",
        ),
        (
            lambda s: s.schedule("hello", account(), at=AT),
            TypeError,
            r"^post: .*\(got str 'hello'\)",
        ),
        (lambda s: s.schedule(POST, None, at=AT), TypeError, r"^accounts: .*\(got None\)"),
        (lambda s: s.schedule(POST, ["acme", 7], at=AT), TypeError, r"^accounts\[1\]: .*int 7"),
        (lambda s: s.queue({"text": "x"}, account()), TypeError, r"^post: .*\(got dict"),
        (
            lambda s: s.recur(POST, account(), rrule="FREQ=DAILY", start=5),
            TypeError,
            r"^start: .*\(got int 5\)",
        ),
        (lambda s: s.recur(POST, account(), rrule=None), TypeError, r"^rrule: .*\(got None\)"),
        (
            lambda s: s.evergreen(POST, None, every_days=2),
            TypeError,
            r"^account: expected an Account or an account id \(got None\)",
        ),
        (
            lambda s: s.evergreen(POST, account(), first_at=[], every_days=2),
            TypeError,
            r"^first_at: .*\(got list \[\]\)",
        ),
        (
            lambda s: s.schedule_many([ScheduleRequest(post=POST, accounts=account(), at=None)]),
            TypeError,
            r"^requests\[0\]\.at: .*\(got None\)",
        ),
        (
            lambda s: s.schedule_many([ScheduleRequest(post="x", accounts=account(), at=AT)]),
            TypeError,
            r"^requests\[0\]\.post: .*\(got str 'x'\)",
        ),
    ],
)
async def test_wrong_types_are_named_with_what_is_expected(
    make_scheduler, platform, call, error, named
) -> None:
    platform()
    scheduler = await make_scheduler()
    with pytest.raises(error, match=named):
        await call(scheduler)
    assert (await scheduler.list()).items == ()
    assert await scheduler.rules() == []


async def test_wrong_types_on_a_publication_are_named(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=AT)
    with pytest.raises(TypeError, match=r"^at: .*\(got None\)"):
        await scheduler.reschedule(pub.id, at=None)
    with pytest.raises(TypeError, match=r"^post: .*\(got str 'new text'\)"):
        await scheduler.edit(pub.id, "new text")
    with pytest.raises(TypeError, match=r"^actor: .*\(got None\)"):
        await scheduler.approve(pub.id, actor=None)
    assert (await scheduler.get(pub.id)).due_at == AT  # nothing changed


# Every method that records who did something checks ``actor`` (and ``reason`` or
# ``comment``) before it changes anything (review t02, t12): before, only approve and
# reject did; actor="" went into the history, actor=None raised a raw sqlite3
# IntegrityError on SQLite, and on the memory store a pydantic ValidationError after the
# publication had been cancelled with no event; reason=123 was stored by SQLite.
_ON_A_PUBLICATION = {
    "approve": lambda s, pid, **kw: s.approve(pid, **{"actor": "ann", **kw}),
    "reject": lambda s, pid, **kw: s.reject(pid, **{"actor": "ann", **kw}),
    "edit": lambda s, pid, **kw: s.edit(pid, Post(text="Edited"), **kw),
    "cancel": lambda s, pid, **kw: s.cancel(pid, **kw),
    "delete": lambda s, pid, **kw: s.delete(pid, **kw),
    "reschedule": lambda s, pid, **kw: s.reschedule(pid, at=AT + HOUR, **kw),
    "resolve": lambda s, pid, **kw: s.resolve(pid, abandon=True, **kw),
    "pause": lambda s, pid, **kw: s.pause(**kw),
    "resume": lambda s, pid, **kw: s.resume(**kw),
}
_CREATING = {
    "schedule": lambda s, **kw: s.schedule(POST, account(), at=AT, **kw),
    "schedule_many": lambda s, **kw: s.schedule_many(
        [ScheduleRequest(post=POST, accounts=account(), at=AT)], **kw
    ),
    "queue": lambda s, **kw: s.queue(
        POST, account(posting_slots=[PostingSlot(weekday=0, time=dt.time(9))]), **kw
    ),
    "recur": lambda s, **kw: s.recur(POST, account(), rrule="FREQ=DAILY", **kw),
    "evergreen": lambda s, **kw: s.evergreen(POST, account(), every_days=3, **kw),
    "reconnect": lambda s, **kw: s.reconnect("acme", **kw),
    "stop_rule": lambda s, **kw: s.stop_rule("r-none", **kw),
}
_BAD_ACTORS = [
    (None, TypeError, r"^actor: expected who did it, as text such as 'ann' \(got None\)$"),
    (7, TypeError, r"^actor: expected who did it, .*\(got int 7\)$"),
    ("", ValueError, r"^actor: say who did it, for the history \(got ''\)$"),
    ("  ", ValueError, r"^actor: say who did it, for the history \(got '  '\)$"),
]


async def _untouched(scheduler: Any, pub: Any) -> None:
    after = await scheduler.get(pub.id)
    assert (after.state, after.revision, after.due_at) == (pub.state, pub.revision, pub.due_at)
    assert [e.kind for e in after.history] == ["created"]
    assert await scheduler.pauses() == []


@pytest.mark.parametrize(("actor", "error", "named"), _BAD_ACTORS)
@pytest.mark.parametrize("method", sorted(_ON_A_PUBLICATION))
async def test_every_action_on_a_publication_checks_its_actor(
    make_scheduler, platform, method, actor, error, named
) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=AT, needs_approval=True)
    with pytest.raises(error, match=named):
        await _ON_A_PUBLICATION[method](scheduler, pub.id, actor=actor)
    await _untouched(scheduler, pub)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("approve", "comment"),
        ("reject", "comment"),
        ("cancel", "reason"),
        ("delete", "reason"),
        ("resolve", "reason"),
        ("pause", "reason"),
        ("resume", "reason"),
    ],
)
async def test_a_reason_or_comment_must_be_text(make_scheduler, platform, method, field) -> None:
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=AT, needs_approval=True)
    with pytest.raises(
        TypeError, match=rf"^{field}: expected text, or None for none \(got int 123\)$"
    ):
        await _ON_A_PUBLICATION[method](scheduler, pub.id, **{field: 123})
    await _untouched(scheduler, pub)


@pytest.mark.parametrize(("actor", "error", "named"), _BAD_ACTORS)
@pytest.mark.parametrize("method", sorted(_CREATING))
async def test_every_call_that_creates_or_changes_checks_its_actor(
    make_scheduler, platform, method, actor, error, named
) -> None:
    platform()
    scheduler = await make_scheduler()
    await scheduler.add_account(account())
    before = await scheduler.events()
    with pytest.raises(error, match=named):
        await _CREATING[method](scheduler, actor=actor)
    assert (await scheduler.list()).items == ()
    assert await scheduler.rules() == []
    assert await scheduler.events() == before


async def test_a_revision_prefix_is_refused_by_name(make_scheduler, platform) -> None:
    """approve(revision=<a prefix of the current revision>) said "was edited: ann
    reviewed revision d7d5f0929ea3, it is now at d7d5f0929ea3" (review t12): a prefix is
    now refused as what it is, and the full hash is taken."""
    platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=AT, needs_approval=True)
    prefix = pub.revision[:12]
    with pytest.raises(
        ValueError,
        match=rf"^revision: must be the full hash of the revision you reviewed, 64 hex "
        rf"digits as publication\.revision holds it \(got '{prefix}', 12 characters\); a "
        "prefix is not taken",
    ):
        await scheduler.approve(pub.id, actor="ann", revision=prefix)
    with pytest.raises(TypeError, match=r"^revision: expected the hash .*\(got int 5\)$"):
        await scheduler.approve(pub.id, actor="ann", revision=5)
    assert (await scheduler.get(pub.id)).approvals == ()
    done = await scheduler.approve(pub.id, actor="ann", revision=pub.revision)
    assert done.state == S.SCHEDULED


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (
            lambda s: s.events(since="5"),
            r"^since: expected an event seq, as a whole number \(got str '5'\)$",
        ),
        (lambda s: s.events(since=None), r"^since: .*\(got None\)$"),
        (lambda s: s.events(limit="10"), r"^limit: expected how many events, .*\(got str '10'\)$"),
        (lambda s: s.events(limit=True), r"^limit: .*\(got bool True\)$"),
        (
            lambda s: s.list(limit="10"),
            r"^limit: expected how many publications per page, .*\(got str '10'\)$",
        ),
        (
            lambda s: anext(s.follow(since="5")),
            r"^since: expected an event seq, .*\(got str '5'\)$",
        ),
    ],
)
async def test_an_event_cursor_or_a_limit_of_the_wrong_type_is_named(
    make_scheduler, platform, call, named
) -> None:
    """events(since='5') raised a bare "'<' not supported between instances of 'str'
    and 'int'" (review t12)."""
    platform()
    scheduler = await make_scheduler()
    with pytest.raises(TypeError, match=named):
        await call(scheduler)


async def test_a_date_is_its_local_midnight(make_scheduler, platform) -> None:
    platform()
    scheduler = await make_scheduler()
    acme = account(timezone="Europe/Berlin")
    (by_date,) = await scheduler.schedule(POST, acme, at=dt.date(2026, 3, 3))
    (by_text,) = await scheduler.schedule(Post(text="text"), acme, at="2026-03-03")
    assert by_date.local_time == by_text.local_time == dt.datetime(2026, 3, 3, 0, 0)
    assert by_date.due_at == dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.UTC)
    moved = await scheduler.reschedule(by_date.id, at=dt.date(2026, 3, 4))
    assert moved.local_time == dt.datetime(2026, 3, 4, 0, 0)


async def test_the_same_person_approving_twice_is_refused_and_records_nothing(
    make_scheduler, platform
) -> None:
    # A second approval by the same person counted nothing and said nothing: the
    # publication stayed pending while the approver believed they had done their part.
    platform()
    scheduler = await make_scheduler(approval=RequireApproval(approvers=2))
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await scheduler.approve(pub.id, actor="ann")
    with pytest.raises(StaleTransition) as refused:
        await scheduler.approve(pub.id, actor="ann", comment="again")
    assert str(refused.value) == (
        f"cannot approve publication {pub.id}: ann already approved revision "
        f"{pub.revision[:12]}; each person counts once (1 of 2 approvals, by ann): "
        "another person must approve it"
    )
    after = await scheduler.get(pub.id)
    assert after.state == S.PENDING_APPROVAL
    assert [(a.actor, a.decision) for a in after.approvals] == [("ann", "approved")]
    assert [e.kind for e in after.history].count("approved") == 1
    # Another person completes the quorum.
    done = await scheduler.approve(pub.id, actor="bob")
    assert done.approved_by() == ("ann", "bob")
    assert done.state == S.SCHEDULED
