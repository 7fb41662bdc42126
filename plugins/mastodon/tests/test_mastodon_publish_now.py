"""End to end through socialkit's own publish path (registry, render, validate, publish)."""

from __future__ import annotations

import pytest
from socialkit_mastodon import Mastodon

import socialkit


class _NoWaitMastodon(Mastodon):
    """The adapter with media checks that do not sleep (the fake's clock moves instead)."""

    def __init__(self) -> None:
        async def sleep(seconds: float) -> None:
            return None

        super().__init__(sleep=sleep)


@pytest.fixture
def registry() -> socialkit.Registry:
    registry = socialkit.Registry(load_entry_points=False)
    registry.register(_NoWaitMastodon, plugin="tests")
    return registry


@pytest.fixture
def provider(make_ctx, account) -> socialkit.MemoryCredentialProvider:
    return socialkit.MemoryCredentialProvider({account.id: make_ctx().credentials})


async def test_a_thread_with_media_reaches_the_server_in_order(
    server, http, account, provider, registry, media_store, png, clock
) -> None:
    server.media_processing_checks = 2
    post = socialkit.Post(
        text="Our spring collection is here.",
        media=(png("Three jackets on a rail"),),
        thread=(
            socialkit.ThreadPart(text="Prices and sizes below.", media=(png("A size chart"),)),
        ),
        content_warning="shopping",
        language="en",
    )
    [result] = await socialkit.apublish_now(
        post,
        account,
        credentials=provider,
        http=http,
        media=media_store,
        registry=registry,
        clock=clock,
    )
    assert result.ok, result.error
    first, second = (server.statuses[ref.id] for ref in result.receipt.parts)
    assert second["in_reply_to_id"] == first["id"]
    assert first["media_attachments"][0]["description"] == "Three jackets on a rail"
    assert second["media_attachments"][0]["description"] == "A size chart"
    assert first["spoiler_text"] == second["spoiler_text"] == "shopping"


async def test_a_post_too_long_for_this_server_is_stopped_before_sending(
    server, http, account, provider, registry, media_store
) -> None:
    server.max_characters = 100
    post = socialkit.Post(text="x" * 150, options={"auto_thread": False})
    [result] = await socialkit.apublish_now(
        post, account, credentials=provider, http=http, media=media_store, registry=registry
    )
    assert isinstance(result.error, socialkit.InvalidPost)
    [problem] = result.problems
    assert (problem.field, problem.limit, problem.value) == ("text", 100, 150)
    assert server.statuses == {}


async def test_a_long_text_is_split_into_a_thread_that_fits_this_server(
    server, http, account, provider, registry, media_store
) -> None:
    server.max_characters = 120
    words = " ".join(f"word{i}" for i in range(60))  # about 410 characters
    [result] = await socialkit.apublish_now(
        socialkit.Post(text=words),
        account,
        credentials=provider,
        http=http,
        media=media_store,
        registry=registry,
    )
    assert result.ok, result.error
    assert len(result.receipt.parts) >= 4
    assert all(len(result.draft.parts[i].text) <= 120 for i in range(len(result.receipt.parts)))


async def test_urls_count_as_the_server_reserves(
    server, http, account, provider, registry, media_store
) -> None:
    """Validation and the server agree: every URL counts characters_reserved_per_url."""
    server.characters_reserved_per_url = 30
    url = "https://example.com/" + "p" * 200
    fits = socialkit.Post(text="a" * 469 + " " + url, options={"auto_thread": False})  # 469+1+30
    [result] = await socialkit.apublish_now(
        fits, account, credentials=provider, http=http, media=media_store, registry=registry
    )
    assert result.ok, result.error

    over = socialkit.Post(text="a" * 470 + " " + url, options={"auto_thread": False})  # 501
    [result] = await socialkit.apublish_now(
        over, account, credentials=provider, http=http, media=media_store, registry=registry
    )
    assert [(p.field, p.limit, p.value) for p in result.problems] == [("text", 500, 501)]
    # and the server itself refuses the same text
    platform = registry.platform("mastodon")
    ctx_draft = socialkit.render(over, "mastodon", Mastodon.capabilities, auto_thread=False)
    with pytest.raises(socialkit.Rejected, match="character limit of 500"):
        await platform.publish(
            ctx_draft,
            socialkit.Context(
                account=account,
                credentials=await provider.load(account),
                http=http,
                media=media_store,
                idempotency_keys=("over",),
            ),
        )


async def test_a_remote_mention_counts_its_username_and_the_content_warning_counts(
    server, http, account, provider, registry, media_store
) -> None:
    """At the limit it goes; one over is stopped before sending, as the server would refuse."""
    mention = "@bob@a.very.long.domain.example.org "  # counted as "@bob " (5)
    posts = {
        "mention": lambda n: socialkit.Post(text=mention + "a" * n),
        "warning": lambda n: socialkit.Post(text="a" * n, content_warning="0123456789"),
    }
    for name, make in posts.items():
        fits = 495 if name == "mention" else 490
        [result] = await socialkit.apublish_now(
            make(fits).model_copy(update={"options": {"auto_thread": False}}),
            account,
            credentials=provider,
            http=http,
            media=media_store,
            registry=registry,
        )
        assert result.ok, (name, result.error)
        [result] = await socialkit.apublish_now(
            make(fits + 1).model_copy(update={"options": {"auto_thread": False}}),
            account,
            credentials=provider,
            http=http,
            media=media_store,
            registry=registry,
        )
        assert [(p.field, p.limit, p.value) for p in result.problems] == [("text", 500, 501)]
    assert len(server.statuses) == 2
