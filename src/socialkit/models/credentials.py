"""Credentials: secret values for one account, kept apart from the account."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, SecretStr, field_validator

from socialkit.errors import CredentialsError
from socialkit.models._base import SocialModel, require_aware

if TYPE_CHECKING:
    from collections.abc import Mapping


class Credentials(SocialModel):
    """Secret values (tokens, passwords, session JWTs) for one account.

    Values are :class:`~pydantic.SecretStr`: their repr, ``str()`` and JSON dump show
    ``**********``. Read one with :meth:`get` or :meth:`require` at the moment of use.

    Attributes:
        values: named secrets (``access_token``, ``app_password``, ``refresh_jwt``...).
        expires_at: when the access credential expires, when known.
    """

    # A value of the wrong type must not appear in the ValidationError's message.
    model_config = ConfigDict(hide_input_in_errors=True)

    values: dict[str, SecretStr] = Field(default_factory=dict)
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return require_aware(value, "expires_at")

    def __repr__(self) -> str:
        return f"Credentials(keys={sorted(self.values)!r})"

    __str__ = __repr__

    def get(self, key: str, default: str | None = None) -> str | None:
        """The secret value for ``key``, or ``default``."""
        value = self.values.get(key)
        return value.get_secret_value() if value is not None else default

    def require(self, key: str) -> str:
        """The secret value for ``key``; :class:`CredentialsError` naming the key when absent."""
        value = self.values.get(key)
        if value is None or not value.get_secret_value():
            raise CredentialsError(f"credential {key!r} is missing (have: {sorted(self.values)})")
        return value.get_secret_value()

    def with_values(
        self,
        values: Mapping[str, str | None] | None = None,
        /,
        *,
        expires_at: datetime | None = None,
        **more: str | None,
    ) -> Credentials:
        """A copy with ``values`` (and keyword values) set; ``None`` removes a key."""
        merged: dict[str, Any] = dict(self.values)
        for key, value in {**(values or {}), **more}.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = SecretStr(value)
        return Credentials(values=merged, expires_at=expires_at or self.expires_at)

    def reveal(self) -> dict[str, str]:
        """Plain values, for a provider that must write them somewhere. Handle with care."""
        return {key: value.get_secret_value() for key, value in self.values.items()}
