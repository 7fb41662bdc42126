"""Rich-text facets: links, tags and mentions with UTF-8 byte ranges, mentions resolved to DIDs.

Detection follows the Bluesky app's own reference rules, so a post shows the same links
and tags as one typed in the app. Mentions come out unresolved (handle and span); the
adapter resolves each handle with ``com.atproto.identity.resolveHandle`` and drops a
mention whose handle does not resolve, as the app does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs
import regex

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["FacetSpan", "build_facets", "detect_spans"]

FacetKind = Literal["link", "tag", "mention"]

_ZERO_WIDTH = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
# A tag: '#' or '＃' at the start or after whitespace, up to whitespace or a zero-width
# character, with at least one character that is not a digit, space or punctuation.
_TAG = regex.compile(
    rf"(?:^|(?<=\s))[#＃](?!\ufe0f)"
    rf"([^\s{_ZERO_WIDTH}]*[^\d\s\p{{P}}{_ZERO_WIDTH}]+[^\s{_ZERO_WIDTH}]*)"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_MENTION = regex.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9.-]+)\b")
_HANDLE = regex.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_LINK = regex.compile(r"(?:^|(?<=[\s(]))(https?://\S+)", regex.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")
MAX_TAG_GRAPHEMES = 64


@attrs.frozen
class FacetSpan:
    """A detected reference in a text.

    Attributes:
        kind: ``link``, ``tag`` or ``mention``.
        byte_start: UTF-8 offset of its first byte (inclusive).
        byte_end: UTF-8 offset after its last byte (exclusive).
        value: the link's URI, the tag without ``#``, or the handle without ``@``.
    """

    kind: FacetKind
    byte_start: int
    byte_end: int
    value: str


class _ByteOffsets:
    """Code-point index → UTF-8 byte offset for one text."""

    def __init__(self, text: str) -> None:
        self._offsets = [0]
        total = 0
        for char in text:
            total += len(char.encode("utf-8"))
            self._offsets.append(total)

    def __getitem__(self, index: int) -> int:
        return self._offsets[index]


def detect_spans(text: str) -> list[FacetSpan]:
    """Links, tags and mentions in ``text`` by the Bluesky app's rules, in text order."""
    offsets = _ByteOffsets(text)
    spans: list[FacetSpan] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        if not _HANDLE.match(handle):
            continue
        spans.append(
            FacetSpan("mention", offsets[match.start()], offsets[match.end(1)], handle.lower())
        )
    for match in _LINK.finditer(text):
        uri = match.group(1)
        end = match.end(1)
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        spans.append(FacetSpan("link", offsets[match.start(1)], offsets[end], uri))
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", match.group(1).strip())
        if not tag or len(_GRAPHEME.findall(tag)) > MAX_TAG_GRAPHEMES:
            continue
        start = match.start()
        spans.append(FacetSpan("tag", offsets[start], offsets[start + 1 + len(tag)], tag))
    spans.sort(key=lambda span: span.byte_start)
    return spans


async def build_facets(
    text: str, resolve_handle: Callable[[str], Awaitable[str | None]]
) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects for ``text``.

    Args:
        text: the post's text.
        resolve_handle: handle → DID, or ``None`` when the handle does not exist.
    """
    facets: list[dict[str, Any]] = []
    for span in detect_spans(text):
        feature: dict[str, Any]
        if span.kind == "link":
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        elif span.kind == "tag":
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
        else:
            did = await resolve_handle(span.value)
            if did is None:
                continue
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": span.byte_start, "byteEnd": span.byte_end},
                "features": [feature],
            }
        )
    return facets
