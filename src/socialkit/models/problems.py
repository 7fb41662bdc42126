"""Validation problems: what does not fit, where, against which limit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialkit.models._base import SocialModel

Scalar = int | float | str | bool | None


class Problem(SocialModel):
    """One thing wrong (or worth a warning) with a post for one target.

    Attributes:
        field: where, as a path into the post: ``text``, ``thread[1].text``, ``media[0].size``.
        code: a stable machine-readable code such as ``text.too_long``.
        message: a sentence for a person.
        limit: the limit that was crossed, when there is one.
        value: the measured value, when there is one.
        severity: ``error`` blocks publishing; ``warning`` does not.
        platform: the target platform, when the problem is platform-specific.
    """

    field: str
    code: str
    message: str
    limit: Scalar = None
    value: Scalar = None
    severity: Literal["error", "warning"] = "error"
    platform: str | None = None
    account: str | None = Field(default=None, description="Target account id, when known.")

    def describe(self) -> str:
        """One line: ``[platform] field: message (limit L, value V)``."""
        where = f"[{self.platform}] " if self.platform else ""
        extra = []
        if self.limit is not None:
            extra.append(f"limit {self.limit}")
        if self.value is not None:
            extra.append(f"value {self.value}")
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"{where}{self.field}: {self.message}{tail}"


def has_errors(problems: list[Problem] | tuple[Problem, ...]) -> bool:
    """True when any problem blocks publishing."""
    return any(p.severity == "error" for p in problems)
