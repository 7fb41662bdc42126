"""Where a too-long text stops fitting is quoted for the limit the problem is about: a
text over both Bluesky's grapheme and byte limits gets each its own position."""

from __future__ import annotations

import socialkit
from socialkit.text import rules

BLUESKY = socialkit.Capabilities(text=rules.BLUESKY)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 1 grapheme, 5 code points, 18 bytes


def _problems(text: str) -> dict[str, socialkit.Problem]:
    found = socialkit.validate(socialkit.Post(text=text), BLUESKY, platform="bluesky")
    return {p.code: p for p in found}


def test_each_limit_quotes_its_own_position() -> None:
    problems = _problems(FAMILY * 301)
    too_long = problems["text.too_long"]
    assert (too_long.limit, too_long.value) == (300, 301)
    # 300 families fit the grapheme limit: the 301st starts at code point 1500.
    assert too_long.message.endswith("it stops fitting at character 1500")
    too_many = problems["text.too_many_bytes"]
    assert (too_many.limit, too_many.value) == (3000, 301 * 18)
    # 166 families are 2988 bytes; the 167th (code point 830) passes 3000.
    assert too_many.message.endswith("it stops fitting at character 830")


def test_only_over_the_grapheme_limit() -> None:
    problems = _problems("a" * 301)
    assert set(problems) == {"text.too_long"}
    assert problems["text.too_long"].message.endswith("it stops fitting at character 300")


def test_only_over_the_byte_limit() -> None:
    problems = _problems(FAMILY * 200)  # 200 graphemes fit; 3600 bytes do not
    assert set(problems) == {"text.too_many_bytes"}
    assert problems["text.too_many_bytes"].message.endswith("it stops fitting at character 830")
