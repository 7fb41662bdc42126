"""Review findings on embedding: notification hooks, SQLite paths, fork and unclosed stores."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import types
from pathlib import Path
from typing import Any

import pytest

from socialkit import hookimpl
from socialkit.errors import StoreError
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.events import Notifier, StateChange
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores.sqlite import SqliteStore

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

# -- notification hooks -------------------------------------------------------------------


def _plugin(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def _change() -> StateChange:
    return StateChange(
        publication_id="pub-1",
        workspace="default",
        account_id="acme",
        campaign=None,
        from_state=S.PUBLISHING,
        to_state=S.FAILED,
        at=START,
    )


def test_a_failing_hook_does_not_stop_the_other_plugins_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, object]] = []

    def failed(change: StateChange, error: object) -> None:
        seen.append((change.publication_id, error))

    def broken(change: StateChange, error: object) -> None:
        raise KeyError("audit plugin bug")

    def changed(change: StateChange) -> None:
        seen.append(("changed", change.to_state))

    def broken_changed(change: StateChange) -> None:
        raise RuntimeError("webhook down")

    registry = Registry(load_entry_points=False)
    notifier = Notifier(registry)
    registry.register_plugin(_plugin("slack", publication_failed=failed))
    # Registered last, so pluggy's order calls it first.
    registry.register_plugin(
        _plugin("audit", publication_failed=broken, publication_state_changed=broken_changed)
    )
    registry.register_plugin(_plugin("log", publication_state_changed=changed))
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        notifier.failed(_change(), None)
    assert seen == [("changed", S.FAILED), ("pub-1", None)]
    assert "the publication_failed hook of plugin 'audit' failed" in caplog.text
    assert "the publication_state_changed hook of plugin 'audit' failed" in caplog.text
    assert "hooks are best-effort" in caplog.text


def test_a_hook_may_take_fewer_arguments_than_its_spec() -> None:
    seen: list[str] = []

    def failed(change: StateChange) -> None:  # no ``error``
        seen.append(change.publication_id)

    def anything() -> None:
        seen.append("called")

    registry = Registry(load_entry_points=False)
    notifier = Notifier(registry)
    registry.register_plugin(_plugin("one", publication_failed=failed))
    registry.register_plugin(_plugin("two", publication_failed=anything))
    notifier.failed(_change(), None)
    assert sorted(seen) == ["called", "pub-1"]


# -- a SQLite store in a place this process cannot write ----------------------------------


async def test_a_sqlite_file_that_cannot_be_created_is_a_store_error_naming_it(
    tmp_path: Path,
) -> None:
    # A dangling symbolic link fails for root too, unlike a read-only directory.
    target = tmp_path / "gone" / "store.db"
    link = tmp_path / "link.db"
    link.symlink_to(target)
    with pytest.raises(StoreError) as caught:
        await SqliteStore(f"sqlite:///{link}").open()
    message = str(caught.value)
    assert message.startswith(f"cannot open the SQLite store {str(link)!r}: ")
    assert f"its directory {str(tmp_path)!r} must be writable" in message
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


async def test_a_read_only_directory_is_a_store_error_naming_it(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root, which writes to a read-only directory anyway")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match=r"must be writable by this process"):
            await SqliteStore(f"sqlite:///{folder}/store.db").open()
    finally:
        folder.chmod(0o755)
