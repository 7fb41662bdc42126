"""UTM tagging: add a campaign's parameters to the links of a text."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex

if TYPE_CHECKING:
    from collections.abc import Mapping

_URL = regex.compile(r"https?://[^\s<>\"']+", regex.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def add_utm_to_url(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added; existing query parameters and the fragment are kept.

    A parameter already present in the URL is left as it is (the author chose it).
    """
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query.extend((k, v) for k, v in params.items() if k not in present)
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def add_utm(text: str, params: Mapping[str, str]) -> str:
    """Add ``params`` to every http(s) link in ``text``."""
    if not params:
        return text

    def tag(match: regex.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in _TRAILING:
            trail = url[-1] + trail
            url = url[:-1]
        return add_utm_to_url(url, params) + trail

    return str(_URL.sub(tag, text))
