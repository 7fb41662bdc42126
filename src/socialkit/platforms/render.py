"""Rendering: a platform-neutral :class:`Post` becomes one :class:`Draft` per platform."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.models.content import Draft, DraftPart, Link, Post
from socialkit.text import add_utm, add_utm_to_url, measure, split

if TYPE_CHECKING:
    from socialkit.models.campaign import Campaign
    from socialkit.platforms.capabilities import Capabilities

__all__ = ["render"]


def render(
    post: Post,
    platform: str,
    capabilities: Capabilities,
    *,
    campaign: Campaign | None = None,
    auto_thread: bool | None = None,
    numbering: str | None = None,
) -> Draft:
    """Render ``post`` for ``platform``.

    Steps, in order: the platform's override is applied; the campaign's UTM parameters are
    added to every link (text and link card); the shared link's URL is appended to the
    first part's text (after a blank line) when no part of the text contains it already,
    unless the platform takes links as a field of their own
    (``Capabilities.link_in_text``); when the platform supports threads, a part whose
    text does not fit is split into several (at sentence, then word boundaries), its media
    staying with the first piece; text beside media is measured by the caption rule where
    the platform has one (Telegram). A content warning the platform counts is counted in
    every part, since adapters repeat it on each part of a thread.

    Args:
        post: the post.
        platform: the target platform name (selects the override).
        capabilities: the target's capabilities (text rule, threads).
        campaign: the campaign whose UTM parameters apply, if any.
        auto_thread: split text that does not fit into a thread; by default on when the
            platform has threads, unless the post sets ``options.auto_thread = false``.
        numbering: a suffix such as ``" {i}/{n}"`` for split parts.

    Returns:
        The draft; it may still be invalid (check with :func:`socialkit.validate`).
    """
    revision = post.revision()
    view = post.for_platform(platform)
    utm = campaign.utm.as_query() if campaign is not None and campaign.utm is not None else {}
    if auto_thread is None:
        auto_thread = bool(view.options.get("auto_thread", True))

    link = view.link
    if link is not None and utm:
        link = Link(
            url=add_utm_to_url(link.url, utm),
            title=link.title,
            description=link.description,
            thumbnail=link.thumbnail,
        )
    pieces = [
        (add_utm(text, utm, capabilities.text) if utm else text, media)
        for text, media in ((view.text, view.media), *((p.text, p.media) for p in view.thread))
    ]
    if view.link is not None and link is not None and capabilities.link_in_text:
        written = (view.text, *(part.text for part in view.thread), *(t for t, _ in pieces))
        if not any(view.link.url in text or link.url in text for text in written):
            text, media = pieces[0]
            pieces[0] = (f"{text}\n\n{link.url}" if text.strip() else link.url, media)

    parts: list[DraftPart] = []
    warning = view.content_warning
    for text, media in pieces:
        # Text beside media is a caption where the platform limits captions (Telegram).
        rule = capabilities.caption if (media and capabilities.caption) else capabilities.text
        if (
            auto_thread
            and capabilities.threads
            and text
            and not measure(text, rule, content_warning=warning).fits
        ):
            chunks = split(text, rule, numbering=numbering, content_warning=warning)
            parts.append(DraftPart(text=chunks[0], media=media))
            parts.extend(DraftPart(text=chunk) for chunk in chunks[1:])
        else:
            parts.append(DraftPart(text=text, media=media))

    return Draft(
        platform=platform,
        revision=revision,
        parts=tuple(parts),
        link=link,
        language=view.language,
        first_comment=add_utm(view.first_comment, utm, capabilities.text)
        if view.first_comment and utm
        else view.first_comment,
        content_warning=view.content_warning,
        options=dict(view.options),
        campaign=view.campaign,
    )
