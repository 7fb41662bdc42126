"""Stores: where the engine keeps publications. One protocol, one contract suite.

``store_from_url`` picks the implementation from the URL scheme:

* ``memory://`` — :class:`~socialkit.schedule.stores.memory.MemoryStore`
* ``sqlite:///path.db`` — :class:`~socialkit.schedule.stores.sqlite.SqliteStore`
* ``postgresql://…`` — ``socialkit.schedule.stores.postgres.PostgresStore`` (the
  ``socialkit-engine[postgres]`` extra)

Another implementation registers its scheme with :func:`register_store`.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING

from socialkit.errors import ConfigError
from socialkit.schedule.stores.base import MIN_COMPATIBLE_SCHEMA, SCHEMA_VERSION, Store

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MIN_COMPATIBLE_SCHEMA",
    "SCHEMA_VERSION",
    "Store",
    "mask_url",
    "register_store",
    "store_from_url",
]

_SCHEMES: dict[str, str | Callable[[str], Store]] = {
    "memory": "socialkit.schedule.stores.memory:MemoryStore",
    "sqlite": "socialkit.schedule.stores.sqlite:SqliteStore",
    "postgresql": "socialkit.schedule.stores.postgres:PostgresStore",
    "postgres": "socialkit.schedule.stores.postgres:PostgresStore",
}


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def _after_last_at(text: str) -> str:
    """What follows the last ``@`` of ``text`` (a host, a path), without the query; ``...``
    when a ``?`` or ``#`` comes before that ``@``: then it may be a query's value (a
    ``password=`` holding an ``@``) as well as a host."""
    before, _, after = text.rpartition("@")
    if "?" in before or "#" in before:
        return "..."
    return after.split("?", 1)[0].split("#", 1)[0]


def mask_url(url: str) -> str:
    """``url`` for messages: without its query (which may hold a ``password=``) and with
    any password replaced by ``***``.

    A password is the text after the user name's ``:`` in the URL's host part (up to the
    first ``/``, ``?`` or ``#``), when an ``@`` follows: everything from that ``:`` to the
    last ``@`` of the URL is masked, so a password holding an unencoded ``?``, ``#``,
    ``/`` or ``@`` is masked whole. An ``@`` or ``:`` only in the path or the query
    (``sqlite:///C:/data@home/a.db``, ``memory://?note=a@b``) is no password: the path
    is shown as written. Text that reads both ways is masked (``mysql://host:3306/db?x=a@b``
    may also be the user ``host`` with the password ``3306/db?x=a``: ``mysql://host:***@...``).
    A string without ``://`` (``postgres:/user:pw@host``, a typo) is masked from its
    first ``:`` to its last ``@``.
    """
    scheme, sep, rest = url.partition("://")
    if not _SCHEME.fullmatch(scheme):  # a '://' later on, in a path or a query
        sep = ""
    if not sep:
        head, colon, tail = url.partition(":")
        if colon and "@" in tail:
            return f"{head}:***@{_after_last_at(tail)}"
        return url.split("?", 1)[0].split("#", 1)[0]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    user, colon, _ = rest[:end].partition(":")
    if colon and "@" in rest[len(user) :]:
        return f"{scheme}://{user}:***@{_after_last_at(rest)}"
    return f"{scheme}://{rest.split('?', 1)[0].split('#', 1)[0]}"


def register_store(scheme: str, target: str | Callable[[str], Store]) -> None:
    """Make ``scheme://…`` URLs open a store: ``target`` is ``"module:Class"`` or a
    callable taking the URL."""
    _SCHEMES[scheme.lower()] = target


def store_from_url(url: str) -> Store:
    """The store for ``url`` (not yet opened: ``await store.open()``).

    Raises:
        ConfigError: the scheme is unknown, or its implementation is not installed.
    """
    scheme, sep, _ = url.partition("://")
    target = _SCHEMES.get(scheme.lower()) if sep else None
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(_SCHEMES))
        raise ConfigError(f"unknown store URL {mask_url(url)!r}; known schemes: {known}")
    if not isinstance(target, str):
        return target(url)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = " (install socialkit-engine[postgres])" if scheme.startswith("postgres") else ""
        raise ConfigError(f"the {scheme}:// store is not available{extra}: {exc}") from None
    cls = getattr(module, attr)
    created: Store = cls(url)
    return created
