"""Counting rules as data: how each platform measures text, and its limits.

A :class:`TextRule` is plain data an adapter puts in its ``Capabilities``; the functions
in :mod:`socialkit.text` read it. Rules for the platforms socialkit knows are constants
here; an adapter refines one per server with :meth:`TextRule.with_limit`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Counting(StrEnum):
    """The unit a platform counts text in."""

    WEIGHTED = "weighted"  # twitter-text: weighted code points, emoji sequences, URLs fixed
    GRAPHEMES = "graphemes"  # user-perceived characters (extended grapheme clusters)
    CODE_POINTS = "code_points"
    UTF16 = "utf16"  # UTF-16 code units (Telegram, JavaScript string length)
    UTF8 = "utf8"  # bytes of UTF-8


class EntityRules(StrEnum):
    """Whose rules find URLs, hashtags, mentions and cashtags in a text."""

    TWITTER = "twitter"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    GENERIC = "generic"


class WeightRange(BaseModel):
    """A range of code points with its weight (twitter-text config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int
    end: int
    weight: int


class TextRule(BaseModel):
    """How one platform counts a text, and what fits.

    Attributes:
        name: the rule's name (``"x"``, ``"mastodon"``...), shown in reports.
        counting: the unit of ``limit``.
        limit: the most units a text may have.
        min_length: the fewest (Telegram refuses an empty message).
        max_bytes: a second limit in UTF-8 bytes (Bluesky: 3000), or ``None``.
        url_length: every URL counts as this many units (X: 23; Mastodon:
            ``characters_reserved_per_url``), or ``None`` to count URLs as written.
        entities: whose rules find URLs, hashtags, mentions and cashtags.
        remote_mentions_count_local_part: ``@user@domain`` counts as ``@user`` (Mastodon).
        content_warning_counts: the content warning counts toward the limit (Mastodon).
        emoji_as_utf8_bytes: an emoji counts as its UTF-8 byte length (Threads).
        max_hashtags: the most hashtags allowed (Instagram: 30), or ``None``.
        weights: twitter-text weighted ranges (``counting == WEIGHTED``); they must not
            overlap. A URL weighs ``url_length * scale``.
        default_weight, scale: twitter-text weights; length = sum(weights) // scale.
        emoji_weight: weight of a whole emoji sequence, or ``None`` to weigh code points.
        normalize_nfc: count the NFC form (twitter-text does).

    The formulas per unit are in :mod:`socialkit.text.measure`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    counting: Counting
    limit: int = Field(ge=0)
    min_length: int = Field(default=0, ge=0)
    max_bytes: int | None = Field(default=None, ge=0)
    url_length: int | None = Field(default=None, ge=0)
    entities: EntityRules = EntityRules.GENERIC
    remote_mentions_count_local_part: bool = False
    content_warning_counts: bool = False
    emoji_as_utf8_bytes: bool = False
    max_hashtags: int | None = Field(default=None, ge=0)
    weights: tuple[WeightRange, ...] = ()
    default_weight: int = 100
    scale: int = 1
    emoji_weight: int | None = None
    normalize_nfc: bool = False

    def with_limit(self, limit: int, **changes: object) -> TextRule:
        """A copy with another ``limit`` (and any other field changed), checked as a new rule.

        Raises:
            pydantic.ValidationError: a value a rule cannot have (a negative or non-numeric
                limit, an unknown field); the error names the field and the value.
        """
        return type(self).model_validate({**self.model_dump(), "limit": limit, **changes})


_TWITTER_WEIGHTS = (
    WeightRange(start=0, end=4351, weight=100),
    WeightRange(start=8192, end=8205, weight=100),
    WeightRange(start=8208, end=8223, weight=100),
    WeightRange(start=8242, end=8247, weight=100),
)

X = TextRule(
    name="x",
    counting=Counting.WEIGHTED,
    limit=280,
    url_length=23,
    entities=EntityRules.TWITTER,
    weights=_TWITTER_WEIGHTS,
    default_weight=200,
    scale=100,
    emoji_weight=200,
    normalize_nfc=True,
)
"""X / Twitter: twitter-text configuration v3."""

X_V2 = X.model_copy(update={"name": "x-v2", "emoji_weight": None})
"""twitter-text configuration v2 (no emoji discount), kept for the conformance suite."""

MASTODON = TextRule(
    name="mastodon",
    counting=Counting.GRAPHEMES,
    limit=500,
    url_length=23,
    entities=EntityRules.MASTODON,
    remote_mentions_count_local_part=True,
    content_warning_counts=True,
)
BLUESKY = TextRule(
    name="bluesky",
    counting=Counting.GRAPHEMES,
    limit=300,
    max_bytes=3000,
    entities=EntityRules.BLUESKY,
)
THREADS = TextRule(
    name="threads", counting=Counting.CODE_POINTS, limit=500, emoji_as_utf8_bytes=True
)
LINKEDIN = TextRule(name="linkedin", counting=Counting.CODE_POINTS, limit=3000)
INSTAGRAM = TextRule(name="instagram", counting=Counting.CODE_POINTS, limit=2200, max_hashtags=30)
TELEGRAM = TextRule(name="telegram", counting=Counting.UTF16, limit=4096, min_length=1)
TELEGRAM_CAPTION = TextRule(name="telegram-caption", counting=Counting.UTF16, limit=1024)
DISCORD = TextRule(name="discord", counting=Counting.CODE_POINTS, limit=2000)
REDDIT_TITLE = TextRule(name="reddit-title", counting=Counting.CODE_POINTS, limit=300, min_length=1)
REDDIT_BODY = TextRule(name="reddit-body", counting=Counting.CODE_POINTS, limit=40000)
PINTEREST_TITLE = TextRule(name="pinterest-title", counting=Counting.CODE_POINTS, limit=100)
PINTEREST_DESCRIPTION = TextRule(
    name="pinterest-description", counting=Counting.CODE_POINTS, limit=800
)
YOUTUBE_TITLE = TextRule(name="youtube-title", counting=Counting.CODE_POINTS, limit=100)
YOUTUBE_DESCRIPTION = TextRule(name="youtube-description", counting=Counting.UTF8, limit=5000)
FEED = TextRule(name="feed", counting=Counting.GRAPHEMES, limit=100_000)
"""The built-in feed platform: generous, graphemes."""

RULES: dict[str, TextRule] = {
    rule.name: rule
    for rule in (
        X,
        X_V2,
        MASTODON,
        BLUESKY,
        THREADS,
        LINKEDIN,
        INSTAGRAM,
        TELEGRAM,
        TELEGRAM_CAPTION,
        DISCORD,
        REDDIT_TITLE,
        REDDIT_BODY,
        PINTEREST_TITLE,
        PINTEREST_DESCRIPTION,
        YOUTUBE_TITLE,
        YOUTUBE_DESCRIPTION,
        FEED,
    )
}
"""Every built-in rule by name."""

ALIASES: dict[str, str] = {
    "twitter": "x",
    "bsky": "bluesky",
    "telegram-text": "telegram",
    "reddit": "reddit-body",
    "pinterest": "pinterest-description",
    "youtube": "youtube-description",
}
"""Other names people use for a rule."""


def rule_for(name: str) -> TextRule:
    """The built-in rule called ``name`` (case-insensitive; ``twitter`` is ``x``).

    Raises:
        ValueError: no rule has that name; the message lists the known ones and the
            closest, if one is close (``mastadon``: did you mean ``mastodon``?).
        TypeError: ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: must be a str, got {name!r} ({type(name).__name__})")
    key = name.strip().lower()
    rule = RULES.get(ALIASES.get(key, key))
    if rule is None:
        import difflib

        known = ", ".join(sorted(RULES))
        others = ", ".join(sorted(ALIASES))
        close = difflib.get_close_matches(key, [*RULES, *ALIASES], n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"no text rule named {name!r}; known rules: {known} (also: {others}){guess}"
        )
    return rule
