"""The project file (``socialkit.toml``): workspace, store, media, credentials, accounts.

Example::

    workspace = "acme"
    store = "sqlite:///socialkit.db"
    media_dir = ".socialkit/media"

    [credentials]
    provider = "env"            # or "file" with path = "secrets.json"

    [[accounts]]
    id = "acme-feed"
    platform = "feed"
    handle = "acme"
    timezone = "Europe/Berlin"
    posting_slots = [{ weekday = "mon", time = "09:00" }]
    settings = { directory = "socialkit-feed/acme" }

Credentials are never written here: the file names a provider, and the provider holds
the secrets (environment variables, a secrets file with mode 0600, or the application).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError

from socialkit.errors import ConfigError
from socialkit.models._base import SocialModel
from socialkit.models.account import Account
from socialkit.models.campaign import Campaign

if TYPE_CHECKING:
    from socialkit.platforms.credentials import CredentialProvider

__all__ = ["CONFIG_FILENAME", "CredentialsConfig", "ProjectConfig", "find_config", "load_config"]

CONFIG_FILENAME = "socialkit.toml"


class CredentialsConfig(SocialModel):
    """Which :class:`CredentialProvider` holds the secrets."""

    provider: Literal["env", "file"] = "env"
    path: str | None = Field(default=None, description="The secrets file, for provider = 'file'.")
    prefix: str = Field(default="SOCIALKIT_", description="Variable prefix, for provider = 'env'.")


class ProjectConfig(SocialModel):
    """A project file's contents. Relative paths are relative to the file's directory."""

    workspace: str = "default"
    store: str = "sqlite:///socialkit.db"
    media_dir: str = ".socialkit/media"
    credentials: CredentialsConfig = CredentialsConfig()
    accounts: tuple[Account, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    base_dir: str = Field(default=".", exclude=True)

    def account(self, account_id: str) -> Account:
        """The account with ``account_id``; :class:`ConfigError` listing the known ones."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        known = ", ".join(a.id for a in self.accounts) or "none"
        raise ConfigError(f"unknown account {account_id!r} (accounts in the project: {known})")

    def campaign(self, campaign_id: str) -> Campaign:
        """The campaign with ``campaign_id``."""
        for campaign in self.campaigns:
            if campaign.id == campaign_id:
                return campaign
        known = ", ".join(c.id for c in self.campaigns) or "none"
        raise ConfigError(f"unknown campaign {campaign_id!r} (campaigns in the project: {known})")

    def resolve_path(self, path: str) -> Path:
        """``path`` relative to the project file's directory."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate

    def store_url(self) -> str:
        """The store URL, with a relative SQLite path made relative to the project file."""
        prefix = "sqlite:///"
        if self.store.startswith(prefix) and not self.store.startswith(prefix + "/"):
            return prefix + str(self.resolve_path(self.store[len(prefix) :]))
        return self.store

    def credential_provider(self) -> CredentialProvider:
        """The configured provider."""
        from socialkit.platforms.credentials import EnvCredentialProvider, FileCredentialProvider

        if self.credentials.provider == "file":
            if not self.credentials.path:
                raise ConfigError("credentials.path is required when credentials.provider = 'file'")
            return FileCredentialProvider(self.resolve_path(self.credentials.path))
        return EnvCredentialProvider(prefix=self.credentials.prefix)


def find_config(start: Path | None = None) -> Path | None:
    """``$SOCIALKIT_CONFIG``, or the nearest ``socialkit.toml`` in ``start`` or its parents."""
    env = os.environ.get("SOCIALKIT_CONFIG")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | Path | None = None) -> ProjectConfig:
    """Read a project file; with no path, :func:`find_config`; with none found, defaults.

    Raises:
        ConfigError: the file is missing, not TOML, or has an invalid field (named).
    """
    found = Path(path) if path is not None else find_config()
    if found is None:
        return ProjectConfig()
    if not found.is_file():
        raise ConfigError(f"project file not found: {found}")
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{found}: not valid TOML: {exc}") from None
    data["base_dir"] = str(found.parent)
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{found}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """pydantic's errors as ``field.path: message`` lines joined by '; '."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
