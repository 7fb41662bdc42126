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


NON_LATIN = (
    "東京 https://ja.wikipedia.org/wiki/東京, Αθήνα https://el.wikipedia.org/wiki/Αθήνα "
    "and https://example.com/launch."
)


def test_links_are_found_by_the_target_platforms_rules() -> None:
    # Mastodon, Bluesky and the feed link the whole URL: the tag goes after its last letter
    # instead of splitting it (https://ja.wikipedia.org/wiki/?utm_source=x東京 before).
    whole = (
        "東京 https://ja.wikipedia.org/wiki/東京?utm_source=x, "
        "Αθήνα https://el.wikipedia.org/wiki/Αθήνα?utm_source=x "
        "and https://example.com/launch?utm_source=x."
    )
    for rule in (rules.MASTODON, rules.BLUESKY, rules.FEED):
        assert add_utm(NON_LATIN, {"utm_source": "x"}, rule) == whole, rule.name


def test_a_link_x_ends_inside_the_written_url_is_left_as_written() -> None:
    # X links only https://ja.wikipedia.org/wiki/ (its path stops at 東): a tag there would
    # split the URL, so such a link stays as written; others are tagged as before.
    expected = NON_LATIN.replace("launch.", "launch?utm_source=x.")
    assert add_utm(NON_LATIN, {"utm_source": "x"}, rules.X) == expected
    assert add_utm(NON_LATIN, {"utm_source": "x"}) == expected
