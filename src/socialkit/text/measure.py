"""Length as each platform counts it, the limit, whether it fits, and where it stops fitting.

How each :class:`~socialkit.text.rules.Counting` unit is counted:

* ``WEIGHTED`` (X): twitter-text's weighted length, see :mod:`socialkit.text.weighted`;
* ``GRAPHEMES`` (Mastodon, Bluesky): user-perceived characters (UAX #29 extended grapheme
  clusters); with ``url_length`` set every link counts that many, and with
  ``remote_mentions_count_local_part`` a mention ``@user@domain`` counts as ``@user``;
* ``CODE_POINTS``: Unicode code points; with ``emoji_as_utf8_bytes`` (Threads) each emoji
  sequence counts its UTF-8 byte length instead;
* ``UTF16`` (Telegram): UTF-16 code units;
* ``UTF8`` (YouTube descriptions): UTF-8 bytes.

``max_bytes`` (Bluesky: 3000) is a second limit, in UTF-8 bytes, whatever the unit.
"""

from __future__ import annotations

import bisect
import functools
from typing import TYPE_CHECKING

import attrs

from socialkit.text import bluesky, mastodon, twitter
from socialkit.text._checks import check_optional_text, check_rule, check_text
from socialkit.text._unicode import (
    emoji_spans,
    grapheme_boundaries,
    grapheme_count,
    utf8_length,
    utf16_length,
)
from socialkit.text.entities import build_entities, raw_entities
from socialkit.text.rules import Counting, EntityRules
from socialkit.text.weighted import count_weighted

if TYPE_CHECKING:
    from socialkit.text.entities import Entity
    from socialkit.text.rules import TextRule
    from socialkit.text.twitter import RawEntity

__all__ = ["Measurement", "measure"]

Piece = tuple[int, int, int]
"""A span that counts a fixed number of units: ``(start, end, units)``."""


@attrs.frozen
class Measurement:
    """How long a text is for one rule, and whether it fits.

    Attributes:
        length: the length in the rule's unit, as the platform counts it (including the
            content warning where the platform counts it).
        limit: the rule's limit, in the same unit.
        fits: whether the platform accepts it: ``length <= limit``, bytes within
            ``max_bytes``, hashtags within ``max_hashtags`` and no character the platform
            refuses (X: U+FFFE, U+FEFF, U+FFFF). Emptiness is not checked here (a post
            may be media only); see ``TextRule.min_length``.
        byte_length: UTF-8 bytes of the text.
        max_bytes: the rule's byte limit, if any.
        overflow_at: code point offset of the first character that does not fit (the
            text fits up to there), or ``None`` when it fits. Never inside a grapheme
            cluster or a link that counts as a whole; on X, where twitter-text counts code
            points, never inside an emoji sequence or a link.
        rule: the rule's name.
        counting: the unit of ``length`` and ``limit``.
        hashtag_count: hashtags found, when the rule limits them (Instagram), else ``None``.
        max_hashtags: the rule's hashtag limit, if any.
        invalid_at: code point offset of the first character the platform refuses, if any.
        text: the measured text.
    """

    length: int
    limit: int
    fits: bool
    byte_length: int
    max_bytes: int | None
    overflow_at: int | None
    rule: str
    counting: Counting
    hashtag_count: int | None = None
    max_hashtags: int | None = None
    invalid_at: int | None = None
    text: str = attrs.field(default="", repr=False)
    entity_rules: EntityRules = attrs.field(default=EntityRules.GENERIC, repr=False)

    @property
    def remaining(self) -> int:
        """``limit - length``: negative when the text is too long."""
        return self.limit - self.length

    @functools.cached_property
    def entities(self) -> tuple[Entity, ...]:
        """URLs, hashtags, mentions and cashtags by the rule's entity rules (computed once)."""
        return build_entities(self.text, raw_entities(self.text, self.entity_rules))


def _urls(text: str, rules: EntityRules) -> list[RawEntity]:
    if rules is EntityRules.MASTODON:
        return mastodon.extract_urls(text)
    if rules is EntityRules.BLUESKY:
        return [entity for entity in bluesky.extract(text) if entity[0] == "url"]
    return twitter.extract_urls(text)


def _fixed_pieces(text: str, rule: TextRule) -> list[Piece]:
    """Spans that count a fixed number of units instead of their own length.

    As Mastodon's ``StatusLengthValidator`` does it: links and mentions are found, those
    overlapping an earlier one dropped, then each link counts ``url_length`` and the
    ``@domain`` part of each remote mention counts nothing.
    """
    entities = _urls(text, rule.entities) if rule.url_length is not None else []
    if rule.remote_mentions_count_local_part and "@" in text:
        entities = entities + mastodon.extract_mentions(text)
    pieces: list[Piece] = []
    for kind, start, end, value in twitter.remove_overlaps(entities):
        if kind == "url":
            pieces.append((start, end, rule.url_length or 0))
        elif "@" in value:
            pieces.append((start + 1 + value.index("@"), end, 0))
    return pieces


def _unit_length(text: str, unit: Counting) -> int:
    if unit is Counting.GRAPHEMES:
        return grapheme_count(text)
    if unit is Counting.UTF16:
        return utf16_length(text)
    if unit is Counting.UTF8:
        return utf8_length(text)
    return len(text)


def _emoji_extra(text: str) -> list[Piece]:
    """Threads: each emoji sequence counts its UTF-8 bytes."""
    if text.isascii():
        return []
    return [(start, end, utf8_length(text[start:end])) for start, end in emoji_spans(text)]


def _length(text: str, rule: TextRule, pieces: list[Piece]) -> int:
    length = _unit_length(text, rule.counting)
    for start, end, units in pieces:
        length += units - _unit_length(text[start:end], rule.counting)
    return length


def _pieces(text: str, rule: TextRule) -> list[Piece]:
    pieces = _fixed_pieces(text, rule) if ("." in text or "@" in text or ":" in text) else []
    if rule.emoji_as_utf8_bytes:
        emoji = _emoji_extra(text)
        if emoji:
            pieces = _merge(pieces, emoji)
    return pieces


def _merge(first: list[Piece], second: list[Piece]) -> list[Piece]:
    """Both lists, in order; a piece of ``second`` overlapping one of ``first`` is dropped."""
    kept = list(first)
    for piece in second:
        if not any(s < piece[1] and piece[0] < e for s, e, _ in first):
            kept.append(piece)
    kept.sort()
    return kept


def _overflow_by_units(text: str, rule: TextRule, pieces: list[Piece], budget: int) -> int | None:
    """First offset where the running length passes ``budget``."""
    fixed = {start: (end, units) for start, end, units in pieces}
    if rule.counting is Counting.GRAPHEMES:
        bounds = grapheme_boundaries(text)
    else:
        bounds = list(range(len(text) + 1))
    total = 0
    position = 0
    for index in range(len(bounds) - 1):
        start = bounds[index]
        if start < position:
            continue  # inside a fixed piece
        piece = fixed.get(start)
        if piece is not None:
            position, units = piece
        else:
            position = bounds[index + 1]
            units = _unit_length(text[start:position], rule.counting)
        total += units
        if total > budget:
            return start
    return None


def _grapheme_start(text: str, offset: int) -> int:
    """The start of the grapheme cluster ``offset`` falls in."""
    if text.isascii():
        return offset
    bounds = grapheme_boundaries(text)
    return bounds[bisect.bisect_right(bounds, offset) - 1]


def _overflow_by_bytes(text: str, max_bytes: int) -> int | None:
    """First grapheme boundary where the UTF-8 length passes ``max_bytes``."""
    if utf8_length(text) <= max_bytes:
        return None
    bounds = grapheme_boundaries(text)
    total = 0
    for index in range(len(bounds) - 1):
        total += utf8_length(text[bounds[index] : bounds[index + 1]])
        if total > max_bytes:
            return bounds[index]
    return None  # pragma: no cover - the total above exceeds max_bytes


def measure(text: str, rule: TextRule, *, content_warning: str | None = None) -> Measurement:
    """Measure ``text`` as the platform of ``rule`` counts it.

    Args:
        text: the post text.
        rule: the platform's rule (``Capabilities.text`` or a constant of
            :mod:`socialkit.text.rules`).
        content_warning: the content warning / spoiler text; it counts toward the limit
            where the rule says so (Mastodon), and is ignored otherwise.

    Returns:
        The measurement; ``entities`` are found on first access.

    Raises:
        TypeError: ``text`` or ``content_warning`` is not a string, or ``rule`` is not a
            :class:`~socialkit.text.rules.TextRule` (for a platform name, use
            :func:`~socialkit.text.rules.rule_for`); the message names the argument.

    Example::

        >>> from socialkit.text import measure, rules
        >>> m = measure("Read this: https://example.com/a/very/long/path 🎉", rules.X)
        >>> (m.length, m.fits)
        (37, True)
    """
    check_text(text)
    check_rule(rule)
    check_optional_text(content_warning, "content_warning")
    warning = content_warning if (content_warning and rule.content_warning_counts) else ""
    invalid_at: int | None = None
    if rule.counting is Counting.WEIGHTED:
        counted = count_weighted(warning + text, rule) if warning else count_weighted(text, rule)
        length = counted.length
        overflow_at = counted.overflow_at
        invalid_at = counted.invalid_at
        if warning:
            overflow_at = None if overflow_at is None else max(0, overflow_at - len(warning))
            invalid_at = None if invalid_at is None else max(0, invalid_at - len(warning))
    else:
        pieces = _pieces(text, rule)
        warning_length = _unit_length(warning, rule.counting) if warning else 0
        length = warning_length + _length(text, rule, pieces)
        overflow_at = None
        if length > rule.limit:
            overflow_at = _overflow_by_units(text, rule, pieces, rule.limit - warning_length)
            if overflow_at is None or rule.limit < warning_length:
                overflow_at = 0
            elif rule.counting is not Counting.GRAPHEMES:
                overflow_at = _grapheme_start(text, overflow_at)
    byte_length = utf8_length(text)
    if rule.max_bytes is not None and byte_length > rule.max_bytes:
        at_bytes = _overflow_by_bytes(text, rule.max_bytes)
        if at_bytes is not None:
            overflow_at = at_bytes if overflow_at is None else min(overflow_at, at_bytes)
    hashtag_count = None
    if rule.max_hashtags is not None:
        tags = [e for e in raw_entities(text, rule.entities) if e[0] == "hashtag"]
        hashtag_count = len(tags)
        if hashtag_count > rule.max_hashtags:
            first_extra = tags[rule.max_hashtags][1]
            overflow_at = first_extra if overflow_at is None else min(overflow_at, first_extra)
    fits = overflow_at is None and invalid_at is None
    return Measurement(
        length=length,
        limit=rule.limit,
        fits=fits,
        byte_length=byte_length,
        max_bytes=rule.max_bytes,
        overflow_at=overflow_at,
        rule=rule.name,
        counting=rule.counting,
        hashtag_count=hashtag_count,
        max_hashtags=rule.max_hashtags,
        invalid_at=invalid_at,
        text=text,
        entity_rules=rule.entities,
    )
