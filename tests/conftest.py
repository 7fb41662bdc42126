"""Shared fixtures for socialkit's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import socialkit
from socialkit.platforms.registry import reset_registry


@pytest.fixture
def media_store(tmp_path: Path) -> socialkit.LocalMediaStore:
    return socialkit.LocalMediaStore(tmp_path / "media")


@pytest.fixture(autouse=True)
def _isolated_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own working directory and default media store."""
    monkeypatch.chdir(tmp_path)
    socialkit.set_default_media_store(tmp_path / ".socialkit" / "media")
    yield
    socialkit.set_default_media_store(None)
    reset_registry(None)


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2216bc80000000049454e44ae426082"
)
