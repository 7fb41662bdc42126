from __future__ import annotations

import pytest

import socialkit
from socialkit.platforms.capabilities import MediaLimits
from socialkit.text import measure, rules
from tests.conftest import PNG_1x1

SMALL = socialkit.Capabilities(
    text=rules.FEED.with_limit(20),
    media=MediaLimits(max_items=1, max_images=1, max_image_bytes=10, alt_text="required"),
)


def test_render_applies_override_and_utm() -> None:
    campaign = socialkit.Campaign(
        id="spring", name="Spring", utm=socialkit.UtmParameters(source="feed", campaign="spring")
    )
    post = socialkit.Post(
        text="See https://example.com/a?x=1#top now",
        link=socialkit.Link(url="https://example.com/b"),
        overrides={"other": socialkit.PlatformOverride(text="other text")},
        campaign="spring",
    )
    draft = socialkit.render(
        post, "feed", socialkit.Capabilities(text=rules.FEED), campaign=campaign
    )
    tagged = "https://example.com/b?utm_source=feed&utm_campaign=spring"
    assert draft.text == (
        f"See https://example.com/a?x=1&utm_source=feed&utm_campaign=spring#top now\n\n{tagged}"
    )
    assert draft.link is not None
    assert draft.link.url == tagged
    assert draft.revision == post.revision()
    assert socialkit.render(post, "other", SMALL).text == "other text\n\nhttps://example.com/b"


def test_render_splits_into_a_thread_where_the_platform_has_threads() -> None:
    caps = SMALL.model_copy(update={"threads": True})
    post = socialkit.Post(text="one two three four five six seven eight nine ten")
    draft = socialkit.render(post, "feed", caps)
    assert len(draft.parts) > 1
    assert all(len(part.text) <= 20 for part in draft.parts)
    assert " ".join(p.text for p in draft.parts).split() == post.text.split()
    assert len(socialkit.render(post, "feed", SMALL).parts) == 1


def test_validate_reports_every_problem_with_field_limit_and_value() -> None:
    image = socialkit.Media.from_bytes(PNG_1x1)
    post = socialkit.Post(
        text="x" * 25,
        media=(image, image),
        thread=(socialkit.ThreadPart(text="more"),),
        first_comment="hello",
    )
    problems = socialkit.validate(post, SMALL, platform="feed")
    by_code = {}
    for problem in problems:
        by_code.setdefault(problem.code, problem)
    assert by_code["text.too_long"].limit == 20
    assert by_code["text.too_long"].value == 25
    assert by_code["text.too_long"].field == "text"
    assert by_code["media.too_many"].value == 2
    assert by_code["media.too_large"].field == "media[0].size"
    assert by_code["media.too_large"].limit == 10
    assert by_code["media.alt_text_missing"].field == "media[0].alt_text"
    assert by_code["thread.unsupported"].value == 2
    assert "first_comment.unsupported" in by_code
    assert all(p.platform == "feed" for p in problems)
    assert "limit 20" in by_code["text.too_long"].describe()


def test_a_valid_post_has_no_problems() -> None:
    post = socialkit.Post(text="short")
    assert socialkit.validate(post, SMALL, platform="feed") == []


FEED_CAPS = socialkit.Capabilities(text=rules.FEED, threads=True)


def test_render_appends_the_link_once_and_counts_it() -> None:
    link = socialkit.Link(url="https://example.com/launch")
    draft = socialkit.render(socialkit.Post(text="We launched!", link=link), "feed", FEED_CAPS)
    assert draft.text == "We launched!\n\nhttps://example.com/launch"
    # a link the text (or a later thread part) already has is not repeated
    for post in (
        socialkit.Post(text="See https://example.com/launch now", link=link),
        socialkit.Post(
            text="Part one",
            thread=(socialkit.ThreadPart(text="More: https://example.com/launch"),),
            link=link,
        ),
    ):
        drafted = socialkit.render(post, "feed", FEED_CAPS)
        assert sum(p.text.count("https://example.com/launch") for p in drafted.parts) == 1
    # a post that is only a link publishes the link
    only = socialkit.render(socialkit.Post(link=link), "feed", FEED_CAPS)
    assert only.text == "https://example.com/launch"
    assert socialkit.validate(only, FEED_CAPS) == []
    # the appended URL is measured with the text: 12 + 2 + 26 graphemes on a 30 limit
    tight = socialkit.Capabilities(text=rules.FEED.with_limit(30))
    problems = socialkit.validate(
        socialkit.Post(text="We launched!", link=link), tight, platform="feed"
    )
    assert [(p.code, p.limit, p.value) for p in problems] == [("text.too_long", 30, 40)]


def test_render_leaves_the_text_alone_where_links_are_a_field_of_their_own() -> None:
    caps = FEED_CAPS.model_copy(update={"link_in_text": False})
    post = socialkit.Post(text="We launched!", link=socialkit.Link(url="https://example.com/x"))
    draft = socialkit.render(post, "feed", caps)
    assert draft.text == "We launched!"
    assert draft.link is not None
    assert draft.link.url == "https://example.com/x"


def test_a_counted_content_warning_counts_on_every_thread_part() -> None:
    caps = socialkit.Capabilities(text=rules.MASTODON, threads=True, content_warning=True)
    warning = "spoilers " * 10  # 90 graphemes, which the adapter puts on every part
    post = socialkit.Post(text="word " * 80, thread=(socialkit.ThreadPart(text="x" * 420),))
    post = post.model_copy(update={"content_warning": warning})
    problems = socialkit.validate(post, caps.model_copy(update={"threads": False}), platform="m")
    too_long = [(p.field, p.limit, p.value) for p in problems if p.code == "text.too_long"]
    assert too_long == [("thread[0].text", 500, 510)]  # 420 + 90
    # rendering with threads splits every part so that each fits with the warning
    long = socialkit.Post(text="word " * 300, content_warning=warning)
    draft = socialkit.render(long, "mastodon", caps)
    assert len(draft.parts) >= 3
    assert all(measure(p.text, rules.MASTODON, content_warning=warning).fits for p in draft.parts)
    assert socialkit.validate(draft, caps) == []


def test_pixel_dimensions_are_checked_against_the_limits() -> None:
    def image(width: int, height: int) -> socialkit.Media:
        return socialkit.Media(
            sha256="ab" * 32, mime_type="image/png", size=1, width=width, height=height
        )

    limits = MediaLimits(
        max_items=2, max_images=2, min_width=320, min_height=320, max_width=4000, max_height=4000
    )
    caps = socialkit.Capabilities(text=rules.FEED, media=limits)
    post = socialkit.Post(text="hi", media=(image(200, 400), image(5000, 1000)))
    problems = socialkit.validate(post, caps, platform="feed")
    assert [(p.field, p.code, p.limit, p.value) for p in problems] == [
        ("media[0].width", "media.too_small", 320, 200),
        ("media[1].width", "media.too_big", 4000, 5000),
    ]
    assert problems[0].describe() == (
        "[feed] media[0].width: image is too small (width in pixels) (limit 320, value 200)"
    )
    # unknown dimensions are not guessed at
    unknown = socialkit.Media(sha256="cd" * 32, mime_type="image/png", size=1)
    assert socialkit.validate(socialkit.Post(text="hi", media=(unknown,)), caps, platform="f") == []


def test_text_beside_media_is_split_by_the_caption_rule() -> None:
    caps = socialkit.Capabilities(
        text=rules.TELEGRAM,
        caption=rules.TELEGRAM_CAPTION,
        media=MediaLimits(max_items=1, max_images=1),
        threads=True,
    )
    photo = socialkit.Media(sha256="ab" * 32, mime_type="image/png", size=1)
    post = socialkit.Post(text="word " * 400, media=(photo,))  # 2000 UTF-16 units
    draft = socialkit.render(post, "telegram", caps)
    assert len(draft.parts) == 2
    assert draft.parts[0].media == (photo,)
    assert measure(draft.parts[0].text, rules.TELEGRAM_CAPTION).fits
    assert socialkit.validate(draft, caps) == []


def test_alt_text_the_platform_cannot_carry_is_a_warning() -> None:
    limits = MediaLimits(max_items=1, max_images=1, alt_text="unsupported")
    caps = socialkit.Capabilities(text=rules.FEED, media=limits)
    photo = socialkit.Media(sha256="ab" * 32, mime_type="image/png", size=1, alt_text="A cat")
    problems = socialkit.validate(socialkit.Post(text="hi", media=(photo,)), caps, platform="f")
    assert [(p.field, p.code, p.severity) for p in problems] == [
        ("media[0].alt_text", "media.alt_text_unsupported", "warning")
    ]
    bare = photo.model_copy(update={"alt_text": None})
    assert socialkit.validate(socialkit.Post(text="hi", media=(bare,)), caps, platform="f") == []


def test_validate_takes_a_platform_name_and_looks_its_capabilities_up() -> None:
    post = socialkit.Post(text="x" * 400)
    by_name = socialkit.validate(post, "feed")
    capabilities = socialkit.get_registry().platform("feed").capabilities
    assert by_name == socialkit.validate(post, capabilities, platform="feed")
    assert socialkit.validate(post, platform="feed") == by_name


def test_validate_without_a_platform_or_with_two_says_what_to_pass() -> None:
    post = socialkit.Post(text="hello")
    with pytest.raises(TypeError, match=r"validate\(post, 'bluesky'\)"):
        socialkit.validate(post, SMALL)
    with pytest.raises(TypeError, match="two platforms: 'feed' and platform='other'"):
        socialkit.validate(post, "feed", platform="other")
    with pytest.raises(socialkit.UnknownPlatform, match="'nope'"):
        socialkit.validate(post, "nope")


def test_validate_warns_when_render_splits_the_text_into_a_thread() -> None:
    caps = SMALL.model_copy(update={"threads": True, "max_thread_parts": 9})
    post = socialkit.Post(text="one two three four five six seven eight nine ten")
    draft = socialkit.render(post, "feed", caps)
    (split,) = [
        p for p in socialkit.validate(post, caps, platform="feed") if p.code == "thread.split"
    ]
    assert split.severity == "warning"
    assert split.value == len(draft.parts) > 1
    assert split.limit == 9
    assert f"thread of {len(draft.parts)} parts" in split.message
    # A text that fits, or a thread the post already has, is no surprise.
    fits = socialkit.Post(text="one", thread=(socialkit.ThreadPart(text="two"),))
    assert not [
        p for p in socialkit.validate(fits, caps, platform="feed") if p.code == "thread.split"
    ]
    # A draft has been split already: nothing to warn about.
    assert not [p for p in socialkit.validate(draft, caps) if p.code == "thread.split"]


@pytest.mark.parametrize("text_rule", [rules.MASTODON, rules.BLUESKY, rules.FEED])
def test_render_tags_a_non_latin_link_after_its_last_letter(text_rule: socialkit.TextRule) -> None:
    campaign = socialkit.Campaign(
        id="spring", name="Spring", utm=socialkit.UtmParameters(source="s", campaign="spring")
    )
    post = socialkit.Post(
        text="Tokyo: https://ja.wikipedia.org/wiki/東京",
        first_comment="Athens: https://el.wikipedia.org/wiki/Αθήνα",
        campaign="spring",
    )
    draft = socialkit.render(post, "p", socialkit.Capabilities(text=text_rule), campaign=campaign)
    assert (
        draft.text == "Tokyo: https://ja.wikipedia.org/wiki/東京?utm_source=s&utm_campaign=spring"
    )
    assert draft.first_comment == (
        "Athens: https://el.wikipedia.org/wiki/Αθήνα?utm_source=s&utm_campaign=spring"
    )
