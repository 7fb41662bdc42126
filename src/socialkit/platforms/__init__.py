"""The adapter contract, the plugin registry, rendering, validation and publishing now."""

from __future__ import annotations

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
from socialkit.platforms.scrub import MAX_SERVER_TEXT, request_secrets, scrub_server_text
from socialkit.platforms.validation import validate

__all__ = [
    "CONTRACT",
    "MAX_SERVER_TEXT",
    "AccountIdentity",
    "CallableCredentialProvider",
    "Capabilities",
    "Context",
    "CredentialProvider",
    "EnvCredentialProvider",
    "FileCredentialProvider",
    "Idempotency",
    "MediaLimits",
    "MemoryCredentialProvider",
    "Platform",
    "PluginClash",
    "PluginFailure",
    "PluginInfo",
    "PublishResult",
    "RateLimitReport",
    "Registry",
    "apublish_now",
    "get_registry",
    "publish_now",
    "render",
    "request_secrets",
    "scrub_server_text",
    "validate",
]
