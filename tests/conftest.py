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


# -- nothing left in the checkout ------------------------------------------------------------

_ROOT = Path(__file__).parents[1]


def _droppings() -> set[Path]:
    """What a test writing into the working directory, or the default media store, at
    import time or outside its tmp_path, leaves in the checkout."""
    found = {_ROOT / name for name in (".socialkit", "socialkit-feed", "socialkit.db")}
    for parent in ("plugins", "examples"):
        found |= set(_ROOT.glob(f"{parent}/*/.socialkit"))
        found |= set(_ROOT.glob(f"{parent}/*/socialkit-feed"))
    return {path for path in found if path.exists()}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = _droppings()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = sorted(_droppings() - session.config.stash.get(_BEFORE, set()))
    if left:
        names = ", ".join(str(path.relative_to(_ROOT)) for path in left)
        writer = session.config.get_terminal_writer()
        writer.line("")
        writer.line(
            f"error: the tests left {names} in the checkout (a test wrote outside its "
            "tmp_path); remove it and find the test",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[Path]]()
