"""What a platform can do, as data: text rule, media limits, threads, idempotency."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialkit.models.metrics import METRIC_FIELDS
from socialkit.text.rules import TextRule

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})


class Idempotency(StrEnum):
    """What a publication on this platform can promise.

    ``KEY``: the platform recognises a repeated request (an idempotency key, a fixed
    record key), so an unknown outcome is settled by retrying: exactly once.
    ``LOOKUP``: no key, but :meth:`Platform.find_published` can tell whether the post
    exists: at most once, reconciled by looking.
    ``NONE``: neither; an unknown outcome waits for a person: at most once.
    """

    KEY = "key"
    LOOKUP = "lookup"
    NONE = "none"


class MediaLimits(BaseModel):
    """Media a platform accepts on one post (one thread part).

    Attributes:
        max_items: the most attachments on one part.
        max_images, max_videos, max_gifs: the most of each kind.
        mix: whether images and videos may share a part.
        image_types, video_types: accepted MIME types.
        max_image_bytes, max_gif_bytes, max_video_bytes: size limits.
        min_video_seconds, max_video_seconds: duration limits.
        min_aspect_ratio, max_aspect_ratio: width/height limits for images.
        min_width, min_height, max_width, max_height: pixel limits for images and
            videos whose dimensions are known.
        alt_text: whether alt text is ``unsupported``, ``optional`` or ``required``.
        max_alt_text: the longest alt text, in characters.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_items: int = Field(default=0, ge=0)
    max_images: int = Field(default=0, ge=0)
    max_videos: int = Field(default=0, ge=0)
    max_gifs: int = Field(default=0, ge=0)
    mix: bool = False
    image_types: frozenset[str] = IMAGE_TYPES
    video_types: frozenset[str] = VIDEO_TYPES
    max_image_bytes: int | None = None
    max_gif_bytes: int | None = None
    max_video_bytes: int | None = None
    min_video_seconds: float | None = None
    max_video_seconds: float | None = None
    min_aspect_ratio: float | None = None
    max_aspect_ratio: float | None = None
    min_width: int | None = Field(default=None, ge=1)
    min_height: int | None = Field(default=None, ge=1)
    max_width: int | None = Field(default=None, ge=1)
    max_height: int | None = Field(default=None, ge=1)
    alt_text: Literal["unsupported", "optional", "required"] = "optional"
    max_alt_text: int | None = None


class Capabilities(BaseModel):
    """Everything validation, previews and the engine need to know about a platform.

    Capabilities are data, so validation and dry runs work offline. An adapter declares
    defaults as a class attribute and may refine them per server in
    :meth:`Platform.resolve_capabilities` (a Mastodon instance's own limits).

    Attributes:
        text: the counting rule and limits for a post's text.
        caption: the rule for text that accompanies media, when it differs (Telegram).
        media: media limits per part.
        threads: whether replies can chain into a thread.
        max_thread_parts: the most parts in one thread, or ``None``.
        first_comment: whether the adapter can post a first comment.
        link_cards: whether the platform takes the post's own title and thumbnail for a
            link's card (``Link.title``, ``Link.thumbnail``: a Bluesky external embed).
            ``False`` where any card is one the platform makes from the linked page's
            own tags (Mastodon): the post's title and thumbnail are not sent, and
            validation warns when the post has them.
        link_in_text: whether :func:`~socialkit.render` appends the shared link's URL to
            the post's text when the text does not already contain it (then it is
            measured with the text). ``False`` for a platform that takes the link as a
            field of its own (a Facebook Page's ``link``, a Pinterest pin's ``link``).
        languages: whether posts carry language tags.
        content_warning: whether a content warning / spoiler text is supported.
        idempotency: what an unknown outcome can be settled with (see :class:`Idempotency`).
        delete: whether published posts can be deleted.
        metrics: which :class:`MetricSnapshot` fields the platform reports.
        rate_limit_headers: the header prefix the platform reports budgets in.
        requires_credentials: whether publishing needs credentials at all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: TextRule
    caption: TextRule | None = None
    media: MediaLimits = MediaLimits()
    threads: bool = False
    max_thread_parts: int | None = Field(default=None, ge=1)
    first_comment: bool = False
    link_cards: bool = False
    link_in_text: bool = True
    languages: bool = False
    content_warning: bool = False
    idempotency: Idempotency = Idempotency.NONE
    delete: bool = True
    metrics: frozenset[str] = frozenset()
    rate_limit_headers: str | None = None
    requires_credentials: bool = True

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(set(value) - set(METRIC_FIELDS))
        if unknown:
            raise ValueError(
                f"not MetricSnapshot fields: {', '.join(unknown)} (known: "
                f"{', '.join(METRIC_FIELDS)}); a platform's own counts go in "
                "MetricSnapshot.extra"
            )
        return value
