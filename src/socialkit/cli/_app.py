"""The typer app, global options, and the error boundary of every command."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer

from socialkit.errors import SocialkitError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from socialkit.config import ProjectConfig

__all__ = [
    "STORE_ENV",
    "CliState",
    "emit",
    "fail",
    "load_project",
    "make_app",
    "run",
    "state",
    "usage_message",
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
            config = load_project(self.config_path)
            if self.store:
                config = config.model_copy(update={"store": self.store})
            self._config = config
        return self._config

    def store_url(self) -> str:
        """``--store`` or the project's store URL."""
        return self.store or self.config().store_url()


_STATE = CliState()


def load_project(path: str | Path | None) -> ProjectConfig:
    """:func:`socialkit.config.load_config`, with a file that is not UTF-8 reported as a
    :class:`ConfigError` naming it (one error line, exit 2) like any other bad file."""
    from socialkit.config import find_config, load_config
    from socialkit.errors import ConfigError

    try:
        return load_config(path)
    except UnicodeDecodeError as exc:  # load_config reads the file as UTF-8
        where = path or find_config()
        raise ConfigError(
            f"{where}: not UTF-8 text (byte {exc.start}); a project file is TOML, which is UTF-8"
        ) from None


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
        _STATE = CliState(config_path=config, store=store, debug=debug)

    return app


def _print_version(value: bool) -> None:
    if value:
        import platform

        from socialkit import __version__

        sys.stdout.write(f"socialkit {__version__} (Python {platform.python_version()})\n")
        raise typer.Exit(0)


def emit(data: Any, *, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    elif text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return an Exit to raise."""
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


def run(app: typer.Typer, argv: list[str]) -> int:
    """Run ``app``: one clear line and a non-zero code on errors, tracebacks only with --debug."""
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
        sys.stderr.write(f"error: {_masked(str(exc))}\n")
        return 2
    except Exception as exc:
        if _is_usage_error(exc):
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help
                exc.show()  # type: ignore[attr-defined]
            else:
                sys.stderr.write(f"error: {usage_message(exc, argv)}\n")
            return int(getattr(exc, "exit_code", 2))
        if debug:
            raise
        sys.stderr.write(
            f"error: {type(exc).__name__}: {_masked(str(exc))} (run with --debug for details)\n"
        )
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


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


# -- usage errors -------------------------------------------------------------------------
# click prints a usage error in three lines (usage, a hint, "Error: ..."); the command
# line prints every error as one "error: FIELD: what is wrong (got VALUE)" line instead.
# Exceptions are read by class name and attributes, so click's own classes and typer's
# copy of them are both understood.


_URL_PASSWORD = re.compile(r"(://[^/@\s:]*:)[^/@\s]+@")


def usage_message(exc: Exception, argv: Sequence[str] = ()) -> str:
    """One line for a click usage error: the option or argument, what is wrong, the value
    given (found in ``argv``) and, when the fix is in the help, where to find it.

    A password in a URL among the values (a store URL put where it does not belong) is
    masked: error lines end up in logs."""
    return _masked(_usage_message(exc, argv))


def _masked(line: str) -> str:
    """``line`` with the password of any URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", line)


def _usage_message(exc: Exception, argv: Sequence[str]) -> str:
    ctx = getattr(exc, "ctx", None)
    command = str(ctx.command_path) if ctx is not None else None
    see = f" (see `{command} --help`)" if command else ""
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    if kind == "NoSuchOption":
        option = str(getattr(exc, "option_name", "")) or "option"
        where = f" of `{command}`" if command else ""
        close = sorted(getattr(exc, "possibilities", None) or ())
        guess = f"; did you mean {' or '.join(close)}?" if close else ""
        return f"{option}: no such option{where}{guess}{see}"
    if kind == "MissingParameter" and param is not None:
        extra = None
        with contextlib.suppress(Exception):  # typer's parameters say more (the choices)
            extra = param.get_missing_message(ctx=ctx)
        detail = f"; {_sentence(str(extra))}" if extra else ""
        return f"{_param_name(param)}: required {param.param_type_name} missing{detail}{see}"
    if kind in ("BadParameter", "MissingParameter") and param is not None:
        message = _sentence(str(getattr(exc, "message", exc)))
        given = _given_value(argv, param)
        got = f" (got {given!r})" if given is not None and repr(given) not in message else ""
        return f"{_param_name(param)}: {message}{got}"
    if kind == "BadOptionUsage":
        option = str(getattr(exc, "option_name", ""))
        message = str(getattr(exc, "message", exc))
        if "requires" in message:
            message = "needs a value"
        elif "does not take a value" in message:
            message = "takes no value (it is a switch)"
        else:
            message = _sentence(message)
        return f"{option}: {message}{see}" if option else f"{message}{see}"
    message = _sentence(str(getattr(exc, "message", exc)))
    if ctx is not None and message.startswith("no such command"):
        return _no_such_command(ctx, message) + see
    return message + see


def _param_name(param: Any) -> str:
    """``--older-than`` for an option (its longest name), ``ID`` for an argument."""
    opts = [str(opt) for opt in getattr(param, "opts", None) or ()]
    if param.param_type_name == "option" and opts:
        return max(opts, key=len)
    name = getattr(param, "metavar", None) or getattr(param, "name", None) or "argument"
    return str(name).upper()


def _given_value(argv: Sequence[str], param: Any) -> str | None:
    """The value typed for an option (``--limit 0``, ``--limit=0``, ``-n0``), when it is
    one value; None for an argument or when it cannot be told."""
    if param.param_type_name != "option":
        return None
    names = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
    found: list[str] = []
    for i, token in enumerate(argv):
        if token == "--":
            break
        for name in names:
            if token == name and i + 1 < len(argv):
                found.append(argv[i + 1])
            elif name.startswith("--") and token.startswith(name + "="):
                found.append(token[len(name) + 1 :])
            elif not name.startswith("--") and token.startswith(name) and len(token) > len(name):
                found.append(token[len(name) :])
    return found[0] if len(set(found)) == 1 else None


def _sentence(message: str) -> str:
    """A click or pydantic message as the rest of the line: lower case, no full stop."""
    message = " ".join(message.split()).rstrip(".")  # typer lists choices on lines
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be "):  # pydantic, through typer
        message = "should be " + message.removeprefix("Input should be ")
        message = message.split(", unable to parse", 1)[0]
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return message


def _no_such_command(ctx: Any, message: str) -> str:
    """``'lst': no such command of `socialkit`; did you mean list?``"""
    import ast
    import difflib

    typed = ""
    quoted = re.match(r"""no such command ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", message)
    if quoted is not None:  # the name as click quoted it (its repr)
        with contextlib.suppress(ValueError, SyntaxError):
            typed = str(ast.literal_eval(quoted.group(1)))
    group = ctx.command
    known = sorted(group.list_commands(ctx)) if hasattr(group, "list_commands") else []
    close = difflib.get_close_matches(typed, known, n=3) if typed else []
    guess = f"; did you mean {' or '.join(close)}?" if close else ""
    name = f"{typed!r}: " if typed else ""
    return f"{name}no such command of `{ctx.command_path}`{guess}"
