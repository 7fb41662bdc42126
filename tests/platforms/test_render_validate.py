from __future__ import annotations

import socialkit
from socialkit.platforms.capabilities import MediaLimits
from socialkit.text import rules
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
    assert draft.text == "See https://example.com/a?x=1&utm_source=feed&utm_campaign=spring#top now"
    assert draft.link is not None
    assert draft.link.url == "https://example.com/b?utm_source=feed&utm_campaign=spring"
    assert draft.revision == post.revision()
    assert socialkit.render(post, "other", SMALL).text == "other text"


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
