"""Bad arguments to the text functions are errors that name the argument and its value."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from socialkit.text import (
    EntityRules,
    add_utm,
    add_utm_to_url,
    bluesky_facets,
    extract_entities,
    grapheme_count,
    graphemes,
    measure,
    rule_for,
    rules,
    split,
)


@pytest.mark.parametrize(
    "call",
    [
        lambda text: measure(text, rules.X),
        lambda text: split(text, rules.MASTODON),
        lambda text: extract_entities(text, rules.BLUESKY),
        bluesky_facets,
    ],
    ids=["measure", "split", "extract_entities", "bluesky_facets"],
)
@pytest.mark.parametrize("value", [None, 123, b"bytes"])
def test_text_that_is_not_a_string_is_named(call: Any, value: object) -> None:
    # It failed deep inside: "'NoneType' object has no attribute 'isascii'".
    with pytest.raises(TypeError, match=rf"^text: must be a str, got {value!r} \("):
        call(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda rule: measure("hi", rule),
        lambda rule: split("hi", rule),
    ],
    ids=["measure", "split"],
)
def test_a_platform_name_instead_of_a_rule_says_to_use_rule_for(call: Any) -> None:
    # measure(text, "mastodon") failed with "'str' object has no attribute 'counting'".
    with pytest.raises(
        TypeError,
        match=r"^rule: must be a TextRule.*got 'mastodon'.*"
        r"rule_for\('mastodon'\)",
    ):
        call("mastodon")
    with pytest.raises(TypeError, match=r"^rule: must be a TextRule.*got None"):
        call(None)


def test_extract_entities_names_a_platform_that_is_not_entity_rules() -> None:
    # "x" raised a bare KeyError 'x'; "twitter", the value of EntityRules.TWITTER, works.
    with pytest.raises(TypeError, match=r"^rules: .*twitter, mastodon.*got 'x'.*rule_for\('x'\)"):
        extract_entities("#tag", "x")  # type: ignore[arg-type]
    assert extract_entities("#tag", "twitter") == extract_entities("#tag", EntityRules.TWITTER)  # type: ignore[arg-type]


def test_a_content_warning_or_numbering_that_is_not_a_string_is_named() -> None:
    with pytest.raises(TypeError, match=r"^content_warning: must be a str or None, got 5"):
        measure("hi", rules.MASTODON, content_warning=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^content_warning: must be a str or None, got 5"):
        split("hi", rules.X, content_warning=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^numbering: must be a str or None, got 1"):
        split("hi", rules.X, numbering=1)  # type: ignore[arg-type]


def test_rule_for_names_a_name_that_is_not_a_string() -> None:
    with pytest.raises(TypeError, match=r"^name: must be a str, got None"):
        rule_for(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"no text rule named 'myspace'; known rules: bluesky"):
        rule_for("myspace")


@pytest.mark.parametrize(
    ("limit", "changes", "field", "value"),
    [
        (-1, {}, "limit", "-1"),
        ("abc", {}, "limit", "'abc'"),
        (1000, {"url_lenght": 30}, "url_lenght", "30"),
        (1000, {"max_bytes": -5}, "max_bytes", "-5"),
    ],
)
def test_with_limit_checks_the_copy_like_a_new_rule(
    limit: object, changes: dict[str, object], field: str, value: str
) -> None:
    # model_copy does not validate: with_limit(-1) or with_limit("abc") made a rule that
    # failed later inside measure(), and a misspelt field was silently dropped.
    with pytest.raises(ValidationError, match=rf"(?s){field}\n.*input_value={value}"):
        rules.MASTODON.with_limit(limit, **changes)  # type: ignore[arg-type]


def test_with_limit_keeps_everything_else() -> None:
    big = rules.MASTODON.with_limit(1000, url_length=30)
    assert (big.limit, big.url_length) == (1000, 30)
    assert big.model_dump(exclude={"limit", "url_length"}) == rules.MASTODON.model_dump(
        exclude={"limit", "url_length"}
    )
    assert rules.X.with_limit(140).weights == rules.X.weights


def test_a_misspelt_rule_name_gets_the_closest_one() -> None:
    with pytest.raises(
        ValueError, match=r"'mastadon'.*\(also: bsky, .*twitter.*did you mean 'mastodon'\?$"
    ):
        rule_for("mastadon")
    with pytest.raises(ValueError, match=r"did you mean 'twitter'\?$"):
        rule_for("twiter")


def test_utm_tagging_names_text_or_url_that_is_not_a_string() -> None:
    # add_utm(None, ...) said "argument of type 'NoneType' is not iterable", and
    # add_utm_to_url(None, ...) "Cannot mix str and non-str arguments".
    with pytest.raises(TypeError, match=r"^text: must be a str, got None"):
        add_utm(None, {"utm_source": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^url: must be a str, got None"):
        add_utm_to_url(None, {"utm_source": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize("function", [grapheme_count, graphemes])
def test_grapheme_functions_name_text_that_is_not_a_string(function: Any) -> None:
    # "'NoneType' object has no attribute 'isascii'"
    with pytest.raises(TypeError, match=r"^text: must be a str, got None \(NoneType\)"):
        function(None)
    with pytest.raises(TypeError, match=r"^text: must be a str, got b'ab' \(bytes\)"):
        function(b"ab")
