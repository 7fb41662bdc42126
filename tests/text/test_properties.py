"""Properties of measuring over arbitrary Unicode (hypothesis)."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialkit.text import Counting, extract_entities, grapheme_count, measure, rules, twitter
from socialkit.text._unicode import grapheme_boundaries, utf8_length, utf16_length
from socialkit.text.rules import RULES

ALL_RULES = list(RULES.values())
_ANY = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
_SOCIAL = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(
            [
                "#tag",
                "#می‌خواهم",
                "@a@b.social",
                "@x.bsky.social",
                "https://example.com/x",
                "example.com",
                "$TSLA",
                "😀",
                "👨‍👩‍👧‍👦",
                " ",
                "\n",
            ]
        ),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_ANY, _SOCIAL))
@pytest.mark.parametrize("rule", ALL_RULES, ids=[rule.name for rule in ALL_RULES])
def test_measuring_never_crashes_and_is_consistent(rule: rules.TextRule, text: str) -> None:
    m = measure(text, rule)
    assert m.length >= 0
    assert m.byte_length == len(text.encode())
    assert m.fits == (m.overflow_at is None and m.invalid_at is None)
    if m.overflow_at is not None:
        assert 0 <= m.overflow_at <= len(text)
    for entity in m.entities:
        assert text[entity.start : entity.end] == entity.text
        assert utf16_length(text[: entity.start]) == entity.utf16_start
        assert utf8_length(text[: entity.end]) == entity.byte_end


_PLAIN_RULES = [r for r in ALL_RULES if r.url_length is None and not r.emoji_as_utf8_bytes]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=120))
@pytest.mark.parametrize(
    "unit", [Counting.GRAPHEMES, Counting.CODE_POINTS, Counting.UTF16, Counting.UTF8]
)
def test_the_overflow_point_is_the_longest_prefix_that_fits(unit: Counting, text: str) -> None:
    rule = rules.TextRule(name="small", counting=unit, limit=17)
    m = measure(text, rule)
    expected = {
        Counting.GRAPHEMES: grapheme_count,
        Counting.CODE_POINTS: len,
        Counting.UTF16: utf16_length,
        Counting.UTF8: utf8_length,
    }[unit](text)
    assert m.length == expected
    if m.fits:
        return
    assert m.overflow_at is not None
    assert measure(text[: m.overflow_at], rule).fits
    bounds = grapheme_boundaries(text)
    assert m.overflow_at in bounds  # never inside a grapheme cluster
    following = min(b for b in bounds if b > m.overflow_at)
    assert not measure(text[:following], rule).fits


@settings(max_examples=100, deadline=None)
@given(_SOCIAL)
def test_x_entities_never_overlap_and_urls_count_23(text: str) -> None:
    entities = extract_entities(text, rules.X)
    for first, second in itertools.pairwise(entities):
        assert first.end <= second.start
    # The length counts every URL twitter-text finds, even one an earlier hashtag hides
    # from the entities (twitter-text's parseTweet does the same).
    plain = rules.X.model_copy(update={"url_length": None, "emoji_weight": None})
    urls = twitter.extract_urls(text)
    if not urls or text != unicodedata.normalize("NFC", text):
        return
    difference = measure(text, plain).length - measure(text, rules.X_V2).length
    assert difference == sum(measure(url, plain).length - 23 for _, _, _, url in urls)


_PIECES = st.sampled_from(
    [
        "hello",
        " ",
        "\n",
        "(https://example.com/a_(b))",
        "https://example.com/path?x=1,",
        "example.com.",
        "@alice@mastodon.social",
        "#شبکه‌های_اجتماعی",
        "$TSLA",
        "😀",
        "👍🏽",
        "1️⃣",
        "🏳️‍🌈",
        "e\u0301",
        "क्षि",
        "\u095b",
        "日本語。",
        "한국어",
    ]
)
_SMALL_RULES = [
    rules.X.with_limit(30),
    rules.MASTODON.with_limit(30),
    rules.BLUESKY.with_limit(30),
    rules.BLUESKY.with_limit(300, max_bytes=40),
    rules.THREADS.with_limit(30),
    rules.TELEGRAM.with_limit(30),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=30).map("".join), st.sampled_from(_SMALL_RULES))
def test_the_text_fits_up_to_the_overflow_point_on_every_rule(
    text: str, rule: rules.TextRule
) -> None:
    # URLs and remote mentions that count as fixed widths, emoji as bytes (Threads),
    # NFC (X): whatever the rule, the text up to overflow_at fits.
    m = measure(text, rule)
    if m.overflow_at is not None:
        assert measure(text[: m.overflow_at], rule).fits
