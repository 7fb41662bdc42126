"""The typer app, global options, and the error boundary of every command."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer

from socialkit.cli._usage import masked, usage_message
from socialkit.errors import SocialkitError

if TYPE_CHECKING:
    from socialkit.config import ProjectConfig

__all__ = [
    "STORE_ENV",
    "CliState",
    "emit",
    "fail",
    "make_app",
    "run",
    "say",
    "state",
    "terminal_safe",
]

STORE_ENV = "SOCIALKIT_STORE"
"""The environment variable ``--store`` is read from when it is not on the command line.

Worker processes of ``socialkit run --workers`` get the store this way: the environment
of a process is readable only by its user, its command line by every user (``ps``)."""


@attrs.define
class CliState:
    """Options every command can read through :func:`state`."""

    config_path: str | None = None
    store: str | None = None
    debug: bool = False
    _config: ProjectConfig | None = None

    def config(self) -> ProjectConfig:
        """The project file (loaded once), with ``--store`` applied."""
        if self._config is None:
            from socialkit.config import load_config

            config = load_config(self.config_path)
            if self.store:
                config = config.model_copy(update={"store": self.store})
            self._config = config
        return self._config

    store_option: str = "--store"
    """Where ``store`` came from: ``--store``, or ``$SOCIALKIT_STORE`` when read from it."""

    def store_url(self) -> str:
        """``--store`` or the project's store URL; one no store reads (an unknown scheme,
        a malformed SQLite URL) is a usage error naming where it came from (exit 2)."""
        from socialkit.errors import ConfigError
        from socialkit.schedule.stores import store_from_url

        url = self.store or self.config().store_url()
        try:
            store_from_url(url)  # reads the URL; opens nothing
        except ConfigError as exc:
            where = self.store_option if self.store else "store (in the project file)"
            raise fail(f"{where}: {masked(str(exc))}", code=2) from None
        return url


_STATE = CliState()


def state() -> CliState:
    """The current invocation's options."""
    return _STATE


def make_app() -> typer.Typer:
    app = typer.Typer(
        name="socialkit",
        help="Compose, validate, schedule, publish and measure social media posts.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _options(
        ctx: typer.Context,
        config: Annotated[
            str | None,
            typer.Option(
                "--config",
                "-c",
                metavar="FILE",
                help="Project file (default: ./socialkit.toml or $SOCIALKIT_CONFIG).",
            ),
        ] = None,
        store: Annotated[
            str | None,
            typer.Option(
                "--store",
                metavar="URL",
                envvar=STORE_ENV,
                show_envvar=True,
                help="Store URL, overriding the project file.",
            ),
        ] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                is_eager=True,
                callback=_print_version,
                expose_value=False,
                help="Print socialkit's version and exit.",
            ),
        ] = False,
    ) -> None:
        global _STATE
        source = ctx.get_parameter_source("store")
        from_env = source is not None and source.name == "ENVIRONMENT"
        _STATE = CliState(
            config_path=config,
            store=store,
            debug=debug,
            store_option=f"${STORE_ENV}" if from_env else "--store",
        )

    return app


def _print_version(value: bool) -> None:
    if value:
        import platform

        from socialkit import __version__

        sys.stdout.write(f"socialkit {__version__} (Python {platform.python_version()})\n")
        raise typer.Exit(0)


# C0 controls but tab and line feed, DEL and C1 controls: ESC (and C1's CSI) start the
# terminal's escape sequences, CR and BS overwrite what was printed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with its control characters written out (``\\x1b``), for a terminal.

    Every line of text output goes through it (:func:`say`, :func:`emit`, :func:`fail`):
    a post file, a campaign or a server error can hold ``ESC [2J`` (clear the screen) or
    a sequence that retitles the window or fakes a line, which a terminal would obey.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def counted(count: int, noun: str) -> str:
    """``1 publication``, ``2 publications``: a count with its noun (plural by ``s``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def say(text: str, *, err: bool = False) -> None:
    """Write ``text`` and a line break (if it has none) to stdout, or stderr with ``err``,
    its control characters written out (:func:`terminal_safe`)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(terminal_safe(text if text.endswith("\n") else text + "\n"))


def emit(data: Any, *, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for people."""
    if as_json:
        dumped = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        # JSON escapes C0 controls itself; DEL and C1 (CSI) only inside strings, as \u.
        sys.stdout.write(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped) + "\n")
    elif text is not None:
        say(text)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return an Exit to raise."""
    say(f"error: {message}", err=True)
    return typer.Exit(code)


class _LogLines(logging.Handler):
    """socialkit's log records (warnings and errors) as the CLI's own lines on standard
    error: ``warning: …``, control characters written out and secrets masked as in every
    other line, an exception as its type and message (its traceback with ``--debug``).

    Without it they reached standard error through Python's last-resort handler: the bare
    message, escape sequences and all.
    """

    def __init__(self, *, debug: bool) -> None:
        super().__init__(logging.WARNING)
        self.debug = debug

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = masked(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                if self.debug:
                    text += "\n" + "".join(traceback.format_exception(exc)).rstrip("\n")
                else:
                    text += f" ({type(exc).__name__}: {masked(str(exc))})"
            say(f"{record.levelname.lower()}: {text}", err=True)
        except Exception:
            self.handleError(record)


def _log_lines(debug: bool) -> _LogLines | None:
    """Attach :class:`_LogLines` to the ``socialkit`` logger, unless logging is set up
    already (a handler on the root logger: the caller's configuration decides)."""
    if logging.getLogger().handlers:
        return None
    handler = _LogLines(debug=debug)
    logging.getLogger("socialkit").addHandler(handler)
    return handler


def run(app: typer.Typer, argv: list[str]) -> int:
    """Run ``app``: one clear line and a non-zero code on errors, tracebacks only with
    --debug; socialkit's own warnings as ``warning:`` lines (:class:`_LogLines`)."""
    handler = _log_lines("--debug" in argv)
    try:
        return _run(app, argv)
    finally:
        if handler is not None:
            logging.getLogger("socialkit").removeHandler(handler)


def _run(app: typer.Typer, argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising.
        result = app(args=argv, prog_name="socialkit", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except SocialkitError as exc:
        if debug:
            raise
        say(f"error: {masked(_on_the_command_line(str(exc)))}", err=True)
        return 2
    except Exception as exc:
        if _is_usage_error(exc):
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help
                exc.show()  # type: ignore[attr-defined]
            else:
                say(f"error: {usage_message(exc, argv)}", err=True)
            return int(getattr(exc, "exit_code", 2))
        if debug:
            raise
        say(
            f"error: {type(exc).__name__}: {masked(str(exc))} (run with --debug for details)",
            err=True,
        )
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _on_the_command_line(message: str) -> str:
    """``message`` as the command line words it: the library names its Python argument
    (``publication_id: no publication 'p…' in workspace 'acme'``), every command that takes
    a publication id calls it ``ID``, and ``socialkit list`` shows the ids there are."""
    prefix = "publication_id: no publication "
    if message.startswith(prefix):
        return f"ID: no publication {message.removeprefix(prefix)} (socialkit list lists them)"
    return message


def _is_usage_error(exc: Exception) -> bool:
    """A click usage error (no such command, bad option), raised by click or typer's own copy."""
    import click

    # Recent typer releases carry their own copy of click, whose errors derive from
    # typer.TyperException rather than click's.
    kinds: tuple[type[Exception], ...] = (click.exceptions.ClickException, *_typer_exceptions())
    return isinstance(exc, kinds) and callable(getattr(exc, "show", None))


def _typer_exceptions() -> tuple[type[Exception], ...]:
    base = getattr(typer, "TyperException", None)
    return (base,) if isinstance(base, type) and issubclass(base, Exception) else ()
