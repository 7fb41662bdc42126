"""Naming fields in error messages: pydantic locations as paths, and "did you mean"."""

from __future__ import annotations

import difflib
import types
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["field_path", "fields_at", "suggest"]


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ``("thread", 1, "text")`` -> ``thread[1].text``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def suggest(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'text'?"`` when a choice is close to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model`` (empty if none).

    ``fields_at(Post, ("thread", 0))`` gives the fields of ``ThreadPart``.
    """
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
            continue
        args = [a for a in typing.get_args(current) if a is not Ellipsis]
        if not args:
            return []
        current = args[-1]  # tuple[X, ...] -> X; dict[str, X] -> X
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation
