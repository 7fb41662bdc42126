"""The vocabulary: content, media, accounts, credentials, campaigns, metrics, receipts.

Names are imported from their modules on first use, so ``socialkit.Post`` builds only the
models a post is made of (not accounts, campaigns or the media store).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "METRIC_FIELDS": "socialkit.models.metrics",
    "Account": "socialkit.models.account",
    "Campaign": "socialkit.models.campaign",
    "Credentials": "socialkit.models.credentials",
    "Draft": "socialkit.models.content",
    "DraftPart": "socialkit.models.content",
    "KpiTarget": "socialkit.models.campaign",
    "Link": "socialkit.models.content",
    "LocalMediaStore": "socialkit.models.media_store",
    "MediaMismatch": "socialkit.models.media_store",
    "Media": "socialkit.models.media",
    "MediaStore": "socialkit.models.media_store",
    "MetricSnapshot": "socialkit.models.metrics",
    "Money": "socialkit.models.campaign",
    "Objective": "socialkit.models.campaign",
    "PlatformOverride": "socialkit.models.content",
    "Post": "socialkit.models.content",
    "PostRef": "socialkit.models.receipt",
    "PostingSlot": "socialkit.models.account",
    "Problem": "socialkit.models.problems",
    "Receipt": "socialkit.models.receipt",
    "ThreadPart": "socialkit.models.content",
    "UtmParameters": "socialkit.models.campaign",
    "Weekday": "socialkit.models.account",
    "default_media_store": "socialkit.models.media_store",
    "set_default_media_store": "socialkit.models.media_store",
}

__all__ = [
    "METRIC_FIELDS",
    "Account",
    "Campaign",
    "Credentials",
    "Draft",
    "DraftPart",
    "KpiTarget",
    "Link",
    "LocalMediaStore",
    "Media",
    "MediaMismatch",
    "MediaStore",
    "MetricSnapshot",
    "Money",
    "Objective",
    "PlatformOverride",
    "Post",
    "PostRef",
    "PostingSlot",
    "Problem",
    "Receipt",
    "ThreadPart",
    "UtmParameters",
    "Weekday",
    "default_media_store",
    "set_default_media_store",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'socialkit.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


if TYPE_CHECKING:
    from socialkit.models.account import Account, PostingSlot, Weekday
    from socialkit.models.campaign import Campaign, KpiTarget, Money, Objective, UtmParameters
    from socialkit.models.content import Draft, DraftPart, Link, PlatformOverride, Post, ThreadPart
    from socialkit.models.credentials import Credentials
    from socialkit.models.media import Media
    from socialkit.models.media_store import (
        LocalMediaStore,
        MediaMismatch,
        MediaStore,
        default_media_store,
        set_default_media_store,
    )
    from socialkit.models.metrics import METRIC_FIELDS, MetricSnapshot
    from socialkit.models.problems import Problem
    from socialkit.models.receipt import PostRef, Receipt
