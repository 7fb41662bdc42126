"""socialkit: the engine a social media team's software runs on.

Typed content, campaigns and metrics; platform-accurate text; a scheduler that publishes
exactly once where the platform allows it; and every platform a pluggy plugin.

Names are imported lazily on first use, so ``import socialkit`` stays cheap and the
engine, stores and CLI libraries load only when they are used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

# name -> module that defines it (imported on first attribute access)
_EXPORTS: dict[str, str] = {
    # models
    "Account": "socialkit.models.account",
    "Campaign": "socialkit.models.campaign",
    "Credentials": "socialkit.models.credentials",
    "Draft": "socialkit.models.content",
    "DraftPart": "socialkit.models.content",
    "KpiTarget": "socialkit.models.campaign",
    "Link": "socialkit.models.content",
    "LocalMediaStore": "socialkit.models.media_store",
    "MediaMismatch": "socialkit.models.media_store",
    "METRIC_FIELDS": "socialkit.models.metrics",
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
    # errors
    "AuthExpired": "socialkit.errors",
    "ConfigError": "socialkit.errors",
    "CredentialsError": "socialkit.errors",
    "Forbidden": "socialkit.errors",
    "InvalidPost": "socialkit.errors",
    "NeedsReauth": "socialkit.errors",
    "PlatformError": "socialkit.errors",
    "PluginError": "socialkit.errors",
    "RateLimited": "socialkit.errors",
    "Rejected": "socialkit.errors",
    "SlotTaken": "socialkit.errors",
    "SocialkitError": "socialkit.errors",
    "StaleTransition": "socialkit.errors",
    "StoreError": "socialkit.errors",
    "Transient": "socialkit.errors",
    "UnknownOutcome": "socialkit.errors",
    "UnknownPlatform": "socialkit.errors",
    "Unsupported": "socialkit.errors",
    # platforms
    "AccountIdentity": "socialkit.platforms.base",
    "CONTRACT": "socialkit.platforms.base",
    "CallableCredentialProvider": "socialkit.platforms.credentials",
    "Capabilities": "socialkit.platforms.capabilities",
    "Context": "socialkit.platforms.context",
    "CredentialProvider": "socialkit.platforms.credentials",
    "EnvCredentialProvider": "socialkit.platforms.credentials",
    "FileCredentialProvider": "socialkit.platforms.credentials",
    "Idempotency": "socialkit.platforms.capabilities",
    "MediaLimits": "socialkit.platforms.capabilities",
    "MemoryCredentialProvider": "socialkit.platforms.credentials",
    "Platform": "socialkit.platforms.base",
    "PluginClash": "socialkit.platforms.registry",
    "PluginFailure": "socialkit.platforms.registry",
    "PluginInfo": "socialkit.platforms.registry",
    "PublishResult": "socialkit.platforms.publish",
    "RateLimitReport": "socialkit.platforms.context",
    "Registry": "socialkit.platforms.registry",
    "apublish_now": "socialkit.platforms.publish",
    "get_registry": "socialkit.platforms.registry",
    "publish_now": "socialkit.platforms.publish",
    "render": "socialkit.platforms.render",
    "request_secrets": "socialkit.platforms.scrub",
    "scrub_server_text": "socialkit.platforms.scrub",
    "validate": "socialkit.platforms.validation",
    # text
    "Entity": "socialkit.text.entities",
    "Measurement": "socialkit.text.measure",
    "TextRule": "socialkit.text.rules",
    "extract_entities": "socialkit.text.entities",
    "measure": "socialkit.text.measure",
    # schedule: time (wall times, DST policy, recurrence, slots)
    "Occurrence": "socialkit.schedule.time",
    "Recurrence": "socialkit.schedule.time",
    "Recycling": "socialkit.schedule.time",
    "WallTime": "socialkit.schedule.time",
    "next_free_slot": "socialkit.schedule.time",
    "parse_local": "socialkit.schedule.time",
    "to_instant": "socialkit.schedule.time",
    # schedule: the engine
    "AsyncScheduler": "socialkit.schedule.scheduler",
    "EngineConfig": "socialkit.schedule.engine.config",
    "ManualClock": "socialkit.schedule.engine.clock",
    "Publication": "socialkit.schedule.publication",
    "PublicationState": "socialkit.schedule.states",
    "RateLimitCleared": "socialkit.schedule.publication",
    "RetryPolicy": "socialkit.schedule.engine.retry",
    "Scheduler": "socialkit.schedule.facade",
    # plugins
    "hookimpl": "socialkit.hookspecs",
    # project files
    "ProjectConfig": "socialkit.config",
    "find_config": "socialkit.config",
    "load_config": "socialkit.config",
    # post files
    "PostFile": "socialkit.postfile",
    "load_post_file": "socialkit.postfile",
    "read_post_file": "socialkit.postfile",
}

_SUBMODULES = frozenset(
    {"analytics", "errors", "models", "platforms", "schedule", "testing", "text"}
)

__all__ = [
    "CONTRACT",
    "METRIC_FIELDS",
    "Account",
    "AccountIdentity",
    "AsyncScheduler",
    "AuthExpired",
    "CallableCredentialProvider",
    "Campaign",
    "Capabilities",
    "ConfigError",
    "Context",
    "CredentialProvider",
    "Credentials",
    "CredentialsError",
    "Draft",
    "DraftPart",
    "EngineConfig",
    "Entity",
    "EnvCredentialProvider",
    "FileCredentialProvider",
    "Forbidden",
    "Idempotency",
    "InvalidPost",
    "KpiTarget",
    "Link",
    "LocalMediaStore",
    "ManualClock",
    "Measurement",
    "Media",
    "MediaLimits",
    "MediaMismatch",
    "MediaStore",
    "MemoryCredentialProvider",
    "MetricSnapshot",
    "Money",
    "NeedsReauth",
    "Objective",
    "Occurrence",
    "Platform",
    "PlatformError",
    "PlatformOverride",
    "PluginClash",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "Post",
    "PostFile",
    "PostRef",
    "PostingSlot",
    "Problem",
    "ProjectConfig",
    "Publication",
    "PublicationState",
    "PublishResult",
    "RateLimitCleared",
    "RateLimitReport",
    "RateLimited",
    "Receipt",
    "Recurrence",
    "Recycling",
    "Registry",
    "Rejected",
    "RetryPolicy",
    "Scheduler",
    "SlotTaken",
    "SocialkitError",
    "StaleTransition",
    "StoreError",
    "TextRule",
    "ThreadPart",
    "Transient",
    "UnknownOutcome",
    "UnknownPlatform",
    "Unsupported",
    "UtmParameters",
    "WallTime",
    "Weekday",
    "__version__",
    "apublish_now",
    "default_media_store",
    "extract_entities",
    "find_config",
    "get_registry",
    "hookimpl",
    "load_config",
    "load_post_file",
    "measure",
    "next_free_slot",
    "parse_local",
    "publish_now",
    "read_post_file",
    "render",
    "request_secrets",
    "scrub_server_text",
    "set_default_media_store",
    "to_instant",
    "validate",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"socialkit.{name}")
    raise AttributeError(f"module 'socialkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)


if TYPE_CHECKING:
    from socialkit import analytics, errors, models, platforms, schedule, testing, text
    from socialkit.config import ProjectConfig, find_config, load_config
    from socialkit.errors import (
        AuthExpired,
        ConfigError,
        CredentialsError,
        Forbidden,
        InvalidPost,
        NeedsReauth,
        PlatformError,
        PluginError,
        RateLimited,
        Rejected,
        SlotTaken,
        SocialkitError,
        StaleTransition,
        StoreError,
        Transient,
        UnknownOutcome,
        UnknownPlatform,
        Unsupported,
    )
    from socialkit.hookspecs import hookimpl
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
    from socialkit.platforms.base import CONTRACT, AccountIdentity, Platform
    from socialkit.platforms.capabilities import Capabilities, Idempotency, MediaLimits
    from socialkit.platforms.context import Context, RateLimitReport
    from socialkit.platforms.credentials import (
        CallableCredentialProvider,
        CredentialProvider,
        EnvCredentialProvider,
        FileCredentialProvider,
        MemoryCredentialProvider,
    )
    from socialkit.platforms.publish import PublishResult, apublish_now, publish_now
    from socialkit.platforms.registry import (
        PluginClash,
        PluginFailure,
        PluginInfo,
        Registry,
        get_registry,
    )
    from socialkit.platforms.render import render
    from socialkit.platforms.scrub import request_secrets, scrub_server_text
    from socialkit.platforms.validation import validate
    from socialkit.postfile import PostFile, load_post_file, read_post_file
    from socialkit.schedule.engine.clock import ManualClock
    from socialkit.schedule.engine.config import EngineConfig
    from socialkit.schedule.engine.retry import RetryPolicy
    from socialkit.schedule.facade import Scheduler
    from socialkit.schedule.publication import Publication, RateLimitCleared
    from socialkit.schedule.scheduler import AsyncScheduler
    from socialkit.schedule.states import PublicationState
    from socialkit.schedule.time import (
        Occurrence,
        Recurrence,
        Recycling,
        WallTime,
        next_free_slot,
        parse_local,
        to_instant,
    )
    from socialkit.text.entities import Entity, extract_entities
    from socialkit.text.measure import Measurement, measure
    from socialkit.text.rules import TextRule
