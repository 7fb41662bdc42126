"""Review findings on embedding: notification hooks, SQLite paths, fork and unclosed stores."""

from __future__ import annotations

import datetime as dt
import logging
import types
from typing import Any

import pytest

from socialkit import hookimpl
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.events import Notifier, StateChange
from socialkit.schedule.states import PublicationState as S

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
