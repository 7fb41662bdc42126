from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

import socialkit
from tests.conftest import PNG_1x1


def test_revision_is_a_content_hash() -> None:
    a = socialkit.Post(text="Hello", tags=("launch",))
    b = socialkit.Post(text="Hello", tags=("launch",))
    c = socialkit.Post(text="Hello!", tags=("launch",))
    assert a.revision() == b.revision()
    assert a.revision() != c.revision()
    assert len(a.revision()) == 64


def test_post_round_trips_through_json() -> None:
    media = socialkit.Media.from_bytes(PNG_1x1, alt_text="dot")
    post = socialkit.Post(
        text="Hi https://example.com",
        media=(media,),
        thread=(socialkit.ThreadPart(text="two"),),
        overrides={"mastodon": socialkit.PlatformOverride(text="Hi on Mastodon")},
        link=socialkit.Link(url="https://example.com", title="Example"),
        language="fa-IR",
        campaign="spring",
    )
    again = socialkit.Post.model_validate_json(post.model_dump_json())
    assert again == post
    assert again.revision() == post.revision()
    schema = socialkit.Post.model_json_schema()
    assert "text" in schema["properties"]
    json.dumps(schema)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": ""}, "a post needs text, media or a link"),
        ({"text": "x", "language": "not a tag!"}, "language"),
        ({"text": "x", "overrides": {"Mastodon!": {}}}, "overrides"),
        ({"text": "x", "unknown_field": 1}, "unknown_field"),
        ({"text": "x", "link": {"url": "ftp://example.com"}}, "link.url"),
    ],
)
def test_invalid_posts_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        socialkit.Post.model_validate(kwargs)
    assert field.split(".")[0] in str(info.value)


@pytest.mark.parametrize(
    ("model", "kwargs", "loc"),
    [
        (socialkit.Post, {"text": "x", "language": "en\n"}, ("language",)),
        (socialkit.Post, {"text": "x", "overrides": {"mastodon\n": {}}}, ("overrides",)),
        (socialkit.Link, {"url": "https://example.com\n"}, ("url",)),
        (socialkit.Account, {"id": "acme\n", "platform": "feed", "handle": "h"}, ("id",)),
        (
            socialkit.Account,
            {"id": "a", "workspace": "w\n", "platform": "p", "handle": "h"},
            ("workspace",),
        ),
        (
            socialkit.Media,
            {"sha256": "a" * 64 + "\n", "mime_type": "image/png", "size": 1},
            ("sha256",),
        ),
    ],
)
def test_a_trailing_newline_is_not_a_valid_name(
    model: type[socialkit.Post], kwargs: dict[str, object], loc: tuple[str, ...]
) -> None:
    # "$" in a pattern also matches before a final newline; names must match whole.
    with pytest.raises(ValidationError) as info:
        model.model_validate(kwargs)
    assert [error["loc"] for error in info.value.errors()] == [loc]


def test_override_applies_only_to_its_platform() -> None:
    post = socialkit.Post(
        text="general",
        options={"visibility": "public"},
        overrides={
            "x": socialkit.PlatformOverride(text="for x", options={"reply_settings": "following"})
        },
    )
    on_x = post.for_platform("x")
    assert on_x.text == "for x"
    assert on_x.options == {"visibility": "public", "reply_settings": "following"}
    assert post.for_platform("mastodon").text == "general"


def test_posts_are_immutable() -> None:
    post = socialkit.Post(text="a")
    with pytest.raises(ValidationError):
        post.text = "b"  # type: ignore[misc]
