"""socialkit's X length beside twitter-text-parser, the Python port of twitter-text.

On ordinary mixed posts (words, Persian, Arabic, CJK, emoji, links, tags separated by
spaces) both must agree. They can differ on text built to be odd: host names that glue
scripts together (the port checks them with IDNA 2003, twitter-text's JavaScript only by
label length, which socialkit follows), emoji newer than the port's Emoji 12 table, and a
plain © or ®, an emoji for the port but a symbol of weight 1 for twitter-text's JavaScript
(twemoji-parser takes ©, ®, ™ and ♟ as emoji only with U+FE0F).
"""

from __future__ import annotations

import random
import warnings

import pytest

from socialkit.text import measure, rules

_POOLS = [
    ["We shipped it", "Join us Thursday!", "Thanks, everyone.", "What do you think?"],
    ["سلام دنیا", "می‌خواهم بنویسم", "شبکه‌های اجتماعی", "۱۲۳ تومان"],
    ["مرحبا بالعالم", "شكرا لكم"],
    ["新しい製品を発表しました", "故人西辞黄鹤楼。", "오늘 출시했습니다"],
    ["😀", "🎉🎉", "👨‍👩‍👧‍👦", "👍🏽", "🇮🇷", "❤️", "🏳️‍🌈", "1️⃣", "🙋🏽‍♀️", "©\ufe0f", "™"],
    ["https://example.com/a?x=1", "http://t.co/abc", "example.org/blog", "www.example.co.uk"],
    ["#news", "#شبکه‌های_اجتماعی", "#漢字", "@someone", "$TSLA", "@a/list"],
]


def _texts(count: int) -> list[str]:
    rng = random.Random(3)
    return [
        " ".join(rng.choice(rng.choice(_POOLS)) for _ in range(rng.randint(1, 30)))
        for _ in range(count)
    ]


def test_same_weighted_length_as_twitter_text_parser() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the port imports pkg_resources, which warns
        parser = pytest.importorskip(
            "twitter_text", reason="twitter-text-parser (the bench extra) is not installed"
        )
    differ = [
        text
        for text in _texts(600)
        if parser.parse_tweet(text).weightedLength != measure(text, rules.X).length
    ]
    assert differ == []
