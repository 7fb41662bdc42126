"""pytest fixtures for plugin authors, loaded through the ``pytest11`` entry point.

Kept import-light: it must not slow down test runs that do not use socialkit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from socialkit.models.media_store import LocalMediaStore


@pytest.fixture
def socialkit_media_store(tmp_path: Path) -> LocalMediaStore:
    """A fresh :class:`~socialkit.LocalMediaStore` in a temporary directory."""
    from socialkit.models.media_store import LocalMediaStore

    return LocalMediaStore(tmp_path / "socialkit-media")
