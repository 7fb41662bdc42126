"""A link's own title and thumbnail on a platform that takes neither: the warning says what
is left out, and does not claim the platform shows no card (Mastodon makes its own)."""

from __future__ import annotations

import hashlib

import pytest

import socialkit
from socialkit.text import rules
from tests.conftest import PNG_1x1

NO_CARDS = socialkit.Capabilities(text=rules.FEED)
CARDS = NO_CARDS.model_copy(update={"link_cards": True})
# Described, not stored: validating reads no bytes, and storing at import time would write
# into the default media store under the working directory pytest was started from.
THUMBNAIL = socialkit.Media(
    sha256=hashlib.sha256(PNG_1x1).hexdigest(),
    mime_type="image/png",
    size=len(PNG_1x1),
    alt_text="a dot",
)


@pytest.mark.parametrize(
    ("link", "left_out"),
    [
        (socialkit.Link(url="https://example.com/a", title="Spring"), "title is"),
        (socialkit.Link(url="https://example.com/a", thumbnail=THUMBNAIL), "thumbnail is"),
        (
            socialkit.Link(url="https://example.com/a", title="Spring", thumbnail=THUMBNAIL),
            "title and thumbnail are",
        ),
    ],
)
def test_the_warning_names_what_is_left_out(link: socialkit.Link, left_out: str) -> None:
    [problem] = socialkit.validate(socialkit.Post(text="Hi", link=link), NO_CARDS, platform="p")
    assert (problem.field, problem.code, problem.severity) == (
        "link",
        "link.card_unsupported",
        "warning",
    )
    assert problem.message == (
        f"the link's {left_out} not sent: the platform takes none "
        "(any card it shows is made from the linked page)"
    )


def test_a_bare_link_or_a_platform_with_cards_has_no_warning() -> None:
    bare = socialkit.Post(text="Hi", link=socialkit.Link(url="https://example.com/a"))
    assert socialkit.validate(bare, NO_CARDS, platform="p") == []
    titled = socialkit.Post(
        text="Hi", link=socialkit.Link(url="https://example.com/a", title="Spring")
    )
    assert socialkit.validate(titled, CARDS, platform="p") == []


def test_the_capability_is_documented_as_what_the_warning_checks() -> None:
    # link_cards is whether the post's own title and thumbnail reach the card, not whether
    # a card is shown: Mastodon (link_cards=False) shows cards made from the linked page.
    doc = " ".join((socialkit.Capabilities.__doc__ or "").split())
    described = doc.split("link_cards:", 1)[1].split("link_in_text:", 1)[0]
    assert "own title and thumbnail" in described
    assert "linked page" in described
