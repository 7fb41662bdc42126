"""The ``socialkit`` command: a thin shell over the library.

Each area registers its commands from its own module (``register(app)``), so a module's
heavy imports happen only inside its commands and ``socialkit --help`` stays fast.
Plugins add commands through the ``register_commands`` hook, found in the
``socialkit.commands`` entry-point group (see :mod:`socialkit.hookspecs`).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import typer

__all__ = ["COMMAND_MODULES", "add_plugin_commands", "build_app", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "socialkit.cli.platforms",
    "socialkit.cli.posts",
    "socialkit.cli.accounts",
    "socialkit.cli.text",
    "socialkit.cli.schedule",
    "socialkit.cli.people",
    "socialkit.cli.run",
    "socialkit.cli.upcoming",
    "socialkit.cli.rules",
    "socialkit.cli.store",
    "socialkit.cli.demo",
)


def build_app() -> typer.Typer:
    """The typer application with every command module's commands."""
    from socialkit.cli._app import make_app

    app = make_app()
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
            module.register(app)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the area has no commands in this install
                continue
            _report_broken(name, exc)
        except Exception as exc:
            # One broken area must not take the whole command line down.
            _report_broken(name, exc)
    add_plugin_commands(app)
    return app


def add_plugin_commands(
    app: typer.Typer, plugins: Iterable[tuple[str, object]] | None = None
) -> None:
    """Call every ``register_commands`` hook on ``app``.

    Args:
        app: the command line to extend.
        plugins: ``(name, module)`` pairs to use instead of the ``socialkit.commands``
            entry-point group (tests pass their own).

    Loading honours ``SOCIALKIT_LOAD_PLUGINS`` and ``SOCIALKIT_DISABLED_PLUGINS`` by
    entry-point name. A plugin that fails, or that adds a command whose name is already
    taken, is reported in one line on standard error and the others still load.
    """
    import pluggy

    from socialkit import hookspecs
    from socialkit.cli._app import say

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name, plugin in _command_plugins() if plugins is None else plugins:
        before = _names(app)
        try:
            manager.register(plugin, name=name)
            impls = [
                impl
                for impl in manager.hook.register_commands.get_hookimpls()
                if impl.plugin is plugin
            ]
            for impl in impls:
                impl.function(**({"app": app} if "app" in impl.argnames else {}))
        except Exception as exc:
            _report_broken(f"plugin {name!r}", exc)
            _drop_new(app, before)
            if manager.is_registered(plugin):
                manager.unregister(plugin)
            continue
        for clash in _drop_new(app, before, only={n for n, _ in before}):
            say(
                f"warning: plugin {name!r} adds a command {clash!r} that already exists; "
                "its version is ignored",
                err=True,
            )


def _command_plugins() -> list[tuple[str, object]]:
    from importlib.metadata import entry_points

    from socialkit.hookspecs import COMMANDS_GROUP

    only = _env_names("SOCIALKIT_LOAD_PLUGINS")
    disabled = _env_names("SOCIALKIT_DISABLED_PLUGINS") or set()
    loaded: list[tuple[str, object]] = []
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        if (only is not None and ep.name not in only) or ep.name in disabled:
            continue
        try:
            loaded.append((ep.name, ep.load()))
        except Exception as exc:
            _report_broken(f"plugin {ep.name!r}", exc)
    return loaded


def _env_names(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _command_name(info: Any) -> str:
    if info.name:
        return str(info.name)
    callback = getattr(info, "callback", None)
    return str(getattr(callback, "__name__", "")).replace("_", "-")


def _names(app: typer.Typer) -> list[tuple[str, int]]:
    """Top-level command and group names, with the identity of each registration."""
    commands = [(_command_name(c), id(c)) for c in app.registered_commands]
    groups = [(_command_name(g), id(g)) for g in app.registered_groups]
    return commands + groups


def _drop_new(
    app: typer.Typer, before: list[tuple[str, int]], *, only: set[str] | None = None
) -> list[str]:
    """Remove the registrations added since ``before`` (only those named in ``only``)."""
    old_ids = {ident for _, ident in before}
    dropped: list[str] = []
    for registry in (app.registered_commands, app.registered_groups):
        for info in list(registry):
            name = _command_name(info)
            if id(info) not in old_ids and (only is None or name in only):
                registry.remove(info)  # type: ignore[arg-type]
                dropped.append(name)
    return dropped


def _report_broken(module: str, exc: BaseException) -> None:
    from socialkit.cli._app import say

    say(f"warning: commands from {module} are unavailable: {type(exc).__name__}: {exc}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from socialkit.cli._app import run

    return run(build_app(), list(sys.argv[1:] if argv is None else argv))
