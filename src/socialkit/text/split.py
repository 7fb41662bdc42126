"""Thread splitting: a text that does not fit becomes parts that each fit.

Where a part ends, in order of preference:

1. after a sentence (``.``, ``!``, ``?``, ``…``, ``؟``, ``。``, ``！``, ``？``, ``।``, a
   line break), when that keeps the part at least half as full as it could be;
2. between words (at whitespace; not at a no-break space, U+00A0, U+2007 or U+202F, nor
   at a word joiner, U+2060);
3. between two user-perceived characters (scripts written without spaces, words longer
   than a part, where a no-break space or word joiner may fall at the cut). A word too long for a part of its own starts right after the words
   before it, filling their part, rather than in a part of its own.

What is left once it fits is the last part, whole: a text that does not end in a full
stop does not leave its last word to a part of its own.

A part never ends inside a URL, hashtag, mention or cashtag (by the rule's own entity
rules) or inside a grapheme cluster (emoji ZWJ sequences, flags, combining marks). The
whitespace at a cut is dropped, nothing else: the parts' non-space characters, in order,
are exactly the text's, and when every word fits in a part, joining the parts with
spaces gives back the original words. With ``numbering`` (a suffix such as
``" {i}/{n}"``) the suffix is counted in each part's length, at its widest.

One unit that cannot fit on its own (a link or hashtag longer than the limit) becomes a
part of its own, which does not fit; validation then reports it. So does a character the
platform refuses (X: U+FFFE): no cut can remove it, so it does not make the text split.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import regex

from socialkit.text._checks import check_optional_text, check_rule, check_text
from socialkit.text._unicode import grapheme_boundaries
from socialkit.text.entities import raw_entities
from socialkit.text.measure import measure

if TYPE_CHECKING:
    from socialkit.text.measure import Measurement
    from socialkit.text.rules import TextRule

__all__ = ["split"]

# Whitespace a line may break at: not the no-break spaces (U+00A0, U+2007 figure space,
# U+202F narrow no-break space), which hold "10 km", "p. 12" and "« oui »" together.
_BREAKING_SPACE = r"[\s--[\u00A0\u2007\u202F]]"
_SENTENCE_END = regex.compile(
    rf"(?:[.!?…؟।](?:[\"'”’»)\]]*)(?={_BREAKING_SPACE}|\Z)|[。！？](?:[」』）]*)|\n)", regex.V1
)
_SPACE = regex.compile(rf"{_BREAKING_SPACE}+", regex.V1)
_MIN_SENTENCE_FILL = 0.5


class _Cuts:
    """Where one text may be cut, and how to trim the whitespace at a cut.

    Whitespace is trimmed a grapheme cluster at a time, so a space that carries a
    combining mark (a grapheme of its own) is kept, never split from its mark.
    """

    def __init__(self, text: str, rule: TextRule) -> None:
        self.text = text
        self.bounds = grapheme_boundaries(text)
        blocked: set[int] = set()
        for _, start, end, _ in raw_entities(text, rule.entities):
            blocked.update(range(start + 1, end))
        self.allowed = [b for b in self.bounds[1:] if b not in blocked]
        self.word_starts = [m.start() for m in _SPACE.finditer(text) if m.start() not in blocked]
        self.words = set(self.word_starts)
        self.sentences = {m.end() for m in _SENTENCE_END.finditer(text) if m.end() not in blocked}

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """``start``/``end`` (grapheme boundaries) moved past whitespace-only clusters."""
        text, bounds = self.text, self.bounds
        index = bisect.bisect_left(bounds, start)
        while start < end and text[start : bounds[index + 1]].isspace():
            index += 1
            start = bounds[index]
        index = bisect.bisect_left(bounds, end)
        while end > start and text[bounds[index - 1] : end].isspace():
            index -= 1
            end = bounds[index]
        return start, end

    def word_end(self, offset: int) -> int:
        """Where the word holding ``offset`` ends: the next whitespace, or the text's end."""
        index = bisect.bisect_left(self.word_starts, offset)
        return self.word_starts[index] if index < len(self.word_starts) else len(self.text)

    def piece(self, start: int, end: int) -> str:
        first, last = self.trim(start, end)
        return self.text[first:last]


def _within_limits(m: Measurement) -> bool:
    """Whether the length, bytes and hashtags fit: what cutting a text can change.

    A character the platform refuses (X: U+FFFE) makes no part fit, wherever the cuts
    are; validation reports it, and splitting leaves it where it is.
    """
    return (
        m.length <= m.limit
        and (m.max_bytes is None or m.byte_length <= m.max_bytes)
        and (m.max_hashtags is None or (m.hashtag_count or 0) <= m.max_hashtags)
    )


def _fits(cuts: _Cuts, start: int, end: int, suffix: str, rule: TextRule, warning: str) -> bool:
    return _within_limits(measure(cuts.piece(start, end) + suffix, rule, content_warning=warning))


def _farthest(
    cuts: _Cuts, start: int, first: int, suffix: str, rule: TextRule, warning: str
) -> int:
    """Index in ``cuts.allowed`` of the farthest cut after ``start`` that fits, or ``first - 1``.

    Galloping, then binary search: the probes stay near the part's real size, so a long
    text costs about one part's worth of measuring per part, not the whole remainder.
    """
    allowed = cuts.allowed
    fits_up_to = first - 1
    step = 1
    probe = first
    while probe < len(allowed) and _fits(cuts, start, allowed[probe], suffix, rule, warning):
        fits_up_to = probe
        probe = first + step
        step *= 2
    high = min(probe, len(allowed)) - 1
    low = fits_up_to + 1
    while low <= high:
        middle = (low + high) // 2
        if _fits(cuts, start, allowed[middle], suffix, rule, warning):
            fits_up_to = middle
            low = middle + 1
        else:
            high = middle - 1
    return fits_up_to


def _split(text: str, rule: TextRule, suffix: str, warning: str) -> list[str]:
    cuts = _Cuts(text, rule)
    allowed = cuts.allowed
    parts: list[str] = []
    start = 0
    size = len(text)
    while start < size:
        start, _ = cuts.trim(start, size)  # whitespace left over from the previous cut
        if start >= size:
            break
        first = bisect.bisect_right(allowed, start)
        best = _farthest(cuts, start, first, suffix, rule, warning)
        if best < first:
            cut = allowed[first]  # one unit that cannot fit: a part of its own
        elif allowed[best] == size:
            cut = size  # the rest fits: the last part, with nothing left over to cut off
        else:
            farthest = allowed[best]
            enough = start + (farthest - start) * _MIN_SENTENCE_FILL
            window = allowed[first : best + 1]
            sentence = [c for c in window if c in cuts.sentences and c >= enough]
            word = [c for c in window if c in cuts.words]
            cut = sentence[-1] if sentence else word[-1] if word else farthest
            # A word that cannot fit a part on its own is cut between characters anyway
            # (CJK written without spaces, a long word): cutting before it too would
            # leave this part nearly empty ("New:") and add one to the thread.
            if (
                not sentence
                and word
                and cut != farthest
                and not _fits(cuts, cut, cuts.word_end(farthest), suffix, rule, warning)
            ):
                cut = farthest
        piece = cuts.piece(start, cut)
        if piece:
            parts.append(piece)
        start = cut
    return parts


def split(
    text: str,
    rule: TextRule,
    *,
    numbering: str | None = None,
    content_warning: str | None = None,
) -> list[str]:
    """Split ``text`` into parts that each fit ``rule`` (see the module docstring).

    Args:
        text: the text.
        rule: the platform's rule.
        numbering: a suffix format with ``{i}`` (part number) and ``{n}`` (part count),
            such as ``" {i}/{n}"``; counted in each part's length. A text that fits (or
            that is one unit too long to split) is returned whole, without numbering.
        content_warning: the content warning every part carries, where the rule counts it
            toward the limit (Mastodon counts ``spoiler_text`` in each status, and an
            adapter repeats the warning on each part of a thread); every part is
            shortened to leave it room. A warning that leaves no room at all makes no
            part fit, wherever the cuts are: the text is returned whole, for validation
            to report.

    Returns:
        The parts, in order (one part, the text itself, when it fits).

    Raises:
        ValueError: ``numbering`` is not a format string with only ``{i}`` and ``{n}``,
            or the numbering (with the content warning, where it counts) leaves no room
            for text within the limit.
        TypeError: ``text``, ``numbering`` or ``content_warning`` is not a string, or
            ``rule`` is not a :class:`~socialkit.text.rules.TextRule`.
    """
    check_text(text)
    check_rule(rule)
    check_optional_text(numbering, "numbering")
    check_optional_text(content_warning, "content_warning")
    if numbering is not None:
        _check_numbering(numbering)
    warning = content_warning or ""
    if not text.strip() or _within_limits(measure(text, rule, content_warning=warning)):
        return [text]
    if not _leaves_room("", rule, warning):
        # Cutting would make a part of every character, none of them fitting.
        return [text]
    if numbering is None:
        return _split(text, rule, "", warning)
    widest = 9
    while True:
        suffix = numbering.format(i=widest, n=widest)
        if not _leaves_room(suffix, rule, warning):
            with_warning = " with the content warning" if rule.content_warning_counts else ""
            m = measure(suffix, rule, content_warning=warning)
            raise ValueError(
                f"numbering {numbering!r} leaves no room for text: {suffix!r}{with_warning} "
                f"is {m.length} of the limit {m.limit} {m.counting.value} on {m.rule}"
            )
        parts = _split(text, rule, suffix, warning)
        if len(parts) == 1:  # one unit too long to split: nothing to number
            return _split(text, rule, "", warning)
        if len(parts) <= widest:
            count = len(parts)
            return [part + numbering.format(i=i, n=count) for i, part in enumerate(parts, 1)]
        widest = widest * 10 + 9


def _leaves_room(suffix: str, rule: TextRule, warning: str) -> bool:
    """Whether a part of one character fits beside ``suffix`` and the content warning."""
    return _within_limits(measure("x" + suffix, rule, content_warning=warning))


def _check_numbering(numbering: str) -> None:
    try:
        numbering.format(i=1, n=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            "numbering must be a format with only {i} and {n} in it, such as ' {i}/{n}' "
            f"(got {numbering!r}: {type(exc).__name__} {exc})"
        ) from None
