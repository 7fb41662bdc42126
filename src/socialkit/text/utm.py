"""UTM tagging: add a campaign's parameters to the links of a text.

Tag before measuring: a tagged link is longer, which matters where links count as
written (Bluesky, LinkedIn) and not where they count as a fixed width (X, Mastodon).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from socialkit.text._checks import check_text
from socialkit.text.twitter import extract_urls

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["add_utm", "add_utm_to_url"]


def add_utm_to_url(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query.

    Existing query parameters keep their order and exact spelling (nothing is
    re-encoded) and the fragment stays last. A parameter the URL already has is left as
    it is: the author chose it.

    Example::

        >>> add_utm_to_url("https://example.com/a?x=1#top", {"utm_source": "x"})
        'https://example.com/a?x=1&utm_source=x#top'
    """
    check_text(url, "url")
    if not params:
        return url
    parts = urlsplit(url)
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = urlencode([(key, value) for key, value in params.items() if key not in present])
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def add_utm(text: str, params: Mapping[str, str]) -> str:
    """Add ``params`` to every ``http(s)://`` link in ``text``.

    Links are found by twitter-text's rules (a known top-level domain, trailing
    punctuation left out), so ``https://example.com/launch.`` gets its parameters before
    the full stop. Links written without a scheme are left alone: several platforms do
    not link them, and a query string would make them read as links.
    """
    check_text(text)
    if not params or "://" not in text:
        return text
    pieces: list[str] = []
    position = 0
    for _, start, end, _ in extract_urls(text, without_protocol=False):
        pieces.append(text[position:start])
        pieces.append(add_utm_to_url(text[start:end], params))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
