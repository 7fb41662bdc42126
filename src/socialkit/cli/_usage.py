"""Usage errors (found by click while it reads the command line) as one error line.

click prints a usage error in three lines (usage, a hint, ``Error: ...``); the command
line prints every error as one ``error: FIELD: what is wrong (got VALUE)`` line instead,
with a did-you-mean for unknown options and commands and the help to see. Exceptions are
read by class name and attributes, so click's own classes and typer's copy of them are
both understood.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["masked", "usage_message"]

_URL_PASSWORD = re.compile(r"(://[^/@\s:]*:)[^/@\s]+@")

# The global options of `socialkit`, as its help writes them.
_GLOBAL = {
    "--debug": "--debug",
    "--store": "--store URL",
    "--config": "--config FILE",
    "-c": "-c FILE",
    "--version": "--version",
}


def usage_message(exc: Exception, argv: Sequence[str] = ()) -> str:
    """One line for a click usage error: the option or argument, what is wrong, the value
    given (found in ``argv``) and, when the fix is in the help, where to find it.

    A password in a URL among the values (a store URL put where it does not belong) is
    masked: error lines end up in logs."""
    return masked(_usage_message(exc, argv))


def masked(line: str) -> str:
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
        if option in _GLOBAL and command and " " in command:
            # `socialkit list --debug`: the usual place for a flag, but these belong to
            # `socialkit` itself, before the command
            sub = command.split(" ", 1)[1]
            return (
                f"{option}: an option of `socialkit` itself, given before the command: "
                f"`socialkit {_GLOBAL[option]} {sub} …`"
            )
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
