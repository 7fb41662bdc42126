"""Metric snapshots: what a platform reported about a post or an account at one time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field, FiniteFloat, ValidationInfo, field_validator

from socialkit.models._base import SocialModel, require_aware

METRIC_FIELDS: tuple[str, ...] = (
    "impressions",
    "reach",
    "likes",
    "comments",
    "shares",
    "quotes",
    "saves",
    "clicks",
    "video_views",
    "followers",
    "negative_feedback",
)


class MetricSnapshot(SocialModel):
    """Counts a platform reported at ``collected_at``.

    ``None`` means the platform did not report the figure; ``0`` means it reported zero.
    KPI functions skip ``None`` rather than treating it as zero. Counts are strict
    whole numbers: ``True``, ``"5"`` and ``2.0`` are refused (naming the field and the
    value) rather than read as 1, 5 and 2 — an adapter converts what its platform sends.
    A JSON round trip keeps them (JSON numbers without a fraction are ints).

    Attributes:
        platform: the platform name.
        account_id: the account the post belongs to (or the account itself).
        subject: ``post`` for a published post, ``account`` for account-level figures.
        post_id: the platform's id of the post (``None`` for account snapshots).
        publication_id: socialkit's publication, when the engine collected it.
        collected_at: when the platform was asked (aware).
        after: which scheduled collection the snapshot answers, as its offset after
            publication (``EngineConfig.metric_schedule``: 1 h, 24 h, 7 d by default), so
            posts can be compared at the same age even when a collection ran late (a
            worker down, a rate limit). The engine sets it; ``None`` for a snapshot
            collected otherwise (an adapter called directly) or stored by an older
            socialkit. JSON carries it as seconds. It is what was scheduled, not when
            the snapshot was taken: compare posts by ``age``.
        age: how long after publication the snapshot was really taken
            (``collected_at`` minus the receipt's ``published_at``), set by the engine
            with ``after``: a +1 h collection the worker made at +3 h (it was down, or
            the account's rate limit held it) has ``after`` 1 h and ``age`` 3 h, and is
            a 3 h figure. ``None`` for a snapshot without ``after``.
        skipped: the earlier scheduled collections (offsets after publication, as
            ``after``) this one was taken instead of: they were still waiting when it
            came due too (after a long outage, +1 h and +24 h at +2 days), so the
            platform was asked once, and this snapshot answers the latest of them
            (``after``); the skipped ones have no snapshot of their own. Empty when none
            was skipped.
        impressions, reach, likes, comments, shares, quotes, saves, clicks, video_views,
        followers: the counts, ``None`` when not reported.
        negative_feedback: how often people pushed the post away (hid it, reported it,
            asked to see less, unfollowed from it), as the platform counts it; ``None``
            when not reported. Not part of :attr:`engagements`.
        extra: platform-specific counts under their platform names (finite numbers).
    """

    platform: str
    account_id: str
    subject: Literal["post", "account"] = "post"
    post_id: str | None = None
    publication_id: str | None = None
    collected_at: datetime
    after: timedelta | None = None
    age: timedelta | None = None
    skipped: tuple[timedelta, ...] = ()
    impressions: int | None = Field(default=None, ge=0, strict=True)
    reach: int | None = Field(default=None, ge=0, strict=True)
    likes: int | None = Field(default=None, ge=0, strict=True)
    comments: int | None = Field(default=None, ge=0, strict=True)
    shares: int | None = Field(default=None, ge=0, strict=True)
    quotes: int | None = Field(default=None, ge=0, strict=True)
    saves: int | None = Field(default=None, ge=0, strict=True)
    clicks: int | None = Field(default=None, ge=0, strict=True)
    video_views: int | None = Field(default=None, ge=0, strict=True)
    followers: int | None = Field(default=None, ge=0, strict=True)
    negative_feedback: int | None = Field(default=None, ge=0, strict=True)
    # Finite: JSON has no NaN or infinity, so the store would keep null and every later
    # read of the series would fail to validate.
    extra: dict[str, FiniteFloat] = Field(default_factory=dict)

    @field_validator("collected_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        require_aware(value, "collected_at")
        return value

    @field_validator("after", "age")
    @classmethod
    def _not_negative(cls, value: timedelta | None, info: ValidationInfo) -> timedelta | None:
        if value is not None and value < timedelta(0):
            raise ValueError(f"{info.field_name} must not be negative (got {value})")
        return value

    @field_validator("skipped")
    @classmethod
    def _none_negative(cls, value: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        for offset in value:
            if offset < timedelta(0):
                raise ValueError(f"skipped offsets must not be negative (got {offset})")
        return value

    @property
    def engagements(self) -> int | None:
        """likes + comments + shares + quotes + saves + clicks, over what was reported."""
        parts = [self.likes, self.comments, self.shares, self.quotes, self.saves, self.clicks]
        reported = [p for p in parts if p is not None]
        return sum(reported) if reported else None

    def reported(self) -> dict[str, int]:
        """The standard counts the platform reported (``None`` ones left out)."""
        return {name: value for name in METRIC_FIELDS if (value := getattr(self, name)) is not None}
