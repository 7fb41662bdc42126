"""Finding a status this publication may already have made (reconciliation).

A status matches a draft part when, after both are normalised the same way, its text,
content warning, reply parent and media (count, kind and alt text, in order) are the
same. The server returns ``content`` as HTML: paragraphs, line breaks, links whose parts
sit in hidden spans, mentions shortened to ``@user``; :func:`html_to_text` undoes that,
and :func:`normalise_text` makes the draft's text comparable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from socialkit import Media

__all__ = ["html_to_text", "normalise_text", "parse_time", "status_matches"]

# "@user@domain" is shown (and counted) as "@user". Both sides of a comparison drop every
# "@domain" that follows "@user", until none is left: the server's shortening is then
# invisible, whatever its exact rule for where a mention may start.
_MENTION_DOMAIN = re.compile(r"(@[A-Za-z0-9_][A-Za-z0-9_.-]*)@[\w.-]*\w")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{2,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.chunks.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.chunks.append("\n\n")
            self._paragraphs += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def html_to_text(content: str) -> str:
    """The plain text of a status's HTML ``content``.

    The parser already turns character references into characters (``&amp;lt;`` becomes
    ``&lt;``, which is what the person typed); unescaping once more would read it as ``<``.
    """
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    return "".join(parser.chunks)


def normalise_text(text: str) -> str:
    """``text`` reduced to what a status's shown text keeps.

    Line endings unified, spaces collapsed, blank lines merged, and every ``@domain`` after
    ``@user`` removed (remote mentions show as their local part). Apply it to both the
    draft's text and the text read back from the server, then compare.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    while True:
        shorter = _MENTION_DOMAIN.sub(r"\1", text)
        if shorter == text:
            break
        text = shorter
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 ``created_at`` as an aware datetime, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_KINDS = {
    "image": ("image",),
    "gif": ("gifv", "image"),
    "video": ("video", "gifv"),
    "audio": ("audio",),
}


def _media_matches(attachments: Sequence[Mapping[str, Any]], media: Sequence[Media]) -> bool:
    if len(attachments) != len(media):
        return False
    for attachment, item in zip(attachments, media, strict=True):
        accepted = _KINDS.get(item.kind, ())
        if accepted and attachment.get("type") not in accepted:
            return False
        if (attachment.get("description") or "") != (item.alt_text or ""):
            return False
    return True


def status_matches(
    status: Mapping[str, Any],
    *,
    text: str,
    media: Sequence[Media],
    content_warning: str | None,
    in_reply_to_id: str | None,
) -> bool:
    """True when ``status`` is what a request for this part would have created."""
    if status.get("reblog"):
        return False
    if status.get("in_reply_to_id") != in_reply_to_id:
        return False
    # the server strips the content warning before saving it (as it does the text)
    if (status.get("spoiler_text") or "").strip() != (content_warning or "").strip():
        return False
    content = status.get("content")
    if not isinstance(content, str):
        return False
    if normalise_text(html_to_text(content)) != normalise_text(text):
        return False
    attachments = status.get("media_attachments")
    if not isinstance(attachments, list):
        return False
    return _media_matches(attachments, media)
