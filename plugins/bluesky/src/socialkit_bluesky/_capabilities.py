"""What Bluesky accepts, as data (facts: the ``app.bsky`` lexicons and PLATFORMS.md)."""

from __future__ import annotations

from socialkit import Capabilities, Idempotency, MediaLimits
from socialkit.text.rules import BLUESKY

__all__ = ["CAPABILITIES", "METRIC_NAMES"]

METRIC_NAMES: dict[str, str] = {
    "likeCount": "likes",
    "repostCount": "shares",
    "replyCount": "comments",
    "quoteCount": "quotes",
}
"""AppView post-view counts → :class:`~socialkit.MetricSnapshot` fields."""

CAPABILITIES = Capabilities(
    # ≤300 graphemes and ≤3000 UTF-8 bytes; links, tags and mentions by Bluesky's rules.
    text=BLUESKY,
    media=MediaLimits(
        max_items=4,
        max_images=4,
        # Video goes through a separate video service that a bare PDS does not run.
        max_videos=0,
        max_gifs=0,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_image_bytes=2_000_000,
        alt_text="optional",
    ),
    threads=True,
    first_comment=True,
    link_cards=True,
    languages=True,
    content_warning=False,
    # The record key is derived from the publication's idempotency key: exactly once.
    idempotency=Idempotency.KEY,
    delete=True,
    metrics=frozenset(METRIC_NAMES.values()),
    rate_limit_headers="RateLimit-",
    requires_credentials=True,
)
"""The adapter's capabilities; ``metrics`` is emptied per account when no AppView is set."""
