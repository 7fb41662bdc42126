"""Media attached to posts: described by content hash, stored in a media store."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from socialkit.models._base import SocialModel

if TYPE_CHECKING:
    from pathlib import Path

    from socialkit.models.media_store import MediaStore

MediaKind = Literal["image", "gif", "video", "audio", "document", "other"]
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Media(SocialModel):
    """A file attached to a post, identified by its sha256.

    Models never carry bytes: the bytes live in a content-addressed :class:`MediaStore`,
    so every worker publishes exactly the same file. Create media through a store::

        photo = Media.from_path("launch.jpg", alt_text="Our new logo on a blue wall")

    Attributes:
        sha256: hex digest of the bytes; the key in the media store.
        mime_type: the detected type (``image/png``), from the bytes, not the file name.
        size: size in bytes.
        alt_text: a description for people who cannot see the image.
        width, height: pixel dimensions, when known.
        duration: seconds, for video and audio, when known.
        filename: the original file name, for people; never used to find the bytes.
    """

    sha256: str
    mime_type: str
    size: int = Field(ge=0)
    alt_text: str | None = None
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
    duration: float | None = Field(default=None, ge=0)
    filename: str | None = None

    @field_validator("sha256")
    @classmethod
    def _check_sha256(cls, value: str) -> str:
        value = value.lower()
        if not _SHA256.fullmatch(value):
            raise ValueError(f"sha256 must be 64 hex digits (got {value[:80]!r})")
        return value

    @field_validator("mime_type")
    @classmethod
    def _check_mime(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(f"mime_type must look like 'type/subtype' (got {value!r})")
        return value.lower()

    @property
    def kind(self) -> MediaKind:
        """What sort of media this is, from its MIME type."""
        if self.mime_type == "image/gif":
            return "gif"
        major = self.mime_type.split("/", 1)[0]
        if major in ("image", "video", "audio"):
            return major  # type: ignore[return-value]
        if self.mime_type == "application/pdf":
            return "document"
        return "other"

    @property
    def aspect_ratio(self) -> float | None:
        """width / height, when both are known."""
        if self.width and self.height:
            return self.width / self.height
        return None

    def with_alt_text(self, alt_text: str) -> Media:
        """A copy with ``alt_text`` set."""
        return self.model_copy(update={"alt_text": alt_text})

    @classmethod
    def from_path(
        cls, path: str | Path, *, alt_text: str | None = None, store: MediaStore | None = None
    ) -> Media:
        """Add the file at ``path`` to ``store`` (the default store when omitted)."""
        from socialkit.models.media_store import default_media_store

        return (store or default_media_store()).put_path(path, alt_text=alt_text)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        mime_type: str | None = None,
        filename: str | None = None,
        alt_text: str | None = None,
        store: MediaStore | None = None,
    ) -> Media:
        """Add ``data`` to ``store`` (the default store when omitted)."""
        from socialkit.models.media_store import default_media_store

        return (store or default_media_store()).put_bytes(
            data, mime_type=mime_type, filename=filename, alt_text=alt_text
        )

    @classmethod
    def from_url(
        cls, url: str, *, alt_text: str | None = None, store: MediaStore | None = None
    ) -> Media:
        """Download ``url`` into ``store`` (the default store when omitted)."""
        from socialkit.models.media_store import default_media_store

        return (store or default_media_store()).put_url(url, alt_text=alt_text)
