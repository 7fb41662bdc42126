"""Receipts: the platform's references to what was published."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from socialkit.models._base import SocialModel, require_aware


class PostRef(SocialModel):
    """The platform's reference to one published part.

    Attributes:
        id: the platform's id (a status id, an ``at://`` URI, a feed entry id).
        url: a link a person can open, when there is one.
        extra: further identifiers the adapter needs later (a Bluesky CID, say).
    """

    id: str = Field(min_length=1)
    url: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)


class Receipt(SocialModel):
    """Proof of a publication: one :class:`PostRef` per part, in order.

    Attributes:
        platform: the platform name.
        account_id: the account it was published from.
        parts: one reference per thread part; ``parts[0]`` is the post.
        first_comment: the first comment, when one was posted.
        published_at: when the platform accepted it (aware).
    """

    platform: str
    account_id: str
    parts: tuple[PostRef, ...] = Field(min_length=1)
    first_comment: PostRef | None = None
    published_at: datetime

    @field_validator("published_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        require_aware(value, "published_at")
        return value

    @property
    def ref(self) -> PostRef:
        """The first part's reference."""
        return self.parts[0]

    @property
    def url(self) -> str | None:
        """The first part's URL."""
        return self.parts[0].url
