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

    import typer

    from socialkit.platforms.base import Platform

__all__ = [
    "COMMANDS_GROUP",
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "register_commands",
    "register_platforms",
]

PROJECT_NAME = "socialkit"
"""The pluggy project name, which is also the entry-point group."""

COMMANDS_GROUP = "socialkit.commands"
"""The entry-point group of modules that add commands to the ``socialkit`` command line.

It is separate from :data:`PROJECT_NAME` so that ``socialkit --help`` imports only these
small modules, never the platform adapters and their dependencies.
"""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator for a plugin's hook implementations: ``@socialkit.hookimpl``."""


@hookspec
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register platform adapters.

    Args:
        register: call it with each :class:`~socialkit.Platform` subclass the plugin
            provides. The class is checked (name, contract number, capabilities,
            ``async def`` methods) before it is accepted; a class that fails is reported
            with the plugin and skipped.

    Example::

        @socialkit.hookimpl
        def register_platforms(register):
            register(Pigeon)
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the ``socialkit`` command line.

    Called once when the command line starts, after socialkit's own commands, for each
    module of the ``socialkit.commands`` entry-point group (not the ``socialkit`` group:
    the command line must start without importing every adapter)::

        [project.entry-points."socialkit.commands"]
        pigeon = "socialkit_pigeon.cli"

    Import anything heavy inside the command functions, not at module level, so that
    ``socialkit --help`` stays fast. A command whose name socialkit or an earlier plugin
    already uses is refused with a warning; a module that fails to import or whose hook
    raises is reported in one line and the rest of the command line works.

    Args:
        app: the root ``typer.Typer`` application. Add commands with ``app.command()`` or
            a group with ``app.add_typer()``; a group another plugin created (such as
            ``auth``) can be found in ``app.registered_groups`` and extended.

    Example::

        @socialkit.hookimpl
        def register_commands(app):
            @app.command("pigeon-loft")
            def loft() -> None:
                "Show the loft's pigeons."
    """
