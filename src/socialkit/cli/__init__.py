"""The ``socialkit`` command: a thin shell over the library.

Each area registers its commands from its own module (``register(app)``), so a module's
heavy imports happen only inside its commands and ``socialkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import typer

__all__ = ["COMMAND_MODULES", "build_app", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "socialkit.cli.platforms",
    "socialkit.cli.posts",
    "socialkit.cli.accounts",
    "socialkit.cli.text",
    "socialkit.cli.schedule",
    "socialkit.cli.upcoming",
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
    return app


def _report_broken(module: str, exc: BaseException) -> None:
    sys.stderr.write(
        f"warning: commands from {module} are unavailable: {type(exc).__name__}: {exc}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from socialkit.cli._app import run

    return run(build_app(), list(sys.argv[1:] if argv is None else argv))
