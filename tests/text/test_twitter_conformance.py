"""twitter-text's conformance suite (copied with its LICENSE into tests/conformance_data).

Every weighted-length case of ``validate.yml`` (config v2, v3 and the directional-marker
group) and every URL, hashtag (with astral characters), mention, list and cashtag case
of ``extract.yml`` with its indices; plus one URL per TLD of ``tlds.yml``. Nothing is
skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from socialkit.text import measure, rules, twitter
from socialkit.text._unicode import utf16_length
from tests.text._data import cases, twitter_text

# -- validate.yml: weighted length ----------------------------------------------------------


def _parse(text: str, rule: rules.TextRule) -> dict[str, Any]:
    """twitter-text's parseTweet fields, from socialkit's measurement."""
    m = measure(text, rule)
    size = utf16_length(text)
    last_valid = size - 1 if m.overflow_at is None else utf16_length(text[: m.overflow_at]) - 1
    return {
        "weightedLength": m.length,
        "valid": m.fits and m.length > 0,
        "permillage": m.length * 1000 // rule.limit,
        "displayRangeStart": 0,
        "displayRangeEnd": max(size - 1, 0),
        "validRangeStart": 0,
        "validRangeEnd": last_valid,
    }


@pytest.mark.parametrize("case", cases("validate", "WeightedTweetsCounterTest"))
def test_weighted_length_config_v2(case: dict[str, Any]) -> None:
    assert _parse(case["text"], rules.X_V2) == case["expected"]


@pytest.mark.parametrize("case", cases("validate", "WeightedTweetsWithDiscountedEmojiCounterTest"))
def test_weighted_length_config_v3_emoji(case: dict[str, Any]) -> None:
    assert _parse(case["text"], rules.X) == case["expected"]


@pytest.mark.parametrize("case", cases("validate", "UnicodeDirectionalMarkerCounterTest"))
def test_weighted_length_directional_markers(case: dict[str, Any]) -> None:
    assert _parse(case["text"], rules.X) == case["expected"]


def test_the_weighted_groups_hold_the_44_cases_the_issue_names() -> None:
    data = twitter_text("validate")
    groups = (
        "WeightedTweetsCounterTest",
        "WeightedTweetsWithDiscountedEmojiCounterTest",
        "UnicodeDirectionalMarkerCounterTest",
    )
    assert sum(len(data[group]) for group in groups) == 44


# -- extract.yml ----------------------------------------------------------------------------


def _values(kind: str, entities: list[twitter.RawEntity]) -> list[str]:
    return [value for found, _, _, value in entities if found == kind]


@pytest.mark.parametrize(
    "case", cases("extract", "urls") + cases("extract", "tco_urls_with_params")
)
def test_urls(case: dict[str, Any]) -> None:
    assert _values("url", twitter.extract_urls(case["text"])) == case["expected"]


@pytest.mark.parametrize(
    "case",
    cases("extract", "urls_with_indices") + cases("extract", "urls_with_directional_markers"),
)
def test_urls_with_indices(case: dict[str, Any]) -> None:
    found = [{"url": v, "indices": [s, e]} for _, s, e, v in twitter.extract_urls(case["text"])]
    assert found == case["expected"]


@pytest.mark.parametrize(
    "case", cases("extract", "hashtags") + cases("extract", "hashtags_from_astral")
)
def test_hashtags(case: dict[str, Any]) -> None:
    assert _values("hashtag", twitter.extract_hashtags(case["text"])) == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "hashtags_with_indices"))
def test_hashtags_with_indices(case: dict[str, Any]) -> None:
    found = [
        {"hashtag": v, "indices": [s, e]} for _, s, e, v in twitter.extract_hashtags(case["text"])
    ]
    assert found == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "mentions"))
def test_mentions(case: dict[str, Any]) -> None:
    assert _values("mention", twitter.extract_mentions(case["text"])) == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "mentions_with_indices"))
def test_mentions_with_indices(case: dict[str, Any]) -> None:
    found = [
        {"screen_name": v, "indices": [s, e]}
        for kind, s, e, v in twitter.extract_mentions(case["text"])
        if kind == "mention"
    ]
    assert found == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "mentions_or_lists_with_indices"))
def test_mentions_or_lists_with_indices(case: dict[str, Any]) -> None:
    found = []
    for kind, start, end, value in twitter.extract_mentions(case["text"]):
        name, _, slug = value.partition("/")
        found.append(
            {
                "screen_name": name,
                "list_slug": f"/{slug}" if kind == "list" else "",
                "indices": [start, end],
            }
        )
    assert found == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "replies"))
def test_replies(case: dict[str, Any]) -> None:
    # A reply is a mention that opens the text, after nothing but whitespace.
    mentions = twitter.extract_mentions(case["text"], lists=False)
    first = mentions[0] if mentions else None
    reply = (
        first[3]
        if first is not None and first[0] == "mention" and not case["text"][: first[1]].strip()
        else None
    )
    assert reply == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "cashtags"))
def test_cashtags(case: dict[str, Any]) -> None:
    assert _values("cashtag", twitter.extract_cashtags(case["text"])) == case["expected"]


@pytest.mark.parametrize("case", cases("extract", "cashtags_with_indices"))
def test_cashtags_with_indices(case: dict[str, Any]) -> None:
    found = [
        {"cashtag": v, "indices": [s, e]} for _, s, e, v in twitter.extract_cashtags(case["text"])
    ]
    assert found == case["expected"]


# -- tlds.yml -------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["country", "generic"])
def test_every_tld_makes_a_url(group: str) -> None:
    wrong = [
        case["text"]
        for case in twitter_text("tlds")[group]
        if _values("url", twitter.extract_urls(case["text"])) != case["expected"]
    ]
    assert wrong == []
