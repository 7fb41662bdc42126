"""``socialkit accounts list|add|check|reconnect``: the project's accounts.

``add`` writes an account into the project file and never a secret: credentials stay with
the configured provider (environment variables or a secrets file), and the project file
only says which provider that is. ``check`` loads each account's credentials through
the provider and asks the platform who the account is. ``reconnect`` lets the
publications of an account that needed a person (``needs_reauth``) go again, once its
credentials work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import emit, state
from socialkit.cli._publications import ActorOption, default_actor, open_scheduler

if TYPE_CHECKING:
    import httpx

    from socialkit.config import ProjectConfig
    from socialkit.models.account import Account
    from socialkit.models.media_store import MediaStore
    from socialkit.platforms.credentials import CredentialProvider
    from socialkit.platforms.registry import Registry
    from socialkit.schedule.facade import Scheduler

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    accounts = typer.Typer(
        name="accounts",
        help="List, add, check and reconnect the project's accounts.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    accounts.command("list")(list_command)
    accounts.command("add")(add_command)
    accounts.command("check")(check_command)
    accounts.command("reconnect")(reconnect_command)
    app.add_typer(accounts, name="accounts")


# -- list ------------------------------------------------------------------------------------


def list_command(as_json: JsonOption = False) -> None:
    """List the accounts of the project file and where their credentials come from."""
    from socialkit.platforms.registry import get_registry

    config = state().config()
    registry = get_registry()
    rows = [_account_row(config, registry, account) for account in config.accounts]
    if not rows:
        where = config.path or "no project file found"
        text = f"no accounts ({where}); add one with: socialkit accounts add ID --platform NAME --handle HANDLE"
    else:
        table = [
            [
                r["id"],
                r["platform"] + ("" if r["installed"] else " (not installed)"),
                r["handle"],
                r["timezone"],
                str(len(r["posting_slots"])),
                r["credentials"],
            ]
            for r in rows
        ]
        text = _table(["ID", "PLATFORM", "HANDLE", "ZONE", "SLOTS", "CREDENTIALS"], table)
    emit({"project": config.path, "accounts": rows}, as_json=as_json, text=text)


def _account_row(config: ProjectConfig, registry: Registry, account: Account) -> dict[str, Any]:
    row: dict[str, Any] = account.model_dump(mode="json")
    installed = account.platform in registry.platforms
    row["installed"] = installed
    row["credentials"] = _credentials_reference(config, registry, account)
    return row


def _credentials_reference(config: ProjectConfig, registry: Registry, account: Account) -> str:
    info = registry.platforms.get(account.platform)
    if info is not None and not info.platform.capabilities.requires_credentials:
        return "none needed"
    return config.credentials_reference(account)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


# -- add -------------------------------------------------------------------------------------


def add_command(
    account_id: Annotated[
        str, typer.Argument(metavar="ID", help="The account's id in the project (acme-bsky).")
    ],
    platform: Annotated[str, typer.Option("--platform", "-p", metavar="NAME", help="Platform.")],
    handle: Annotated[str, typer.Option("--handle", metavar="HANDLE", help="Handle.")],
    display_name: Annotated[
        str | None, typer.Option("--display-name", metavar="TEXT", help="Display name.")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", metavar="ZONE", help="IANA zone (Europe/Berlin); UTC if unset."),
    ] = None,
    slot: Annotated[
        list[str] | None,
        typer.Option(
            "--slot",
            metavar="DAY@HH:MM",
            help="A weekly posting slot, e.g. mon@09:00 (repeatable).",
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting",
            metavar="KEY=VALUE",
            help="An adapter setting (repeatable); VALUE is read as JSON when it parses.",
        ),
    ] = None,
    platform_account_id: Annotated[
        str | None,
        typer.Option("--platform-account-id", metavar="ID", help="The platform's stable id."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add even when the platform is not installed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add an account to the project file (created when missing). No secrets are written.

    Credentials come from the project's provider: with the default env provider, set
    SOCIALKIT_<ID>_<KEY> variables (the command prints their names).
    """
    from pydantic import ValidationError

    from socialkit.config import CONFIG_FILENAME, append_account, find_config, load_config
    from socialkit.errors import ConfigError, UnknownPlatform
    from socialkit.models.account import Account
    from socialkit.platforms.registry import get_registry

    cli = state()
    path = Path(cli.config_path) if cli.config_path else find_config() or Path(CONFIG_FILENAME)
    workspace = load_config(path).workspace if path.exists() else "default"
    registry = get_registry()
    if platform not in registry.platforms and not force:
        raise UnknownPlatform(platform, registry.names())
    fields: dict[str, Any] = {
        "id": account_id,
        "platform": platform,
        "handle": handle,
        "workspace": workspace,
        "posting_slots": [_parse_slot(s) for s in slot or ()],
        "settings": dict(_parse_setting(s) for s in setting or ()),
    }
    for key, value in (
        ("display_name", display_name),
        ("timezone", timezone),
        ("platform_account_id", platform_account_id),
    ):
        if value is not None:
            fields[key] = value
    try:
        account = Account.model_validate(fields)
    except ValidationError as exc:
        raise ConfigError(f"account {account_id!r}: {_option_errors(exc, slot or [])}") from None
    config = append_account(path, account)
    reference = _credentials_reference(config, registry, account)
    data = {"project": str(path), "account": _account_row(config, registry, account)}
    text = "\n".join(
        [
            f"added {account.id} ({account.platform}, {account.handle}) to {path}",
            f"credentials: {reference}"
            + ("" if reference == "none needed" else " (never written to the project file)"),
            f"check it with: socialkit accounts check {account.id}",
        ]
    )
    emit(data, as_json=as_json, text=text)


_OPTION_NAMES = {
    "id": "ID",
    "platform": "--platform",
    "handle": "--handle",
    "display_name": "--display-name",
    "timezone": "--timezone",
    "posting_slots": "--slot",
    "settings": "--setting",
    "platform_account_id": "--platform-account-id",
    "workspace": "workspace (project file)",
}


def _option_errors(exc: Any, slots: list[str]) -> str:
    """Each of the account's problems under the option that gave it, with the value as
    typed (``--slot 'mon@9'``, not only ``posting_slots[0].time``)."""
    from socialkit.config import field_path

    parts = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        option = _OPTION_NAMES.get(str(loc[0]), str(loc[0])) if loc else "(account)"
        where = field_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        given = error.get("input")
        if option == "--slot" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(slots):
            option = f"--slot {slots[loc[1]]!r}"
            message += " (expected DAY@HH:MM, such as mon@09:00)"
        elif isinstance(given, str | int | float) and repr(given) not in message:
            message += f" (got {given!r})"
        parts.append(f"{option} ({where}): {message}" if where else f"{option}: {message}")
    return "; ".join(parts)


def _parse_slot(raw: str) -> dict[str, str]:
    from socialkit.errors import ConfigError

    day, sep, time = raw.replace(" ", "@").partition("@")
    if not sep or not day or not time:
        raise ConfigError(f"--slot {raw!r}: expected DAY@HH:MM, such as mon@09:00")
    return {"weekday": day, "time": time}


def _parse_setting(raw: str) -> tuple[str, Any]:
    from socialkit.errors import ConfigError

    key, sep, value = raw.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--setting {raw!r}: expected KEY=VALUE")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


# -- check -----------------------------------------------------------------------------------


def check_command(
    account_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Accounts to check (default: all).", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load each account's credentials through the provider and ask the platform who it is.

    Exits 1 when any account fails (missing or rejected credentials, a platform that is
    not installed, or credentials that belong to another account).
    """
    from socialkit._runtime import run_sync
    from socialkit.platforms.registry import get_registry

    config = state().config()
    registry = get_registry()
    if account_ids:
        from socialkit.cli._targets import project_account

        accounts = [project_account(config, a) for a in dict.fromkeys(account_ids)]
    else:
        accounts = list(config.accounts)
    rows = run_sync(_check_all(config, registry, accounts))
    lines = [_check_line(row) for row in rows] or [
        f"no accounts to check ({config.path or 'no project file found'})"
    ]
    emit({"project": config.path, "accounts": rows}, as_json=as_json, text="\n".join(lines))
    if not all(row["ok"] for row in rows):
        raise typer.Exit(1)


async def _check_all(
    config: ProjectConfig, registry: Registry, accounts: list[Account]
) -> list[dict[str, Any]]:
    import asyncio

    import httpx

    provider = config.credential_provider()
    media = config.media_store()
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
        return list(
            await asyncio.gather(
                *(_check_one(config, registry, provider, media, http, a) for a in accounts)
            )
        )


async def _check_one(
    config: ProjectConfig,
    registry: Registry,
    provider: CredentialProvider,
    media: MediaStore,
    http: httpx.AsyncClient,
    account: Account,
) -> dict[str, Any]:
    from socialkit.errors import AuthExpired, CredentialsError
    from socialkit.platforms.context import Context
    from socialkit.platforms.publish import refresh_credentials

    row: dict[str, Any] = {
        "account": account.id,
        "platform": account.platform,
        "ok": False,
        "verified": False,
        "identity": None,
        "credential_keys": [],
        "error": None,
        "notes": [],
    }
    try:
        platform = registry.platform(account.platform)
        credentials = await provider.load(account)
        row["credential_keys"] = sorted(credentials.values)
        if platform.capabilities.requires_credentials and not credentials.values:
            raise CredentialsError(
                f"no credentials for {account.id!r} (looked in "
                f"{config.credentials_reference(account)})"
            )
        ctx = Context(
            account=account,
            credentials=credentials,
            http=http,
            media=media,
            credential_provider=provider,
        )
        try:
            identity = await platform.verify_account(ctx)
        except AuthExpired:
            ctx = await refresh_credentials(platform, ctx)
            identity = await platform.verify_account(ctx)
    except Exception as exc:  # one account's failure is reported; the others are checked
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    if identity is None:
        row["ok"] = True
        row["notes"].append("the platform cannot verify accounts; credentials were loaded")
        return row
    row["identity"] = {
        "platform_account_id": identity.platform_account_id,
        "handle": identity.handle,
        "display_name": identity.display_name,
    }
    expected = account.platform_account_id
    if expected is not None and expected != identity.platform_account_id:
        row["error"] = (
            f"the credentials belong to {identity.platform_account_id} ({identity.handle}); "
            f"the project file says platform_account_id = {expected!r}"
        )
        return row
    if identity.handle.lstrip("@").lower() != account.handle.lstrip("@").lower():
        row["notes"].append(
            f"the handle on the platform is {identity.handle!r}; the project file says "
            f"{account.handle!r}"
        )
    if expected is None:
        row["notes"].append(
            f"platform_account_id is not in the project file; it is {identity.platform_account_id!r}"
        )
    row["ok"] = row["verified"] = True
    return row


def _check_line(row: dict[str, Any]) -> str:
    head = f"{row['account']} ({row['platform']})"
    if not row["ok"]:
        line = f"{head}: FAILED: {row['error']}"
    elif row["identity"] is not None:
        identity = row["identity"]
        line = f"{head}: ok, {identity['handle']} is {identity['platform_account_id']}"
    else:
        line = f"{head}: ok (not verified)"
    return "\n".join([line, *(f"  note: {note}" for note in row["notes"])])


# -- reconnect -------------------------------------------------------------------------------


def reconnect_command(
    account_id: Annotated[
        str, typer.Argument(metavar="ID", help="The account to reconnect (acme-bsky).")
    ],
    actor: ActorOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Mark it ok without checking its credentials first."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Mark an account that needs reauth as working again: its waiting publications go.

    Its credentials are checked first, as `accounts check` does; when they still do not
    work, nothing changes and it exits 1 (unless --force).
    """
    from socialkit._runtime import run_sync
    from socialkit.cli._targets import project_account
    from socialkit.platforms.registry import get_registry

    config = state().config()
    account = project_account(config, account_id)
    head = f"{account.id} ({account.platform})"
    with open_scheduler(existing=True) as scheduler:
        status = next((r.status for r in scheduler.accounts() if r.account.id == account.id), "ok")
        data: dict[str, Any] = {
            "account": account.id,
            "platform": account.platform,
            "status": status,
            "reconnected": False,
            "checked": False,
            "check": None,
            "waiting": 0,
            "result": "unchanged",
            "error": None,
        }
        if status == "ok":
            emit(
                data,
                as_json=as_json,
                text=f"{head} is not waiting for a reconnect (its status is ok); nothing changed",
            )
            return
        check = None
        if not force:
            [check] = run_sync(_check_all(config, get_registry(), [account]))
            data["checked"], data["check"] = True, check
            if not check["ok"]:
                from socialkit.cli._app import fail

                where = config.credentials_reference(account)
                error = str(check["error"])
                message = (
                    f"{head}: its credentials still do not work ({error}"
                    + ("" if where in error else f"; they are read from {where}")
                    + "), so its publications keep waiting; fix them and run this again, "
                    "or pass --force to mark it ok without checking"
                )
                if as_json:  # a script reading stdout learns why, not only the exit code
                    data["result"], data["error"] = "failed", message
                    emit(data, as_json=True)
                raise fail(message)
        scheduler.reconnect(account.id, actor=actor or default_actor())
        data["status"], data["reconnected"], data["result"] = "ok", True, "reconnected"
        data["waiting"] = _waiting_for_reauth(scheduler, account.id)
    if check is None:
        how = " without checking its credentials"
    elif check["identity"] is not None:
        identity = check["identity"]
        how = f", {identity['handle']} is {identity['platform_account_id']}"
    else:
        how = " (the platform cannot verify accounts; its credentials were loaded)"
    waiting = data["waiting"]
    what = (
        "1 publication waiting for it is"
        if waiting == 1
        else f"{waiting} publications waiting for it are"
    )
    emit(data, as_json=as_json, text=f"reconnected {head}{how}: {what} due now")


def _waiting_for_reauth(scheduler: Scheduler, account_id: str) -> int:
    """How many of the account's publications were held for its reconnect."""
    count, cursor = 0, None
    while True:
        page = scheduler.list(
            state="retry_wait", account=account_id, attention="reauth", cursor=cursor, limit=1000
        )
        count += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return count
