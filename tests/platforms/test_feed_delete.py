"""Deleting a feed post: from the directory its receipt names, and never a post not there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import socialkit
from socialkit.platforms.feed import FeedPlatform


def _account(directory: str | None = None) -> socialkit.Account:
    settings = {"directory": directory} if directory else {}
    return socialkit.Account(id="acme-feed", platform="feed", handle="acme", settings=settings)


def _delete(receipt: socialkit.Receipt, account: socialkit.Account) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as http:
            ctx = socialkit.Context(
                account=account,
                credentials=socialkit.Credentials(),
                http=http,
                media=socialkit.default_media_store(),
            )
            await FeedPlatform().delete(receipt, ctx)

    asyncio.run(run())


def _publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> socialkit.Receipt:
    """A post published with the default (relative) directory, from ``tmp_path/project``."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    [result] = socialkit.publish_now(socialkit.Post(text="Spring blend"), _account())
    assert result.ok, result.error
    assert result.receipt is not None
    return result.receipt


def test_delete_from_another_directory_removes_the_post_where_it_was_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = _publish(tmp_path, monkeypatch)
    site = tmp_path / "project" / "socialkit-feed" / "acme"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _delete(receipt, _account())
    assert not (site / "posts" / f"{receipt.ref.id}.json").exists()
    assert "Spring blend" not in (site / "index.html").read_text(encoding="utf-8")
    assert list(elsewhere.iterdir()) == []  # no ./socialkit-feed/acme/ made here
    _delete(receipt, _account())  # again: gone is gone


def test_deleting_an_entry_that_is_not_there_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = _publish(tmp_path, monkeypatch)
    site = tmp_path / "project" / "socialkit-feed" / "acme"
    (site / "posts" / f"{receipt.ref.id}.json").unlink()  # not deleted by socialkit
    with pytest.raises(socialkit.Rejected, match=f"feed entry {receipt.ref.id} is not in"):
        _delete(receipt, _account())
    assert not (site / "deleted").exists()


def test_deleting_from_a_directory_that_is_gone_is_rejected_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = _publish(tmp_path, monkeypatch)
    moved = tmp_path / "moved"
    (tmp_path / "project").rename(moved)
    with pytest.raises(socialkit.Rejected, match="does not exist"):
        _delete(receipt, _account())
    assert not (tmp_path / "project").exists()
    assert (moved / "socialkit-feed" / "acme" / "posts" / f"{receipt.ref.id}.json").exists()


def test_a_receipt_without_a_file_url_uses_the_account_directory(tmp_path: Path) -> None:
    account = _account(str(tmp_path / "feed"))
    [result] = socialkit.publish_now(socialkit.Post(text="hand-made receipt"), account)
    assert result.receipt is not None
    receipt = result.receipt.model_copy(
        update={"parts": (socialkit.PostRef(id=result.receipt.ref.id),)}
    )
    _delete(receipt, account)
    assert not (tmp_path / "feed" / "posts" / f"{receipt.ref.id}.json").exists()


def test_a_receipt_naming_one_part_of_a_thread_deletes_the_whole_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine deletes a thread one part a request, the last part first: the feed
    writes a thread as one entry, so any part of it (or its first comment) takes the
    entry down, and the requests for the other parts find it gone."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    thread = socialkit.Post(
        text="one",
        thread=[socialkit.ThreadPart(text="two"), socialkit.ThreadPart(text="three")],
        first_comment="more below",
    )
    [result] = socialkit.publish_now(thread, _account())
    assert result.receipt is not None
    assert result.receipt.first_comment is not None
    receipt = result.receipt
    site = project / "socialkit-feed" / "acme"
    last = receipt.model_copy(update={"parts": (receipt.parts[-1],)})
    _delete(last, _account())
    assert not (site / "posts" / f"{receipt.ref.id}.json").exists()
    assert "three" not in (site / "index.html").read_text(encoding="utf-8")
    for ref in (receipt.parts[1], receipt.parts[0], receipt.first_comment):
        _delete(receipt.model_copy(update={"parts": (ref,), "first_comment": None}), _account())


def test_a_part_of_an_entry_that_is_not_there_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = _publish(tmp_path, monkeypatch)
    other = receipt.model_copy(update={"parts": (socialkit.PostRef(id="0123456789abcdef0123.1"),)})
    with pytest.raises(socialkit.Rejected, match="feed entry 0123456789abcdef0123 is not in"):
        _delete(other, _account())
