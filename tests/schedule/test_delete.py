"""Taking a published post down: ``Scheduler.delete`` asks the platform first, then records."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from socialkit.errors import (
    AuthExpired,
    StaleTransition,
    Transient,
    UnknownOutcome,
    Unsupported,
)
from socialkit.models.content import Post, ThreadPart
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.credentials import MemoryCredentialProvider
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hello")


async def published(make_scheduler, post: Post = POST, **options):
    scheduler = await make_scheduler(**options)
    (pub,) = await scheduler.schedule(post, account(), at=START)
    await scheduler.run(until_idle=True)
    pub = await scheduler.get(pub.id)
    assert pub.state == S.PUBLISHED
    return scheduler, pub


async def test_delete_removes_every_part_and_records_who_and_why(make_scheduler, platform) -> None:
    server = platform()
    thread = Post(text="One", thread=(ThreadPart(text="Two"), ThreadPart(text="Three")))
    scheduler, pub = await published(make_scheduler, thread)
    ids = [ref.id for ref in pub.receipt.parts]
    assert all(post_id in server.posts for post_id in ids)

    deleted = await scheduler.delete(pub.id, actor="ann", reason="typo in the price")

    assert deleted.state == S.DELETED
    assert server.deleted == ids[::-1]  # replies first
    assert not any(post_id in server.posts for post_id in ids)
    last = deleted.history[-1]
    assert (last.kind, last.actor, last.reason) == ("deleted", "ann", "typo in the price")
    assert (last.from_state, last.to_state) == (S.PUBLISHED, S.DELETED)
    assert last.data == {"post_ids": ids}
    assert deleted.receipts == pub.receipts  # the platform's ids are kept
    assert deleted.is_terminal
    page = await scheduler.list(state="deleted")
    assert [p.id for p in page.items] == [pub.id]


async def test_a_thread_is_deleted_one_part_a_request_its_first_comment_first(
    make_scheduler, platform
) -> None:
    """Each request names one part, the last part first; a first comment goes with the
    first. A refusal part way leaves it published, its history naming the part gone, and
    running it again finishes it without asking for that part again."""
    server = platform()
    thread = Post(text="One", thread=(ThreadPart(text="Two"), ThreadPart(text="Three")))
    scheduler, pub = await published(make_scheduler, thread)
    one, two, three = (ref.id for ref in pub.receipt.parts)
    comment = server.create("comment", "more below", "acme")["id"]
    with_comment = pub.receipt.model_copy(update={"first_comment": PostRef(id=comment)})
    await scheduler.store.record_receipts([_record(pub, with_comment)], now=START)
    asked: list[tuple[tuple[str, ...], str | None]] = []

    def ask(receipt: Receipt) -> None:
        first = receipt.first_comment.id if receipt.first_comment else None
        asked.append((tuple(ref.id for ref in receipt.parts), first))

    server.on_delete = ask
    server.script_delete("ok", Transient("503"))
    with pytest.raises(Transient):
        await scheduler.delete(pub.id)
    assert asked == [((three,), None), ((two,), None)]  # pub's own receipt first
    refused = await scheduler.get(pub.id, history=True)
    assert refused.state == S.PUBLISHED
    assert refused.history[-1].data == {"post_ids": [three], "post_ids_left": [one, two, comment]}
    asked.clear()
    deleted = await scheduler.delete(pub.id)
    assert asked == [((two,), None), ((one,), None), ((three,), comment)]
    assert deleted.state == S.DELETED
    assert deleted.history[-1].data == {"post_ids": [one, two, comment]}


async def test_only_a_published_post_can_be_deleted(make_scheduler, platform) -> None:
    server = platform()
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START + dt.timedelta(hours=1))
    with pytest.raises(StaleTransition, match=r"cannot delete .*: it is scheduled"):
        await scheduler.delete(pub.id)
    assert server.delete_tokens == []  # the platform was not asked
    assert (await scheduler.get(pub.id)).state == S.SCHEDULED


async def test_a_platform_refusal_leaves_it_published(make_scheduler, platform) -> None:
    server = platform()
    scheduler, pub = await published(make_scheduler)
    server.script_delete(Unsupported("fake cannot delete posts"), Transient("503"))
    with pytest.raises(Unsupported, match="cannot delete"):
        await scheduler.delete(pub.id)
    with pytest.raises(Transient):
        await scheduler.delete(pub.id)
    after = await scheduler.get(pub.id, history=True)
    assert after.state == S.PUBLISHED
    assert after.history[-1].kind != "deleted"
    assert server.deleted == []
    # and once the platform answers, it goes
    assert (await scheduler.delete(pub.id)).state == S.DELETED


async def test_a_platform_that_says_it_cannot_delete_is_not_asked(make_scheduler, platform) -> None:
    server = platform(can_delete=False)
    scheduler, pub = await published(make_scheduler)
    with pytest.raises(Unsupported, match="fake cannot delete posts"):
        await scheduler.delete(pub.id)
    assert server.delete_tokens == []
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_deleting_twice_is_refused_without_asking_the_platform(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler, pub = await published(make_scheduler)
    await scheduler.delete(pub.id)
    with pytest.raises(StaleTransition, match="it is deleted"):
        await scheduler.delete(pub.id)
    assert len(server.delete_tokens) == 1


async def test_an_expired_token_is_refreshed_once(make_scheduler, platform) -> None:
    server = platform(requires_credentials=True)
    provider = MemoryCredentialProvider({"acme": {"token": "old"}})
    scheduler, pub = await published(make_scheduler, credentials=provider)
    server.script_delete(AuthExpired("token expired", status_code=401))
    assert (await scheduler.delete(pub.id)).state == S.DELETED
    assert server.delete_tokens == ["old", "fresh-1"]


async def test_every_distinct_receipt_is_deleted(make_scheduler, platform) -> None:
    """A person resolved it with another post's id as well: both go."""
    server = platform()
    scheduler, pub = await published(make_scheduler)
    other = server.create("elsewhere", "Hello", "acme")
    await scheduler.store.record_receipts(
        [
            _record(
                pub,
                Receipt(
                    platform="fake",
                    account_id="acme",
                    parts=(PostRef(id=other["id"]),),
                    published_at=START,
                ),
            ),
            _record(pub, pub.receipt, source="reconcile"),  # the same post again: once
        ],
        now=START,
    )
    await scheduler.delete(pub.id)
    assert sorted(server.deleted) == sorted([pub.receipt.ref.id, other["id"]])


async def test_a_late_receipt_does_not_bring_a_deleted_post_back(make_scheduler, platform) -> None:
    platform()
    scheduler, pub = await published(make_scheduler)
    await scheduler.delete(pub.id)
    [moved] = await scheduler.store.record_receipts(
        [_record(pub, pub.receipt, source="reconcile")], now=START
    )
    assert moved is False
    assert (await scheduler.get(pub.id)).state == S.DELETED


async def test_a_post_that_went_live_after_the_delete_waits_for_a_person(
    make_scheduler, platform
) -> None:
    """A worker that lost its lease recorded another post after the deletion: the
    publication stays deleted, asks for a person, and deleting again takes that post down."""
    server = platform()
    scheduler, pub = await published(make_scheduler)
    await scheduler.delete(pub.id)
    stray = server.create("stray", "Hello", "acme")
    await scheduler.store.record_receipts([_record(pub, _receipt(stray["id"]))], now=START)
    after = await scheduler.get(pub.id)
    assert (after.state, after.attention) == (S.DELETED, "delete")
    again = await scheduler.delete(pub.id, actor="ann")
    assert (again.state, again.attention) == (S.DELETED, None)
    assert again.history[-1].data == {"post_ids": [stray["id"]]}
    assert server.deleted == [pub.receipt.ref.id, stray["id"]]
    assert stray["id"] not in server.posts


async def test_a_receipt_recorded_while_deleting_is_deleted_too(make_scheduler, platform) -> None:
    server = platform()
    scheduler, pub = await published(make_scheduler)
    stray = server.create("stray", "Hello", "acme")

    async def record_once(receipt: Receipt) -> None:
        if len(server.delete_tokens) == 1:
            await scheduler.store.record_receipts([_record(pub, _receipt(stray["id"]))], now=START)

    server.on_delete = record_once
    deleted = await scheduler.delete(pub.id)
    assert (deleted.state, deleted.attention) == (S.DELETED, None)
    assert deleted.history[-1].data == {"post_ids": [pub.receipt.ref.id, stray["id"]]}
    assert stray["id"] not in server.posts


async def test_a_delete_that_times_out_says_so_and_leaves_it_published(
    make_scheduler, platform
) -> None:
    server = platform()
    scheduler, pub = await published(
        make_scheduler, engine={"publish_timeout": dt.timedelta(milliseconds=20)}
    )
    never = asyncio.Event()
    server.on_delete = lambda receipt: never.wait()
    with pytest.raises(UnknownOutcome, match=rf"deleting publication {pub.id} .*timed out"):
        await scheduler.delete(pub.id)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED


async def test_metrics_are_not_fetched_for_a_deleted_post(make_scheduler, platform, clock) -> None:
    server = platform()
    scheduler, pub = await published(make_scheduler)
    await scheduler.delete(pub.id)
    clock.advance(dt.timedelta(days=8))
    first = await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=1))
    then = await scheduler.run(until_idle=True)
    assert await scheduler.metrics(publication=pub.id) == []
    # the pending collection is closed and the later ones are never scheduled
    assert (first.metric_tasks, then.metric_tasks) == (1, 0)
    assert server.deleted == [pub.receipt.ref.id]


def _receipt(post_id: str) -> Receipt:
    return Receipt(
        platform="fake", account_id="acme", parts=(PostRef(id=post_id),), published_at=START
    )


def _record(pub, receipt: Receipt, *, source: str = "person"):
    from socialkit.schedule.records import ReceiptRecord

    return ReceiptRecord(
        id=pub.id, attempt=pub.attempt, receipt=receipt, source=source, actor="ann"
    )
