"""The vocabulary: content, media, accounts, credentials, campaigns, metrics, receipts."""

from __future__ import annotations

from socialkit.models.account import Account, PostingSlot, Weekday
from socialkit.models.campaign import Campaign, KpiTarget, Money, Objective, UtmParameters
from socialkit.models.content import Draft, DraftPart, Link, PlatformOverride, Post, ThreadPart
from socialkit.models.credentials import Credentials
from socialkit.models.media import Media
from socialkit.models.media_store import (
    LocalMediaStore,
    MediaStore,
    default_media_store,
    set_default_media_store,
)
from socialkit.models.metrics import METRIC_FIELDS, MetricSnapshot
from socialkit.models.problems import Problem
from socialkit.models.receipt import PostRef, Receipt

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
