from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from socialkit.text import add_utm, add_utm_to_url, extract_entities, measure, rules

UTM = {"utm_source": "mastodon", "utm_medium": "social", "utm_campaign": "spring"}


def test_parameters_are_added_keeping_the_query_and_the_fragment() -> None:
    url = "https://example.com/a?x=1&y=a%20b#top"
    assert add_utm_to_url(url, UTM) == (
        "https://example.com/a?x=1&y=a%20b"
        "&utm_source=mastodon&utm_medium=social&utm_campaign=spring#top"
    )


def test_a_parameter_the_author_set_is_kept() -> None:
    url = "https://example.com/?utm_source=newsletter"
    tagged = add_utm_to_url(url, UTM)
    assert tagged.count("utm_source") == 1
    assert "utm_source=newsletter" in tagged
    assert add_utm_to_url(url, {"utm_source": "x"}) == url


def test_links_in_text_are_tagged_but_not_the_sentence_punctuation() -> None:
    text = "سلام! ببینید https://example.com/launch. و (https://example.org/a_(b)) و example.net"
    tagged = add_utm(text, {"utm_source": "x"})
    assert "https://example.com/launch?utm_source=x." in tagged
    assert "(https://example.org/a_(b)?utm_source=x)" in tagged
    assert tagged.endswith("و example.net")  # no scheme: left alone


def test_tag_before_measuring_matters_where_links_count_as_written() -> None:
    text = "Read https://example.com/launch"
    tagged = add_utm(text, UTM)
    assert measure(tagged, rules.X).length == measure(text, rules.X).length  # 23 either way
    assert measure(tagged, rules.BLUESKY).length > measure(text, rules.BLUESKY).length


@given(st.text(max_size=60))
def test_text_without_links_is_unchanged(text: str) -> None:
    if any(e.kind == "url" and "://" in e.text for e in extract_entities(text, rules.X)):
        return
    assert add_utm(text, UTM) == text
