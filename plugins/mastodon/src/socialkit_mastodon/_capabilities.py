"""What a Mastodon server accepts: defaults, and the limits read from its instance document.

Limits are per server (``GET /api/v2/instance`` → ``configuration``). The defaults are
those of a stock Mastodon server: 500 characters, each URL counted as 23, 4 attachments,
images up to 16 MiB and videos up to 99 MiB, alt text up to 1500 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from socialkit import Capabilities, Idempotency, MediaLimits
from socialkit.text.rules import MASTODON

if TYPE_CHECKING:
    from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_POLL_LIMITS",
    "InstanceLimits",
    "PollLimits",
    "limits_from_instance",
]

_IMAGE_BYTES = 16 * 1024 * 1024
_VIDEO_BYTES = 99 * 1024 * 1024

DEFAULT_CAPABILITIES = Capabilities(
    text=MASTODON,
    media=MediaLimits(
        max_items=4,
        max_images=4,
        # One video, GIF (converted to a looping video) or audio per status.
        max_videos=1,
        max_gifs=1,
        mix=False,
        max_image_bytes=_IMAGE_BYTES,
        max_gif_bytes=_IMAGE_BYTES,
        max_video_bytes=_VIDEO_BYTES,
        alt_text="optional",
        max_alt_text=1500,
    ),
    threads=True,
    first_comment=False,
    # The server makes a card (Status.card) from the first link in the text, from the
    # page's OpenGraph tags; a status has no field for a card, so a post's own link title
    # and thumbnail cannot be sent (validation warns that they are left out).
    link_cards=False,
    languages=True,
    content_warning=True,
    idempotency=Idempotency.KEY,
    delete=True,
    metrics=frozenset({"comments", "shares", "likes", "quotes", "followers"}),
    rate_limit_headers="X-RateLimit",
    requires_credentials=True,
)
"""A stock server's capabilities, usable offline."""


@attrs.frozen(kw_only=True)
class PollLimits:
    """``configuration.polls`` of an instance."""

    max_options: int = 4
    max_characters_per_option: int = 50
    min_expiration: int = 300
    max_expiration: int = 2_629_746


DEFAULT_POLL_LIMITS = PollLimits()


@attrs.frozen(kw_only=True)
class InstanceLimits:
    """Everything the adapter read from one server's instance document.

    Attributes:
        capabilities: validation and counting limits for this server.
        polls: poll limits.
        fetched_at: when the document was read (for the refresh interval).
        version: the server's software version, for messages.
        domain: the domain in the server's handles (``@user@domain``), its WebFinger
            domain; it can differ from the address the API answers at.
    """

    capabilities: Capabilities
    polls: PollLimits
    fetched_at: datetime
    version: str | None = None
    domain: str | None = None

    def fresh(self, now: datetime, refresh_interval: timedelta) -> bool:
        """True while ``now`` is within ``refresh_interval`` of :attr:`fetched_at`."""
        return now - self.fetched_at < refresh_interval


def _int(section: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def _section(data: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    current: Any = data
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


def limits_from_instance(instance: Mapping[str, Any], fetched_at: datetime) -> InstanceLimits:
    """Capabilities and poll limits from a ``GET /api/v2/instance`` document.

    A value the server leaves out keeps the stock default; the text rule is
    ``socialkit.text.rules.MASTODON`` with the server's ``max_characters`` and
    ``characters_reserved_per_url``.
    """
    base = DEFAULT_CAPABILITIES
    statuses = _section(instance, "configuration", "statuses")
    media = _section(instance, "configuration", "media_attachments")
    polls = _section(instance, "configuration", "polls")

    text_update: dict[str, Any] = {}
    max_characters = _int(statuses, "max_characters", None)
    if max_characters is not None:
        text_update["limit"] = max_characters
    url_length = _int(statuses, "characters_reserved_per_url", None)
    if url_length is not None:
        text_update["url_length"] = url_length
    text = base.text.model_copy(update=text_update)

    media_update: dict[str, Any] = {}
    max_items = _int(statuses, "max_media_attachments", None)
    if max_items is not None:
        media_update["max_items"] = max_items
        media_update["max_images"] = max_items
        media_update["max_videos"] = min(1, max_items)
        media_update["max_gifs"] = min(1, max_items)
    image_bytes = _int(media, "image_size_limit", None)
    if image_bytes is not None:
        media_update["max_image_bytes"] = image_bytes
        media_update["max_gif_bytes"] = image_bytes
    video_bytes = _int(media, "video_size_limit", None)
    if video_bytes is not None:
        media_update["max_video_bytes"] = video_bytes
    description_limit = _int(media, "description_limit", None)
    if description_limit is not None:
        media_update["max_alt_text"] = description_limit
    mime_types = media.get("supported_mime_types")
    if isinstance(mime_types, list) and mime_types:
        types = {str(t).lower() for t in mime_types}
        images = frozenset(t for t in types if t.startswith("image/"))
        videos = frozenset(t for t in types if t.startswith("video/"))
        if images:
            media_update["image_types"] = images
        if videos:
            media_update["video_types"] = videos

    capabilities = base.model_copy(
        update={"text": text, "media": base.media.model_copy(update=media_update)}
    )
    poll_limits = PollLimits(
        max_options=_int(polls, "max_options", None) or DEFAULT_POLL_LIMITS.max_options,
        max_characters_per_option=_int(polls, "max_characters_per_option", None)
        or DEFAULT_POLL_LIMITS.max_characters_per_option,
        min_expiration=_int(polls, "min_expiration", DEFAULT_POLL_LIMITS.min_expiration) or 0,
        max_expiration=_int(polls, "max_expiration", None) or DEFAULT_POLL_LIMITS.max_expiration,
    )
    version = instance.get("version")
    domain = instance.get("domain")
    return InstanceLimits(
        capabilities=capabilities,
        polls=poll_limits,
        fetched_at=fetched_at,
        version=version if isinstance(version, str) else None,
        domain=domain.strip().lower() if isinstance(domain, str) and domain.strip() else None,
    )
