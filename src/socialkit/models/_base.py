"""The base every user-facing model shares: strict about unknown fields, immutable."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from datetime import datetime


class SocialModel(BaseModel):
    """Base of socialkit's pydantic models.

    Models are frozen (change them with ``model_copy(update=...)``) and refuse unknown
    fields, so a typo in a post file is an error that names the field instead of data
    that silently disappears.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
        validate_default=False,
        ser_json_timedelta="float",
    )

    def canonical_json(self) -> str:
        """JSON with sorted keys and no whitespace: equal models give equal strings."""
        return canonical_json(self.model_dump(mode="json", exclude_none=True))


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: Any) -> str:
    """The sha256 (hex) of the canonical JSON form of ``data``."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def require_aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{field} must be timezone-aware (got naive {value.isoformat()})")
    return value
