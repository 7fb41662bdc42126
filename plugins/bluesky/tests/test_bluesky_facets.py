"""Facets: links, tags and mentions as the Bluesky app finds them, with UTF-8 byte ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from socialkit_bluesky import detect_spans
from socialkit_bluesky._facets import build_facets

ZWNJ = "\u200c"


def spans(text: str) -> list[tuple[str, str, str]]:
    """(kind, value, the bytes the span covers) for each span."""
    raw = text.encode("utf-8")
    return [
        (s.kind, s.value, raw[s.byte_start : s.byte_end].decode("utf-8"))
        for s in detect_spans(text)
    ]


def test_persian_hashtag_with_underscore_is_one_tag() -> None:
    text = "سلام #بازاریابی_دیجیتال دنیا"
    assert spans(text) == [("tag", "بازاریابی_دیجیتال", "#بازاریابی_دیجیتال")]
    [span] = detect_spans(text)
    # 'سلام ' is 4 Persian letters (2 bytes each) and a space
    assert (span.byte_start, span.byte_end) == (9, 9 + len("#بازاریابی_دیجیتال".encode()))


def test_a_tag_ends_at_zwnj_as_in_the_bluesky_app() -> None:
    text = f"#شبکه{ZWNJ}های_اجتماعی"
    assert spans(text) == [("tag", "شبکه", "#شبکه")]


@pytest.mark.parametrize("stop", ["\u00ad", "\u2060", "\u200a", "\u200b", "\u200d", "\u20e2"])
def test_every_zero_width_character_ends_a_tag(stop: str) -> None:
    assert spans(f"#alpha{stop}beta") == [("tag", "alpha", "#alpha")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#2024", []),  # digits only: not a tag
        ("#2024年", [("tag", "2024年", "#2024年")]),
        ("end of line #news.", [("tag", "news", "#news")]),  # trailing punctuation dropped
        ("#tag_", [("tag", "tag", "#tag")]),  # '_' is punctuation at the end
        ("a#b", []),  # not after whitespace
        ("＃全角", [("tag", "全角", "＃全角")]),  # full-width number sign
        ("#️⃣ keycap", []),
    ],
)
def test_tag_rules(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(text) == expected


def test_a_tag_longer_than_64_graphemes_is_not_a_tag() -> None:
    assert spans("#" + "a" * 64) == [("tag", "a" * 64, "#" + "a" * 64)]
    assert spans("#" + "a" * 65) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "see https://example.com/a?b=1.",
            ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ),
        ("(https://example.com/x)", ("https://example.com/x", "https://example.com/x")),
        (
            "https://en.wikipedia.org/wiki/Foo_(bar)",
            ("https://en.wikipedia.org/wiki/Foo_(bar)",) * 2,
        ),
        (
            "لینک: https://example.ir/مقاله!",
            ("https://example.ir/مقاله", "https://example.ir/مقاله"),
        ),
    ],
)
def test_link_rules(text: str, expected: tuple[str, str]) -> None:
    assert spans(text) == [("link", *expected)]


def test_mentions_need_a_domain_like_handle() -> None:
    text = "hi @alice.test and @bob, (@carol.bsky.social) mail@example.com"
    assert spans(text) == [
        ("mention", "alice.test", "@alice.test"),
        ("mention", "carol.bsky.social", "@carol.bsky.social"),
    ]


def test_a_mention_drops_a_trailing_dot() -> None:
    assert spans("thanks @alice.test.") == [("mention", "alice.test", "@alice.test")]


def test_spans_come_in_text_order() -> None:
    text = "@alice.test #one https://example.com #two"
    assert [s[0] for s in spans(text)] == ["mention", "tag", "link", "tag"]


@given(st.text(max_size=200))
def test_byte_ranges_always_land_on_character_boundaries(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    for span in detect_spans(text):
        assert 0 <= span.byte_start < span.byte_end <= len(raw)
        # decoding the slice fails when a range cuts a character in two
        piece = raw[span.byte_start : span.byte_end].decode("utf-8", "surrogatepass")
        assert piece


@given(
    st.lists(
        st.sampled_from(["#تگ", "سلام", "#news", "https://example.com", "@alice.test", "🙂", "و"]),
        max_size=12,
    )
)
def test_facet_text_round_trips(words: list[str]) -> None:
    text = " ".join(words)
    raw = text.encode("utf-8")
    for span in detect_spans(text):
        piece = raw[span.byte_start : span.byte_end].decode("utf-8")
        if span.kind == "tag":
            assert piece == "#" + span.value
        elif span.kind == "mention":
            assert piece == "@" + span.value
        else:
            assert piece == span.value


async def test_mentions_are_resolved_and_unknown_handles_dropped() -> None:
    known = {"alice.test": "did:plc:alice"}

    async def resolve(handle: str) -> str | None:
        return known.get(handle)

    facets = await build_facets("@alice.test @nobody.test #tag", resolve)
    assert facets == [
        {
            "$type": "app.bsky.richtext.facet",
            "index": {"byteStart": 0, "byteEnd": 11},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}],
        },
        {
            "$type": "app.bsky.richtext.facet",
            "index": {"byteStart": 25, "byteEnd": 29},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}],
        },
    ]
