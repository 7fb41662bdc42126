"""Length as a platform counts it (first version: no entity handling yet)."""

from __future__ import annotations

import unicodedata

import attrs
import regex

from socialkit.text.rules import Counting, TextRule

_GRAPHEME = regex.compile(r"\X")


@attrs.frozen
class Measurement:
    """How long a text is for one rule, and whether it fits.

    Attributes:
        length: the length in the rule's unit.
        limit: the rule's limit.
        fits: ``length <= limit`` (and bytes within ``max_bytes``, when set).
        byte_length: UTF-8 bytes.
        max_bytes: the rule's byte limit, if any.
        overflow_at: index (code points) of the first character that does not fit, or ``None``.
        rule: the rule's name.
    """

    length: int
    limit: int
    fits: bool
    byte_length: int
    max_bytes: int | None
    overflow_at: int | None
    rule: str


def _unit_length(text: str, rule: TextRule) -> int:
    if rule.normalize_nfc:
        text = unicodedata.normalize("NFC", text)
    if rule.counting is Counting.GRAPHEMES:
        return len(_GRAPHEME.findall(text))
    if rule.counting is Counting.UTF16:
        return len(text.encode("utf-16-le")) // 2
    if rule.counting is Counting.UTF8:
        return len(text.encode("utf-8"))
    if rule.counting is Counting.WEIGHTED:
        total = 0
        for ch in text:
            cp = ord(ch)
            weight = rule.default_weight
            for r in rule.weights:
                if r.start <= cp <= r.end:
                    weight = r.weight
                    break
            total += weight
        return total // max(rule.scale, 1)
    return len(text)


def measure(text: str, rule: TextRule) -> Measurement:
    """Measure ``text`` as the platform of ``rule`` counts it."""
    length = _unit_length(text, rule)
    byte_length = len(text.encode("utf-8"))
    fits = length <= rule.limit and (rule.max_bytes is None or byte_length <= rule.max_bytes)
    overflow_at = None
    if not fits:
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure_fits(text[:mid], rule):
                lo = mid
            else:
                hi = mid - 1
        overflow_at = lo
    return Measurement(
        length, rule.limit, fits, byte_length, rule.max_bytes, overflow_at, rule.name
    )


def measure_fits(text: str, rule: TextRule) -> bool:
    length = _unit_length(text, rule)
    return length <= rule.limit and (
        rule.max_bytes is None or len(text.encode("utf-8")) <= rule.max_bytes
    )
