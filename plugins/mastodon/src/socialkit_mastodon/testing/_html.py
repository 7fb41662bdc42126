"""How the fake server turns status text into HTML and counts its length, as Mastodon does.

Mastodon renders plain text as paragraphs (a blank line) and line breaks, wraps links in
an ``<a>`` whose scheme and tail sit in hidden spans, hashtags in ``mention hashtag``
links and mentions in ``h-card`` spans showing only ``@user``. It counts length in
characters with every URL as ``characters_reserved_per_url`` and a remote mention as its
local part, and adds the content warning.
"""

from __future__ import annotations

import html
import re

import regex

__all__ = ["count_characters", "render_content"]

_ENTITY = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?<![=/\w])(?P<mention>@(?P<user>[A-Za-z0-9_]+(?:[A-Za-z0-9_.-]+[A-Za-z0-9_]+)?)"
    r"(?:@(?P<domain>[\w.-]+\w))?)"
    r"|(?<![\w&/])#(?P<tag>[\w\u200c\u00b7\u30fb]*[^\W\d_][\w\u200c\u00b7\u30fb]*)",
    re.UNICODE,
)
_TRAILING = ".,;:!?)]}'\""
_GRAPHEME = regex.compile(r"\X")
_URL_SHOWN = 30


def _split_url(url: str) -> tuple[str, str]:
    trail = ""
    while url and url[-1] in _TRAILING:
        trail = url[-1] + trail
        url = url[:-1]
    return url, trail


def _link(url: str) -> str:
    scheme, rest = url.split("://", 1)
    prefix = f"{scheme}://"
    if rest.startswith("www."):
        prefix, rest = prefix + "www.", rest[4:]
    shown, hidden = rest[:_URL_SHOWN], rest[_URL_SHOWN:]
    cls = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(prefix)}</span>'
        f'<span class="{cls}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def _inline(text: str, host: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _ENTITY.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        pos = match.end()
        if match.group("url"):
            url, trail = _split_url(match.group("url"))
            out.append(_link(url) + html.escape(trail))
        elif match.group("mention"):
            user = match.group("user")
            domain = match.group("domain") or host
            out.append(
                '<span class="h-card" translate="no">'
                f'<a href="https://{domain}/@{user}" class="u-url mention">'
                f"@<span>{html.escape(user)}</span></a></span>"
            )
        else:
            tag = match.group("tag")
            out.append(
                f'<a href="https://{host}/tags/{html.escape(tag)}" class="mention hashtag" '
                f'rel="tag">#<span>{html.escape(tag)}</span></a>'
            )
    out.append(html.escape(text[pos:]))
    return "".join(out)


def render_content(text: str, host: str) -> str:
    """The HTML ``content`` Mastodon makes from ``text``."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    paragraphs = re.split(r"\n{2,}", text)
    return "".join(
        "<p>" + "<br />".join(_inline(line, host) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def count_characters(text: str, url_length: int) -> int:
    """The length Mastodon counts: URLs as ``url_length``, ``@user@domain`` as ``@user``."""

    def shorten(match: re.Match[str]) -> str:
        if match.group("url"):
            _, trail = _split_url(match.group("url"))
            return "x" * url_length + trail
        if match.group("mention"):
            return "@" + match.group("user")
        return match.group(0)

    return len(_GRAPHEME.findall(_ENTITY.sub(shorten, text)))
