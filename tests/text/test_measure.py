"""Length as each platform counts it, for every built-in rule, in several scripts.

Expected values are counted by hand from the platform's unit, e.g. "می‌خواهم" is
8 code points (7 letters and a ZWNJ), 7 graphemes (the ZWNJ extends the letter before
it), 17 UTF-8 bytes (7 × 2 + 3) and 8 on X (Arabic letters and ZWNJ weigh 1).
"""

from __future__ import annotations

import pytest

from socialkit.text import Counting, measure, rules
from socialkit.text.rules import RULES, rule_for

PERSIAN = "می‌خواهم"  # with ZWNJ
ARABIC = "مرحبا بالعالم"
CJK = "日本語のテキスト"
FAMILY = "👨‍👩‍👧‍👦"  # four emoji joined by three ZWJ
WAVE = "Hi 😀"

# text: (graphemes, code points, UTF-16 units, UTF-8 bytes, X v3, X v2, Threads)
EXPECTED = {
    PERSIAN: (7, 8, 8, 17, 8, 8, 8),
    ARABIC: (13, 13, 13, 25, 13, 13, 13),
    CJK: (8, 8, 8, 24, 16, 16, 8),
    FAMILY: (1, 7, 11, 25, 2, 11, 25),
    WAVE: (4, 4, 5, 7, 5, 5, 7),
}


def _expected(text: str, rule: rules.TextRule) -> int:
    graphemes, points, utf16, utf8, x_v3, x_v2, threads = EXPECTED[text]
    if rule.name == "x":
        return x_v3
    if rule.name == "x-v2":
        return x_v2
    if rule.emoji_as_utf8_bytes:
        return threads
    return {
        Counting.GRAPHEMES: graphemes,
        Counting.CODE_POINTS: points,
        Counting.UTF16: utf16,
        Counting.UTF8: utf8,
    }[rule.counting]


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
@pytest.mark.parametrize("text", list(EXPECTED), ids=["persian", "arabic", "cjk", "family", "wave"])
def test_every_rule_counts_every_script_in_its_own_unit(text: str, rule: rules.TextRule) -> None:
    m = measure(text, rule)
    assert m.length == _expected(text, rule)
    assert m.limit == rule.limit
    assert m.fits
    assert m.overflow_at is None
    assert m.byte_length == EXPECTED[text][3]


def test_x_counts_urls_as_23_and_emoji_sequences_as_2() -> None:
    text = "Launch: https://example.com/a/very/long/path/to/the/announcement " + FAMILY
    m = measure(text, rules.X)
    assert m.length == len("Launch: ") + 23 + 1 + 2
    assert measure(text, rules.X_V2).length == len("Launch: ") + 23 + 1 + 11


def test_x_counts_a_url_without_scheme_and_normalises_first() -> None:
    assert measure("see example.com", rules.X).length == 4 + 23
    decomposed = "cafe\u0301"  # NFC makes it 4 characters
    assert measure(decomposed, rules.X).length == 4


def test_x_overflow_is_where_the_limit_is_crossed() -> None:
    m = measure("a" * 281, rules.X)
    assert (m.length, m.fits, m.overflow_at) == (281, False, 280)
    persian = "س" * 279 + "😀"  # 279 + 2 = 281: the emoji is the first unit that does not fit
    assert measure(persian, rules.X).overflow_at == 279
    cjk = "語" * 141
    assert measure(cjk, rules.X).overflow_at == 140


def test_x_refuses_noncharacters() -> None:
    m = measure("ok\uffff", rules.X)
    assert not m.fits
    assert m.invalid_at == 2
    assert m.overflow_at == 2


def test_mastodon_counts_urls_as_reserved_width_and_remote_mentions_as_local() -> None:
    text = "Hi @ali@mastodon.social see https://example.com/a/very/long/path/that/goes/on"
    m = measure(text, rules.MASTODON)
    assert m.length == len("Hi @ali see ") + 23
    # without a scheme Mastodon does not link it, so it counts as written
    assert measure("see example.com/a/long/path", rules.MASTODON).length == 27
    server = rules.MASTODON.with_limit(1000, url_length=30)
    assert measure("https://example.com", server).length == 30


def test_mastodon_counts_graphemes_and_the_content_warning() -> None:
    assert measure(FAMILY * 3 + PERSIAN, rules.MASTODON).length == 3 + 7
    m = measure("x" * 495, rules.MASTODON, content_warning="spoiler")
    assert m.length == 502
    assert not m.fits
    assert m.overflow_at == 493
    assert measure("x" * 495, rules.BLUESKY, content_warning="spoiler").length == 495


def test_bluesky_has_two_limits_graphemes_and_bytes() -> None:
    assert measure("😀" * 300, rules.BLUESKY).fits
    assert not measure("😀" * 301, rules.BLUESKY).fits
    families = measure(FAMILY * 120, rules.BLUESKY)  # 120 graphemes, 3000 bytes
    assert (families.length, families.byte_length, families.fits) == (120, 3000, True)
    over = measure(FAMILY * 121, rules.BLUESKY)
    assert (over.length, over.byte_length, over.fits) == (121, 3025, False)
    assert over.overflow_at == 120 * len(FAMILY)


def test_threads_counts_emoji_as_their_utf8_bytes() -> None:
    assert measure("😀" * 125, rules.THREADS).fits  # 500
    m = measure("😀" * 126, rules.THREADS)
    assert (m.length, m.fits, m.overflow_at) == (504, False, 125)
    assert measure("ش" * 500, rules.THREADS).fits


def test_telegram_counts_utf16_units_with_a_smaller_caption_limit() -> None:
    assert measure("😀" * 2048, rules.TELEGRAM).fits
    m = measure("😀" * 2049, rules.TELEGRAM)
    assert (m.length, m.overflow_at) == (4098, 2048)
    assert not measure("a" * 1025, rules.TELEGRAM_CAPTION).fits
    assert rules.TELEGRAM.min_length == 1


def test_instagram_allows_at_most_30_hashtags() -> None:
    tags = " ".join(f"#تگ{i}" for i in range(31))
    m = measure(tags, rules.INSTAGRAM)
    assert (m.hashtag_count, m.max_hashtags, m.fits) == (31, 30, False)
    assert m.overflow_at == tags.index("#تگ30")
    assert measure(" ".join(f"#tag{i}" for i in range(30)), rules.INSTAGRAM).fits


def test_youtube_description_counts_bytes() -> None:
    assert measure("ش" * 2500, rules.YOUTUBE_DESCRIPTION).fits
    m = measure("ش" * 2501, rules.YOUTUBE_DESCRIPTION)
    assert (m.length, m.overflow_at) == (5002, 2500)


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("linkedin", 3000),
        ("discord", 2000),
        ("reddit-title", 300),
        ("reddit-body", 40000),
        ("pinterest-title", 100),
        ("pinterest-description", 800),
        ("youtube-title", 100),
    ],
)
def test_plain_limits(name: str, limit: int) -> None:
    rule = rule_for(name)
    assert measure("漢" * limit, rule).fits
    over = measure("漢" * (limit + 1), rule)
    assert (over.fits, over.overflow_at, over.remaining) == (False, limit, -1)


def test_rule_for_knows_aliases_and_names_the_known_rules() -> None:
    assert rule_for("Twitter") is rules.X
    assert rule_for("bsky") is rules.BLUESKY
    with pytest.raises(ValueError, match="known rules: bluesky"):
        rule_for("myspace")


def test_entities_are_computed_on_demand_and_cached() -> None:
    m = measure("#news https://example.com", rules.X)
    assert m.entities is m.entities
    assert [e.kind.value for e in m.entities] == ["hashtag", "url"]


def test_the_overflow_point_never_splits_an_emoji_sequence() -> None:
    text = "a" * 2997 + FAMILY  # LinkedIn counts code points: the family is 7 of them
    m = measure(text, rules.LINKEDIN)
    assert (m.length, m.overflow_at) == (3004, 2997)
    assert measure(text[: m.overflow_at], rules.LINKEDIN).fits


def test_x_overflow_inside_a_cluster_is_not_moved_by_normalising_later_text() -> None:
    # X counts code points, so the limit can fall inside a Devanagari conjunct (क्षि is
    # four code points of weight 1, PLATFORMS.md: 0-4351 weigh 100). NFC shortens the
    # decomposed "é" of "café" further on; the offset was shifted by that difference
    # and pointed one character too far, where the text no longer fits.
    text = "a" + "क्षि" * 70 + " cafe\u0301"
    m = measure(text, rules.X)
    assert (m.length, m.fits, m.overflow_at) == (286, False, 280)
    assert measure(text[:280], rules.X).fits
    assert not measure(text[:281], rules.X).fits
    # ज़ (U+095B) grows under NFC: the offset must not move back either
    grows = "a" + "क्षि" * 70 + " \u095b"
    assert measure(grows, rules.X).overflow_at == 280


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("©", 1),  # a plain © or ® is a symbol of weight 1 (0-4351), not an emoji
        ("®", 1),
        ("© 2026 ACME®", 12),
        ("©\ufe0f", 2),  # with U+FE0F it is an emoji
        ("™", 2),  # weight 2 either way (outside the weight-1 ranges)
        ("😀\u200d😀", 5),  # no RGI sequence: 2 + ZWJ (1) + 2, not one emoji
        ("😀\u200d😀\u200d😀", 8),
        ("©\u200d😀", 4),
        (FAMILY, 2),  # an RGI ZWJ sequence is one emoji
        ("🏳️\u200d🌈", 2),
        ("🏳\u200d🌈", 2),  # its unqualified spelling too
        ("🧑🏽\u200d🚀", 2),
        ("👩\u200d❤️\u200d💋\u200d👨", 2),
        (FAMILY + "\u200d😀", 5),  # the family, then ZWJ and 😀 on their own
        ("😀\u200d" + FAMILY, 5),
    ],
)
def test_x_counts_emoji_as_twemoji_does(text: str, length: int) -> None:
    assert measure(text, rules.X).length == length


def test_every_shipped_zwj_sequence_counts_as_one_emoji() -> None:
    from socialkit.text._unicode import _zwj_sequences, emoji_spans

    known, _ = _zwj_sequences()
    assert len(known) > 1000
    odd = [s for s in known if "\u200d" not in s or emoji_spans(s) != [(0, len(s))]]
    assert odd == []
