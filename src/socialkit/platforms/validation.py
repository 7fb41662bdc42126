"""Validation: every problem a draft has on a platform, with field, limit and value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

from socialkit.models.content import Draft, Post
from socialkit.models.problems import Problem, Scalar
from socialkit.platforms.render import render
from socialkit.text import measure
from socialkit.text.entities import raw_entities
from socialkit.text.rules import EntityRules

if TYPE_CHECKING:
    from socialkit.models.campaign import Campaign
    from socialkit.models.content import DraftPart
    from socialkit.models.media import Media
    from socialkit.platforms.base import Platform
    from socialkit.platforms.capabilities import Capabilities, MediaLimits
    from socialkit.platforms.registry import Registry
    from socialkit.text.rules import TextRule

__all__ = ["validate"]


@attrs.define
class _Report:
    platform: str
    problems: list[Problem] = attrs.Factory(list)

    def add(
        self,
        field: str,
        code: str,
        message: str,
        *,
        limit: Scalar = None,
        value: Scalar = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.problems.append(
            Problem(
                field=field,
                code=code,
                message=message,
                limit=limit,
                value=value,
                severity=severity,
                platform=self.platform,
            )
        )


def validate(
    content: Post | Draft,
    target: Capabilities | str | None = None,
    *,
    platform: str | None = None,
    campaign: Campaign | None = None,
    registry: Registry | None = None,
) -> list[Problem]:
    """Every problem ``content`` has on a platform; never raises on the first one.

    ``validate(post, "bluesky")`` looks the platform's capabilities up in the registry;
    ``validate(post, capabilities, platform="bluesky")`` uses the ones given (an adapter's
    own, or a test's); ``validate(draft, capabilities)`` takes the platform from the draft.

    Args:
        content: a post (rendered first, for the platform) or an already rendered draft.
        target: the platform's name, or its capabilities.
        platform: the platform name, with capabilities as ``target`` (or alone).
        campaign: for a post, the campaign whose UTM parameters apply.
        registry: where a platform name is looked up; the default registry if omitted.
            Given with capabilities, the adapter found there adds its own checks
            (:meth:`Platform.check_draft <socialkit.Platform.check_draft>`), as it
            does when the platform is named.

    Returns:
        Problems in a stable order; those with ``severity == "error"`` block publishing.
        A problem's ``field`` is a path as in the post: ``text`` and ``media[i]`` for the
        first part, ``thread[k].text`` for the part after it (the draft's ``parts[k + 1]``;
        a part that render split off is named by its place in the draft's thread). A post
        whose text render splits into a thread gets a ``thread.split`` warning saying into
        how many parts.

    Raises:
        TypeError: no platform to render a post for, or two different platform names.
        UnknownPlatform: a platform name no installed plugin provides.
    """
    if isinstance(target, str):
        if platform is not None and platform != target:
            raise TypeError(f"validate() got two platforms: {target!r} and platform={platform!r}")
        platform, capabilities = target, None
    else:
        capabilities = target
    if platform is None and isinstance(content, Draft):
        platform = content.platform
    if platform is None:
        raise TypeError(
            "validate(post, ...) needs the platform to render the post for: "
            "validate(post, 'bluesky') or validate(post, capabilities, platform='bluesky')"
        )
    from socialkit.errors import UnknownPlatform
    from socialkit.platforms.registry import get_registry

    # The adapter adds what only it can see (its options), when it is looked up: by name,
    # or in the registry given with the capabilities.
    adapter: Platform | None = None
    if capabilities is None or registry is not None:
        try:
            adapter = (registry or get_registry()).platform(platform)
        except UnknownPlatform:
            if capabilities is None:
                raise
    if capabilities is None:
        assert adapter is not None
        capabilities = adapter.capabilities
    split_into: int | None = None
    if isinstance(content, Post):
        draft = render(content, platform, capabilities, campaign=campaign)
        written = 1 + len(content.thread)
        if len(draft.parts) > written and capabilities.threads:
            split_into = len(draft.parts)
    else:
        draft = content
    report = _Report(platform)
    _check_thread(draft, capabilities, report)
    if split_into is not None:
        rule = _text_rule(draft.parts[0], capabilities)
        report.add(
            "text",
            "thread.split",
            f"the text does not fit one post ({rule.limit} at most, counted in "
            f"{rule.counting.value}); it will be published as a thread of {split_into} parts",
            limit=capabilities.max_thread_parts,
            value=split_into,
            severity="warning",
        )
    for index, part in enumerate(draft.parts):
        # Paths as in a post (and its post file): parts[0] is the post, parts[1] thread[0].
        prefix = "" if index == 0 else f"thread[{index - 1}]."
        _check_text(draft, part, capabilities, prefix, report)
        _check_media(part.media, capabilities.media, f"{prefix}media", report)
    if draft.first_comment and not capabilities.first_comment:
        report.add(
            "first_comment", "first_comment.unsupported", "the platform cannot post a first comment"
        )
    if draft.content_warning and not capabilities.content_warning:
        report.add(
            "content_warning",
            "content_warning.unsupported",
            "the platform has no content warnings; it will be left out",
            severity="warning",
        )
    if draft.link and (draft.link.title or draft.link.thumbnail) and not capabilities.link_cards:
        # Such a platform may still show a card (Mastodon makes one from the page's
        # OpenGraph tags); what it cannot carry is the post's own title and thumbnail.
        given = [n for n in ("title", "thumbnail") if getattr(draft.link, n)]
        report.add(
            "link",
            "link.card_unsupported",
            f"the link's {' and '.join(given)} {'are' if len(given) > 1 else 'is'} not sent: "
            "the platform takes none (any card it shows is made from the linked page)",
            severity="warning",
        )
    problems = report.problems
    if adapter is not None:
        # What only the adapter knows (its options), named for this platform.
        problems += [
            p if p.platform else p.model_copy(update={"platform": platform})
            for p in adapter.check_draft(draft)
        ]
    return problems


def _check_thread(draft: Draft, capabilities: Capabilities, report: _Report) -> None:
    count = len(draft.parts)
    if count > 1 and not capabilities.threads:
        report.add(
            "thread", "thread.unsupported", "the platform has no threads", limit=1, value=count
        )
    elif capabilities.max_thread_parts is not None and count > capabilities.max_thread_parts:
        report.add(
            "thread",
            "thread.too_many_parts",
            "too many thread parts",
            limit=capabilities.max_thread_parts,
            value=count,
        )


def _text_rule(part: DraftPart, capabilities: Capabilities) -> TextRule:
    """The rule ``part``'s text is measured by: the caption rule when it has media and
    the platform has one (Telegram), else the text rule."""
    return capabilities.caption if (part.media and capabilities.caption) else capabilities.text


def _check_text(
    draft: Draft,
    part: DraftPart,
    capabilities: Capabilities,
    prefix: str,
    report: _Report,
) -> None:
    rule = _text_rule(part, capabilities)
    text = part.text
    # Adapters repeat the content warning on every part, and it counts in each (Mastodon).
    warning = draft.content_warning
    field = f"{prefix}text"
    if not text and not part.media:
        report.add(field, "text.empty", "nothing to publish: no text and no media")
        return
    m = measure(text, rule, content_warning=warning)
    if m.length > m.limit:
        at = m.overflow_at
        if rule.max_bytes is not None or rule.max_hashtags is not None:
            at = _overflow_of(text, rule, warning, max_bytes=None)
        where = f"; it stops fitting at character {at}" if at else ""
        counted = (
            " (the content warning counts too)" if warning and rule.content_warning_counts else ""
        )
        report.add(
            field,
            "text.too_long",
            f"text is too long for {rule.name} (counted in {rule.counting.value}){counted}{where}",
            limit=m.limit,
            value=m.length,
        )
    if m.max_bytes is not None and m.byte_length > m.max_bytes:
        at = _overflow_of(text, rule, warning, limit=max(rule.limit, m.length))  # bytes alone
        report.add(
            field,
            "text.too_many_bytes",
            "text has too many UTF-8 bytes"
            + (f"; it stops fitting at character {at}" if at else ""),
            limit=m.max_bytes,
            value=m.byte_length,
        )
    if m.length < rule.min_length and not part.media:
        report.add(
            field, "text.too_short", "text is too short", limit=rule.min_length, value=m.length
        )
    if m.invalid_at is not None:
        report.add(
            field,
            "text.invalid_character",
            f"{rule.name} refuses character U+{ord(text[m.invalid_at]):04X} "
            f"at position {m.invalid_at}",
            value=m.invalid_at,
        )
    if m.max_hashtags is not None and (m.hashtag_count or 0) > m.max_hashtags:
        report.add(
            field,
            "text.too_many_hashtags",
            f"too many hashtags for {rule.name}",
            limit=m.max_hashtags,
            value=m.hashtag_count,
        )
    _check_hashtags(text, rule, field, report)


def _overflow_of(text: str, rule: TextRule, warning: str | None, **only: int | None) -> int | None:
    """Where ``text`` stops fitting ``rule`` changed by ``only`` and with no hashtag limit:
    the place to quote for one limit. A measurement's ``overflow_at`` is where the first
    of all its limits is passed (on Bluesky, a text of family emoji passes 3000 bytes
    long before 300 graphemes)."""
    alone = rule.model_copy(update={"max_hashtags": None, **only})
    return measure(text, alone, content_warning=warning).overflow_at


def _check_hashtags(text: str, rule: TextRule, field: str, report: _Report) -> None:
    """Warn about a hashtag the target platform cuts short or does not see at all.

    A tag is compared with the longest reading any platform's rules give it (X's and
    Mastodon's keep a Persian tag with ZWNJ whole, Bluesky's ends it at the ZWNJ).
    """
    if "#" not in text and "\uff03" not in text:
        return
    readings: dict[int, str] = {}
    for rules_name in (EntityRules.TWITTER, EntityRules.MASTODON, EntityRules.BLUESKY):
        for kind, start, _, value in raw_entities(text, rules_name):
            if kind == "hashtag" and len(value) > len(readings.get(start, "")):
                readings[start] = value
    target = {
        start: value
        for kind, start, _, value in raw_entities(text, rule.entities)
        if kind == "hashtag"
    }
    for start, longest in sorted(readings.items()):
        seen = target.get(start)
        if seen is None:
            report.add(
                field,
                "text.hashtag_not_detected",
                f"#{longest} (at character {start}) is not a hashtag on {rule.name}",
                value=longest,
                severity="warning",
            )
        elif seen != longest:
            report.add(
                field,
                "text.hashtag_cut",
                f"#{longest} (at character {start}) is read as #{seen} on {rule.name}",
                value=seen,
                severity="warning",
            )


def _check_media(
    media: tuple[Media, ...], limits: MediaLimits, field: str, report: _Report
) -> None:
    if not media:
        return
    by_kind = {kind: [m for m in media if m.kind == kind] for kind in ("image", "video", "gif")}
    if len(media) > limits.max_items:
        report.add(
            field,
            "media.too_many",
            "too many attachments",
            limit=limits.max_items,
            value=len(media),
        )
    for kind, most in (
        ("image", limits.max_images),
        ("video", limits.max_videos),
        ("gif", limits.max_gifs),
    ):
        found = len(by_kind[kind])
        if found > most:
            report.add(
                field, f"media.too_many_{kind}s", f"too many {kind}s", limit=most, value=found
            )
    if not limits.mix and sum(1 for items in by_kind.values() if items) > 1:
        report.add(field, "media.mixed", "images, videos and GIFs cannot share a post")
    for i, item in enumerate(media):
        _check_item(item, limits, f"{field}[{i}]", report)


def _check_item(item: Media, limits: MediaLimits, where: str, report: _Report) -> None:
    accepted = limits.video_types if item.kind == "video" else limits.image_types
    if item.kind in ("audio", "document", "other") or (
        item.kind != "gif" and item.mime_type not in accepted
    ):
        report.add(f"{where}.mime_type", "media.type", "type not accepted", value=item.mime_type)
    most_bytes = {
        "image": limits.max_image_bytes,
        "gif": limits.max_gif_bytes or limits.max_image_bytes,
        "video": limits.max_video_bytes,
    }.get(item.kind)
    if most_bytes is not None and item.size > most_bytes:
        report.add(
            f"{where}.size",
            "media.too_large",
            "file is too large (bytes)",
            limit=most_bytes,
            value=item.size,
        )
    if item.kind == "video" and item.duration is not None:
        seconds = round(item.duration, 3)
        if limits.max_video_seconds is not None and item.duration > limits.max_video_seconds:
            report.add(
                f"{where}.duration",
                "media.too_long",
                "video is too long (seconds)",
                limit=limits.max_video_seconds,
                value=seconds,
            )
        if limits.min_video_seconds is not None and item.duration < limits.min_video_seconds:
            report.add(
                f"{where}.duration",
                "media.too_short",
                "video is too short (seconds)",
                limit=limits.min_video_seconds,
                value=seconds,
            )
    if item.kind in ("image", "gif", "video"):
        _check_dimensions(item, limits, where, report)
    ratio = item.aspect_ratio
    if ratio is not None and item.kind == "image":
        if limits.min_aspect_ratio is not None and ratio < limits.min_aspect_ratio - 1e-9:
            report.add(
                f"{where}.aspect_ratio",
                "media.aspect_ratio",
                "image is too tall (width/height)",
                limit=limits.min_aspect_ratio,
                value=round(ratio, 4),
            )
        if limits.max_aspect_ratio is not None and ratio > limits.max_aspect_ratio + 1e-9:
            report.add(
                f"{where}.aspect_ratio",
                "media.aspect_ratio",
                "image is too wide (width/height)",
                limit=limits.max_aspect_ratio,
                value=round(ratio, 4),
            )
    alt = item.alt_text or ""
    if limits.alt_text == "required" and not alt.strip():
        report.add(f"{where}.alt_text", "media.alt_text_missing", "alt text is required")
    elif limits.alt_text == "unsupported" and alt.strip():
        report.add(
            f"{where}.alt_text",
            "media.alt_text_unsupported",
            "the platform takes no alt text; it will be left out",
            severity="warning",
        )
    if limits.max_alt_text is not None and len(alt) > limits.max_alt_text:
        report.add(
            f"{where}.alt_text",
            "media.alt_text_too_long",
            "alt text is too long (characters)",
            limit=limits.max_alt_text,
            value=len(alt),
        )


def _check_dimensions(item: Media, limits: MediaLimits, where: str, report: _Report) -> None:
    for name, size, least, most in (
        ("width", item.width, limits.min_width, limits.max_width),
        ("height", item.height, limits.min_height, limits.max_height),
    ):
        if size is None:
            continue
        if least is not None and size < least:
            report.add(
                f"{where}.{name}",
                "media.too_small",
                f"{item.kind} is too small ({name} in pixels)",
                limit=least,
                value=size,
            )
        if most is not None and size > most:
            report.add(
                f"{where}.{name}",
                "media.too_big",
                f"{item.kind} is too big ({name} in pixels)",
                limit=most,
                value=size,
            )
