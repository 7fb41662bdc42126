"""Platform-neutral content: a :class:`Post` and its parts."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, JsonValue, field_validator, model_validator

from socialkit.models._base import SocialModel, content_hash
from socialkit.models.media import Media

# Patterns are used with fullmatch: "$" would accept a trailing newline.
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_PLATFORM = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_URL = re.compile(r"https?://[^\s/$.?#]\S*", re.IGNORECASE)


class Link(SocialModel):
    """A link a post shares, with the card a platform may show for it.

    Attributes:
        url: the address (``http`` or ``https``).
        title, description: the card text, when the platform shows cards.
        thumbnail: an image for the card.
    """

    url: str
    title: str | None = None
    description: str | None = None
    thumbnail: Media | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not _URL.fullmatch(value):
            raise ValueError(f"url must be an absolute http(s) address (got {value[:200]!r})")
        return value


class ThreadPart(SocialModel):
    """A part of a thread after the first: its own text and media."""

    text: str = ""
    media: tuple[Media, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> ThreadPart:
        if not self.text.strip() and not self.media:
            raise ValueError("a thread part needs text or media")
        return self


class PlatformOverride(SocialModel):
    """A version of a post for one platform; fields left ``None`` keep the post's own."""

    text: str | None = None
    media: tuple[Media, ...] | None = None
    thread: tuple[ThreadPart, ...] | None = None
    link: Link | None = None
    first_comment: str | None = None
    content_warning: str | None = None
    options: dict[str, JsonValue] | None = None


def _check_language(value: str | None) -> str | None:
    if value is not None and not _LANG.fullmatch(value):
        raise ValueError(f"language must be a BCP 47 tag such as 'en' or 'fa-IR' (got {value!r})")
    return value


class Post(SocialModel):
    """What a team wants to say, independent of any platform.

    A post is rendered into one :class:`Draft` per target platform (overrides applied,
    campaign UTM parameters added to links, text measured and, where allowed, split into a
    thread). Posts are immutable; :meth:`revision` identifies this exact content, and a
    publication pins it.

    Example::

        post = Post(
            text="We launched! https://example.com/launch #news",
            media=(Media.from_path("launch.png", alt_text="The launch banner"),),
            overrides={"x": PlatformOverride(text="We launched! https://example.com/launch")},
            campaign="spring-launch",
            language="en",
        )

    Attributes:
        text: the main text.
        media: attachments of the first part.
        link: the link to share, with its card; :func:`~socialkit.render` appends its URL
            to the text when no part of the text contains it already (unless the platform
            takes links as a field of their own: ``Capabilities.link_in_text``).
        thread: further parts after the first, for platforms with threads.
        overrides: per-platform versions, keyed by platform name (``"mastodon"``).
        tags: the team's own labels, for filtering and reports (not hashtags).
        first_comment: a comment the platform adapter posts right after the post.
        campaign: the id of the :class:`Campaign` this post belongs to.
        language: BCP 47 language tag of the text.
        content_warning: a content warning / spoiler text, where platforms support one.
        options: platform-specific options (``visibility``, ``poll``), read by adapters.
    """

    text: str = ""
    media: tuple[Media, ...] = ()
    link: Link | None = None
    thread: tuple[ThreadPart, ...] = ()
    overrides: dict[str, PlatformOverride] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    first_comment: str | None = None
    campaign: str | None = None
    language: str | None = None
    content_warning: str | None = None
    options: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _check_lang(cls, value: str | None) -> str | None:
        return _check_language(value)

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, value: dict[str, PlatformOverride]) -> dict[str, PlatformOverride]:
        for name in value:
            if not _PLATFORM.fullmatch(name):
                raise ValueError(
                    f"overrides keys are platform names like 'mastodon' (got {name!r})"
                )
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag.strip():
                raise ValueError("tags must not be empty strings")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Post:
        if not self.text.strip() and not self.media and self.link is None:
            raise ValueError("a post needs text, media or a link")
        return self

    def revision(self) -> str:
        """The content hash (sha256 hex) of this exact post; equal posts share it."""
        return content_hash(self.model_dump(mode="json", exclude_none=True))

    def for_platform(self, platform: str) -> Post:
        """This post with the override for ``platform`` applied (overrides removed)."""
        override = self.overrides.get(platform)
        update: dict[str, Any] = {"overrides": {}}
        if override is not None:
            for field, value in override:
                if value is None:
                    continue
                if field == "options":
                    update["options"] = {**self.options, **value}
                else:
                    update[field] = value
        return self.model_copy(update=update)

    @property
    def all_media(self) -> tuple[Media, ...]:
        """Every media item in the post, its thread and overrides (duplicates removed)."""
        seen: dict[str, Media] = {}
        groups: list[tuple[Media, ...]] = [self.media, *(p.media for p in self.thread)]
        for override in self.overrides.values():
            if override.media:
                groups.append(override.media)
            for part in override.thread or ():
                groups.append(part.media)
        if self.link and self.link.thumbnail:
            groups.append((self.link.thumbnail,))
        for group in groups:
            for item in group:
                seen.setdefault(item.sha256, item)
        return tuple(seen.values())


class DraftPart(SocialModel):
    """One part of a rendered draft: the exact text and media one request will carry."""

    text: str
    media: tuple[Media, ...] = ()


class Draft(SocialModel):
    """A post rendered for one platform: what the adapter publishes.

    Produced by :func:`socialkit.render`. ``parts[0]`` is the post itself; further parts
    are replies in a thread.

    Attributes:
        platform: the target platform name.
        revision: the :meth:`Post.revision` this draft was rendered from.
        parts: the parts, in order (at least one).
        link: the shared link and its card.
        language: BCP 47 tag.
        first_comment: a comment to post right after.
        content_warning: spoiler text, where supported.
        options: platform-specific options.
        campaign: the campaign id, for adapters that tag posts.
    """

    platform: str
    revision: str
    parts: tuple[DraftPart, ...] = Field(min_length=1)
    link: Link | None = None
    language: str | None = None
    first_comment: str | None = None
    content_warning: str | None = None
    options: dict[str, JsonValue] = Field(default_factory=dict)
    campaign: str | None = None

    @property
    def text(self) -> str:
        """The first part's text."""
        return self.parts[0].text

    @property
    def media(self) -> tuple[Media, ...]:
        """The first part's media."""
        return self.parts[0].media

    def content_hash(self) -> str:
        """sha256 of this draft's content, to match a published post against it."""
        return content_hash(self.model_dump(mode="json", exclude_none=True))
