"""Bluesky rich text: reference detection of links, mentions, tags and cashtags, and facets.

Detection follows ``@atproto/api``'s ``detectFacets`` (what the Bluesky app produces):

* mention: ``@`` and ``[a-zA-Z0-9.-]+`` after start, whitespace or ``(``, ending at a word
  boundary, accepted only when it ends in a known top-level domain (or ``.test``);
* link: ``http(s)://`` and everything up to whitespace, or a bare domain that starts with a
  letter and ends in a known top-level domain (its link gets ``https://``); one trailing
  ``.,;:!?`` is dropped, and a ``)`` without a ``(`` in the link;
* tag: ``#`` or ``＃`` after start or whitespace, up to whitespace or a zero-width
  character (U+00AD, U+2060, U+200A, U+200B, U+200C ZWNJ, U+200D, U+20E2), with at least
  one character that is not an ASCII digit or punctuation; trailing punctuation is dropped
  and a tag of more than 64 UTF-16 units is ignored. So ``#شبکه‌های_اجتماعی`` (with ZWNJ)
  is the tag ``شبکه`` on Bluesky;
* cashtag: ``$`` and a letter with up to four letters or digits, after start, whitespace or
  ``(``, before whitespace, the end or ``.,;:!?)"'’``; its facet is a tag ``$TICKER``
  (upper-cased).

Facets carry UTF-8 byte ranges (``byteStart`` inclusive, ``byteEnd`` exclusive). Mentions
need a DID, which takes a network lookup: :func:`bluesky_facets` returns them unresolved
for the adapter to resolve (the text layer does no I/O).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs
import regex

from socialkit.text._checks import check_text
from socialkit.text._tlds import COUNTRY_TLDS, GENERIC_TLDS
from socialkit.text._unicode import IndexMap, utf16_length

if TYPE_CHECKING:
    from socialkit.text.twitter import RawEntity

__all__ = [
    "FacetResult",
    "UnresolvedMention",
    "bluesky_facets",
    "extract",
    "facet_for_mention",
]

_TLDS = GENERIC_TLDS | COUNTRY_TLDS
# JavaScript's \s (without the u flag it is the same set).
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ZERO_WIDTH = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_MENTION = re.compile(rf"(?:^|[{_JS_SPACE}(])@(?P<handle>[a-zA-Z0-9.\-]+)\b", re.ASCII)
_LINK = re.compile(
    rf"(?:^|[{_JS_SPACE}(])"
    rf"(?P<link>https?://[^{_JS_SPACE}]+"
    rf"|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)[^{_JS_SPACE}]*)",
    re.IGNORECASE | re.ASCII,
)
_TAG = regex.compile(
    rf"(?:^|[{_JS_SPACE}])[#\uff03]"
    rf"(?P<tag>(?!\ufe0f)[^{_JS_SPACE}{_ZERO_WIDTH}]*"
    rf"[^0-9{_JS_SPACE}\p{{P}}{_ZERO_WIDTH}]+[^{_JS_SPACE}{_ZERO_WIDTH}]*)?"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+\Z")
_CASHTAG = re.compile(
    rf"(?:^|[{_JS_SPACE}(])\$(?P<symbol>[A-Za-z][A-Za-z0-9]{{0,4}})"
    rf"(?=[{_JS_SPACE}]|\Z|[.,;:!?)\"'\u2019])"
)
MAX_TAG_UTF16 = 64


def _is_handle_domain(name: str) -> bool:
    head, dot, tld = name.rpartition(".")
    return bool(dot) and bool(head) and tld in _TLDS


def extract(text: str) -> list[RawEntity]:
    """Mentions, links, tags and cashtags as the Bluesky app detects them, in text order.

    Values: the handle for a mention, the URI for a link (``https://`` added to a bare
    domain), the tag without ``#`` for a tag, the upper-cased symbol for a cashtag.
    """
    found: list[RawEntity] = []
    if "@" in text:
        for match in _MENTION.finditer(text):
            handle = match["handle"]
            if _is_handle_domain(handle) or handle.endswith(".test"):
                found.append(("mention", match.start("handle") - 1, match.end(), handle))
    if "." in text or "://" in text:  # a link with a scheme needs no dot (localhost)
        for match in _LINK.finditer(text):
            uri = match["link"]
            start, end = match.span("link")
            if not uri.startswith("http"):
                domain = match["domain"]
                if not domain or not _is_handle_domain(domain):
                    continue
                uri = "https://" + uri
            if uri[-1] in ".,;:!?":
                uri, end = uri[:-1], end - 1
            if uri.endswith(")") and "(" not in uri:
                uri, end = uri[:-1], end - 1
            found.append(("url", start, end, uri))
    if "#" in text or "\uff03" in text:
        for match in _TAG.finditer(text):
            tag = match["tag"]
            if not tag:
                continue
            tag = _TRAILING_PUNCTUATION.sub("", tag)
            if not tag or utf16_length(tag) > MAX_TAG_UTF16:
                continue
            start = match.start("tag") - 1
            found.append(("hashtag", start, start + 1 + len(tag), tag))
    if "$" in text:
        for match in _CASHTAG.finditer(text):
            start = match.start("symbol") - 1
            found.append(("cashtag", start, match.end(), match["symbol"].upper()))
    found.sort(key=lambda entity: entity[1])
    return found


@attrs.frozen
class UnresolvedMention:
    """A mention the adapter must resolve to a DID before the facet can be made.

    Attributes:
        handle: the handle as written, without ``@`` (``alice.bsky.social``).
        byte_start: UTF-8 offset of the ``@`` (inclusive).
        byte_end: UTF-8 offset after the handle (exclusive).
    """

    handle: str
    byte_start: int
    byte_end: int


@attrs.frozen
class FacetResult:
    """Facets for a Bluesky post, and the mentions still to resolve.

    Attributes:
        facets: ``app.bsky.richtext.facet`` objects (link and tag features), as dicts
            ready for the record, sorted by ``byteStart``.
        mentions: mentions waiting for a DID; :meth:`with_mentions` adds a facet for each
            one resolved (``socialkit.text.bluesky.facet_for_mention`` makes one facet) and
            drops those that do not resolve.
    """

    facets: tuple[dict[str, Any], ...]
    mentions: tuple[UnresolvedMention, ...]

    def with_mentions(self, dids: dict[str, str]) -> list[dict[str, Any]]:
        """All facets, with each mention whose handle is in ``dids`` added, sorted by offset."""
        facets = list(self.facets)
        for mention in self.mentions:
            did = dids.get(mention.handle)
            if did is not None:
                facets.append(facet_for_mention(mention, did))
        facets.sort(key=lambda facet: facet["index"]["byteStart"])
        return facets


def _facet(byte_start: int, byte_end: int, feature: dict[str, str]) -> dict[str, Any]:
    return {
        "$type": "app.bsky.richtext.facet",
        "index": {"byteStart": byte_start, "byteEnd": byte_end},
        "features": [feature],
    }


def facet_for_mention(mention: UnresolvedMention, did: str) -> dict[str, Any]:
    """The ``app.bsky.richtext.facet#mention`` facet for a resolved mention."""
    feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
    return _facet(mention.byte_start, mention.byte_end, feature)


def bluesky_facets(text: str) -> FacetResult:
    """Link and tag facets for ``text``, and its mentions unresolved.

    Byte ranges are computed from code point offsets, so they always fall on UTF-8
    character boundaries.

    Example::

        result = bluesky_facets("Hi @alice.bsky.social! #news https://bsky.app")
        result.facets      # a #tag facet and a #link facet with byte ranges
        result.mentions    # (UnresolvedMention(handle="alice.bsky.social", ...),)
    """
    check_text(text)
    index = IndexMap(text)
    facets: list[dict[str, Any]] = []
    mentions: list[UnresolvedMention] = []
    for kind, start, end, value in extract(text):
        byte_start, byte_end = index.utf8(start), index.utf8(end)
        if kind == "mention":
            mentions.append(UnresolvedMention(value, byte_start, byte_end))
        elif kind == "url":
            facets.append(
                _facet(
                    byte_start, byte_end, {"$type": "app.bsky.richtext.facet#link", "uri": value}
                )
            )
        else:
            tag = "$" + value if kind == "cashtag" else value
            facets.append(
                _facet(byte_start, byte_end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
            )
    return FacetResult(tuple(facets), tuple(mentions))
