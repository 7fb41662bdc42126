"""Rich-text facets for a post: socialkit's Bluesky detection, with mentions resolved to DIDs.

:func:`socialkit.text.bluesky_facets` finds links, tags and cashtags by the Bluesky app's
own rules, with UTF-8 byte ranges, and returns mentions unresolved (the text layer does no
I/O). Here each mentioned handle is resolved (``com.atproto.identity.resolveHandle``); a
mention whose handle does not resolve is left as plain text, as the Bluesky app does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit.text import bluesky_facets

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["build_facets"]


async def build_facets(
    text: str, resolve_handle: Callable[[str], Awaitable[str | None]]
) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects for ``text``, sorted by ``byteStart``.

    Args:
        text: the post's text.
        resolve_handle: handle → DID, or ``None`` when no account has the handle.
    """
    found = bluesky_facets(text)
    dids: dict[str, str] = {}
    for mention in found.mentions:
        if mention.handle not in dids:
            did = await resolve_handle(mention.handle)
            if did is not None:
                dids[mention.handle] = did
    return found.with_mentions(dids)
