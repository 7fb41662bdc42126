"""Every notification hook the engine declares fires, after commit, with what it says."""

from __future__ import annotations

import datetime as dt
import logging
import types
from pathlib import Path

import pytest

from socialkit.errors import Rejected, UnknownOutcome
from socialkit.hookspecs import hookimpl
from socialkit.models.content import Post
from socialkit.models.receipt import PostRef, Receipt
from socialkit.platforms.capabilities import Idempotency
from socialkit.schedule import hookspecs
from socialkit.schedule.records import ReceiptRecord
from socialkit.schedule.states import PublicationState as S
from tests.schedule.conftest import START, account

POST = Post(text="Hooks")


def recorder(registry, store_for_checks=None):
    seen: list[tuple[str, object]] = []

    @hookimpl
    def publication_state_changed(change):
        seen.append(("changed", change))

    @hookimpl
    def publication_published(change, receipt):
        seen.append(("published", (change, receipt)))

    @hookimpl
    def publication_failed(change, error):
        seen.append(("failed", (change, error)))

    @hookimpl
    def publication_unknown(change, needs_person):
        seen.append(("unknown", (change, needs_person)))

    module = types.ModuleType("hook_recorder")
    for fn in (
        publication_state_changed,
        publication_published,
        publication_failed,
        publication_unknown,
    ):
        setattr(module, fn.__name__, fn)
    registry.register_plugin(module)
    return seen


def test_every_hookspec_is_tested_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "scheduling.md").read_text("utf-8")
    for name in hookspecs.__all__:
        assert f"def test_{name}(" in source, f"hook {name} has no test"
        assert f"`{name}`" in docs, f"hook {name} is not documented in docs/scheduling.md"


async def test_publication_state_changed(make_scheduler, platform, registry) -> None:
    platform()
    scheduler = await make_scheduler()
    seen = recorder(registry)
    (pub,) = await scheduler.schedule(POST, account(), at=START, needs_approval=True)
    await scheduler.approve(pub.id, actor="ann")
    changes = [c for kind, c in seen if kind == "changed"]
    assert [(c.from_state, c.to_state, c.actor) for c in changes] == [
        (S.PENDING_APPROVAL, S.SCHEDULED, "ann")
    ]
    # fired after commit: the store already shows the new state
    assert (await scheduler.get(pub.id)).state == S.SCHEDULED


async def test_publication_published(make_scheduler, platform, registry) -> None:
    platform()
    scheduler = await make_scheduler()
    seen = recorder(registry)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    (change, receipt) = next(value for kind, value in seen if kind == "published")
    assert change.publication_id == pub.id
    assert change.to_state == S.PUBLISHED
    assert receipt.ref.id == "post-1"
    assert [kind for kind, _ in seen] == ["changed", "published"]


async def test_publication_failed(make_scheduler, platform, registry) -> None:
    server = platform()
    server.script(Rejected("spam"))
    scheduler = await make_scheduler()
    seen = recorder(registry)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    (change, error) = next(value for kind, value in seen if kind == "failed")
    assert (change.publication_id, change.to_state) == (pub.id, S.FAILED)
    assert isinstance(error, Rejected)
    assert change.error is not None
    assert change.error["message"] == "spam"


async def test_publication_unknown(make_scheduler, platform, registry, clock) -> None:
    server = platform(idempotency=Idempotency.NONE)
    server.script(UnknownOutcome("timeout"))
    scheduler = await make_scheduler()
    seen = recorder(registry)
    await scheduler.schedule(POST, account(), at=START)
    await scheduler.run(until_idle=True)
    clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    unknowns = [value for kind, value in seen if kind == "unknown"]
    assert [needs for _, needs in unknowns] == [False, True]


async def test_a_failing_hook_is_logged_and_ignored(
    make_scheduler, platform, registry, caplog: pytest.LogCaptureFixture
) -> None:
    platform()
    scheduler = await make_scheduler()

    @hookimpl
    def publication_published(change, receipt):
        raise RuntimeError("webhook down")

    module = types.ModuleType("broken_hook")
    module.publication_published = publication_published  # type: ignore[attr-defined]
    registry.register_plugin(module)
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    assert "hooks are best-effort" in caplog.text


# -- state changes the engine makes outside a publish ------------------------------------

HOUR = dt.timedelta(hours=1)


async def test_a_missed_publication_is_a_state_change(
    make_scheduler, platform, registry, clock
) -> None:
    platform()
    scheduler = await make_scheduler()
    seen = recorder(registry)
    (pub,) = await scheduler.schedule(POST, account(), at=START, grace=HOUR)
    clock.advance(2 * HOUR)  # the worker was down past the grace period
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.MISSED
    changes = [c for kind, c in seen if kind == "changed"]
    assert [(c.publication_id, c.from_state, c.to_state) for c in changes] == [
        (pub.id, S.SCHEDULED, S.MISSED)
    ]


async def test_pause_and_resume_are_state_changes(make_scheduler, platform, registry) -> None:
    platform()
    scheduler = await make_scheduler()
    seen = recorder(registry)
    (pub,) = await scheduler.schedule(POST, account(), at=START + HOUR)
    await scheduler.pause(account="acme", actor="ann", reason="crisis")
    await scheduler.resume(account="acme", actor="ann")
    changes = [c for kind, c in seen if kind == "changed"]
    assert [(c.publication_id, c.from_state, c.to_state, c.actor) for c in changes] == [
        (pub.id, S.SCHEDULED, S.PAUSED, "ann"),
        (pub.id, S.PAUSED, S.SCHEDULED, "ann"),
    ]


async def test_resolve_announces_nothing_when_a_worker_published_it_first(
    make_scheduler, platform, registry
) -> None:
    """A worker's receipt lands between resolve()'s read and its write: the worker's
    process announces the post; resolve() must not announce it a second time."""
    server = platform()
    seen = recorder(registry)
    scheduler = await make_scheduler()
    (pub,) = await scheduler.schedule(POST, account(), at=START)
    server.script(("after", UnknownOutcome("the answer was lost")))
    await scheduler.run(until_idle=True)
    store = scheduler.store
    real = store.record_receipts
    receipt = Receipt(
        platform="fake", account_id="acme", parts=(PostRef(id="post-1"),), published_at=START
    )

    async def a_worker_first(records, *, now):
        if records[0].source == "person":
            current = await store.get(pub.id)
            await real(
                [
                    ReceiptRecord(
                        id=pub.id,
                        attempt=current.attempt,
                        receipt=receipt,
                        source="reconcile",
                        actor="w2",
                    )
                ],
                now=now,
            )
        return await real(records, now=now)

    store.record_receipts = a_worker_first
    seen.clear()
    after = await scheduler.resolve(pub.id, published=receipt, actor="ann")
    assert after.state == S.PUBLISHED
    assert [kind for kind, _ in seen if kind == "published"] == []
