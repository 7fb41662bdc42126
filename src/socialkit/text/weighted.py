"""twitter-text's weighted length (X): weighted code points, URLs and emoji as fixed units.

The formula, for a :class:`~socialkit.text.rules.TextRule` with ``counting=WEIGHTED``:

1. the text is NFC-normalised (``normalize_nfc``);
2. every URL twitter-text finds counts ``url_length * scale``;
3. with ``emoji_weight`` set (config v3), every emoji sequence outside a URL counts
   ``emoji_weight``: ``👨‍👩‍👧‍👦`` is one unit, not seven code points;
4. every other code point counts the weight of the range it falls in, else
   ``default_weight``;
5. ``length = total // scale``.

The text is valid when ``0 < length <= limit`` and it holds none of U+FFFE, U+FEFF,
U+FFFF. Counting scans with compiled regexes and never loops over characters in Python,
except to locate the overflow point of a text that does not fit.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

import attrs

from socialkit.text._unicode import emoji_spans, graphemes
from socialkit.text.twitter import extract_urls

if TYPE_CHECKING:
    from socialkit.text.rules import TextRule, WeightRange

__all__ = ["WeightedCount", "count_weighted"]

_INVALID_CHARS = re.compile("[\ufffe\ufeff\uffff]")


@attrs.frozen
class WeightedCount:
    """The result of counting one text by a weighted rule.

    Attributes:
        length: the weighted length (``total // scale``).
        overflow_at: code point offset (in the text as given) of the first unit that does
            not fit or is invalid, or ``None`` when the text fits.
        invalid_at: code point offset of the first invalid character, or ``None``.
    """

    length: int
    overflow_at: int | None
    invalid_at: int | None


@attrs.frozen
class _Weights:
    default: int
    classes: tuple[tuple[re.Pattern[str], int], ...]  # (runs of one weight, weight - default)
    ranges: tuple[tuple[int, int, int], ...]

    def total(self, text: str) -> int:
        """Sum of the code point weights of ``text``."""
        total = self.default * len(text)
        for runs, delta in self.classes:
            if delta:
                total += delta * sum(map(len, runs.findall(text)))
        return total

    def of(self, char: str) -> int:
        point = ord(char)
        for start, end, weight in self.ranges:
            if start <= point <= end:
                return weight
        return self.default


@functools.lru_cache(maxsize=32)
def _weights(ranges: tuple[WeightRange, ...], default: int) -> _Weights:
    by_weight: dict[int, list[str]] = {}
    for item in ranges:  # ranges do not overlap (twitter-text configurations never do)
        if item.end >= item.start:
            by_weight.setdefault(item.weight, []).append(
                f"{re.escape(chr(item.start))}-{re.escape(chr(item.end))}"
            )
    classes = tuple(
        (re.compile("[" + "".join(parts) + "]+"), weight - default)
        for weight, parts in by_weight.items()
        if parts
    )
    return _Weights(default, classes, tuple((r.start, r.end, r.weight) for r in ranges))


def _units(
    text: str, rule: TextRule, weights: _Weights
) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
    """Total weight, URL spans and emoji spans of an NFC text."""
    total = weights.total(text)
    urls: list[tuple[int, int]] = []
    if rule.url_length is not None and "." in text:
        urls = [(start, end) for _, start, end, _ in extract_urls(text)]
        for start, end in urls:
            total += rule.url_length * rule.scale - weights.total(text[start:end])
    emoji: list[tuple[int, int]] = []
    if rule.emoji_weight is not None and not text.isascii():
        url_index = 0
        for start, end in emoji_spans(text):
            while url_index < len(urls) and urls[url_index][1] <= start:
                url_index += 1
            if url_index < len(urls) and urls[url_index][0] <= start:
                continue  # inside a URL, which already counts as a whole
            emoji.append((start, end))
            total += rule.emoji_weight - weights.total(text[start:end])
    return total, urls, emoji


def count_weighted(text: str, rule: TextRule) -> WeightedCount:
    """Count ``text`` by a weighted rule (see the module docstring for the formula)."""
    weights = _weights(rule.weights, rule.default_weight)
    normalized = text
    if rule.normalize_nfc and not text.isascii() and not unicodedata.is_normalized("NFC", text):
        normalized = unicodedata.normalize("NFC", text)
    total, urls, emoji = _units(normalized, rule, weights)
    scale = max(rule.scale, 1)
    length = total // scale
    invalid = None if normalized.isascii() else _INVALID_CHARS.search(normalized)
    if invalid is None and length <= rule.limit:
        return WeightedCount(length, None, None)
    cut = _overflow(normalized, rule.limit * scale, weights, rule, urls, emoji)
    invalid_at = None
    if invalid is not None:
        invalid_at = invalid.start()
        cut = invalid_at if cut is None else min(cut, invalid_at)
    if normalized is not text:
        cut = None if cut is None else _original_offset(text, normalized, cut)
        invalid_at = None if invalid_at is None else _original_offset(text, normalized, invalid_at)
    return WeightedCount(length, cut, invalid_at)


def _overflow(
    text: str,
    budget: int,
    weights: _Weights,
    rule: TextRule,
    urls: list[tuple[int, int]],
    emoji: list[tuple[int, int]],
) -> int | None:
    """Offset of the first unit whose running total passes ``budget``, or ``None``."""
    fixed = {start: (end, (rule.url_length or 0) * rule.scale) for start, end in urls}
    for start, end in emoji:
        fixed.setdefault(start, (end, rule.emoji_weight or 0))
    total = 0
    index = 0
    size = len(text)
    while index < size:
        unit = fixed.get(index)
        if unit is None:
            total += weights.of(text[index])
            nxt = index + 1
        else:
            nxt, weight = unit
            total += weight
        if total > budget:
            return index
        index = nxt
    return None


def _original_offset(original: str, normalized: str, offset: int) -> int:
    """Map an offset in the NFC form back to the text as given.

    Normalisation stays inside grapheme clusters, so the clusters are normalised one by
    one and their boundaries line up. An offset inside a cluster (X counts code points:
    a Devanagari conjunct, a variation selector after a link) keeps its place in a
    cluster that normalising leaves alone, and moves to the start of one it changes.
    Where the clusters do not line up, the offset is shifted by the length difference,
    as twitter-text itself does.
    """
    position_original = position_normalized = 0
    for cluster in graphemes(original):
        if position_normalized >= offset:
            break
        composed = unicodedata.normalize("NFC", cluster)
        if position_normalized + len(composed) > offset:  # the offset is inside it
            if composed == cluster:
                return position_original + offset - position_normalized
            return position_original
        position_normalized += len(composed)
        position_original += len(cluster)
    if position_normalized == offset:
        return position_original
    return max(0, min(len(original), offset + len(original) - len(normalized)))
