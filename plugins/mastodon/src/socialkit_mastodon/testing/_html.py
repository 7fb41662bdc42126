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

from socialkit.text import EntityKind, extract_entities, measure
from socialkit.text.rules import MASTODON

__all__ = ["count_characters", "render_content"]

_URL_SHOWN = 30


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
    for entity in extract_entities(text, MASTODON):
        out.append(html.escape(text[pos : entity.start]))
        pos = entity.end
        if entity.kind is EntityKind.URL:
            out.append(_link(entity.text))
        elif entity.kind is EntityKind.MENTION:
            user, _, domain = entity.value.partition("@")
            out.append(
                '<span class="h-card" translate="no">'
                f'<a href="https://{domain or host}/@{user}" class="u-url mention">'
                f"@<span>{html.escape(user)}</span></a></span>"
            )
        elif entity.kind is EntityKind.HASHTAG:
            tag = html.escape(entity.value)
            out.append(
                f'<a href="https://{host}/tags/{tag}" class="mention hashtag" '
                f'rel="tag">#<span>{tag}</span></a>'
            )
        else:  # cashtags are plain text on Mastodon
            out.append(html.escape(entity.text))
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


def count_characters(text: str, url_length: int, *, spoiler_text: str = "") -> int:
    """The length Mastodon counts (its own entity rules, from :mod:`socialkit.text`).

    URLs count ``url_length``, ``@user@domain`` counts as ``@user``, and the content
    warning counts too.
    """
    rule = MASTODON.model_copy(update={"url_length": url_length})
    return measure(text, rule).length + (measure(spoiler_text, rule).length if spoiler_text else 0)
