"""Entities by each platform's own rules: the same text reads differently on each."""

from __future__ import annotations

from typing import Any

import pytest

from socialkit.text import EntityKind, EntityRules, extract_entities, measure, rules

PERSIAN_TAG = "#شبکه‌های_اجتماعی"  # "social networks", with a ZWNJ after شبکه
MIXED = (
    "سلام! #شبکه‌های_اجتماعی را ببینید: example.com و https://example.com/fa @ali@mastodon.social 😀"
)


def _read(text: str, rule: rules.TextRule) -> list[tuple[str, str]]:
    return [(e.kind.value, e.value) for e in extract_entities(text, rule)]


def test_the_same_persian_text_is_tagged_differently_on_x_mastodon_and_bluesky() -> None:
    assert _read(MIXED, rules.X) == [
        ("hashtag", "شبکه‌های_اجتماعی"),
        ("url", "example.com"),
        ("url", "https://example.com/fa"),
    ]  # no mention: twitter-text does not take @user@domain
    assert _read(MIXED, rules.MASTODON) == [
        ("hashtag", "شبکه‌های_اجتماعی"),
        ("url", "https://example.com/fa"),  # a link needs a scheme
        ("mention", "ali@mastodon.social"),
    ]
    assert _read(MIXED, rules.BLUESKY) == [
        ("hashtag", "شبکه"),  # the tag ends at the ZWNJ
        ("url", "https://example.com"),  # bare domain, https:// added
        ("url", "https://example.com/fa"),
    ]


def test_the_same_text_is_measured_differently_on_x_mastodon_and_bluesky() -> None:
    x = measure(MIXED, rules.X)
    mastodon = measure(MIXED, rules.MASTODON)
    bluesky = measure(MIXED, rules.BLUESKY)
    plain = len(MIXED)  # 87 code points, one grapheme each except the ZWNJ
    # X: every letter weighs 1 here, both links 23, the emoji 2
    assert x.length == plain - len("example.com") - len("https://example.com/fa") + 46 + 1
    # Mastodon: graphemes, the scheme link 23, the remote mention as @ali
    assert mastodon.length == plain - 1 - len("https://example.com/fa") + 23 - len(
        "@mastodon.social"
    )
    # Bluesky: graphemes as written
    assert bluesky.length == plain - 1
    assert len({x.length, mastodon.length, bluesky.length}) == 3


def test_offsets_come_in_code_points_utf16_units_and_utf8_bytes() -> None:
    text = "😀 #تست https://x.com"
    tag, url = extract_entities(text, rules.X)
    assert (tag.text, tag.start, tag.end) == ("#تست", 2, 6)
    assert (tag.utf16_start, tag.utf16_end) == (3, 7)  # the emoji is two UTF-16 units
    assert (tag.byte_start, tag.byte_end) == (5, 12)  # 4 bytes of emoji, 2 per Arabic letter
    assert url.as_dict() == {
        "kind": "url",
        "text": "https://x.com",
        "value": "https://x.com",
        "indices": [7, 20],
        "utf16": [8, 21],
        "utf8": [13, 26],
    }
    encoded = text.encode()
    for entity in (tag, url):
        assert encoded[entity.byte_start : entity.byte_end].decode() == entity.text
        assert (
            text.encode("utf-16-le")[2 * entity.utf16_start : 2 * entity.utf16_end].decode(
                "utf-16-le"
            )
            == entity.text
        )


@pytest.mark.parametrize(
    ("text", "x", "mastodon", "bluesky"),
    [
        (PERSIAN_TAG, ["شبکه‌های_اجتماعی"], ["شبکه‌های_اجتماعی"], ["شبکه"]),
        ("#می‌خواهم بروم", ["می‌خواهم"], ["می‌خواهم"], ["می"]),
        ("#هشتگ۶۷۸ #۱۲۳", ["هشتگ۶۷۸"], ["هشتگ۶۷۸"], ["هشتگ۶۷۸", "۱۲۳"]),
        ("#السياسة_العربية", ["السياسة_العربية"], ["السياسة_العربية"], ["السياسة_العربية"]),
        ("#il·lusió", ["il·lusió"], ["il·lusió"], ["il·lusió"]),
        ("#ハッシュ・タグ", ["ハッシュ・タグ"], ["ハッシュ・タグ"], ["ハッシュ・タグ"]),
        ("#tag·", ["tag·"], ["tag"], ["tag"]),
        ("#1_2", [], ["1_2"], []),
        ("#漢字", ["漢字"], ["漢字"], ["漢字"]),
        ("#tag\u200bmore", ["tag"], ["tag"], ["tag"]),
        ("#🦋", [], [], ["🦋"]),
        ("x#tag", [], [], []),
        ("(#tag)", ["tag"], [], []),
    ],
)
def test_hashtags_by_each_platforms_rules(
    text: str, x: list[str], mastodon: list[str], bluesky: list[str]
) -> None:
    def tags(rule: rules.TextRule) -> list[str]:
        return [v for k, v in _read(text, rule) if k == "hashtag"]

    assert tags(rules.X) == x
    assert tags(rules.MASTODON) == mastodon
    assert tags(rules.BLUESKY) == bluesky


def test_bluesky_tags_end_at_every_zero_width_character() -> None:
    for zero_width in "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2":
        assert _read(f"#ab{zero_width}cd", rules.BLUESKY) == [("hashtag", "ab")]


def test_bluesky_drops_trailing_punctuation_and_overlong_tags() -> None:
    assert _read("#news!!", rules.BLUESKY) == [("hashtag", "news")]
    assert _read("#" + "a" * 64, rules.BLUESKY) == [("hashtag", "a" * 64)]
    assert _read("#" + "a" * 65, rules.BLUESKY) == []


def test_mentions_by_each_platforms_rules() -> None:
    text = "hi @alice.bsky.social @bob @carol@example.social @dave.test"
    assert _read(text, rules.BLUESKY) == [
        ("mention", "alice.bsky.social"),  # a handle ends in a known TLD
        ("mention", "dave.test"),
    ]
    assert [v for k, v in _read(text, rules.MASTODON) if k == "mention"] == [
        "alice.bsky.social",
        "bob",
        "carol@example.social",
        "dave.test",
    ]
    assert [v for k, v in _read(text, rules.X) if k == "mention"] == ["alice", "bob", "dave"]


def test_cashtags() -> None:
    assert _read("buy $tsla and $TOOLONG, not $100", rules.BLUESKY) == [("cashtag", "TSLA")]
    assert _read("buy $TSLA.A now", rules.X) == [("cashtag", "TSLA.A")]
    assert _read("$TSLA", rules.MASTODON) == []  # Mastodon has no cashtags


def test_entity_rules_can_be_named_directly() -> None:
    assert extract_entities("#a", EntityRules.BLUESKY)[0].kind is EntityKind.HASHTAG
    assert extract_entities("@user/list-1", rules.X)[0].kind is EntityKind.LIST


def test_raw_entities_is_read_once_per_text_and_extractor_and_each_caller_gets_its_own_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialkit.text import entities as module
    from socialkit.text.rules import EntityRules

    calls: list[str] = []
    real = module._EXTRACTORS[EntityRules.TWITTER]

    def counting(text: str) -> list[Any]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(
        module,
        "_EXTRACTORS",
        {**module._EXTRACTORS, EntityRules.TWITTER: counting, EntityRules.GENERIC: counting},
    )
    text = "Spring #coffee at https://example.com/a-cache-test @acme"
    first = module.raw_entities(text, EntityRules.TWITTER)
    first.clear()  # a caller's own list
    again = module.raw_entities(text, EntityRules.GENERIC)  # the same extractor
    assert [kind for kind, *_ in again] == ["hashtag", "url", "mention"]
    assert calls == [text]
