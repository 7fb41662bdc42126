"""Thread splitting (first version: word boundaries only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.text.measure import measure_fits

if TYPE_CHECKING:
    from socialkit.text.rules import TextRule


def split(text: str, rule: TextRule, *, numbering: str | None = None) -> list[str]:
    """Split ``text`` into parts that each fit ``rule``, at word boundaries.

    Args:
        text: the text.
        rule: the platform's rule.
        numbering: a suffix format such as ``" {i}/{n}"``, counted in each part's length.
    """
    if measure_fits(text, rule):
        return [text]
    words = text.split()
    parts: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if measure_fits(candidate + (numbering or "").format(i=99, n=99), rule):
            current = candidate
        else:
            if current:
                parts.append(current)
            current = word
    if current:
        parts.append(current)
    if numbering:
        n = len(parts)
        parts = [p + numbering.format(i=i + 1, n=n) for i, p in enumerate(parts)]
    return parts
