"""Bluesky facets, checked against the lexicons in tests/conformance_data/atproto."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from socialkit.text import bluesky_facets, grapheme_count, rules
from socialkit.text.bluesky import UnresolvedMention, facet_for_mention
from tests.text._data import ATPROTO_LEXICONS


def _lexicon(nsid: str) -> dict[str, Any]:
    path = ATPROTO_LEXICONS.joinpath(*nsid.split(".")).with_suffix(".json")
    lexicon: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return lexicon


FACET = _lexicon("app.bsky.richtext.facet")
POST = _lexicon("app.bsky.feed.post")


def _check_object(value: dict[str, Any], definition: dict[str, Any], where: str) -> None:
    """The parts of a lexicon object definition that facets use."""
    assert isinstance(value, dict), where
    for name in definition.get("required", []):
        assert name in value, f"{where}: {name} is required"
    for name, prop in definition["properties"].items():
        if name not in value:
            continue
        item = value[name]
        if prop["type"] == "integer":
            assert isinstance(item, int), f"{where}.{name}"
            assert item >= prop.get("minimum", item), f"{where}.{name}"
        elif prop["type"] == "string":
            assert isinstance(item, str), f"{where}.{name}"
            assert len(item.encode()) <= prop.get("maxLength", 10**9), f"{where}.{name}"
            assert grapheme_count(item) <= prop.get("maxGraphemes", 10**9), f"{where}.{name}"
            if prop.get("format") == "uri":
                assert item.startswith(("https://", "http://")), f"{where}.{name}"
        elif prop["type"] == "ref":
            _check_object(item, FACET["defs"][prop["ref"].lstrip("#")], f"{where}.{name}")
        elif prop["type"] == "array":
            assert isinstance(item, list), f"{where}.{name}"
            assert item, f"{where}.{name} is empty"
            refs = prop["items"]["refs"]
            for feature in item:
                kind = feature["$type"].removeprefix("app.bsky.richtext.facet")
                assert kind in refs, f"{where}.{name}: {feature['$type']}"
                _check_object(feature, FACET["defs"][kind.lstrip("#")], f"{where}.{name}")


def check_facet(facet: dict[str, Any], text: str) -> None:
    assert facet["$type"] == "app.bsky.richtext.facet"
    _check_object(facet, FACET["defs"]["main"], "facet")
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    encoded = text.encode()
    assert 0 <= start < end <= len(encoded)
    encoded[start:end].decode()  # raises if a range cuts a character


def test_the_bluesky_rule_matches_the_post_lexicon() -> None:
    text = POST["defs"]["main"]["record"]["properties"]["text"]
    assert rules.BLUESKY.limit == text["maxGraphemes"] == 300
    assert rules.BLUESKY.max_bytes == text["maxLength"] == 3000


def test_facets_for_links_tags_and_cashtags_mentions_unresolved() -> None:
    text = "سلام @alice.bsky.social! #شبکه‌های_اجتماعی at example.com. $tsla (https://bsky.app/x)"
    result = bluesky_facets(text)
    for facet in result.facets:
        check_facet(facet, text)
    encoded = text.encode()
    spans = [
        encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in result.facets
    ]
    features = [f["features"][0] for f in result.facets]
    assert spans == ["#شبکه", "example.com", "$tsla", "https://bsky.app/x"]
    assert features == [
        {"$type": "app.bsky.richtext.facet#tag", "tag": "شبکه"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "$TSLA"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://bsky.app/x"},
    ]
    (mention,) = result.mentions
    assert mention == UnresolvedMention("alice.bsky.social", 9, 27)
    assert encoded[mention.byte_start : mention.byte_end].decode() == "@alice.bsky.social"


def test_resolved_mentions_become_facets_in_byte_order() -> None:
    text = "@bob.test and @alice.bsky.social #tag"
    result = bluesky_facets(text)
    facets = result.with_mentions({"alice.bsky.social": "did:plc:alice"})  # bob did not resolve
    assert [f["features"][0]["$type"].rsplit("#")[1] for f in facets] == ["mention", "tag"]
    for facet in facets:
        check_facet(facet, text)
    assert facet_for_mention(result.mentions[0], "did:plc:bob")["index"] == {
        "byteStart": 0,
        "byteEnd": 9,
    }


_PIECES = st.sampled_from(
    [
        "#tag",
        "#شبکه‌های_اجتماعی",
        "#漢字",
        "＃全角",
        "@alice.bsky.social",
        "@x.test",
        "https://example.com/a?b=c",
        "example.org",
        "$TSLA",
        "😀",
        "👨‍👩‍👧‍👦",
        "e\u0301",
        " ",
        "\n",
        "(",
        ".",
        "!",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=20).map("".join))
@example("$TSLAa")  # a lower-case cashtag, found by this property
def test_facet_byte_ranges_land_on_character_boundaries(text: str) -> None:
    result = bluesky_facets(text)
    encoded = text.encode("utf-8", "surrogatepass")
    for facet in result.facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert 0 <= start < end <= len(encoded)
        piece = encoded[start:end].decode("utf-8")  # never cuts a character
        assert piece in text  # the facet text round-trips
        feature = facet["features"][0]
        if feature["$type"].endswith("#tag"):
            # One marker is dropped ("##A" is the tag "#A", as the app makes it); a
            # cashtag keeps its "$" and is upper-cased ("$TSLAa" is the tag "$TSLAA").
            expected = piece.upper() if piece.startswith("$") else piece[1:]
            assert expected == feature["tag"]
    starts = [f["index"]["byteStart"] for f in result.facets]
    assert starts == sorted(starts)
    for mention in result.mentions:
        assert encoded[mention.byte_start : mention.byte_end].decode() == "@" + mention.handle


def test_a_link_with_a_scheme_needs_no_dot() -> None:
    # PLATFORMS.md (Bluesky reference detection): links are "http(s)://…" or a bare
    # domain, so a host without a dot is a link when it has a scheme; it was skipped.
    result = bluesky_facets("see http://localhost:8000/admin now")
    [link] = result.facets
    assert link["index"] == {"byteStart": 4, "byteEnd": 31}
    assert link["features"][0]["uri"] == "http://localhost:8000/admin"
    assert bluesky_facets("localhost:8000").facets == ()  # no scheme, no dot: plain text
