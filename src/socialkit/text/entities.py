"""Entities (URLs, hashtags, mentions, cashtags) found by a platform's own rules.

The same text reads differently per platform, and users see the difference::

    text = "#شبکه‌های_اجتماعی"          # Persian, with a ZWNJ inside the tag
    extract_entities(text, X)          # hashtag "شبکه‌های_اجتماعی"
    extract_entities(text, MASTODON)   # hashtag "شبکه‌های_اجتماعی"
    extract_entities(text, BLUESKY)    # hashtag "شبکه" (the tag ends at the ZWNJ)

Every entity carries its offsets three ways: code points (Python ``str`` indices),
UTF-16 code units (JavaScript, Telegram entities) and UTF-8 bytes (Bluesky facets).
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import attrs

from socialkit.text import bluesky, mastodon, twitter
from socialkit.text._checks import check_entity_rules, check_text
from socialkit.text._unicode import IndexMap
from socialkit.text.rules import EntityRules

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialkit.text.rules import TextRule
    from socialkit.text.twitter import RawEntity

__all__ = ["Entity", "EntityKind", "extract_entities"]


class EntityKind(StrEnum):
    """What an entity is."""

    URL = "url"
    HASHTAG = "hashtag"
    MENTION = "mention"
    LIST = "list"  # twitter-text's @user/list-slug
    CASHTAG = "cashtag"


@attrs.frozen
class Entity:
    """One URL, hashtag, mention or cashtag in a text.

    Attributes:
        kind: what it is.
        text: the entity as written in the text (``#news``, ``@alice``, ``example.com``).
        value: what the platform makes of it: the tag without ``#``, the handle without
            ``@`` (``user@domain`` for a remote Mastodon mention), the symbol without
            ``$``, the URL (Bluesky adds ``https://`` to a bare domain).
        start, end: code point offsets (``text == source[start:end]``).
        utf16_start, utf16_end: UTF-16 code unit offsets.
        byte_start, byte_end: UTF-8 byte offsets.
    """

    kind: EntityKind
    text: str
    value: str
    start: int
    end: int
    utf16_start: int
    utf16_end: int
    byte_start: int
    byte_end: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ``indices``, ``utf16`` and ``utf8`` as ``[start, end]``."""
        return {
            "kind": self.kind.value,
            "text": self.text,
            "value": self.value,
            "indices": [self.start, self.end],
            "utf16": [self.utf16_start, self.utf16_end],
            "utf8": [self.byte_start, self.byte_end],
        }


_EXTRACTORS: dict[EntityRules, Callable[[str], list[RawEntity]]] = {
    EntityRules.TWITTER: twitter.extract,
    EntityRules.MASTODON: mastodon.extract,
    EntityRules.BLUESKY: bluesky.extract,
    # Platforms without published rules: twitter-text's, the most widely copied ones.
    EntityRules.GENERIC: twitter.extract,
}


def raw_entities(text: str, rules: EntityRules) -> list[RawEntity]:
    """``(kind, start, end, value)`` tuples by ``rules`` (cheap; no offset conversion)."""
    return list(_extracted(text, _EXTRACTORS[rules]))


@functools.lru_cache(maxsize=256)
def _extracted(text: str, extract: Callable[[str], list[RawEntity]]) -> tuple[RawEntity, ...]:
    # Checking one post reads its text by several platforms' rules, some twice (the
    # hashtag check compares every platform's reading with the target's; X's and the
    # generic rules are the same extractor): each text is scanned once per extractor.
    return tuple(extract(text))


def build_entities(text: str, raw: list[RawEntity]) -> tuple[Entity, ...]:
    """Turn raw tuples into :class:`Entity` objects with all three kinds of offsets."""
    index = IndexMap(text)
    return tuple(
        Entity(
            kind=EntityKind(kind),
            text=text[start:end],
            value=value,
            start=start,
            end=end,
            utf16_start=index.utf16(start),
            utf16_end=index.utf16(end),
            byte_start=index.utf8(start),
            byte_end=index.utf8(end),
        )
        for kind, start, end, value in raw
    )


def extract_entities(text: str, rules: TextRule | EntityRules) -> tuple[Entity, ...]:
    """Every entity in ``text`` by a platform's rules, in text order, none overlapping.

    Args:
        text: the text.
        rules: a text rule (its ``entities`` field is used) or the entity rules themselves.

    Raises:
        TypeError: ``text`` is not a string, or ``rules`` is neither a text rule nor entity
            rules (for a platform name, use :func:`~socialkit.text.rules.rule_for`).
    """
    check_text(text)
    which = check_entity_rules(rules)
    return build_entities(text, raw_entities(text, which))
