"""Credentials: secret values for one account, kept apart from the account."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from socialkit.errors import CredentialsError
from socialkit.models._base import SocialModel, require_aware

if TYPE_CHECKING:
    from collections.abc import Mapping


class Credentials(SocialModel):
    """Secret values (tokens, passwords, session JWTs) for one account.

    Values are :class:`~pydantic.SecretStr`: their repr, ``str()`` and JSON dump show
    ``**********``. Read one with :meth:`get` or :meth:`require` at the moment of use.
    A provider may say whose they are and where a key is set (:meth:`located`), so a
    missing key's error tells a person what to do; that is not part of the value.

    Attributes:
        values: named secrets (``access_token``, ``app_password``, ``refresh_jwt``...).
        expires_at: when the access credential expires, when known.
    """

    # A value of the wrong type must not appear in the ValidationError's message.
    model_config = ConfigDict(hide_input_in_errors=True)

    values: dict[str, SecretStr] = Field(default_factory=dict)
    expires_at: datetime | None = None
    _account_id: str | None = PrivateAttr(default=None)
    _where: str | None = PrivateAttr(default=None)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return require_aware(value, "expires_at")

    def __repr__(self) -> str:
        return f"Credentials(keys={sorted(self.values)!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Where they were loaded from (located()) is not part of the value.
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.values, self.expires_at) == (other.values, other.expires_at)

    def located(self, account_id: str, where: str | None = None) -> Credentials:
        """A copy whose error for a missing key (:meth:`require`) names the account and
        where a person sets the key.

        Args:
            account_id: the account the credentials belong to.
            where: where a key is set, for people, with ``{KEY}`` standing for the key
                upper-cased and ``{key}`` for the key as is:
                ``"environment variable SOCIALKIT_ACME_X_{KEY}"``. Never a secret value.
        """
        copy = self.model_copy()
        copy._account_id, copy._where = account_id, where
        return copy

    def get(self, key: str, default: str | None = None) -> str | None:
        """The secret value for ``key``, or ``default``."""
        value = self.values.get(key)
        return value.get_secret_value() if value is not None else default

    def require(self, key: str) -> str:
        """The secret value for ``key``.

        Raises:
            CredentialsError: it is missing or empty; the message names the key, the keys
                there are, and (when :meth:`located`) the account and where to set it.
        """
        value = self.values.get(key)
        if value is None or not value.get_secret_value():
            raise CredentialsError(self._missing(key))
        return value.get_secret_value()

    def _missing(self, key: str) -> str:
        whose = f" of account {self._account_id!r}" if self._account_id is not None else ""
        message = f"credential {key!r}{whose} is missing (have: {sorted(self.values)})"
        if self._where:
            # Plain replacement: a path in ``where`` may hold braces of its own.
            where = self._where.replace("{KEY}", key.upper()).replace("{key}", key)
            message += f"; set {where}"
        return message

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
        updated = Credentials(values=merged, expires_at=expires_at or self.expires_at)
        updated._account_id, updated._where = self._account_id, self._where
        return updated

    def reveal(self) -> dict[str, str]:
        """Plain values, for a provider that must write them somewhere. Handle with care."""
        return {key: value.get_secret_value() for key, value in self.values.items()}
