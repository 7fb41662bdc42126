"""Mastodon for socialkit: any server by URL, with that server's own limits.

Installed as the ``socialkit-mastodon`` distribution, it registers the ``mastodon``
platform through the ``socialkit`` entry-point group::

    import socialkit

    account = socialkit.Account(
        id="acme-mastodon",
        platform="mastodon",
        handle="@acme@mastodon.social",
        settings={"instance": "https://mastodon.social"},
    )
    credentials = socialkit.FileCredentialProvider(".socialkit/secrets.json")
    socialkit.publish_now(
        socialkit.Post(text="Hello, fediverse!"), account, credentials=credentials
    )

Connect an account (OAuth 2 with PKCE) with
``socialkit auth mastodon --instance https://mastodon.social --account acme-mastodon`` (or
``python -m socialkit_mastodon auth`` with the same options); the token is saved to
``.socialkit/secrets.json``, which the example reads.

The names below are imported on first use: the command line loads
``socialkit_mastodon._cli`` to add ``socialkit auth mastodon``, and that must not import
httpx and the adapter on every ``socialkit --help``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import socialkit

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialkit_mastodon._api import instance_url
    from socialkit_mastodon._auth import (
        DEFAULT_SCOPES,
        OOB_REDIRECT_URI,
        AppRegistration,
        Pkce,
        authorization_url,
        exchange_code,
        register_app,
    )
    from socialkit_mastodon._capabilities import (
        DEFAULT_CAPABILITIES,
        InstanceLimits,
        PollLimits,
        limits_from_instance,
    )
    from socialkit_mastodon._connect import connect_account
    from socialkit_mastodon._errors import parse_reset
    from socialkit_mastodon._media import MediaPolling
    from socialkit_mastodon._platform import IDEMPOTENCY_KEY_WINDOW, Mastodon

__version__ = "0.1.0.dev0"

_EXPORTS: dict[str, str] = {
    "DEFAULT_CAPABILITIES": "socialkit_mastodon._capabilities",
    "DEFAULT_SCOPES": "socialkit_mastodon._auth",
    "IDEMPOTENCY_KEY_WINDOW": "socialkit_mastodon._platform",
    "OOB_REDIRECT_URI": "socialkit_mastodon._auth",
    "AppRegistration": "socialkit_mastodon._auth",
    "InstanceLimits": "socialkit_mastodon._capabilities",
    "Mastodon": "socialkit_mastodon._platform",
    "MediaPolling": "socialkit_mastodon._media",
    "Pkce": "socialkit_mastodon._auth",
    "PollLimits": "socialkit_mastodon._capabilities",
    "authorization_url": "socialkit_mastodon._auth",
    "connect_account": "socialkit_mastodon._connect",
    "exchange_code": "socialkit_mastodon._auth",
    "instance_url": "socialkit_mastodon._api",
    "limits_from_instance": "socialkit_mastodon._capabilities",
    "parse_reset": "socialkit_mastodon._errors",
    "register_app": "socialkit_mastodon._auth",
}

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_SCOPES",
    "IDEMPOTENCY_KEY_WINDOW",
    "OOB_REDIRECT_URI",
    "AppRegistration",
    "InstanceLimits",
    "Mastodon",
    "MediaPolling",
    "Pkce",
    "PollLimits",
    "__version__",
    "authorization_url",
    "connect_account",
    "exchange_code",
    "instance_url",
    "limits_from_instance",
    "parse_reset",
    "register_app",
    "register_platforms",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'socialkit_mastodon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


@socialkit.hookimpl
def register_platforms(register: Callable[[type[socialkit.Platform]], None]) -> None:
    """Register the :class:`Mastodon` platform."""
    from socialkit_mastodon._platform import Mastodon

    register(Mastodon)
