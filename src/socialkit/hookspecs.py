"""The hooks a socialkit plugin can implement.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, found
through the ``socialkit`` entry-point group::

    # pyproject.toml of a plugin distribution
    [project.entry-points.socialkit]
    pigeon = "socialkit_pigeon"

Hooks are synchronous. Registration hooks run once when plugins load. Notification hooks
(added by later layers) fire after the store has committed the change and are
best-effort: an exception in one is logged and ignored, and a process may die between
the commit and the call. Anything that must not miss an event reads the durable event
log instead. Implementations may accept fewer arguments than the spec lists; new
arguments are only ever added as keywords.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialkit.platforms.base import Platform

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "register_platforms"]

PROJECT_NAME = "socialkit"
"""The pluggy project name, which is also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator for a plugin's hook implementations: ``@socialkit.hookimpl``."""


@hookspec
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register platform adapters.

    Args:
        register: call it with each :class:`~socialkit.Platform` subclass the plugin
            provides. The class is checked (name, contract number, capabilities) before it
            is accepted; a class that fails is reported with the plugin and skipped.

    Example::

        @socialkit.hookimpl
        def register_platforms(register):
            register(Pigeon)
    """
