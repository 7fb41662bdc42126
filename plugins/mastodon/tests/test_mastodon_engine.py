"""The scheduling engine end to end through the fake Mastodon server.

The real engine (in-memory store, a manual clock) schedules, claims and publishes through
the adapter; "one status" is checked at the fake server, never in the engine's own books.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from socialkit_mastodon import Mastodon
from socialkit_mastodon.testing import FakeMastodon

import socialkit

if not hasattr(socialkit, "AsyncScheduler"):  # pragma: no cover - an older core
    pytest.skip("this socialkit has no scheduling engine", allow_module_level=True)

AsyncScheduler = socialkit.AsyncScheduler
EngineConfig = socialkit.EngineConfig
ManualClock = socialkit.ManualClock
RetryPolicy = socialkit.RetryPolicy

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
S = socialkit.PublicationState


class _EngineMastodon(Mastodon):
    """The adapter as the registry builds it, with media checks that do not sleep."""

    def __init__(self) -> None:
        async def sleep(seconds: float) -> None:
            return None

        super().__init__(sleep=sleep)


@pytest.fixture
def engine_clock() -> socialkit.ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake(engine_clock: socialkit.ManualClock) -> FakeMastodon:
    return FakeMastodon(clock=engine_clock, media_processing_checks=2)


@pytest.fixture
def engine_registry() -> socialkit.Registry:
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(_EngineMastodon, plugin="tests")
    return registry


@pytest.fixture
async def world(fake, engine_clock, engine_registry, openapi, tmp_path, request) -> Any:
    """A scheduler on the fake server, with one connected account (``EngineConfig``
    options through indirect parametrization)."""
    options = getattr(request, "param", {})
    registry = engine_registry
    account = socialkit.Account(
        id="acme-mastodon",
        platform="mastodon",
        handle="@acme@mastodon.example",
        settings={"instance": fake.base_url},
    )
    provider = socialkit.MemoryCredentialProvider(
        {account.id: {"access_token": fake.issue_token()}}
    )
    media = socialkit.LocalMediaStore(tmp_path / "media")
    transport = httpx.MockTransport(openapi.wrap(fake.handle))
    async with httpx.AsyncClient(transport=transport) as http:
        scheduler = AsyncScheduler(
            "memory://",
            registry=registry,
            credentials=provider,
            media=media,
            http=http,
            clock=engine_clock,
            config=EngineConfig(
                worker_id="w1",
                retry=RetryPolicy(max_attempts=3, multiplier=10, exp_base=2, jitter=0),
                **options,
            ),
            accounts=[account],
        )
        await scheduler.open()
        try:
            yield scheduler, account, media
        finally:
            await scheduler.close()


def _creates(fake: FakeMastodon) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "POST" and r.url.path == "/api/v1/statuses"]


async def test_a_thread_with_media_is_published_by_the_engine(world, fake) -> None:
    scheduler, account, media = world
    photo = media.put_bytes(
        b"\x89PNG\r\n\x1a\n" + b"1" * 64, mime_type="image/png", alt_text="A jacket"
    )
    chart = media.put_bytes(
        b"\x89PNG\r\n\x1a\n" + b"2" * 64, mime_type="image/png", alt_text="Sizes"
    )
    post = socialkit.Post(
        text="New season, new jackets.",
        media=(photo,),
        thread=(socialkit.ThreadPart(text="Sizes and prices:", media=(chart,)),),
    )
    (pub,) = await scheduler.schedule(post, account, at=START)
    await scheduler.run(until_idle=True)

    done = await scheduler.get(pub.id)
    assert done.state == S.PUBLISHED
    parts = done.receipts[-1].receipt.parts
    first, second = (fake.statuses[ref.id] for ref in parts)
    assert second["in_reply_to_id"] == first["id"]
    assert [m["description"] for m in first["media_attachments"]] == ["A jacket"]
    assert [m["description"] for m in second["media_attachments"]] == ["Sizes"]
    assert len({r.headers["Idempotency-Key"] for r in _creates(fake)}) == 2


async def test_a_503_after_the_status_was_created_yields_one_status(
    world, fake, engine_clock
) -> None:
    scheduler, account, _ = world
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (pub,) = await scheduler.schedule(socialkit.Post(text="Exactly once"), account, at=START)
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN
    assert len(fake.statuses) == 1  # the server did create it

    engine_clock.advance(dt.timedelta(minutes=1))  # past the reconcile delay
    await scheduler.run(until_idle=True)
    done = await scheduler.get(pub.id)
    assert done.state == S.PUBLISHED
    creates = _creates(fake)
    assert len(creates) == 2
    assert creates[0].headers["Idempotency-Key"] == creates[1].headers["Idempotency-Key"]
    assert len(fake.statuses) == 1


async def test_an_unknown_outcome_past_the_key_window_is_reconciled(
    world, fake, engine_clock
) -> None:
    scheduler, account, _ = world
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (pub,) = await scheduler.schedule(
        socialkit.Post(text="Still once, hours later"), account, at=START
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN

    engine_clock.advance(dt.timedelta(hours=2))  # the worker was down; the key expired
    await scheduler.run(until_idle=True)
    done = await scheduler.get(pub.id)
    assert len(fake.statuses) == 1, "a second status was created after the key expired"
    assert done.state == S.PUBLISHED


async def test_an_ambiguous_outcome_past_the_key_window_waits_for_a_person(
    world, fake, engine_clock
) -> None:
    scheduler, account, _ = world
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (pub,) = await scheduler.schedule(socialkit.Post(text="Twice the same"), account, at=START)
    await scheduler.run(until_idle=True)
    fake.post_status("Twice the same")  # posted by hand from another app meanwhile
    engine_clock.advance(dt.timedelta(hours=2))
    await scheduler.run(until_idle=True)
    done = await scheduler.get(pub.id)
    assert len(fake.statuses) == 2, "nothing more may be posted"
    assert (done.state, done.attention) == (S.UNKNOWN, "reconcile")


# With no in-flight limit per account: by default A would wait behind B's unknown
# outcome (an account's posts go out in order), and the two could not cross.
@pytest.mark.parametrize("world", [{"per_account": None}], indirect=True)
async def test_an_evergreen_repost_published_meanwhile_is_not_taken_for_the_lost_one(
    world, fake, engine_clock
) -> None:
    # B's answer is lost (503 after the server created it). A, the same text (an
    # evergreen re-post), is published a second later. Hours on, past the key window, B
    # finds two statuses with its text: A's, which the store says A owns, and its own.
    scheduler, account, _ = world
    text = "Our spring guide, still fresh"
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (lost,) = await scheduler.schedule(socialkit.Post(text=text), account, at=START)
    (again,) = await scheduler.schedule(
        socialkit.Post(text=text), account, at=START + dt.timedelta(seconds=1)
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(lost.id)).state == S.UNKNOWN
    engine_clock.advance(dt.timedelta(seconds=1))
    await scheduler.run(until_idle=True)
    owned = (await scheduler.get(again.id)).receipts[-1].receipt.ref.id
    assert len(fake.statuses) == 2

    engine_clock.advance(dt.timedelta(hours=2))  # the key expired before B was looked at
    await scheduler.run(until_idle=True)
    done = await scheduler.get(lost.id)
    assert done.state == S.PUBLISHED, (done.state, done.last_error)
    [own] = [status_id for status_id in fake.statuses if status_id != owned]
    assert done.receipts[-1].receipt.ref.id == own
    assert len(fake.statuses) == 2, "nothing more may be posted"


class _FirstAttemptMastodon(_EngineMastodon):
    """The adapter given ctx.first_attempt_at, as the engine should pass it."""

    async def publish(self, draft: socialkit.Draft, ctx: socialkit.Context) -> socialkit.Receipt:
        if ctx.attempt > 1 and ctx.first_attempt_at is None:
            ctx = ctx.evolve(first_attempt_at=START)  # the first send, in these tests
        return await super().publish(draft, ctx)


async def test_given_the_first_attempt_time_the_engine_reconciles_past_the_window(
    world, fake, engine_clock, engine_registry
) -> None:
    scheduler, account, _ = world
    engine_registry.register(_FirstAttemptMastodon, plugin="tests", replace=True)
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (pub,) = await scheduler.schedule(socialkit.Post(text="Once, hours later"), account, at=START)
    await scheduler.run(until_idle=True)
    engine_clock.advance(dt.timedelta(hours=2))
    await scheduler.run(until_idle=True)
    done = await scheduler.get(pub.id)
    assert done.state == S.PUBLISHED
    assert len(fake.statuses) == 1
    assert done.receipts[-1].receipt.ref.id == next(iter(fake.statuses))
    assert len(_creates(fake)) == 1  # it looked instead of sending again


def test_the_sync_scheduler_publishes_to_mastodon(
    fake, engine_clock, engine_registry, openapi, tmp_path
) -> None:
    """``socialkit.Scheduler`` (the sync facade on socialkit's background loop)."""
    account = socialkit.Account(
        id="acme-mastodon",
        platform="mastodon",
        handle="@acme@mastodon.example",
        settings={"instance": fake.base_url},
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(openapi.wrap(fake.handle)))
    scheduler = socialkit.Scheduler(
        f"sqlite:///{tmp_path}/engine.db",
        registry=engine_registry,
        credentials=socialkit.MemoryCredentialProvider(
            {account.id: {"access_token": fake.issue_token()}}
        ),
        media=socialkit.LocalMediaStore(tmp_path / "media"),
        http=http,
        clock=engine_clock,
        accounts=[account],
    )
    with scheduler:
        (pub,) = scheduler.schedule(
            socialkit.Post(text="Good morning, Tehran", language="fa"),
            account,
            at="2026-03-02 11:30",
            tz="Asia/Tehran",  # 08:00 UTC, the clock's start
        )
        scheduler.run(until_idle=True)
        done = scheduler.get(pub.id)
    asyncio.run(http.aclose())
    assert done.state == S.PUBLISHED
    [status] = fake.statuses.values()
    assert status["language"] == "fa"
    assert done.receipts[-1].receipt.ref.id == status["id"]


async def test_a_bad_option_is_refused_when_scheduled_not_when_due(world, fake) -> None:
    """The adapter's own checks (check_draft) run when a post is validated or scheduled,
    before the server's limits are known: a visibility that does not exist stops it."""
    scheduler, account, _ = world
    post = socialkit.Post(text="Hello", options={"visibility": "everyone"})
    [problem] = socialkit.validate(post, "mastodon", registry=scheduler._registry)
    assert (problem.field, problem.code, problem.value) == (
        "options.visibility",
        "options.invalid",
        "everyone",
    )
    with pytest.raises(socialkit.InvalidPost, match=r"options.visibility: must be one of"):
        await scheduler.schedule(post, account, at=START)
    assert (await scheduler.list()).items == ()  # nothing stored
    assert fake.statuses == {}
    fine = socialkit.Post(text="Hello", options={"visibility": "unlisted"})
    assert len(await scheduler.schedule(fine, account, at=START)) == 1


async def test_a_scheduling_key_with_an_accent_publishes_once_and_its_retry_is_deduplicated(
    world, fake, engine_clock
) -> None:
    scheduler, account, _ = world
    fake.fail_next("POST", "/api/v1/statuses", status=503, after=True)
    (pub,) = await scheduler.schedule(
        socialkit.Post(text="Lançamento"), account, at=START, key="lançamento"
    )
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.UNKNOWN
    assert len(fake.statuses) == 1

    engine_clock.advance(dt.timedelta(minutes=1))
    await scheduler.run(until_idle=True)
    assert (await scheduler.get(pub.id)).state == S.PUBLISHED
    first, retry = _creates(fake)
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"].startswith("sk-")
    assert len(fake.statuses) == 1
