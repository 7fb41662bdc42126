"""The scheduling engine: publications and their states, rules in local time, stores.

Names load lazily, so importing :mod:`socialkit.schedule` does not open SQLite or parse
a recurrence until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "AcceleratedClock": "socialkit.schedule.engine.clock",
    "Approval": "socialkit.schedule.publication",
    "ApprovalPolicy": "socialkit.schedule.approval",
    "AsyncScheduler": "socialkit.schedule.scheduler",
    "Clock": "socialkit.schedule.engine.clock",
    "EngineConfig": "socialkit.schedule.engine.config",
    "Event": "socialkit.schedule.publication",
    "ManualClock": "socialkit.schedule.engine.clock",
    "NoApproval": "socialkit.schedule.approval",
    "Occurrence": "socialkit.schedule.rules",
    "OnRequest": "socialkit.schedule.approval",
    "Page": "socialkit.schedule.publication",
    "PastGracePeriod": "socialkit.schedule.engine.grace",
    "PauseScope": "socialkit.schedule.publication",
    "Publication": "socialkit.schedule.publication",
    "PublicationState": "socialkit.schedule.states",
    "RateLimitCleared": "socialkit.schedule.publication",
    "Recurrence": "socialkit.schedule.rules",
    "Recycling": "socialkit.schedule.rules",
    "RequireApproval": "socialkit.schedule.approval",
    "RetryPolicy": "socialkit.schedule.engine.retry",
    "Rule": "socialkit.schedule.recurring",
    "RunStats": "socialkit.schedule.engine.worker",
    "ScheduleRequest": "socialkit.schedule.scheduler",
    "Scheduler": "socialkit.schedule.facade",
    "StateChange": "socialkit.schedule.engine.events",
    "Store": "socialkit.schedule.stores.base",
    "StoredReceipt": "socialkit.schedule.publication",
    "SystemClock": "socialkit.schedule.engine.clock",
    "parse_local": "socialkit.schedule.rules",
    "register_store": "socialkit.schedule.stores",
    "store_from_url": "socialkit.schedule.stores",
    "to_instant": "socialkit.schedule.rules",
}

__all__ = [
    "AcceleratedClock",
    "Approval",
    "ApprovalPolicy",
    "AsyncScheduler",
    "Clock",
    "EngineConfig",
    "Event",
    "ManualClock",
    "NoApproval",
    "Occurrence",
    "OnRequest",
    "Page",
    "PastGracePeriod",
    "PauseScope",
    "Publication",
    "PublicationState",
    "RateLimitCleared",
    "Recurrence",
    "Recycling",
    "RequireApproval",
    "RetryPolicy",
    "Rule",
    "RunStats",
    "ScheduleRequest",
    "Scheduler",
    "StateChange",
    "Store",
    "StoredReceipt",
    "SystemClock",
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
    from socialkit.schedule.approval import ApprovalPolicy, NoApproval, OnRequest, RequireApproval
    from socialkit.schedule.engine.clock import AcceleratedClock, Clock, ManualClock, SystemClock
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.engine.events import StateChange
    from socialkit.schedule.engine.grace import PastGracePeriod
    from socialkit.schedule.engine.retry import RetryPolicy
    from socialkit.schedule.engine.worker import RunStats
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import (
        Approval,
        Event,
        Page,
        PauseScope,
        Publication,
        RateLimitCleared,
        StoredReceipt,
    )
    from socialkit.schedule.recurring import Rule
    from socialkit.schedule.rules import Occurrence, Recurrence, Recycling, parse_local, to_instant
    from socialkit.schedule.scheduler import AsyncScheduler, ScheduleRequest
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.stores import register_store, store_from_url
    from socialkit.schedule.stores.base import Store
