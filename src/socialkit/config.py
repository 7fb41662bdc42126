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

Relative paths (``store``, ``media_dir``, a feed's ``directory``) are taken from the
file's directory. Credentials are never written here: the file names a provider, and the
provider holds the secrets (environment variables, a secrets file with mode 0600, or the
application). Accounts and campaigns without a ``workspace`` of their own belong to the
project's.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from socialkit._fieldpaths import field_path, fields_at, suggest
from socialkit.errors import ConfigError
from socialkit.models._base import SocialModel
from socialkit.models.account import Account, hide_secret_inputs
from socialkit.models.campaign import Campaign

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from socialkit.models.media_store import LocalMediaStore
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.schedule.approval import ApprovalPolicy

__all__ = [
    "CONFIG_FILENAME",
    "ApprovalConfig",
    "CredentialsConfig",
    "ProjectConfig",
    "append_account",
    "field_path",
    "find_config",
    "format_validation_error",
    "load_config",
]

CONFIG_FILENAME = "socialkit.toml"


class CredentialsConfig(SocialModel):
    """Which :class:`CredentialProvider` holds the secrets."""

    provider: Literal["env", "file"] = "env"
    path: str | None = Field(default=None, description="The secrets file, for provider = 'file'.")
    prefix: str = Field(default="SOCIALKIT_", description="Variable prefix, for provider = 'env'.")


class ApprovalConfig(SocialModel):
    """Which publications need a person's approval before they can go out
    (``[approval]``): the command line's approval policy.

    Without it, only publications scheduled with ``--approval`` need one approval
    (:class:`~socialkit.OnRequest`). With ``required = true``, every publication needs
    ``approvers`` approvals (:class:`~socialkit.RequireApproval`), or only those of
    ``accounts`` and ``campaigns`` when they are given (the others as without it).
    """

    required: bool = Field(
        default=False, description="Every publication needs approval, not only --approval ones."
    )
    approvers: int = Field(
        default=1, ge=1, le=100, strict=True, description="How many different people approve."
    )
    accounts: tuple[str, ...] | None = Field(
        default=None, description="With required: only these accounts' publications."
    )
    campaigns: tuple[str, ...] | None = Field(
        default=None, description="With required: only these campaigns' publications."
    )

    @model_validator(mode="after")
    def _scoped_only_when_required(self) -> ApprovalConfig:
        for name in ("accounts", "campaigns"):
            if getattr(self, name) is not None and not self.required:
                raise ValueError(
                    f"{name} narrows required = true to some {name} (got {name} = "
                    f"{list(getattr(self, name))!r} without required = true); set required "
                    "= true, or leave it out"
                )
        return self

    def policy(self) -> ApprovalPolicy:
        """The approval policy this describes."""
        from socialkit.schedule.approval import OnRequest, RequireApproval

        if not self.required:
            return OnRequest(approvers=self.approvers)
        return RequireApproval(
            approvers=self.approvers, accounts=self.accounts, campaigns=self.campaigns
        )


class ProjectConfig(SocialModel):
    """A project file's contents. Relative paths are relative to the file's directory.

    That holds for paths in accounts' settings too (a feed's ``directory``): :func:`load_config`
    makes them absolute, each platform saying which of its settings are paths.
    """

    workspace: str = "default"
    store: str = "sqlite:///socialkit.db"
    media_dir: str = ".socialkit/media"
    credentials: CredentialsConfig = CredentialsConfig()
    accounts: tuple[Account, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    approval: ApprovalConfig = ApprovalConfig()
    base_dir: str = Field(default=".", exclude=True)
    path: str | None = Field(default=None, exclude=True, description="The file it was read from.")

    @model_validator(mode="wrap")
    @classmethod
    def _no_secret_inputs(cls, data: Any, handler: Callable[[Any], ProjectConfig]) -> ProjectConfig:
        # A secret written where it does not belong ([credentials] password = ...) is
        # refused without being shown; other errors show their input.
        return hide_secret_inputs(data, handler)

    @field_validator("accounts", "campaigns")
    @classmethod
    def _unique_ids(
        cls, value: tuple[Account, ...] | tuple[Campaign, ...], info: ValidationInfo
    ) -> tuple[Account, ...] | tuple[Campaign, ...]:
        seen: dict[str, int] = {}
        ids: list[str] = [item.id for item in value]
        for index, item_id in enumerate(ids):
            first = seen.setdefault(item_id, index)
            if first != index:
                raise ValueError(
                    f"id {item_id!r} is used twice ({info.field_name}[{first}] and "
                    f"{info.field_name}[{index}]); ids must be unique"
                )
        return value

    @field_validator("accounts")
    @classmethod
    def _distinct_variables(
        cls, value: tuple[Account, ...], info: ValidationInfo
    ) -> tuple[Account, ...]:
        credentials = info.data.get("credentials")
        if not isinstance(credentials, CredentialsConfig) or credentials.provider != "env":
            return value
        from socialkit.platforms.credentials import env_stem

        seen: dict[str, int] = {}
        for index, account in enumerate(value):
            stem = env_stem(credentials.prefix, account.id)
            first = seen.setdefault(stem, index)
            if first != index:
                raise ValueError(
                    f"accounts[{first}] {value[first].id!r} and accounts[{index}] "
                    f"{account.id!r} would read the same environment variables {stem}<KEY>; "
                    "rename one, or set credentials.provider = 'file'"
                )
        return value

    @model_validator(mode="after")
    def _approval_names_known_ids(self) -> ProjectConfig:
        for name, known in (
            ("accounts", [a.id for a in self.accounts]),
            ("campaigns", [c.id for c in self.campaigns]),
        ):
            for index, item in enumerate(getattr(self.approval, name) or ()):
                if item not in known:
                    listed = ", ".join(known) or "none"
                    raise ValueError(
                        f"approval.{name}[{index}]: {item!r} is not one of the project's "
                        f"{name} ({listed})"
                    )
        return self

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
        return EnvCredentialProvider(prefix=self.credentials.prefix, accounts=self.accounts)

    def media_store(self) -> LocalMediaStore:
        """The media store in ``media_dir`` (relative to the project file)."""
        from socialkit.models.media_store import LocalMediaStore

        return LocalMediaStore(self.resolve_path(self.media_dir))

    def credentials_reference(self, account: Account) -> str:
        """Where the configured provider looks for ``account``'s secrets, for people.

        Names the place (variables, file and entry), never a value.
        """
        if self.credentials.provider == "file":
            where = self.credentials.path or "(credentials.path is not set)"
            return f"secrets file {where}, entry {account.id!r}"
        from socialkit.platforms.credentials import env_stem

        return f"environment variables {env_stem(self.credentials.prefix, account.id)}<KEY>"


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

    Each account's settings pass through its platform's
    :meth:`~socialkit.Platform.project_settings`, so a path in them (a feed's
    ``directory``, or its default) is absolute, taken from the file's directory.

    Raises:
        ConfigError: the file is missing, not TOML, or has an invalid field (named).
    """
    found = Path(path) if path is not None else find_config()
    if found is None:
        return ProjectConfig()
    if found.is_dir():
        raise ConfigError(
            f"project file {found} is a directory; give the file ({found / CONFIG_FILENAME})"
        )
    if not found.is_file():
        raise ConfigError(f"project file not found: {found}")
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{found}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{found}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); TOML files are UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{found}: cannot be read: {exc.strerror or exc}") from None
    data["base_dir"] = str(found.parent)
    data["path"] = str(found)
    _inherit_workspace(data)
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{found}: {format_validation_error(exc)}") from None
    return _project_settings(config, found)


def _project_settings(config: ProjectConfig, found: Path) -> ProjectConfig:
    """``config`` with each account's settings as its adapter reads them from a project
    file (:meth:`Platform.project_settings`): paths in them taken from the file's directory,
    so every process, whatever its current directory, and the store's copy agree.

    An account whose platform is not installed keeps its settings as written.
    """
    if not config.accounts:
        return config
    from socialkit.platforms.registry import get_registry

    registry = get_registry()
    base_dir = Path(os.path.abspath(config.base_dir))
    accounts = []
    for index, account in enumerate(config.accounts):
        if account.platform not in registry.platforms:
            accounts.append(account)
            continue
        try:
            settings = registry.platform(account.platform).project_settings(account, base_dir)
        except Exception as exc:  # a plugin's bug, named rather than a traceback
            raise ConfigError(
                f"{found}: accounts[{index}].settings: the {account.platform} platform cannot "
                f"read them: {type(exc).__name__}: {exc}"
            ) from exc
        accounts.append(account.model_copy(update={"settings": settings}))
    return config.model_copy(update={"accounts": tuple(accounts)})


def _inherit_workspace(data: dict[str, Any]) -> None:
    workspace = data.get("workspace", "default")
    for key in ("accounts", "campaigns"):
        items = data.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and "workspace" not in item:
                    item["workspace"] = workspace


def format_validation_error(exc: ValidationError) -> str:
    """pydantic's errors as ``field.path: message`` joined by '; ' (the root is ``(root)``)."""
    parts = []
    for error in exc.errors():
        where = field_path(error["loc"]) or "(root)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field" + _suggestion(exc.title, error["loc"])
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _suggestion(model_name: str, loc: Sequence[int | str]) -> str:
    model = {"ProjectConfig": ProjectConfig}.get(model_name)
    names = fields_at(model, loc[:-1]) if model is not None else []
    return suggest(str(loc[-1]), names) if loc else ""


# -- writing accounts ------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    # fullmatch: "$" would also match before a trailing newline, and "key\n" is no bare key.
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(value: str) -> str:
    # JSON's escapes are a subset of TOML basic strings'; TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = [
            f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def account_toml(account: Account, *, workspace: str = "default") -> str:
    """The ``[[accounts]]`` table for ``account`` (fields at their defaults left out)."""
    data = account.model_dump(mode="json", exclude_defaults=True)
    if account.workspace == workspace:
        data.pop("workspace", None)
    if account.posting_slots:
        data["posting_slots"] = [
            {"weekday": slot.weekday.name.lower(), "time": slot.time.strftime("%H:%M")}
            for slot in account.posting_slots
        ]
    lines = ["[[accounts]]"]
    for key in ("id", "platform", "handle"):
        lines.append(f"{key} = {_toml_value(getattr(account, key))}")
    for key in Account.model_fields:
        if key in data and key not in ("id", "platform", "handle"):
            lines.append(f"{_toml_key(key)} = {_toml_value(data[key])}")
    return "\n".join(lines) + "\n"


def append_account(path: str | Path, account: Account) -> ProjectConfig:
    """Add ``account`` to the project file at ``path`` (created when missing).

    The table is appended, so the file's comments and layout stay as they were; the file is
    replaced atomically and read back, and left untouched when the result would not load.
    A symbolic link stays one: the file it points to is replaced. Concurrent calls (two
    ``accounts add`` at once) take turns on a lock file beside it
    (``.socialkit.toml.lock``), so neither loses the other's account.
    An account holds no secrets (its model refuses secret-looking settings), so none are
    ever written.

    Raises:
        ConfigError: an account with this id exists, or the file would not load.
    """
    from socialkit._filelock import file_lock

    target = Path(path)
    real = Path(os.path.realpath(target))  # the file a symbolic link points to
    real.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(real.with_name(f".{real.name}.lock")):
        return _append_locked(target, real, account)


def _append_locked(target: Path, real: Path, account: Account) -> ProjectConfig:
    original = real.read_text(encoding="utf-8") if real.exists() else None
    workspace = "default"
    if original is not None:
        current = load_config(target)
        workspace = current.workspace
        if any(a.id == account.id for a in current.accounts):
            raise ConfigError(f"{target}: an account with id {account.id!r} already exists")
        head = original if original.endswith("\n") or not original else original + "\n"
    else:
        head = (
            "# socialkit project file; credentials are never written here\n"
            f"workspace = {_toml_value(account.workspace)}\n"
        )
        workspace = account.workspace
    text = head + "\n" + account_toml(account, workspace=workspace)
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.")
    try:
        if original is not None:
            os.fchmod(fd, real.stat().st_mode & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            load_config(tmp)
        except ConfigError as exc:
            detail = str(exc).removeprefix(f"{tmp}: ")  # the temporary name means nothing
            raise ConfigError(
                f"{target}: adding the account would break the file: {detail}"
            ) from None
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # Read again through ``target``: its directory (a link's, not the file's) is the one
    # relative paths, a feed's directory among them, are taken from.
    return load_config(target)
