"""Account settings the Bluesky adapter reads (``Account.settings``; never secrets).

``service``  the PDS or entryway to talk to (default ``https://bsky.social``); any PDS works
``appview``  an AppView for ``app.bsky.feed.getPosts`` metrics. Default: the public
             AppView (``https://public.api.bsky.app``) when ``service`` is bsky.social,
             none otherwise — a bare PDS has no like or repost counts
``web_url``  where people open posts (default ``https://bsky.app``; ``""`` for no links)
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from socialkit import ConfigError

if TYPE_CHECKING:
    from socialkit import Account

__all__ = ["DEFAULT_APPVIEW", "DEFAULT_SERVICE", "DEFAULT_WEB_URL", "BlueskySettings"]

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
DEFAULT_WEB_URL = "https://bsky.app"


def _base_url(account: Account, name: str, value: object) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"account {account.id!r}: setting {name!r} must be an http(s) base URL "
            f"such as {DEFAULT_SERVICE!r} (got {str(value)[:200]!r})"
        )
    return text


@attrs.frozen
class BlueskySettings:
    """The adapter settings of one account, checked.

    Attributes:
        service: the PDS / entryway base URL.
        appview: the AppView base URL for metrics, or ``None``.
        web_url: the web app base URL for post links, or ``None``.
    """

    service: str
    appview: str | None
    web_url: str | None

    @classmethod
    def of(cls, account: Account) -> BlueskySettings:
        """Read and check ``account``'s settings.

        Raises:
            ConfigError: a URL setting is not an http(s) base URL.
        """
        service = _base_url(account, "service", account.setting("service") or DEFAULT_SERVICE)
        raw_appview = account.setting("appview")
        appview: str | None
        if raw_appview:
            appview = _base_url(account, "appview", raw_appview)
        elif raw_appview is None and service == DEFAULT_SERVICE:
            appview = DEFAULT_APPVIEW
        else:
            appview = None
        raw_web = account.setting("web_url", DEFAULT_WEB_URL)
        web_url = _base_url(account, "web_url", raw_web) if raw_web else None
        return cls(service=service, appview=appview, web_url=web_url)

    def post_url(self, did: str, rkey: str) -> str | None:
        """The web address of a post, when a web app is configured."""
        if self.web_url is None:
            return None
        return f"{self.web_url}/profile/{did}/post/{rkey}"
