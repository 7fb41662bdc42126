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
    socialkit.publish_now(socialkit.Post(text="Hello, fediverse!"), account)

Connect an account (OAuth 2 with PKCE) with
``python -m socialkit_mastodon auth --instance https://mastodon.social``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import socialkit
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
from socialkit_mastodon._cli import register_commands
from socialkit_mastodon._connect import connect_account
from socialkit_mastodon._errors import parse_reset
from socialkit_mastodon._media import MediaPolling
from socialkit_mastodon._platform import IDEMPOTENCY_KEY_WINDOW, Mastodon

if TYPE_CHECKING:
    from collections.abc import Callable

__version__ = "0.1.0.dev0"

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
    "register_commands",
    "register_platforms",
]


@socialkit.hookimpl
def register_platforms(register: Callable[[type[socialkit.Platform]], None]) -> None:
    """Register the :class:`Mastodon` platform."""
    register(Mastodon)
