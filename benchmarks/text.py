"""X weighted length: socialkit beside twitter-text-parser (the Python port of twitter-text).

One run prints, for each implementation:

- texts per second over a corpus of 10,000 mixed texts (ASCII, Persian with ZWNJ, Arabic,
  CJK, emoji ZWJ sequences and flags, URLs with and without a scheme, hashtags and
  mentions), generated from a fixed seed; best of ``--repeat`` passes;
- how many of the 44 weighted-length conformance cases of twitter-text's
  ``validate.yml`` it gets right (every field of the expected result: weighted length,
  validity, permillage and the display and valid ranges);

then the speed ratio, and on how many corpus texts the two agree (they can differ on
emoji newer than the anchor's Emoji 12.0 table, which socialkit counts as one unit).

Last, the input that was slowest for socialkit (10,000 characters of dot-separated
one-letter labels ending in a top-level domain, on which the URL pattern tried a host after
every dot and read up to 127 labels from each; the URL scan is now linear), timed for both:
docs/text.md quotes this figure. Then adversarial families, each at 2,500 and 5,000
characters, with the time for both and how much longer the 5,000-character text took than
the 2,500 (about 2 for linear work, 4 for quadratic): texts a server may be sent on
purpose. The anchor is timed once per text on these; some take it seconds.

Goal (issue 3): every conformance case right and at least 10x the anchor's speed.

Run: ``python benchmarks/text.py [--texts N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from socialkit.text import measure, rules
from socialkit.text._unicode import utf16_length

ROOT = Path(__file__).resolve().parent.parent
VALIDATE = ROOT / "tests" / "conformance_data" / "twitter-text" / "conformance" / "validate.yml"
GROUPS = {
    "WeightedTweetsCounterTest": "v2",
    "WeightedTweetsWithDiscountedEmojiCounterTest": "v3",
    "UnicodeDirectionalMarkerCounterTest": "v3",
}

_ASCII = [
    "We just shipped the new release",
    "Join us on Thursday for the live demo",
    "Thanks to everyone who came to the meetup!",
    "Our quarterly report is out now.",
    "What do you think about the new design?",
]
_PERSIAN = [
    "سلام دنیا! این یک متن فارسی با نیم‌فاصله است",
    "می‌خواهم درباره‌ی شبکه‌های اجتماعی بنویسم",
    "گزارش فصلی ما منتشر شد",
]
_ARABIC = ["مرحبا بالعالم", "أعلنا اليوم عن المنتج الجديد", "شكرا لكم جميعا"]
_CJK = [
    "新しい製品を発表しました",
    "故人西辞黄鹤楼，烟花三月下扬州。",
    "오늘 새로운 기능을 출시했습니다",
]
_EMOJI = ["😀", "🎉🎉", "👨‍👩‍👧‍👦", "👍🏽", "🇮🇷", "🇯🇵", "❤️", "🏳️‍🌈", "1️⃣", "🙋🏽‍♀️"]
_URLS = [
    "https://example.com/launch?utm_source=x",
    "http://t.co/abc123",
    "example.org/blog/2025/04/post",
    "https://en.wikipedia.org/wiki/Persian_(language)",
    "www.example.co.uk",
    "https://twitter.com/#!/search?q=x",
]
_TAGS = ["#news", "#شبکه‌های_اجتماعی", "#漢字", "@someone", "$TSLA", "#launch2025", "@a/list"]


def corpus(size: int, seed: int = 20250401) -> list[str]:
    """``size`` mixed texts, the same for every run with the same seed."""
    rng = random.Random(seed)
    pools = [_ASCII, _PERSIAN, _ARABIC, _CJK, _EMOJI, _URLS, _TAGS]
    weights = [5, 3, 2, 3, 3, 2, 2]
    texts = []
    for _ in range(size):
        pieces = [rng.choice(rng.choices(pools, weights)[0]) for _ in range(rng.randint(1, 14))]
        texts.append(" ".join(pieces))
    return texts


def _conformance() -> list[tuple[str, str, dict[str, Any]]]:
    with VALIDATE.open(encoding="utf-8") as handle:
        tests = yaml.safe_load(handle)["tests"]
    return [
        (version, case["text"], case["expected"])
        for group, version in GROUPS.items()
        for case in tests[group]
    ]


def _socialkit_parse(text: str, version: str) -> dict[str, Any]:
    rule = rules.X if version == "v3" else rules.X_V2
    m = measure(text, rule)
    size = utf16_length(text)
    last = size - 1 if m.overflow_at is None else utf16_length(text[: m.overflow_at]) - 1
    return {
        "weightedLength": m.length,
        "valid": m.fits and m.length > 0,
        "permillage": m.length * 1000 // rule.limit,
        "displayRangeStart": 0,
        "displayRangeEnd": max(size - 1, 0),
        "validRangeStart": 0,
        "validRangeEnd": last,
    }


def _anchor() -> tuple[Callable[[str], int], Callable[[str, str], dict[str, Any]]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it imports pkg_resources, which warns
            from twitter_text import parse_tweet
            from twitter_text.config import config
    except ImportError:
        return None
    options = {
        "v3": config["version3"],
        "v2": {**config["version2"], "emoji_parsing_enabled": False},
    }

    def length(text: str) -> int:
        return int(parse_tweet(text, options["v3"]).weightedLength)

    def parse(text: str, version: str) -> dict[str, Any]:
        return dict(parse_tweet(text, options[version]).asdict())

    return length, parse


SLOW_TEXT = "a." * 5000 + "com"

# name -> text of about n characters
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "one-letter labels, then .com": lambda n: "a." * (n // 2) + "com",
    "é run, then .a x.com": lambda n: "é" * n + ".a x.com",
    "a-a-… run, then a.b x.com": lambda n: "a-" * (n // 2) + "a.b x.com",
    "http:// and distinct CJK ideographs, then .com": lambda n: (
        "http://" + "".join(chr(0x4E00 + i) for i in range(n)) + ".com"
    ),
}


def _seconds(function: Callable[[str], int], text: str, repeat: int = 3) -> float:
    """Best wall time of ``function(text)``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - start)
    return best


def _rate(function: Callable[[str], int], texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            function(text)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    texts = corpus(args.texts)
    cases = _conformance()

    def socialkit_length(text: str) -> int:
        return measure(text, rules.X).length

    ours_right = sum(_socialkit_parse(text, v) == expected for v, text, expected in cases)
    ours_rate = _rate(socialkit_length, texts, args.repeat)
    print(f"corpus: {len(texts)} texts, {sum(map(len, texts))} code points; best of {args.repeat}")
    print(
        f"socialkit            {ours_rate:>10,.0f} texts/s   conformance {ours_right}/{len(cases)}"
    )

    anchor = _anchor()
    if anchor is None:
        print("twitter-text-parser  not installed (pip install twitter-text-parser)")
        return 0 if ours_right == len(cases) else 1
    anchor_length, anchor_parse = anchor
    anchor_right = sum(anchor_parse(text, v) == expected for v, text, expected in cases)
    anchor_rate = _rate(anchor_length, texts, args.repeat)
    print(
        f"twitter-text-parser  {anchor_rate:>10,.0f} texts/s   "
        f"conformance {anchor_right}/{len(cases)}"
    )
    ratio = ours_rate / anchor_rate
    print(f"ratio (socialkit / twitter-text-parser): {ratio:.1f}x  (goal: >= 10x)")
    agree = sum(socialkit_length(text) == anchor_length(text) for text in texts)
    print(f"same weighted length on {agree}/{len(texts)} corpus texts")
    slow = SLOW_TEXT
    ours_slow, anchor_slow = _seconds(socialkit_length, slow), _seconds(anchor_length, slow)
    print(
        f"slowest known input ({len(slow):,} chars of 'a.a.…com'): socialkit "
        f"{ours_slow * 1000:,.0f} ms, twitter-text-parser {anchor_slow * 1000:,.0f} ms "
        f"({ours_slow / anchor_slow:.1f}x the anchor's time)"
    )
    print("adversarial texts (5,000 chars; in brackets: its time over the 2,500-char text's)")
    for name, build in ADVERSARIAL.items():
        half, full = build(2_500), build(5_000)
        ours = _seconds(socialkit_length, full), _seconds(socialkit_length, half)
        theirs = _seconds(anchor_length, full, 1), _seconds(anchor_length, half, 1)
        print(
            f"  {name:<48} socialkit {ours[0] * 1000:7.1f} ms ({ours[0] / ours[1]:.1f}x)  "
            f"twitter-text-parser {theirs[0] * 1000:8.1f} ms ({theirs[0] / theirs[1]:.1f}x)"
        )
    return 0 if ours_right == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
