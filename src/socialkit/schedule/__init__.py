"""The scheduling engine: publications and their states, rules in local time, stores.

Names load lazily, so importing :mod:`socialkit.schedule` does not open SQLite or parse
a recurrence until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Approval": "socialkit.schedule.publication",
    "Event": "socialkit.schedule.publication",
    "Occurrence": "socialkit.schedule.rules",
    "Page": "socialkit.schedule.publication",
    "PauseScope": "socialkit.schedule.publication",
    "Publication": "socialkit.schedule.publication",
    "PublicationState": "socialkit.schedule.states",
    "Recurrence": "socialkit.schedule.rules",
    "Recycling": "socialkit.schedule.rules",
    "Rule": "socialkit.schedule.recurring",
    "Store": "socialkit.schedule.stores.base",
    "StoredReceipt": "socialkit.schedule.publication",
    "parse_local": "socialkit.schedule.rules",
    "register_store": "socialkit.schedule.stores",
    "store_from_url": "socialkit.schedule.stores",
    "to_instant": "socialkit.schedule.rules",
}

__all__ = [
    "Approval",
    "Event",
    "Occurrence",
    "Page",
    "PauseScope",
    "Publication",
    "PublicationState",
    "Recurrence",
    "Recycling",
    "Rule",
    "Store",
    "StoredReceipt",
    "parse_local",
    "register_store",
    "store_from_url",
    "to_instant",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'socialkit.schedule' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from socialkit.schedule.publication import (
        Approval,
        Event,
        Page,
        PauseScope,
        Publication,
        StoredReceipt,
    )
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.rules import Occurrence, Recurrence, Recycling, parse_local, to_instant
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.stores import register_store, store_from_url
    from socialkit.schedule.stores.base import Store
