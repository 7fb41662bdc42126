"""ctx.read_media: an attachment's bytes, or socialkit's error classes, never a raw OSError."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

import socialkit
from socialkit.models.media_store import LocalMediaStore
from tests.conftest import PNG_1x1


class _Unreadable(LocalMediaStore):
    def read_bytes(self, media: socialkit.Media) -> bytes:
        raise OSError(5, "Input/output error")

    def open(self, media: socialkit.Media) -> BinaryIO:
        raise OSError(5, "Input/output error")


class _Truncated(LocalMediaStore):
    def read_bytes(self, media: socialkit.Media) -> bytes:
        return super().read_bytes(media)[:-1] if media.size > 1 else b""


def _read(store: LocalMediaStore, media: socialkit.Media) -> bytes:
    async def run() -> bytes:
        async with httpx.AsyncClient() as http:
            ctx = socialkit.Context(
                account=socialkit.Account(id="a", platform="feed", handle="a"),
                credentials=socialkit.Credentials(),
                http=http,
                media=store,
            )
            return await ctx.read_media(media)

    return asyncio.run(run())


def test_stored_bytes_come_back(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    media = store.put_bytes(PNG_1x1)
    assert _read(store, media) == PNG_1x1


def test_missing_bytes_are_rejected_naming_the_media(tmp_path: Path) -> None:
    media = socialkit.Media.from_bytes(PNG_1x1)
    with pytest.raises(socialkit.Rejected, match=media.sha256):
        _read(LocalMediaStore(tmp_path), media)


def test_other_bytes_than_described_are_rejected(tmp_path: Path) -> None:
    store = _Truncated(tmp_path)
    media = store.put_bytes(PNG_1x1)
    with pytest.raises(socialkit.Rejected, match=f"holds {len(PNG_1x1) - 1} bytes, not"):
        _read(store, media)


def test_an_io_error_is_transient(tmp_path: Path) -> None:
    store = _Unreadable(tmp_path)
    media = socialkit.Media.from_bytes(PNG_1x1)
    with pytest.raises(socialkit.Transient, match=r"could not be read: .*Input/output error"):
        _read(store, media)


def test_a_truncated_file_in_the_local_store_is_rejected_not_retried(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    media = store.put_bytes(PNG_1x1)
    stored = next(p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == PNG_1x1)
    stored.write_bytes(PNG_1x1[:10])
    with pytest.raises(
        socialkit.MediaMismatch, match=f"10 bytes in the store, expected {media.size}"
    ):
        store.read_bytes(media)
    with pytest.raises(socialkit.Rejected, match=r"holds other bytes: .*10 bytes"):
        _read(store, media)
