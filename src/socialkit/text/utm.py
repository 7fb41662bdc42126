"""UTM tagging: add a campaign's parameters to the links of a text.

Tag before measuring: a tagged link is longer, which matters where links count as
written (Bluesky, LinkedIn) and not where they count as a fixed width (X, Mastodon).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from socialkit.text._checks import check_entity_rules, check_text
from socialkit.text.entities import raw_entities
from socialkit.text.rules import EntityRules

if TYPE_CHECKING:
    from collections.abc import Mapping

    from socialkit.text.rules import TextRule

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


def add_utm(
    text: str, params: Mapping[str, str], rules: TextRule | EntityRules = EntityRules.TWITTER
) -> str:
    """Add ``params`` to every ``http(s)://`` link in ``text``, as ``rules`` find links.

    Pass the target platform's rule (``capabilities.text``): the parameters go at the end
    of the link that platform makes, so ``https://ja.wikipedia.org/wiki/東京`` is tagged
    after ``東京`` on Mastodon and Bluesky, which link the whole URL. By twitter-text's
    rules (the default) a link ends before trailing punctuation, so
    ``https://example.com/launch.`` gets its parameters before the full stop, and a path
    ends at the first CJK, Greek or Arabic letter: such a link is left as written on X,
    since a tag there would split the URL in two. On platforms without published rules
    (``EntityRules.GENERIC``: the feed, LinkedIn...) a link is taken to the end of the
    word in that case, as common linkifiers (and the feed's page) take it. Links written
    without a scheme are left alone: several platforms do not link them, and a query
    string would make them read as links.

    Raises:
        TypeError: ``text`` is not a string, or ``rules`` is not a text rule or entity rules.
    """
    check_text(text)
    which = check_entity_rules(rules)
    if not params or "://" not in text:
        return text
    pieces: list[str] = []
    position = 0
    for kind, start, end, _ in raw_entities(text, which):
        if kind != "url" or not text[start : start + 8].lower().startswith(_SCHEMES):
            continue
        if end < len(text) and _continues(text[end]):
            if which is not EntityRules.GENERIC:
                continue  # the platform links only part of the URL: leave it as written
            end = _word_end(text, end)
        pieces.append(text[position:start])
        pieces.append(add_utm_to_url(text[start:end], params))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


_SCHEMES = ("http://", "https://")
_WORD = re.compile(r"[^\s<>\"']*")
_TRAILING = ".,;:!?)]"


def _continues(char: str) -> bool:
    """A letter, digit or mark: the URL as written goes on (``/wiki/`` + ``東京``)."""
    return unicodedata.category(char)[0] in "LNM"


def _word_end(text: str, end: int) -> int:
    """Where the written URL ends: the next space or quote, trailing punctuation left out."""
    match = _WORD.match(text, end)
    stop = match.end() if match else end
    while stop > end and text[stop - 1] in _TRAILING:
        stop -= 1
    return stop
