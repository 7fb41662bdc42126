"""The feed platform says what went wrong in socialkit's error classes, never a raw OSError."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

import socialkit
from socialkit.models.media_store import LocalMediaStore
from socialkit.platforms.feed import FeedPlatform
from tests.conftest import PNG_1x1


def _account(directory: Path) -> socialkit.Account:
    return socialkit.Account(
        id="acme-feed", platform="feed", handle="acme", settings={"directory": str(directory)}
    )


def test_an_unwritable_feed_directory_is_transient_and_names_the_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the feed directory should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        [result] = socialkit.publish_now(socialkit.Post(text="Spring blend"), _account(blocked))
    # Transient: retried with backoff (the same key, so never twice), then failed with
    # this reason; not an UnknownOutcome with an adapter-bug traceback.
    assert isinstance(result.error, socialkit.Transient), result.error
    assert str(blocked) in str(result.error)
    assert "cannot write the feed" in str(result.error)
    assert not [r for r in caplog.records if r.exc_info]
    assert blocked.read_text(encoding="utf-8").startswith("a file")  # nothing overwritten


def test_media_missing_from_the_media_store_is_rejected_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    image = socialkit.Media.from_bytes(PNG_1x1, alt_text="a red dot")
    empty = LocalMediaStore(tmp_path / "empty-store")
    post = socialkit.Post(text="Spring blend", media=(image,))
    [result] = socialkit.publish_now(post, _account(tmp_path / "out"), media=empty)
    assert isinstance(result.error, socialkit.Rejected), result.error
    assert image.sha256 in str(result.error)
    assert "not in the media store" in str(result.error)
    assert not list((tmp_path / "out").glob("posts/*.json"))


def test_a_retry_after_a_failed_rebuild_rebuilds_the_feed(tmp_path: Path) -> None:
    """The entry was written but not the page: the retry with the same key rebuilds it."""
    out = tmp_path / "out"
    ctx_args = {"account": _account(out), "credentials": socialkit.Credentials()}
    draft = socialkit.render(socialkit.Post(text="Spring blend"), "feed", FeedPlatform.capabilities)

    async def publish() -> socialkit.Receipt:
        async with httpx.AsyncClient() as http:
            ctx = socialkit.Context(
                **ctx_args,
                http=http,
                media=LocalMediaStore(tmp_path / "m"),
                idempotency_keys=("pub-1-0",),
            )
            return await FeedPlatform().publish(draft, ctx)

    first = asyncio.run(publish())
    (out / "index.html").unlink()
    (out / "feed.atom").unlink()
    again = asyncio.run(publish())
    assert again.ref == first.ref
    assert len(list((out / "posts").glob("*.json"))) == 1
    assert "Spring blend" in (out / "index.html").read_text(encoding="utf-8")
    assert (out / "feed.atom").is_file()
