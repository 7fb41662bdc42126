"""Accounts: a team's presence on one platform, without its secrets."""

from __future__ import annotations

import datetime as dt
import re
from enum import IntEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, JsonValue, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from socialkit.models._base import SocialModel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pydantic import ValidatorFunctionWrapHandler
    from pydantic_core import ErrorDetails

_Model = TypeVar("_Model")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
# A setting name is read with case, separators and camelCase taken out ("API-Key",
# "apiKey" and "api.key" are all "apikey"). These anywhere in it make it a secret:
_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "jwt",
    "bearer",
    "sessionid",
    "sessionkey",
)
# These only as its last word: "session" or "auth_cookie" is a secret, and "auth_url",
# "session_timeout" or "cookie_domain" are settings.
_SECRET_LAST_WORDS = frozenset(
    {"pwd", "auth", "authorization", "cookie", "cookies", "session", "credential", "credentials"}
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def secret_setting(name: str) -> bool:
    """Whether a setting named ``name`` looks like it holds a secret."""
    words = [w for w in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if w]
    compact = "".join(words)
    return any(part in compact for part in _SECRET_PARTS) or (
        bool(words) and words[-1] in _SECRET_LAST_WORDS
    )


def _secret_paths(value: JsonValue, path: str) -> list[str]:
    """The paths of secret-looking names in ``value``, at any depth (tables and lists)."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}[{key!r}]"
            if secret_setting(str(key)):
                found.append(where)
            found += _secret_paths(inner, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _secret_paths(inner, f"{path}[{index}]")
    return found


class _Hidden:
    """Stands for an input an error must not show (``input_value=<hidden>``)."""

    def __repr__(self) -> str:
        return "<hidden>"


def _without_input(
    errors: Iterable[tuple[PydanticCustomError, tuple[int | str, ...]]],
) -> ValidationError:
    """A ValidationError of ``(error, location)`` pairs whose input is not shown.

    Raised from a field validator, pydantic puts the field's location in front, and
    these errors keep their own input (``<hidden>``) whatever the model's configuration.
    """
    hidden = _Hidden()
    details: list[InitErrorDetails] = [
        {"type": error, "loc": loc, "input": hidden} for error, loc in errors
    ]
    return ValidationError.from_exception_data("settings", details)


def _shows_a_secret(error: ErrorDetails) -> bool:
    """Whether an error's input is under a secret-looking name (``token = "..."`` where
    no such field exists, ``[credentials] password = "..."``) or holds one."""
    names = [part for part in error["loc"] if isinstance(part, str)]
    value = error["input"]
    return (bool(names) and secret_setting(names[-1])) or (
        isinstance(value, dict | list) and bool(_secret_paths(value, ""))
    )


def hide_secret_inputs(data: Any, handler: Callable[[Any], _Model]) -> _Model:
    """``handler(data)``, for a model's wrap validator: when one of its errors would show
    a value under a secret-looking name, every error is raised again (same type, place
    and message) with that input shown as ``<hidden>``; other errors keep theirs."""
    try:
        return handler(data)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        if not any(map(_shows_a_secret, errors)):
            raise
        hidden = _Hidden()
        details: list[InitErrorDetails] = [
            {
                "type": PydanticCustomError(e["type"], e["msg"]),
                "loc": e["loc"],
                "input": hidden if _shows_a_secret(e) else e["input"],
            }
            for e in errors
        ]
        raise ValidationError.from_exception_data(error.title, details) from None


class Weekday(IntEnum):
    """ISO weekday numbering minus one, as :meth:`datetime.weekday` returns."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


_WEEKDAY_NAMES = {
    **{d.name.lower(): d for d in Weekday},
    "monday": Weekday.MON,
    "tuesday": Weekday.TUE,
    "wednesday": Weekday.WED,
    "thursday": Weekday.THU,
    "friday": Weekday.FRI,
    "saturday": Weekday.SAT,
    "sunday": Weekday.SUN,
}


class PostingSlot(SocialModel):
    """A weekly slot for queued posts: a weekday and a local wall time in the account's zone."""

    weekday: Weekday
    time: dt.time

    @field_validator("weekday", mode="before")
    @classmethod
    def _parse_weekday(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            try:
                return _WEEKDAY_NAMES[value.strip().lower()]
            except KeyError:
                raise ValueError(f"weekday must be mon..sun or 0..6 (got {value!r})") from None
        return value

    @field_validator("time")
    @classmethod
    def _naive_time(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("slot time is a local wall time; give the zone on the account")
        return value.replace(second=0, microsecond=0)


# Names the zone database answers to that are not places: this machine's own zone
# (different on each machine), a compiler default, a placeholder. "right/" zones count
# leap seconds, so their clocks run 27 s off civil time; "posix/" ones exist only in
# some systems' zone files.
_NOT_PLACES = {"localtime", "posixrules", "Factory"}


def check_zone(value: str) -> str:
    """Validate an IANA zone name, returning it."""
    if value in _NOT_PLACES or value.startswith(("right/", "posix/")):
        raise ValueError(
            f"time zone {value!r} is not an IANA place name (it depends on the machine or "
            "is not civil time); use one such as 'Europe/Berlin'"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Berlin')") from None
    return value


class Account(SocialModel):
    """One account on one platform, as the team knows it. Credentials live elsewhere.

    Attributes:
        id: an opaque id chosen by the application (``"acme-bsky"``); unique per workspace.
        platform: the platform name (``"bluesky"``), as a plugin registers it.
        handle: the current handle, for people; it can change on the platform.
        workspace: the tenant this account belongs to.
        platform_account_id: the platform's stable id (a DID, a Mastodon account id), once known.
        display_name: the name shown on the platform.
        timezone: IANA zone of the account's audience; local times are read in it.
        posting_slots: weekly slots for "add to queue".
        settings: adapter settings (an instance URL, a feed directory). Never secrets:
            those come through a :class:`CredentialProvider`.
    """

    id: str
    platform: str
    handle: str
    workspace: str = "default"
    platform_account_id: str | None = None
    display_name: str | None = None
    timezone: str = "UTC"
    posting_slots: tuple[PostingSlot, ...] = ()
    settings: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _no_secret_inputs(cls, data: Any, handler: Callable[[Any], Account]) -> Account:
        return hide_secret_inputs(data, handler)

    @field_validator("id", "workspace")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(
                "must start with a letter or digit and use only letters, digits and . _ : @ - "
                f"(at most 128 characters; got {value[:200]!r})"
            )
        return value

    @field_validator("handle", "platform")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("settings", mode="wrap")
    @classmethod
    def _no_secrets(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, JsonValue]:
        # A refused setting may hold a secret, so an error about the settings says where
        # and why but never shows the input; the other fields' errors keep theirs.
        try:
            settings: dict[str, JsonValue] = handler(value)
        except ValidationError as error:
            raise _without_input(
                (PydanticCustomError(e["type"], e["msg"]), e["loc"])
                for e in error.errors(include_url=False)
            ) from None
        found = _secret_paths(settings, "settings")
        if found:
            message = (
                f"{found[0]} looks like a secret; secrets belong to the "
                "CredentialProvider, never to the account"
            )
            raise _without_input([(PydanticCustomError("secret_setting", message), ())])
        return settings

    @cached_property
    def zone(self) -> ZoneInfo:
        """The account's :class:`~zoneinfo.ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def setting(self, name: str, default: Any = None) -> Any:
        """One adapter setting, or ``default``."""
        return self.settings.get(name, default)
