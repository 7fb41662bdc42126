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


def mask_url(url: str) -> str:
    """``url`` without its query and with any password replaced by ``***``: everything
    between the user name and the last ``@``, so a password holding an unencoded ``?``,
    ``#``, ``/`` or ``@`` is masked whole."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if sep and at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host.split('?', 1)[0].split('#', 1)[0]}"
    return url.split("?", 1)[0].split("#", 1)[0]


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
