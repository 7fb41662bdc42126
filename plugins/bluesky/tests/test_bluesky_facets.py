"""Facets on posts: socialkit's Bluesky detection, mentions resolved through the PDS."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from socialkit_bluesky._facets import build_facets

ZWNJ = "\u200c"
KNOWN = {"alice.test": "did:plc:alice", "bob.example.com": "did:plc:bob"}


class Resolver:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, handle: str) -> str | None:
        self.asked.append(handle)
        return KNOWN.get(handle)


def covered(text: str, facets: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    raw = text.encode("utf-8")
    return [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode("utf-8"), f["features"][0])
        for f in facets
    ]


async def test_persian_tag_link_and_mention_with_byte_ranges() -> None:
    text = "سلام #بازاریابی_دیجیتال https://example.com/x @alice.test"
    facets = await build_facets(text, Resolver())
    assert covered(text, facets) == [
        (
            "#بازاریابی_دیجیتال",
            {"$type": "app.bsky.richtext.facet#tag", "tag": "بازاریابی_دیجیتال"},
        ),
        (
            "https://example.com/x",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/x"},
        ),
        ("@alice.test", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}),
    ]
    # 'سلام ' is four two-byte letters and a space
    assert facets[0]["index"] == {"byteStart": 9, "byteEnd": 9 + len("#بازاریابی_دیجیتال".encode())}
    assert all(f["$type"] == "app.bsky.richtext.facet" for f in facets)


async def test_a_tag_ends_at_zwnj_as_in_the_bluesky_app() -> None:
    text = f"#شبکه{ZWNJ}های_اجتماعی"
    assert covered(text, await build_facets(text, Resolver())) == [
        ("#شبکه", {"$type": "app.bsky.richtext.facet#tag", "tag": "شبکه"})
    ]


async def test_unknown_handles_stay_plain_text_and_each_handle_is_resolved_once() -> None:
    resolver = Resolver()
    text = "@nobody.test @alice.test and again @alice.test, @bob.example.com"
    facets = await build_facets(text, resolver)
    assert [(piece, feature["did"]) for piece, feature in covered(text, facets)] == [
        ("@alice.test", "did:plc:alice"),
        ("@alice.test", "did:plc:alice"),
        ("@bob.example.com", "did:plc:bob"),
    ]
    assert sorted(resolver.asked) == ["alice.test", "bob.example.com", "nobody.test"]


async def test_no_references_no_facets_no_lookups() -> None:
    resolver = Resolver()
    assert await build_facets("plain words, email me at a@b", resolver) == []
    assert resolver.asked == []


@given(
    st.lists(
        st.sampled_from(
            [
                "#تگ",
                "سلام",
                "#news",
                "https://example.com",
                "@alice.test",
                "🙂",
                "و",
                "e\u0301",
                "$TSLA",
            ]
        ),
        max_size=12,
    )
)
async def test_facets_are_sorted_and_land_on_character_boundaries(words: list[str]) -> None:
    text = " ".join(words)
    raw = text.encode("utf-8")
    facets = await build_facets(text, Resolver())
    starts = [f["index"]["byteStart"] for f in facets]
    assert starts == sorted(starts)
    for facet in facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert 0 <= start < end <= len(raw)
        raw[start:end].decode("utf-8")  # a cut character would not decode
